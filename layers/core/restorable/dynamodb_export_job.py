"""The DynamoDB export job: each protected table's weekly recovery point, exported to the DR Region's bucket.

Fired by the weekly schedule and an hourly reconcile with the same input; both reconcile the current
weekly period (taken from the time the schedule was meant to fire). The job reads the tables, keeps
those whose policy wants a DR copy of the weekly kind, reads their PITR window and the exports they
already have, asks ``dynamodb_export_plan`` for one decision per table and starts the missing exports.
One table's failure never stops the others; throttling and the concurrent-export limit leave the table
for a later pass.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Protocol

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from .dynamodb_export_plan import (
    COMPLETED,
    EXPORT_KIND,
    FAILED,
    ExportAction,
    ExportDecision,
    TableExportFacts,
    export_prefix,
    export_wanted,
    plan_exports,
    select_tables,
)
from .dynamodb_models import ContinuousBackups, Table, TableExport
from .errors import AwsError, InvalidRequestError, QuotaExceededError, ThrottledError
from .request_fields import EventTime, StrictBool
from .results import ItemResult, JobResult, Outcome
from .settings import ExportSettings, problem
from .snapshot_plan import Period
from .validation import describe_problems

JOB = "export"
_TABLE_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


class ExportGateway(Protocol):
    """One Region's DynamoDB (``adapters.dynamodb.DynamoDbGateway``)."""

    region: str

    def list_tables(self) -> list[Table]: ...

    def describe_continuous_backups(self, table_name: str) -> ContinuousBackups: ...

    def describe_exports(
        self, table_arn: str, *, enough: Callable[[TableExport], bool] | None = None
    ) -> list[TableExport]: ...

    def export_to_point_in_time(
        self,
        table: Table,
        *,
        export_time: datetime,
        bucket: str,
        bucket_owner: str,
        prefix: str,
        kms_key_id: str,
        client_token: str,
    ) -> TableExport: ...


def _table_name(value: str) -> str:
    if not 3 <= len(value) <= 255 or not set(value) <= _TABLE_NAME_CHARS:
        raise problem(f"'{value[:60]}' is not a DynamoDB table name")
    return value


class ExportRequest(BaseModel):
    """The schedules' input: ``{"scheduled_time": "<aws.scheduler.scheduled-time>"}``.

    ``tables`` narrows the pass to the named tables (an operator's run); each must exist, be protected
    by a policy that wants the DR copy, and be exportable as of the period's time, or the request is
    rejected before anything starts.
    """

    model_config = ConfigDict(extra="forbid")

    scheduled_time: EventTime | None = None
    tables: list[Annotated[str, AfterValidator(_table_name)]] | None = Field(default=None, min_length=1)
    dry_run: StrictBool = False


def parse_export_request(event: object, now: datetime) -> ExportRequest:
    if not isinstance(event, dict):
        raise InvalidRequestError(f"export event must be a JSON object, got {type(event).__name__}")
    try:
        return ExportRequest.model_validate(event, context={"now": now})
    except ValidationError as exc:
        raise InvalidRequestError(f"invalid export request: {describe_problems(exc)}") from exc


def run_export_job(
    request: ExportRequest, settings: ExportSettings, gateway: ExportGateway, *, now: datetime
) -> JobResult:
    """Start the exports the current weekly period lacks; report the rest."""
    result = JobResult(job=JOB, region=gateway.region, dry_run=request.dry_run)
    if not settings.exports_enabled:
        result.details["exports"] = {"enabled": False, "reason": "DR_EXPORT_BUCKET is empty: exports are off"}
        return result
    schedule = settings.schedules.get(EXPORT_KIND)
    if schedule is None:
        raise InvalidRequestError(f"no '{EXPORT_KIND}' schedule is declared (SNAPSHOT_SCHEDULES): nothing to export")
    period = Period.current(EXPORT_KIND, schedule, request.scheduled_time or now)
    bucket = settings.dr_export_bucket
    result.details["period"] = {"kind": period.kind, "scheduled_at": period.scheduled_at.isoformat()}
    result.details["destination"] = {
        "region": settings.dr_region,
        "bucket": bucket,
        "kms_key_arn": settings.dr_export_kms_key_arn,
    }
    try:
        tables = gateway.list_tables()
    except Exception as exc:
        result.add(
            ItemResult(
                resource="dynamodb",
                kind=EXPORT_KIND,
                outcome=Outcome.FAILED,
                reason=f"cannot read the tables in {gateway.region}: {_text(exc)}; nothing exported",
                region=gateway.region,
            )
        )
        _summarize(result, [], 0, 0)
        return result
    wanted, findings = _wanted_tables(tables, request, settings)
    for finding in findings:
        result.add(finding)

    facts = [_read_facts(gateway, table, bucket, settings.stack_name, period) for table in wanted]
    decisions = plan_exports(facts, period=period, stack_name=settings.stack_name, bucket=bucket)
    if request.tables is not None:
        rejected = [d for d in decisions if d.bad_request]
        if rejected:
            reasons = "; ".join(f"{d.table.name}: {d.reason}" for d in rejected)
            raise InvalidRequestError(f"invalid export request: tables: {reasons}; nothing was started")

    started = retry_later = 0
    for decision in decisions:
        item, quota = _apply(decision, gateway, settings, request.dry_run)
        started += item.outcome is Outcome.CREATED
        retry_later += quota
        result.add(item)
    _summarize(result, decisions, started, retry_later)
    return result


