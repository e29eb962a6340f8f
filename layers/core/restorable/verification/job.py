"""The verification job: gather the inventory, run the checks, announce what changed.

An hourly pass verifies every protected database, DynamoDB table and ElastiCache cache in
the Region plus the Region-level checks (inventory, snapshot quotas) of each engine. An RDS
event verifies the one instance it names. Any lookup may fail (denied, throttled,
unsupported, unreachable): the checks that needed it report ``UNKNOWN`` with the reason, and
everything else is still verified, measured and announced. An unknown never replaces what
was announced before, so nothing "recovers" because it could not be read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from ..dynamodb_export_plan import COMPLETED, EXPORT_KIND, export_prefix, export_wanted
from ..dynamodb_models import ContinuousBackups, Table, TableBackup, TableExport
from ..errors import AwsError
from ..models import Engine, RecoveryPoint
from ..notifications import NotificationPlan, NotificationState, format_notification, plan_notifications
from ..policy import PolicyDocument
from ..rds_events import IgnoredEvent
from ..snapshot_plan import Period
from .checks import (
    DrillHistory,
    MonitoredDatabase,
    QuotaUsage,
    RegionInventory,
    Severity,
    Verification,
    VerificationContext,
    region_key,
    verify,
)
from .dynamodb_checks import DynamoDbInventory, MonitoredTable, verify_tables
from .elasticache_checks import (
    DrExportInventory,
    DrExportSet,
    ElastiCacheInventory,
    MonitoredCache,
    verify_cache_exports,
    verify_caches,
)
from .request import InstanceEvent, VerifyRequest
from .settings import VerifySettings

if TYPE_CHECKING:
    from ..adapters.elasticache import Cache, CacheSnapshot

JOB = "verify"


class InventoryGateway(Protocol):
    region: str

    def list_databases(self) -> list[MonitoredDatabase]: ...

    def get_instance(self, identifier: str) -> MonitoredDatabase | None: ...

    def list_manual_snapshots(self, instance_identifier: str | None = None) -> list[RecoveryPoint]: ...

    def snapshot_quotas(self) -> list[QuotaUsage]: ...


class TableGateway(Protocol):
    """One Region's DynamoDB (``adapters.dynamodb.DynamoDbGateway``)."""

    region: str

    def list_tables(self) -> list[Table]: ...

    def describe_continuous_backups(self, table_name: str) -> ContinuousBackups: ...

    def list_backups(self, table_name: str | None = None) -> list[TableBackup]: ...

    def describe_exports(
        self, table_arn: str, *, enough: Callable[[TableExport], bool] | None = None
    ) -> list[TableExport]: ...


class CacheSettings(Protocol):
    @property
    def cache(self) -> Cache: ...

    @property
    def snapshot_retention_limit(self) -> int | None: ...

    @property
    def created_at(self) -> datetime | None: ...


class CacheGateway(Protocol):
    """One Region's ElastiCache (``adapters.elasticache.ElastiCacheGateway``)."""

    region: str

    def list_caches_with_backup_settings(self) -> Sequence[CacheSettings]: ...

    def list_manual_snapshots(self, *, with_tags: bool = True) -> Sequence[CacheSnapshot]: ...


class DrExportGateway(Protocol):
    """The DR bucket's cache exports (``adapters.cache_export_store.DrExportReader``)."""

    bucket: str
    region: str

    def newest_sets(self) -> dict[str, DrExportSet]: ...


class StateGateway(Protocol):
    def load_all(self) -> dict[tuple[str, str], NotificationState]: ...

    def load_for(self, keys: list[str]) -> dict[tuple[str, str], NotificationState]: ...

    def apply(self, writes: list[NotificationState], deletes: list[tuple[str, str]]) -> None: ...


class DrillGateway(Protocol):
    def last_successes(self) -> dict[str, datetime]: ...


class Publisher(Protocol):
    def publish(self, subject: str, message: str, severity: str) -> str: ...


@dataclass(frozen=True)
class Gateways:
    source: InventoryGateway
    dr: InventoryGateway
    state: StateGateway
    publisher: Publisher
    drills: DrillGateway | None = None
    # The other engines of the source Region; None: not verified by this function.
    tables: TableGateway | None = None
    caches: CacheGateway | None = None
    # The DR bucket of cache exports; None: exports to the DR Region are off.
    cache_exports: DrExportGateway | None = None


