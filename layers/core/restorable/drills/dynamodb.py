"""DynamoDB table drills: the planner (the validate step's DynamoDB part) and the checker (item count, keys
that must exist, the freshness attribute). The I/O goes through ``TableSources`` and ``TableReader``
(``adapters.drill_dynamodb.DrillTableGateway``); the restore, poll and cleanup through ``DrillEngine``.

The checks are DynamoDB API calls, so they run in the drill function (``checks_via`` "api"): no VPC, no
network path to the table is needed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Protocol

from .. import tags as tag_keys
from ..arns import check_local, is_arn, parse_arn
from ..dynamodb_backup_names import parse_backup_name
from ..dynamodb_export_plan import COMPLETED as EXPORT_COMPLETED
from ..dynamodb_export_plan import EXPORT_ROOT
from ..dynamodb_models import TableBackup, TableExport
from ..errors import InvalidRequestError, ResourceNotFoundError
from ..models import Engine
from ..policy import PolicyDocument
from .model import RestoredDatabase, ScanPage, SourceTable
from .plan import Checks, DrillMode, DrillRequest, SnapshotSelector, TableChecks, TableFreshness, iso, parse_time
from .state import (
    CheckResult,
    DrillPlan,
    KeyAttribute,
    PlannedRestore,
    PlanRecoveryPoint,
    PlanSource,
    PlanTarget,
    TableImportSpec,
)
from .table_names import drill_table_name, is_drill_table_name

# The backup kind a backup drill restores when the request names none.
DEFAULT_BACKUP_KIND = "weekly"
# A Scan stops after this long (the drill function's task has 360 s); the count is then a lower bound.
SCAN_BUDGET_SECONDS = 240.0


class TableSources(Protocol):
    """One Region's DynamoDB as the planner reads it."""

    region: str

    def find_table(self, name: str) -> SourceTable: ...

    def get_backup(self, backup_arn: str) -> TableBackup: ...

    def list_backups(self, table_name: str) -> list[TableBackup]: ...

    def describe_exports(self, table_arn: str) -> list[TableExport]:
        """Every export of the table, described (bucket, prefix, status, export time)."""
        ...

    def get_export(self, export_arn: str) -> TableExport: ...


class TableReader(Protocol):
    """Reads of the restored table, for the checks."""

    def item_count(self, table_name: str) -> int | None:
        """DescribeTable's ItemCount (updated about every six hours)."""
        ...

    def scan(self, table_name: str, attribute: str | None) -> Iterator[ScanPage]:
        """Every page of a Scan: only counts without ``attribute``, else that attribute's values."""
        ...

    def missing_keys(self, table_name: str, keys: list[dict[str, dict[str, str]]]) -> list[dict[str, dict[str, str]]]:
        """The keys with no item (BatchGetItem, consistent reads, key attributes only)."""
        ...