def _wanted_tables(
    tables: Sequence[Table], request: ExportRequest, settings: ExportSettings
) -> tuple[list[Table], list[ItemResult]]:
    """The tables to export, and the findings for protected tables whose policy is unknown."""
    by_name = {t.name: t for t in tables}
    if request.tables is not None:
        missing = [name for name in request.tables if name not in by_name]
        if missing:
            raise InvalidRequestError(
                f"invalid export request: tables: no table {', '.join(map(repr, missing))} in {settings.region}; "
                "nothing was started"
            )
        unwanted = [name for name in request.tables if not export_wanted(by_name[name], settings.policies)]
        if unwanted:
            raise InvalidRequestError(
                f"invalid export request: tables: {', '.join(map(repr, unwanted))} not protected by a policy whose "
                f"'{EXPORT_KIND}' rule has dr_copy true; nothing was started"
            )
        tables = [by_name[name] for name in dict.fromkeys(request.tables)]
    selection = select_tables(tables, settings.policies)
    findings = [
        ItemResult(
            resource=table.name,
            kind=EXPORT_KIND,
            outcome=Outcome.FINDING,
            reason=f"restorable:policy={table.policy_name!r} names no policy; nothing exported",
            resource_arn=table.arn,
        )
        for table in selection.unknown_policy
    ]
    wanted = selection.wanted
    return wanted, findings


def _read_facts(gateway: ExportGateway, table: Table, bucket: str, stack_name: str, period: Period) -> TableExportFacts:
    """The table's exports and PITR window; PITR is read only when no export of the period is under way."""
    prefix = export_prefix(
        stack_name=stack_name, table_name=table.name, kind=period.kind, period_date=period.local_date
    )

    def settles(export: TableExport) -> bool:
        return export.s3_bucket == bucket and export.s3_prefix.rstrip("/") == prefix and export.status != FAILED

    try:
        exports = gateway.describe_exports(table.arn, enough=settles)
    except Exception as exc:
        return TableExportFacts(table, None, None, error=_text(exc))
    if any(settles(e) for e in exports):
        return TableExportFacts(table, None, exports)
    try:
        facts = gateway.describe_continuous_backups(table.name)
    except Exception as exc:
        return TableExportFacts(table, None, exports, error=_text(exc))
    return TableExportFacts(table, facts, exports)


def _apply(
    decision: ExportDecision, gateway: ExportGateway, settings: ExportSettings, dry_run: bool
) -> tuple[ItemResult, bool]:
    """The item for ``decision``, and whether DynamoDB asked us to come back later (throttled, export limit)."""
    table = decision.table

    def item(outcome: Outcome, reason: str = "") -> ItemResult:
        return ItemResult(
            resource=table.name,
            kind=EXPORT_KIND,
            outcome=outcome,
            reason=reason or decision.reason,
            recovery_point=f"s3://{settings.dr_export_bucket}/{decision.prefix}",
            resource_arn=table.arn,
        )

    if decision.action in (ExportAction.COMPLETED, ExportAction.IN_PROGRESS):
        return item(Outcome.ALREADY_EXISTS), False
    if decision.action is ExportAction.WAITING:
        return item(Outcome.SKIPPED), False
    if decision.action is ExportAction.FINDING:
        return item(Outcome.FINDING), False
    if dry_run:
        return item(Outcome.PLANNED, f"would {decision.reason[0].lower()}{decision.reason[1:]}"), False
    try:
        started = gateway.export_to_point_in_time(
            table,
            export_time=decision.export_time,
            bucket=settings.dr_export_bucket,
            bucket_owner=_account(table.arn),
            prefix=decision.prefix,
            kms_key_id=settings.dr_export_kms_key_arn,
            client_token=decision.client_token,
        )
    except (QuotaExceededError, ThrottledError) as exc:
        return item(Outcome.SKIPPED, f"retried later: {exc}; the next pass starts the export"), True
    except Exception as exc:  # one table's failure never stops the others
        return item(Outcome.FAILED, f"{_text(exc)}; the next pass tries again"), False
    state = "completed" if started.status == COMPLETED else "started"
    return item(Outcome.CREATED, f"{decision.reason}: {state} ({started.arn})"), False


def _account(table_arn: str) -> str:
    """The bucket is the same account's (the DR companion stack): S3BucketOwner is the table's account."""
    parts = table_arn.split(":")
    return parts[4] if len(parts) > 5 else ""


def _text(error: Exception) -> str:
    return str(error) if isinstance(error, AwsError) else f"unexpected {type(error).__name__}: {error}"


def _summarize(result: JobResult, decisions: Sequence[ExportDecision], started: int, retry_later: int) -> None:
    result.details["exports"] = {
        "enabled": True,
        "tables": len(decisions),
        "started": started,
        "in_progress": sum(d.action is ExportAction.IN_PROGRESS for d in decisions),
        "completed": sum(d.action is ExportAction.COMPLETED for d in decisions),
        "retry_later": retry_later,
    }