@dataclass
class VerificationRun:
    region: str
    scope: str
    full_run: bool
    verification: Verification = field(default_factory=Verification)
    plan: NotificationPlan | None = None
    ignored: IgnoredEvent | None = None
    event_id: str | None = None
    message_id: str | None = None
    notification_error: str | None = None
    notes: list[str] = field(default_factory=list)
    databases_listed: bool = True  # False when the Region's databases could not be listed

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"job": JOB, "region": self.region, "scope": self.scope}
        if self.ignored is not None:
            data["ignored"] = self.ignored.reason
            if self.ignored.event_id:
                data["event_id"] = self.ignored.event_id
            return data
        if self.event_id:
            data["event_id"] = self.event_id
        data.update(
            status=self.verification.status.value,
            databases_verified=len(self.verification.databases),
            counts=self.verification.counts(),
            findings=[finding.to_dict() for finding in self.verification.findings],
        )
        notifications: dict[str, Any] = {"enabled": self.plan is not None}
        if self.plan is not None:
            notifications.update(self.plan.counts(), sent=self.message_id is not None)
            if self.message_id:
                notifications["message_id"] = self.message_id
        if self.notification_error:
            notifications["error"] = self.notification_error
        data["notifications"] = notifications
        if self.notes:
            data["notes"] = list(self.notes)
        return data


def _reason(exc: Exception) -> str:
    """What went wrong, for a finding: the domain message, or the unexpected error's type and text."""
    return str(exc) if isinstance(exc, AwsError) else f"unexpected {type(exc).__name__}: {exc}"


def _region_inventory(
    gateway: InventoryGateway, instance: str | None, with_quotas: bool, database_error: str = ""
) -> RegionInventory:
    snapshots: list[RecoveryPoint] | None
    snapshot_error = quota_error = ""
    try:
        snapshots = gateway.list_manual_snapshots(instance)
    except Exception as exc:  # one lookup never stops the pass; its checks report UNKNOWN
        snapshots, snapshot_error = None, f"manual snapshots in {gateway.region} unreadable: {_reason(exc)}"
    quotas: list[QuotaUsage] | None = None
    if with_quotas:
        try:
            quotas = gateway.snapshot_quotas()
        except Exception as exc:
            quota_error = f"snapshot quotas in {gateway.region} unreadable: {_reason(exc)}"
    return RegionInventory(
        region=gateway.region,
        snapshots=snapshots,
        quotas=quotas,
        snapshot_error=snapshot_error,
        quota_error=quota_error,
        database_error=database_error,
    )


def _drill_history(gateways: Gateways) -> DrillHistory:
    if gateways.drills is None:
        return DrillHistory(enabled=False)
    try:
        return DrillHistory(enabled=True, last_success=gateways.drills.last_successes())
    except Exception as exc:
        return DrillHistory(enabled=True, error=f"drill history unreadable: {_reason(exc)}")


@dataclass(frozen=True)
class ExportScope:
    """Where verification looks for DR exports: the bucket (empty: exports off) and the current weekly period."""

    bucket: str
    stack_name: str
    period: Period | None

    def current(self, table: Table) -> Callable[[TableExport], bool]:
        """A COMPLETED export of ``table`` for the current period: nothing newer can exist, describing stops."""
        if self.period is None:
            return lambda export: False
        prefix = export_prefix(
            stack_name=self.stack_name, table_name=table.name, kind=self.period.kind, period_date=self.period.local_date
        )
        return lambda e: e.status == COMPLETED and e.s3_bucket == self.bucket and e.s3_prefix.rstrip("/") == prefix