class TablePlanner:
    """The validate step for DynamoDB tables: a protected table, a restore time in its PITR window, a backup
    this stack made of that table or (cross-region) a completed export of it in the DR bucket, checks that fit
    its keys.

    ``export_bucket`` is the DR Region's export bucket (None: exports are off, no cross-region drill)."""

    engine = Engine.DYNAMODB

    def __init__(
        self,
        *,
        tables: TableSources,
        policies: PolicyDocument,
        stack_name: str,
        account: str | None,
        dr_region: str | None = None,
        export_bucket: str | None = None,
    ) -> None:
        self.tables = tables
        self.policies = policies
        self.stack_name = stack_name
        self.account = account
        self.dr_region = dr_region
        self.export_bucket = export_bucket

    def locate(
        self, request: DrillRequest, *, execution_id: str, started_at: datetime, expires_at: datetime, now: datetime
    ) -> PlannedRestore:
        region = self.tables.region
        source = self._protected_source(request.source)
        restore_time: datetime | None = None
        table_import: TableImportSpec | None = None
        target_region = region
        if request.mode is DrillMode.CROSS_REGION:
            export, target_region = self._select_export(source, request.export_arn)
            point = PlanRecoveryPoint(
                type="export",
                identifier=export.s3_prefix,
                arn=export.arn,
                region=target_region,
                created_at=iso(export.export_time) if export.export_time else None,
                encrypted=True,
                kind=_export_kind(export.s3_prefix),
            )
            table_import = _import_spec(export, source)
            recovery_point_time = export.export_time or started_at
            targeted_time = started_at
        elif request.mode is DrillMode.PITR:
            restore_time = _restore_time_in_window(source, request, now)
            point = PlanRecoveryPoint(
                type="point-in-time",
                region=region,
                created_at=iso(restore_time) if restore_time else None,
                encrypted=source.encrypted,
            )
            recovery_point_time = restore_time or source.latest_restorable_time or now
            targeted_time = restore_time or started_at
        else:
            backup = self._select_backup(source, request.selector)
            point = PlanRecoveryPoint(
                type="backup",
                identifier=backup.name,
                arn=backup.arn,
                region=region,
                created_at=iso(backup.created_at) if backup.created_at else None,
                encrypted=source.encrypted,
                kind=_kind_of(backup, self.stack_name),
            )
            recovery_point_time = backup.created_at or started_at
            targeted_time = started_at
        if request.checks.table is not None:
            _check_keys_fit(request.checks.table, source)
        target = drill_table_name(
            stack_name=self.stack_name, source_table=source.name, execution_id=execution_id, expires_at=expires_at
        )
        return PlannedRestore(
            region=target_region,
            source=PlanSource(
                type="table",
                identifier=source.name,
                arn=source.arn,
                engine="dynamodb",
                engine_version="",
                encrypted=source.encrypted,
            ),
            recovery_point=point,
            restore_time=restore_time,
            recovery_point_time=recovery_point_time,
            targeted_time=targeted_time,
            target=PlanTarget(type="table", identifier=target, region=target_region, table_import=table_import),
            checks_via="api",
        )

    def _protected_source(self, reference: str) -> SourceTable:
        name = reference
        if is_arn(reference):
            arn = check_local(
                parse_arn(reference, field="source"), field="source", region=self.tables.region, account=self.account
            )
            if arn.service != "dynamodb" or not arn.resource.startswith("table/") or "/" in arn.resource[6:]:
                raise InvalidRequestError(f"source: {reference} is not a DynamoDB table ARN")
            name = arn.resource.removeprefix("table/")
        if is_drill_table_name(name):
            raise InvalidRequestError(f"source: {name} is a drill's temporary table, not a protected table")
        try:
            source = self.tables.find_table(name)
        except ResourceNotFoundError as exc:
            raise ResourceNotFoundError(
                f"unknown source '{name}': no DynamoDB table by that name in {self.tables.region}", code=exc.code
            ) from exc
        if is_arn(reference) and source.arn != reference:
            raise InvalidRequestError(f"source: {reference} is not {source.arn}, the table of that name here")
        what = f"source: table {source.name}"
        policy_name = source.policy_name
        if policy_name is None:
            raise InvalidRequestError(
                f"{what} is not protected (no {tag_keys.POLICY} tag naming a policy): drills restore only protected "
                "tables"
            )
        if self.policies.get(policy_name) is None:
            known = ", ".join(sorted(self.policies.policies))
            raise InvalidRequestError(f"{what}: {tag_keys.POLICY}={policy_name!r} names no policy (known: {known})")
        return source

    def _select_backup(self, source: SourceTable, selector: SnapshotSelector) -> TableBackup:
        if selector.identifier is not None:
            reference = selector.identifier
            if not is_arn(reference):
                raise InvalidRequestError(
                    f"backup.identifier: {reference!r} is not a backup ARN (DynamoDB backup names are not unique)"
                )
            check_local(
                parse_arn(reference, field="backup.identifier"),
                field="backup.identifier",
                region=self.tables.region,
                account=self.account,
            )
            try:
                backup = self.tables.get_backup(reference)
            except ResourceNotFoundError as exc:
                raise ResourceNotFoundError(
                    f"backup.identifier: backup {reference} does not exist in {self.tables.region}", code=exc.code
                ) from exc
            if backup.table_arn != source.arn:
                raise InvalidRequestError(
                    f"backup.identifier: {reference} is a backup of {backup.table_arn or 'an unknown table'}, "
                    f"not of {source.arn}"
                )
            if not self._ours(backup, source):
                raise InvalidRequestError(
                    f"backup.identifier: backup {backup.name} is not a backup stack {self.stack_name} made of "
                    f"{source.name}; drills restore only recovery points of this stack"
                )
            if backup.status != "AVAILABLE":
                raise InvalidRequestError(f"backup {backup.name} is '{backup.status}', not AVAILABLE")
            return backup
        kind = selector.kind or DEFAULT_BACKUP_KIND
        candidates = [
            b
            for b in self.tables.list_backups(source.name)
            if b.table_arn == source.arn and self._ours(b, source) and _kind_of(b, self.stack_name) == kind
        ]
        available = [b for b in candidates if b.status == "AVAILABLE" and b.created_at is not None]
        if not available:
            pending = f" ({len(candidates)} not available yet)" if candidates else ""
            raise InvalidRequestError(
                f"no available {kind} backup of {source.name} in {self.tables.region} made by stack "
                f"{self.stack_name}{pending}"
            )
        return max(available, key=lambda b: (b.created_at or datetime.min.replace(tzinfo=UTC), b.arn))

    def _select_export(self, source: SourceTable, export_arn: str | None) -> tuple[TableExport, str]:
        """The named export, or the newest completed one this stack wrote of the table into the DR bucket."""
        if self.export_bucket is None or self.dr_region is None:
            raise InvalidRequestError(
                "mode: a cross-region table drill imports the table's export in the DR Region, and exports to the "
                "DR Region are off (DR_EXPORT_BUCKET is not set)"
            )
        if not source.key_schema or any(not kind for _, kind, _ in source.key_schema):
            raise InvalidRequestError(f"source: the key schema of {source.name} could not be read")
        prefix = _stack_export_prefix(self.stack_name, source.name)
        if export_arn is not None:
            try:
                export = self.tables.get_export(export_arn)
            except ResourceNotFoundError as exc:
                raise ResourceNotFoundError(
                    f"export_arn: export {export_arn} does not exist in {self.tables.region}", code=exc.code
                ) from exc
            if export.table_arn != source.arn:
                raise InvalidRequestError(
                    f"export_arn: {export_arn} is an export of {export.table_arn or 'an unknown table'}, "
                    f"not of {source.arn}"
                )
            if export.s3_bucket != self.export_bucket or not export.s3_prefix.startswith(prefix):
                raise InvalidRequestError(
                    f"export_arn: {export_arn} was written to s3://{export.s3_bucket}/{export.s3_prefix}, not under "
                    f"s3://{self.export_bucket}/{prefix}: drills import only exports of this stack"
                )
            if export.status != EXPORT_COMPLETED:
                raise InvalidRequestError(f"export_arn: export {export_arn} is '{export.status}', not COMPLETED")
            return export, self.dr_region
        exports = [
            e
            for e in self.tables.describe_exports(source.arn)
            if e.table_arn == source.arn and e.s3_bucket == self.export_bucket and e.s3_prefix.startswith(prefix)
        ]
        completed = [e for e in exports if e.status == EXPORT_COMPLETED and e.export_time is not None]
        if not completed:
            pending = f" ({len(exports)} not completed)" if exports else ""
            raise InvalidRequestError(
                f"no completed export of {source.name} in s3://{self.export_bucket}/{prefix} made by stack "
                f"{self.stack_name}{pending}"
            )
        newest = max(completed, key=lambda e: (e.export_time or datetime.min.replace(tzinfo=UTC), e.arn))
        return newest, self.dr_region

    def _ours(self, backup: TableBackup, source: SourceTable) -> bool:
        parsed = backup.parsed_name(self.stack_name)
        return parsed is not None and parsed.names_table(source.name)


