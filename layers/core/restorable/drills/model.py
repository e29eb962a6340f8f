"""What a drill knows of the outside: the RDS source and its snapshots, the temporary resource (any engine),
where it goes and what the janitor finds.

The adapters return these; the drill steps read them. No boto3 here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from .. import tags as tag_keys
from ..models import Database, DatabaseType

# Instance / cluster states a restore does not come back from.
TERMINAL_FAILURE_STATES = frozenset(
    {
        "failed",
        "incompatible-restore",
        "incompatible-parameters",
        "incompatible-network",
        "incompatible-option-group",
        "inaccessible-encryption-credentials",
        "inaccessible-encryption-credentials-recoverable",
        "storage-full",
        "deleting",
        "deleted",
    }
)


@dataclass(frozen=True, kw_only=True)
class SourceDatabase(Database):
    """A protected database as a restore needs it: a ``Database`` (policy, cluster membership) and its backups."""

    engine_version: str
    encrypted: bool
    allocated_storage: int
    instance_class: str | None
    backup_retention_days: int
    earliest_restorable_time: datetime | None
    latest_restorable_time: datetime | None


@dataclass(frozen=True)
class SnapshotInfo:
    type: DatabaseType
    identifier: str
    arn: str
    region: str
    status: str
    source_identifier: str
    snapshot_type: str
    created_at: datetime | None
    engine: str
    engine_version: str
    encrypted: bool
    allocated_storage: int
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def source_arn(self) -> str | None:
        return self.tags.get(tag_keys.SOURCE)


class RestoredDatabase(BaseModel):
    """What a poll sees of the temporary database (for a cluster: the cluster and its instance).

    It is the state's ``restored`` part; the tags prove ownership and stay out of the state.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    identifier: str = Field(min_length=1)
    status: str
    engine: str = ""
    engine_version: str = ""
    encrypted: bool = False
    allocated_storage: int = 0
    address: str | None = None
    port: int | None = None
    master_user_secret_arn: str | None = None
    publicly_accessible: bool = False
    deletion_protection: bool = False
    tags: dict[str, str] = Field(default_factory=dict, exclude=True)


@dataclass(frozen=True)
class Network:
    """Where temporary databases go: a DB subnet group and security groups (empty: the account's default)."""

    subnet_group: str = ""
    security_group_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class DrillResource:
    """A temporary drill resource of the stack (an RDS instance that is no cluster member, a cluster, a table),
    as the janitor lists it.

    ``named_expiry``: the expiry the resource's own name states, for an engine whose temporary resources are
    tagged only after they exist (a restored DynamoDB table): the janitor reads it when the tags are missing.
    """

    type: DatabaseType
    identifier: str
    status: str
    tags: Mapping[str, str]
    named_expiry: datetime | None = None


@dataclass(frozen=True)
class SourceTable:
    """A protected DynamoDB table as a drill needs it: its keys, encryption, tags and PITR window."""

    name: str
    arn: str
    status: str
    tags: Mapping[str, str]
    key_attributes: tuple[str, ...]
    encrypted: bool
    pitr_enabled: bool
    earliest_restorable_time: datetime | None
    latest_restorable_time: datetime | None
    # (attribute name, type "S"/"N"/"B", role "HASH"/"RANGE"): what an import needs to recreate the keys.
    key_schema: tuple[tuple[str, str, str], ...] = ()

    @property
    def policy_name(self) -> str | None:
        value = self.tags.get(tag_keys.POLICY, "").strip()
        return None if value.lower() in tag_keys.UNMANAGED_POLICY_VALUES else value


@dataclass(frozen=True)
class ScanPage:
    """One page of a Scan of the restored table: how many items, and the freshness attribute's values in it."""

    count: int
    values: tuple[object, ...] = ()


@dataclass(frozen=True)
class ExportSource:
    """A table export in a DR-Region bucket, as the cross-region table drill imports it.

    ``data_prefix`` is the export's ``AWSDynamoDB/{export-id}/data/`` prefix (gzip-compressed DynamoDB JSON);
    ``key_schema`` is the source's keys as (attribute name, type "S"/"N"/"B", role "HASH"/"RANGE").
    """

    export_arn: str
    region: str
    bucket: str
    bucket_owner: str
    data_prefix: str
    export_time: datetime | None
    key_schema: tuple[tuple[str, str, str], ...]


@dataclass(frozen=True)
class ImportProgress:
    """DescribeImport's answer: ``IN_PROGRESS``, ``COMPLETED``, ``CANCELLING``, ``CANCELLED`` or ``FAILED``."""

    import_arn: str
    status: str
    table_arn: str = ""
    imported_items: int | None = None
    error_count: int = 0
    failure: str = ""