def _table_inventory(gateway: TableGateway, exports: ExportScope, policies: PolicyDocument) -> DynamoDbInventory:
    """The Region's tables, PITR facts of the protected ones, USER backups, and the exports of the tables that
    want a DR export (when exports are on); each lookup fails alone."""
    export_bucket = exports.bucket
    try:
        tables = gateway.list_tables()
    except Exception as exc:
        reason = f"tables in {gateway.region} unreadable: {_reason(exc)}"
        return DynamoDbInventory(region=gateway.region, tables=None, backups=None, table_error=reason)
    monitored = []
    for table in tables:
        if table.policy_name is None:
            monitored.append(MonitoredTable(table=table, continuous_backups=None))
            continue
        facts: ContinuousBackups | None = None
        pitr_error = None
        try:
            facts = gateway.describe_continuous_backups(table.name)
        except Exception as exc:
            pitr_error = f"continuous backups of {table.name} unreadable: {_reason(exc)}"
        described: list[TableExport] | None = None
        export_error = ""
        if export_bucket and export_wanted(table, policies):
            try:
                described = gateway.describe_exports(table.arn, enough=exports.current(table))
            except Exception as exc:
                export_error = f"exports of {table.name} unreadable: {_reason(exc)}"
        monitored.append(
            MonitoredTable(
                table=table,
                continuous_backups=facts,
                created_at=table.created_at,
                pitr_error=pitr_error or "",
                exports=described,
                export_error=export_error,
            )
        )
    backups: list[TableBackup] | None
    backup_error = ""
    try:
        backups = gateway.list_backups()
    except Exception as exc:
        backups, backup_error = None, f"backups in {gateway.region} unreadable: {_reason(exc)}"
    return DynamoDbInventory(
        region=gateway.region, tables=monitored, backups=backups, backup_error=backup_error, export_bucket=export_bucket
    )


def _cache_inventory(gateway: CacheGateway) -> ElastiCacheInventory:
    """The Region's caches with their automatic-backup settings, and manual snapshots; each listing fails alone."""
    caches: list[MonitoredCache] | None
    cache_error = snapshot_error = ""
    try:
        caches = [
            MonitoredCache(item.cache, item.snapshot_retention_limit, item.created_at)
            for item in gateway.list_caches_with_backup_settings()
        ]
    except Exception as exc:
        caches, cache_error = None, f"caches in {gateway.region} unreadable: {_reason(exc)}"
    snapshots: Sequence[CacheSnapshot] | None
    try:
        snapshots = gateway.list_manual_snapshots()
    except Exception as exc:
        snapshots, snapshot_error = None, f"cache snapshots in {gateway.region} unreadable: {_reason(exc)}"
    return ElastiCacheInventory(
        region=gateway.region,
        caches=caches,
        snapshots=snapshots,
        cache_error=cache_error,
        snapshot_error=snapshot_error,
    )


def _export_inventory(gateway: DrExportGateway | None, dr_region: str) -> DrExportInventory:
    if gateway is None:
        return DrExportInventory(bucket="", region=dr_region, sets={})
    try:
        return DrExportInventory(bucket=gateway.bucket, region=gateway.region, sets=gateway.newest_sets())
    except Exception as exc:
        reason = f"cache exports in s3://{gateway.bucket} ({gateway.region}) unreadable: {_reason(exc)}"
        return DrExportInventory(bucket=gateway.bucket, region=gateway.region, sets=None, error=reason)


def _guarded(check: Callable[[], None], engine: str, run: VerificationRun) -> None:
    """An engine's checks that raise (odd data) leave a note; RDS and the other engines are still announced."""
    try:
        check()
    except Exception as exc:
        run.notes.append(f"{engine} checks could not run: {type(exc).__name__}: {exc}")
        run.databases_listed = False


