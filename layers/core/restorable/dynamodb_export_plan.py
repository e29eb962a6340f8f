"""Plan DynamoDB exports to the DR Region: the weekly recovery point outside the source Region.

Pure. A table whose policy's ``weekly`` rule has ``dr_copy`` true gets one full export per weekly
period, taken as of the period's scheduled time (``ExportTableToPointInTime`` with that
``ExportTime``), into the DR bucket under a deterministic prefix::

    dynamodb/{stack}/{table}/weekly/{YYYY-MM-DD}

The prefix is the idempotency key: a rerun finds the export an earlier run started (by bucket and
prefix, as ``DescribeExport`` reports them) and starts nothing. A FAILED export of the period does
not count as the copy: another is started, up to ``MAX_EXPORT_ATTEMPTS`` exports per period, then
the table is reported instead of retried. The bucket's lifecycle rule on ``dynamodb/`` expires
exports after the weekly retention.

An export needs point-in-time recovery on and the export time inside the restorable window; a table
without either is a finding (a scheduled pass goes on with the others), never a failed call.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from .dynamodb_models import ContinuousBackups, Table, TableExport
from .policy import PolicyDocument
from .snapshot_plan import Period

EXPORT_KIND = "weekly"
EXPORT_ROOT = "dynamodb"
MAX_EXPORT_ATTEMPTS = 3
# ExportDescription.ExportStatus values.
IN_PROGRESS = "IN_PROGRESS"
COMPLETED = "COMPLETED"
FAILED = "FAILED"
# A table being created or deleted has no export to take; UPDATING tables export normally.
EXPORTABLE_TABLE_STATUSES = frozenset({"ACTIVE", "UPDATING"})


def export_prefix(*, stack_name: str, table_name: str, kind: str, period_date: date) -> str:
    """The S3 prefix of one table's export for one period (DynamoDB writes ``{prefix}/AWSDynamoDB/...``)."""
    return f"{EXPORT_ROOT}/{stack_name}/{table_name}/{kind}/{period_date.isoformat()}"


def export_client_token(prefix: str, table_arn: str, attempt: int) -> str:
    """``ClientToken`` of the ``attempt``-th export into ``prefix``: a retried call within 8 hours gets the same
    export back; a new attempt after a FAILED one gets a new token, so DynamoDB does not hand back the failure."""
    return hashlib.sha256(f"{table_arn}\n{prefix}\n{attempt}".encode()).hexdigest()[:32]


class ExportAction(enum.Enum):
    START = "start"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    WAITING = "waiting"
    FINDING = "finding"


@dataclass(frozen=True)
class TableExportFacts:
    """What the job read about one table that wants an export (``None`` with the reason when unreadable)."""

    table: Table
    continuous_backups: ContinuousBackups | None
    exports: Sequence[TableExport] | None
    error: str = ""


@dataclass(frozen=True)
class ExportDecision:
    table: Table
    action: ExportAction
    reason: str
    prefix: str
    export_time: datetime
    attempt: int = 0
    client_token: str = ""
    export: TableExport | None = None
    # The finding is about the request itself (a named table outside its window, PITR off): a request
    # naming such a table is rejected before anything starts.
    bad_request: bool = False


def export_wanted(table: Table, policies: PolicyDocument, kind: str = EXPORT_KIND) -> bool | None:
    """True: the table's policy wants a DR copy of ``kind``; False: unprotected or no DR copy wanted;
    None: the table names a policy that does not exist (a finding)."""
    name = table.policy_name
    if name is None:
        return False
    policy = policies.get(name)
    if policy is None:
        return None
    rule = policy.rule_for(kind)
    return bool(rule is not None and rule.dr_copy)


@dataclass(frozen=True)
class TableSelection:
    """Which tables a pass exports, and which name a policy that does not exist (findings)."""

    wanted: list[Table]
    unknown_policy: list[Table]


def select_tables(tables: Iterable[Table], policies: PolicyDocument, kind: str = EXPORT_KIND) -> TableSelection:
    """The tables whose policy wants a DR copy of ``kind``; unprotected tables and other policies are left out."""
    wanted, unknown = [], []
    for table in tables:
        verdict = export_wanted(table, policies, kind)
        if verdict is None:
            unknown.append(table)
        elif verdict:
            wanted.append(table)
    return TableSelection(wanted, unknown)


