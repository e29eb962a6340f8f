"""Domain objects: databases and recovery points, as the core sees them (no boto3)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from . import tags as tag_keys
from .naming import parse_timestamp


class Engine(enum.Enum):
    """The AWS service a protected resource lives in; each has one adapter behind the same ports."""

    RDS = "rds"
    DYNAMODB = "dynamodb"
    ELASTICACHE = "elasticache"


class DatabaseType(enum.Enum):
    """What a protected resource is; a recovery point carries its source's type."""

    INSTANCE = "instance"
    CLUSTER = "cluster"
    TABLE = "table"
    CACHE_REPLICATION_GROUP = "replication-group"
    CACHE_CLUSTER = "cache-cluster"
    SERVERLESS_CACHE = "serverless-cache"

    @property
    def engine(self) -> Engine:
        return _ENGINE_OF_TYPE[self]

    @classmethod
    def of_engine(cls, engine: Engine) -> tuple[DatabaseType, ...]:
        return tuple(t for t in cls if t.engine is engine)


_ENGINE_OF_TYPE = {
    DatabaseType.INSTANCE: Engine.RDS,
    DatabaseType.CLUSTER: Engine.RDS,
    DatabaseType.TABLE: Engine.DYNAMODB,
    DatabaseType.CACHE_REPLICATION_GROUP: Engine.ELASTICACHE,
    DatabaseType.CACHE_CLUSTER: Engine.ELASTICACHE,
    DatabaseType.SERVERLESS_CACHE: Engine.ELASTICACHE,
}
# DB snapshots and DB cluster snapshots: the types RDS copies across Regions with CopyDB*Snapshot.
RDS_TYPES = DatabaseType.of_engine(Engine.RDS)


@dataclass(frozen=True)
class Database:
    """An RDS DB instance or a DB cluster (Aurora or Multi-AZ)."""

    type: DatabaseType
    identifier: str
    arn: str
    status: str
    engine: str
    tags: Mapping[str, str] = field(default_factory=dict)
    cluster_identifier: str | None = None

    @property
    def policy_name(self) -> str | None:
        """The policy the owner asked for, or None when the database is unmanaged."""
        value = self.tags.get(tag_keys.POLICY, "").strip()
        return None if value.lower() in tag_keys.UNMANAGED_POLICY_VALUES else value

    @property
    def is_cluster_member(self) -> bool:
        return self.type is DatabaseType.INSTANCE and bool(self.cluster_identifier)


@dataclass(frozen=True)
class RecoveryPoint:
    """A DB snapshot or DB cluster snapshot in one Region."""

    type: DatabaseType
    identifier: str
    arn: str
    source_identifier: str
    status: str
    snapshot_type: str
    region: str
    created_at: datetime | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    encrypted: bool = False
    kms_key_id: str | None = None
    source_snapshot_arn: str | None = None
    percent_progress: int | None = None

    @property
    def managed_by(self) -> str | None:
        return self.tags.get(tag_keys.MANAGED_BY)

    @property
    def kind(self) -> str | None:
        return self.tags.get(tag_keys.KIND)

    @property
    def expires_at(self) -> datetime | None:
        return parse_timestamp(self.tags.get(tag_keys.EXPIRES_AT, ""))

    @property
    def source_arn(self) -> str | None:
        return self.tags.get(tag_keys.SOURCE)

    @property
    def legal_hold(self) -> bool:
        """Fail safe: any ``restorable:legal-hold`` key (up to case) whose value is not clearly ``false``."""
        return tag_keys.is_held(self.tags)

    @property
    def unrecognised_legal_holds(self) -> Mapping[str, str]:
        """Legal-hold tags not spelled as the contract documents (they hold anyway; the plan reports them)."""
        return tag_keys.unrecognised_legal_holds(self.tags)

    @property
    def is_automated(self) -> bool:
        return self.snapshot_type != "manual"

    @property
    def is_available(self) -> bool:
        return self.status == "available"

    @property
    def job_id(self) -> str | None:
        return self.tags.get(tag_keys.JOB_ID)