def run_verification(
    target: VerifyRequest | InstanceEvent,
    settings: VerifySettings,
    gateways: Gateways,
    now: datetime,
) -> VerificationRun:
    context = VerificationContext(
        policies=settings.policies,
        thresholds=settings.thresholds,
        stack_name=settings.stack_name,
        dr_region=settings.dr_region,
        scheduled_kinds=settings.scheduled_kinds,
        now=now,
    )
    if isinstance(target, InstanceEvent):
        run = VerificationRun(
            region=gateways.source.region,
            scope=f"instance {target.identifier}",
            full_run=False,
            event_id=target.event_id,
        )
        try:
            monitored = gateways.source.get_instance(target.identifier)
        except Exception as exc:  # the hourly pass verifies it; this run says why it could not
            run.notes.append(f"DB instance {target.identifier} unreadable: {_reason(exc)}; not verified")
            return run
        if monitored is None:
            run.ignored = IgnoredEvent(f"no DB instance {target.identifier} in {run.region}", event_id=target.event_id)
            return run
        database = monitored.database
        if database.is_cluster_member:
            run.ignored = IgnoredEvent(
                f"{target.identifier} is a member of cluster {database.cluster_identifier}; the hourly pass covers it",
                event_id=target.event_id,
            )
            return run
        if database.policy_name is None:
            run.ignored = IgnoredEvent(f"{target.identifier} is not protected", event_id=target.event_id)
            return run
        source = _region_inventory(gateways.source, target.identifier, with_quotas=False)
        dr = _region_inventory(gateways.dr, target.identifier, with_quotas=False)
        run.verification = verify(
            [monitored], source, dr, _drill_history(gateways), context, include_region_checks=False
        )
        # Region-level problems are findings of the hourly pass; here they are noted in the result only.
        run.notes.extend(error for error in (source.snapshot_error, dr.snapshot_error) if error)
        _notify(run, gateways, settings, now, notify=True)
        return run

    run = VerificationRun(region=gateways.source.region, scope="all protected databases", full_run=True)
    database_error = ""
    try:
        databases = gateways.source.list_databases()
    except Exception as exc:
        databases, database_error = [], f"databases in {gateways.source.region} unreadable: {_reason(exc)}"
        # Not knowing which databases exist is not "they are gone": no GONE notices this run.
        run.databases_listed = False
    source = _region_inventory(gateways.source, None, with_quotas=True, database_error=database_error)
    dr = _region_inventory(gateways.dr, None, with_quotas=True)
    run.verification = verify(databases, source, dr, _drill_history(gateways), context)
    if gateways.tables is not None:
        weekly = settings.schedules.get(EXPORT_KIND)
        scope = ExportScope(
            settings.dr_export_bucket,
            settings.stack_name,
            Period.current(EXPORT_KIND, weekly, now) if weekly is not None else None,
        )
        tables = _table_inventory(gateways.tables, scope, settings.policies)
        run.databases_listed = run.databases_listed and tables.tables is not None
        _guarded(lambda: verify_tables(tables, context, run.verification), "DynamoDB", run)
    if gateways.caches is not None:
        caches = _cache_inventory(gateways.caches)
        run.databases_listed = run.databases_listed and caches.caches is not None
        _guarded(lambda: verify_caches(caches, context, run.verification), "ElastiCache", run)
        exports = _export_inventory(gateways.cache_exports, settings.dr_region)
        _guarded(lambda: verify_cache_exports(caches, exports, context, run.verification), "ElastiCache export", run)
    _notify(run, gateways, settings, now, notify=target.notify, region_checks=True)
    return run


def _notify(
    run: VerificationRun,
    gateways: Gateways,
    settings: VerifySettings,
    now: datetime,
    *,
    notify: bool,
    region_checks: bool = False,
) -> None:
    if not notify:
        return
    verified = list(run.verification.databases)
    if region_checks:
        verified += [region_key(settings.region), region_key(settings.dr_region)]
        if gateways.tables is not None:
            verified.append(region_key(gateways.tables.region, Engine.DYNAMODB))
        if gateways.caches is not None:
            verified.append(region_key(gateways.caches.region, Engine.ELASTICACHE))
    keys = sorted({result.key for result in run.verification.results} | set(verified))
    save_state = True
    try:
        states = gateways.state.load_all() if run.full_run else gateways.state.load_for(keys)
    except Exception as exc:
        # Alert without deduplication rather than not at all; nothing is written over unread state.
        run.notification_error = f"notification state unreadable (announcing without it): {_reason(exc)}"
        states, save_state = {}, False
    plan = plan_notifications(
        run.verification.results,
        states,
        now=now,
        repeat_after=settings.repeat_after,
        verified_keys=verified,
        full_run=run.full_run and run.databases_listed and save_state,
    )
    run.plan = plan
    if not plan.notices:
        return
    subject, body = format_notification(
        plan, run.verification.status, stack_name=settings.stack_name, region=run.region, scope=run.scope
    )
    worst = max((n.severity for n in plan.notices), default=Severity.OK)
    try:
        run.message_id = gateways.publisher.publish(subject, body, worst.label)
    except Exception as exc:
        # State is not written: the next run announces the same changes again.
        run.notification_error = _reason(exc)
        return
    if not save_state:
        return
    try:
        gateways.state.apply(plan.writes, plan.deletes)
    except Exception as exc:
        run.notification_error = f"sent, but the notification state was not saved (may repeat next run): {_reason(exc)}"
