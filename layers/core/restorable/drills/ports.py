"""What the drill steps need from the outside, as ports; the adapters implement them.

Every port raises domain errors (``restorable.errors``), never botocore's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from pydantic import JsonValue

from ..models import DatabaseType
from .cache_model import (
    CacheNetwork,
    CacheRestoreSpec,
    CacheSnapshotInfo,
    RestoredCache,
    RestoredCacheType,
    SourceCache,
)
from .model import DrillResource, Network, RestoredDatabase, SnapshotInfo, SourceDatabase
from .state import DrillPlan


class DrillRds(Protocol):
    """One Region's RDS, for drills (``adapters.drill_rds.DrillRdsGateway``)."""

    region: str

    def find_source(self, identifier: str, database_type: DatabaseType | None = None) -> SourceDatabase: ...

    def get_snapshot(self, database_type: DatabaseType, identifier: str) -> SnapshotInfo: ...

    def list_snapshots(self, database_type: DatabaseType) -> list[SnapshotInfo]: ...

    def restore(self, plan: DrillPlan, network: Network) -> None: ...

    def describe_instance(self, identifier: str) -> RestoredDatabase | None: ...

    def describe_cluster(self, identifier: str) -> RestoredDatabase | None: ...

    def delete_instance(self, identifier: str, stack_name: str, execution_id: str | None = None) -> str: ...

    def delete_cluster(self, identifier: str, stack_name: str, execution_id: str | None = None) -> str: ...

    def list_drill_resources(self, stack_name: str) -> list[DrillResource]: ...


class SecretStore(Protocol):
    """Secrets Manager in the Region each secret's ARN names (``adapters.secrets.SecretsManagerStore``)."""

    def describe(self, secret_arn: str) -> None:
        """Raises unless the secret exists and can be described."""
        ...

    def secret_string(self, secret_arn: str) -> str: ...


class DrillRecords(Protocol):
    """The report (S3) and the history item (DynamoDB) (``adapters.drill_records.DrillRecordStore``)."""

    def put_report(self, key: str, document: dict[str, JsonValue], markdown: str) -> dict[str, str]: ...

    def put_history(self, item: dict[str, JsonValue]) -> None: ...


class DrillCache(Protocol):
    """One Region's ElastiCache, for cache drills (``adapters.drill_elasticache.DrillElastiCacheGateway``)."""

    region: str

    def find_source(self, identifier: str, cache_type: DatabaseType | None = None) -> SourceCache: ...

    def get_snapshot(self, source_type: DatabaseType, name: str) -> CacheSnapshotInfo: ...

    def list_snapshots(self, source: SourceCache) -> list[CacheSnapshotInfo]: ...

    def restore(
        self, spec: CacheRestoreSpec, tags: Mapping[str, str], network: CacheNetwork, execution_id: str
    ) -> None: ...

    def describe(self, cache_type: RestoredCacheType, identifier: str) -> RestoredCache | None: ...

    def delete(
        self, cache_type: RestoredCacheType, identifier: str, stack_name: str, execution_id: str | None = None
    ) -> str: ...

    def list_drill_resources(self, stack_name: str) -> list[DrillResource]: ...