def period_exports(exports: Iterable[TableExport], *, bucket: str, prefix: str) -> list[TableExport]:
    """The exports written into ``bucket`` under exactly ``prefix`` (one trailing slash tolerated)."""
    return [e for e in exports if e.s3_bucket == bucket and e.s3_prefix.rstrip("/") == prefix]


def plan_exports(
    facts: Iterable[TableExportFacts],
    *,
    period: Period,
    stack_name: str,
    bucket: str,
    max_attempts: int = MAX_EXPORT_ATTEMPTS,
) -> list[ExportDecision]:
    """One decision per table (the caller passes only tables whose policy wants the export).

    ``period`` is the weekly period (``snapshot_plan.Period``): its scheduled time is the export time.
    """
    if period.scheduled_at.tzinfo is None:
        raise ValueError("the period's scheduled time must be timezone-aware")
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    decisions: list[ExportDecision] = []
    seen: set[str] = set()
    for item in facts:
        if item.table.arn in seen:
            continue  # one export per table and period, whatever the caller passed
        seen.add(item.table.arn)
        decisions.append(_decide(item, period, stack_name, bucket, max_attempts))
    return decisions


def _decide(item: TableExportFacts, period: Period, stack_name: str, bucket: str, max_attempts: int) -> ExportDecision:
    table, at = item.table, period.scheduled_at
    prefix = export_prefix(
        stack_name=stack_name, table_name=table.name, kind=period.kind, period_date=period.local_date
    )

    def decide(action: ExportAction, reason: str, **extra: object) -> ExportDecision:
        return ExportDecision(table, action, reason, prefix, at, **extra)  # type: ignore[arg-type]

    if item.exports is None:
        return decide(ExportAction.FINDING, f"exports of the table unreadable ({item.error}); nothing started")
    mine = period_exports(item.exports, bucket=bucket, prefix=prefix)
    done = next((e for e in mine if e.status == COMPLETED), None)
    if done is not None:
        return decide(ExportAction.COMPLETED, f"export to s3://{bucket}/{prefix} completed", export=done)
    running = next((e for e in mine if e.status not in (COMPLETED, FAILED)), None)
    if running is not None:
        return decide(ExportAction.IN_PROGRESS, f"export to s3://{bucket}/{prefix} is {running.status}", export=running)
    failed = [e for e in mine if e.status == FAILED]
    if len(failed) >= max_attempts:
        last = failed[-1].failure or "no reason given"
        return decide(
            ExportAction.FINDING,
            f"{len(failed)} exports to s3://{bucket}/{prefix} failed (last: {last}); not retried. Check the DR "
            "bucket's policy and the KMS key, then start one by hand with the export function",
            attempt=len(failed),
        )
    if table.status not in EXPORTABLE_TABLE_STATUSES:
        return decide(ExportAction.WAITING, f"table is {table.status}; a later pass exports it")
    facts = item.continuous_backups
    if facts is None:
        return decide(ExportAction.FINDING, f"point-in-time recovery unreadable ({item.error}); nothing started")
    if not facts.pitr_enabled:
        return decide(
            ExportAction.FINDING,
            f"point-in-time recovery is {facts.pitr_status.lower()}: DynamoDB exports only from PITR; turn it on "
            f"(aws dynamodb update-continuous-backups --table-name {table.name} --point-in-time-recovery-specification "
            "PointInTimeRecoveryEnabled=true)",
            bad_request=True,
        )
    earliest, latest = facts.earliest_restorable, facts.latest_restorable
    if earliest is not None and at < earliest:
        return decide(
            ExportAction.FINDING,
            f"export time {at.isoformat()} is before the earliest restorable time {earliest.isoformat()} "
            "(PITR turned on after the period began); the next period is exported",
            bad_request=True,
        )
    if latest is not None and at > latest:
        # PITR trails the clock by about five minutes: right after the schedule fires it may not reach it yet.
        return decide(
            ExportAction.WAITING,
            f"latest restorable time {latest.isoformat()} has not reached the export time {at.isoformat()}; "
            "a later pass exports it",
        )
    attempt = len(failed) + 1
    note = f" (attempt {attempt} of {max_attempts}; {len(failed)} failed)" if failed else ""
    return decide(
        ExportAction.START,
        f"export as of {at.isoformat()} to s3://{bucket}/{prefix}{note}",
        attempt=attempt,
        client_token=export_client_token(prefix, table.arn, attempt),
    )