def _stack_export_prefix(stack_name: str, table_name: str) -> str:
    """Where this stack's exports of a table live in the DR bucket (``dynamodb_export_plan.export_prefix``)."""
    return f"{EXPORT_ROOT}/{stack_name}/{table_name}/"


def _export_kind(prefix: str) -> str | None:
    parts = prefix.rstrip("/").split("/")
    return parts[3] if len(parts) == 5 else None


def _import_spec(export: TableExport, source: SourceTable) -> TableImportSpec:
    """The export's data files: DynamoDB writes ``{prefix}/AWSDynamoDB/{export-id}/data/`` (the id ends its ARN)."""
    export_id = export.arn.rsplit("/export/", 1)[-1]
    return TableImportSpec(
        export_arn=export.arn,
        bucket=export.s3_bucket,
        bucket_owner=export.s3_bucket_owner,
        data_prefix=f"{export.s3_prefix.rstrip('/')}/AWSDynamoDB/{export_id}/data/",
        key_schema=[
            KeyAttribute(name=name, type=kind, role=role)  # type: ignore[arg-type]
            for name, kind, role in source.key_schema
        ],
    )


def _kind_of(backup: TableBackup, stack_name: str) -> str | None:
    parsed = parse_backup_name(backup.name, stack_name)
    return parsed.kind if parsed is not None else None


