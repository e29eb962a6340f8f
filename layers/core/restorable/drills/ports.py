"""What the drill steps need from the outside, as ports; the adapters implement them.

The steps see an engine through three ports, whatever the engine:

- ``DrillPlanner``: the validate step's engine part (find the protected source and the recovery point,
  name the temporary resource, check the checks' configuration), raising before anything is created;
- ``DrillEngine``: one Region of the engine, for restore, poll, cleanup and the janitor;
- ``DrillChecker``: the engine's checks on the restored resource.

Every port raises domain errors (``restorable.errors``), never botocore's.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

from pydantic import JsonValue

from ..models import DatabaseType, Engine
from .cache_model import (
    CacheNetwork,
    CacheRestoreSpec,
    CacheSnapshotInfo,
    RestoredCache,
    RestoredCacheType,
    SourceCache,
)
from .model import (
    DrillResource,
    ExportSource,
    ImportProgress,
    Network,
    RestoredDatabase,
    SnapshotInfo,
    SourceDatabase,
)
from .plan import Checks, DrillRequest
from .state import CheckResult, DrillPlan, PlannedRestore


class DrillPlanner(Protocol):
    """The engine's part of the validate step (``drills.rds.RdsDrillPlanner``, ``drills.dynamodb.TablePlanner``)."""

    engine: Engine

    def locate(
        self, request: DrillRequest, *, execution_id: str, started_at: datetime, expires_at: datetime, now: datetime
    ) -> PlannedRestore:
        """The source, recovery point and temporary resource of the drill; ``InvalidRequestError`` naming the
        field when the request does not fit what exists."""
        ...


class DrillEngine(Protocol):
    """One Region of one engine, for drills (``adapters.drill_rds.DrillRdsGateway``,
    ``adapters.drill_dynamodb.DrillTableGateway``)."""

    engine: Engine
    region: str
    # The status in which the restored resource is ready for checks, and those a restore never leaves.
    available_status: str
    failed_statuses: frozenset[str]

    def restore(self, plan: DrillPlan, network: Network) -> str | None:
        """Start the restore; a retry after a lost response finds the resource it made. Returns the restore's own
        reference where the engine follows it apart from the resource (a table import's ARN), else None."""
        ...

    def observe(self, plan: DrillPlan) -> RestoredDatabase | None:
        """The temporary resource as it is now (None: it does not exist)."""
        ...

    def delete_target(self, plan: DrillPlan, stack_name: str) -> str:
        """Delete the plan's temporary resource, only with proof it is this execution's: ``deleted``, ``absent``,
        ``already deleting``; ``CleanupPendingError`` when it cannot be deleted yet, ``NotOwnedError`` without proof."""
        ...

    def list_drill_resources(self, stack_name: str) -> list[DrillResource]:
        """Every temporary resource of this stack in the Region (the janitor's inventory)."""
        ...

    def delete_resource(self, resource: DrillResource, stack_name: str) -> str:
        """Delete a listed temporary resource, proving again that it is a drill resource of this stack."""
        ...


class DrillChecker(Protocol):
    """The engine's checks on the restored resource: each check's result and the data-level RPO, if measured."""

    def run(
        self, plan: DrillPlan, restored: RestoredDatabase, checks: Checks
    ) -> tuple[list[CheckResult], float | None]: ...


class TableImports(Protocol):
    """A drill from an export: ImportTable of an export in the DR Region into a new table (the shape of the
    export drill; ``adapters.drill_dynamodb.DrillTableGateway`` in the DR Region implements it)."""

    def start_import(self, target_name: str, source: ExportSource, client_token: str) -> ImportProgress:
        """Start the import into ``target_name`` (a retry with the same token within 8 hours is the same import)."""
        ...

    def import_progress(self, import_arn: str) -> ImportProgress: ...


class RdsSources(Protocol):
    """One Region's RDS as the RDS planner reads it (``adapters.drill_rds.DrillRdsGateway``)."""

    region: str

    def find_source(self, identifier: str, database_type: DatabaseType | None = None) -> SourceDatabase: ...

    def get_snapshot(self, database_type: DatabaseType, identifier: str) -> SnapshotInfo: ...

    def list_snapshots(self, database_type: DatabaseType) -> list[SnapshotInfo]: ...


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
    """One Region's ElastiCache as the cache planner reads it, and the temporary caches' own calls
    (``adapters.drill_elasticache.DrillElastiCacheGateway``, which is also the engine's ``DrillEngine``)."""

    region: str

    def find_source(self, identifier: str, cache_type: DatabaseType | None = None) -> SourceCache: ...

    def get_snapshot(self, source_type: DatabaseType, name: str) -> CacheSnapshotInfo: ...

    def list_snapshots(self, source: SourceCache) -> list[CacheSnapshotInfo]: ...

    def create_cache(
        self, spec: CacheRestoreSpec, tags: Mapping[str, str], network: CacheNetwork, execution_id: str
    ) -> None: ...

    def describe(self, cache_type: RestoredCacheType, identifier: str) -> RestoredCache | None: ...

    def delete(
        self, cache_type: RestoredCacheType, identifier: str, stack_name: str, execution_id: str | None = None
    ) -> str: ...

    def list_drill_resources(self, stack_name: str) -> list[DrillResource]: ...


__all__ = [
    "DrillCache",
    "DrillChecker",
    "DrillEngine",
    "DrillPlanner",
    "DrillRecords",
    "RdsSources",
    "SecretStore",
    "TableImports",
]