def _restore_time_in_window(source: SourceTable, request: DrillRequest, now: datetime) -> datetime | None:
    if not source.pitr_enabled:
        raise InvalidRequestError(
            f"source: table {source.name} has point-in-time recovery off: no pitr drill (a backup drill works)"
        )
    wanted = request.restore_to
    if wanted is None:
        return None
    earliest = source.earliest_restorable_time
    latest = source.latest_restorable_time or now
    if (earliest is not None and wanted < earliest) or wanted > latest:
        window = f"{iso(earliest) if earliest else 'unknown'} .. {iso(latest)}"
        raise InvalidRequestError(
            f"restore_time {iso(wanted)} is outside the restorable window of {source.name} ({window})"
        )
    return wanted.astimezone(UTC)


def _check_keys_fit(checks: TableChecks, source: SourceTable) -> None:
    expected = set(source.key_attributes)
    for index, key in enumerate(checks.keys):
        if set(key) != expected:
            raise InvalidRequestError(
                f"checks.table.keys.{index}: names {', '.join(sorted(key))}; the key of {source.name} is "
                f"{', '.join(source.key_attributes)}"
            )


class TableChecker:
    """The checks on a restored table: what DynamoDB reports of it, then the configured table checks."""

    def __init__(self, reader: TableReader, clock: Callable[[], float] = time.monotonic) -> None:
        self.reader = reader
        self.clock = clock

    def run(
        self, plan: DrillPlan, restored: RestoredDatabase, checks: Checks
    ) -> tuple[list[CheckResult], float | None]:
        results = table_api_checks(plan, restored)
        table = checks.table
        if table is None:
            return results, None
        name = plan.target.identifier
        count: int | None = None
        complete = True
        newest: datetime | None = None
        unreadable = 0
        if table.freshness is not None or (table.min_items is not None and table.count == "scan"):
            attribute = table.freshness.attribute if table.freshness else None
            count, complete, newest, unreadable = self._scan(name, attribute, table.freshness)
        if table.min_items is not None:
            if table.count == "describe":
                results.append(_count_result(self.reader.item_count(name), True, table.min_items, "ItemCount"))
            else:
                results.append(_count_result(count, complete, table.min_items, "Scan"))
        if table.keys:
            results.append(self._keys(name, table))
        data_rpo: float | None = None
        if table.freshness is not None:
            result, data_rpo = _freshness_result(table.freshness, newest, complete, unreadable, plan.targeted)
            results.append(result)
        return results, data_rpo

    def _scan(
        self, name: str, attribute: str | None, freshness: TableFreshness | None
    ) -> tuple[int, bool, datetime | None, int]:
        started = self.clock()
        count = 0
        newest: datetime | None = None
        unreadable = 0
        for page in self.reader.scan(name, attribute):
            count += page.count
            for value in page.values:
                moment = _as_time(value, freshness.format) if freshness else None
                if moment is None:
                    unreadable += 1
                elif newest is None or moment > newest:
                    newest = moment
            if self.clock() - started > SCAN_BUDGET_SECONDS:
                return count, False, newest, unreadable
        return count, True, newest, unreadable

    def _keys(self, name: str, table: TableChecks) -> CheckResult:
        wanted = [{k: v.model_dump(exclude_none=True) for k, v in key.items()} for key in table.keys]
        missing = self.reader.missing_keys(name, wanted)
        shown = "; ".join(_key_text(key) for key in missing[:5]) + (" ..." if len(missing) > 5 else "")
        detail = f"{len(wanted) - len(missing)}/{len(wanted)} keys present" + (f"; missing {shown}" if missing else "")
        return CheckResult(
            name="keys", kind="table", status="failed" if missing else "passed", value=len(missing), detail=detail
        )


def table_api_checks(plan: DrillPlan, restored: RestoredDatabase) -> list[CheckResult]:
    """What DynamoDB reports of the restored table against its source."""

    def result(name: str, ok: bool, detail: str) -> CheckResult:
        return CheckResult(name=name, kind="api", status="passed" if ok else "failed", detail=detail)

    source = plan.source
    return [
        result("status", restored.status == "ACTIVE", f"status {restored.status}"),
        result(
            "encryption",
            restored.encrypted or not source.encrypted,
            f"restored encrypted={restored.encrypted}, source encrypted={source.encrypted}",
        ),
        result("isolation", not restored.deletion_protection, f"deletion_protection={restored.deletion_protection}"),
    ]


def _count_result(count: int | None, complete: bool, minimum: int, how: str) -> CheckResult:
    if count is None:
        return CheckResult(name="item_count", kind="table", status="error", detail=f"{how} reported no item count")
    ok = count >= minimum
    if not complete and not ok:
        return CheckResult(
            name="item_count",
            kind="table",
            status="error",
            value=count,
            detail=f"at least {count} items (the scan stopped after {SCAN_BUDGET_SECONDS:.0f}s; minimum {minimum})",
        )
    prefix = "" if complete else "at least "
    return CheckResult(
        name="item_count",
        kind="table",
        status="passed" if ok else "failed",
        value=count,
        detail=f"{prefix}{count} items ({how}; minimum {minimum})",
    )


def _freshness_result(
    freshness: TableFreshness, newest: datetime | None, complete: bool, unreadable: int, targeted: datetime
) -> tuple[CheckResult, float | None]:
    name = freshness.name
    if not complete:
        detail = f"the scan stopped after {SCAN_BUDGET_SECONDS:.0f}s: the newest {freshness.attribute} is not known"
        return CheckResult(name=name, kind="table", status="error", detail=detail), None
    if newest is None:
        detail = f"no item has a readable {freshness.attribute} ({freshness.format})"
        return CheckResult(name=name, kind="table", status="failed", detail=detail), None
    age = round((targeted - newest).total_seconds(), 3)
    ok = freshness.max_age_seconds is None or age <= freshness.max_age_seconds
    limit = "" if freshness.max_age_seconds is None else f" (maximum {freshness.max_age_seconds}s)"
    skipped = f"; {unreadable} values not a time" if unreadable else ""
    return CheckResult(
        name=name,
        kind="table",
        status="passed" if ok else "failed",
        value=iso(newest),
        detail=f"newest {freshness.attribute} {iso(newest)}, {age:.0f}s before the targeted time{limit}{skipped}",
    ), age


def _as_time(value: object, form: str) -> datetime | None:
    if form == "iso8601":
        return parse_time(value) if isinstance(value, str) else None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
        return datetime.fromtimestamp(number / 1000 if form == "epoch_milliseconds" else number, tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _key_text(key: Mapping[str, Mapping[str, str]]) -> str:
    return ", ".join(f"{name}={next(iter(value.values()))}" for name, value in sorted(key.items()))
