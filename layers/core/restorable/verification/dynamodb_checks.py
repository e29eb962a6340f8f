"""Pure checks of DynamoDB tables: point-in-time recovery, its lag, weekly backups, DR exports, global replicas.

The same contract as the RDS checks (``checks.py``): one ``CheckResult`` per check and protected
table, ``OK`` included, ``UNKNOWN`` with the reason when a lookup failed. Backups are ours only by
the name contract (``dynamodb_backup_names``): a backup cannot carry tags.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ..dynamodb_export_plan import COMPLETED, EXPORT_KIND, EXPORT_ROOT, FAILED, export_wanted
from ..dynamodb_models import ContinuousBackups, Table, TableBackup, TableExport
from ..engines import profile
from ..models import Engine
from ..policy import ON_DEMAND_KINDS, Policy
from .checks import (
    CHECK_INVENTORY,
    CHECK_POLICY,
    CHECK_RECOVERY_POINT_AGE,
    CHECK_SNAPSHOT_AGE,
    MEASURE_RECOVERY_POINT_AGE_MINUTES,
    MEASURE_SNAPSHOT_AGE_DAYS,
    CheckResult,
    Measurement,
    Severity,
    Verification,
    VerificationContext,
    age_severity,
    age_text,
    checks_failed,
    limit_text,
    region_key,
    unknown_policy_result,
)

CHECK_PITR = "point-in-time-recovery"
CHECK_GLOBAL_REPLICA = "global-replica"
CHECK_DR_EXPORT = f"dr-export:{EXPORT_KIND}"
# The policy document has no "global" field yet: the table says it is a global table.
GLOBAL_TAG = "restorable:global"
_AVAILABLE_BACKUP = "AVAILABLE"


@dataclass(frozen=True)
class MonitoredTable:
    """A table with what verification reads about it; ``pitr_error`` says why PITR facts are missing."""

    table: Table
    continuous_backups: ContinuousBackups | None
    created_at: datetime | None = None
    pitr_error: str = ""
    # The table's exports, described (read only for tables whose policy wants a DR export); None: unreadable.
    exports: Sequence[TableExport] | None = None
    export_error: str = ""

    @property
    def is_global(self) -> bool:
        return self.table.tags.get(GLOBAL_TAG, "").strip().lower() == "true"


@dataclass(frozen=True)
class DynamoDbInventory:
    """One Region's tables and USER backups; ``None`` with an error when a listing failed."""

    region: str
    tables: Sequence[MonitoredTable] | None
    backups: Sequence[TableBackup] | None
    table_error: str = ""
    backup_error: str = ""
    # The DR Region's export bucket (DR_EXPORT_BUCKET); empty: exports are off.
    export_bucket: str = ""


def verify_tables(inventory: DynamoDbInventory, context: VerificationContext, verification: Verification) -> None:
    """Check every protected table of ``inventory`` and the Region's inventory itself, into ``verification``."""
    _check_inventory(inventory, verification)
    for monitored in inventory.tables or []:
        table = monitored.table
        if table.policy_name is None:
            continue
        verification.databases.append(table.arn)
        policy = context.policies.get(table.policy_name)
        if policy is None:
            verification.results.append(
                unknown_policy_result(table.arn, table.name, table.policy_name, context.policies)
            )
            continue
        verification.results.append(_result(table, CHECK_POLICY, Severity.OK, observed=table.policy_name))
        checked = Verification()
        try:
            _check_pitr(monitored, policy, context, checked)
            _check_recovery_point_age(monitored, context, checked)
            _check_backups(monitored, policy, inventory, context, checked)
            _check_dr_export(monitored, inventory, context, checked)
            _check_global_replica(monitored, context, checked)
        except Exception as exc:  # one table's odd data never hides the others' results
            checked.results.append(checks_failed(table.arn, table.name, exc))
        verification.results.extend(checked.results)
        verification.measurements.extend(checked.measurements)


def _result(
    table: Table, check: str, severity: Severity, observed: str, expected: str = "", fix: str = ""
) -> CheckResult:
    return CheckResult(
        key=table.arn,
        resource=table.name,
        check=check,
        severity=severity,
        observed=observed,
        expected=expected,
        fix=fix,
    )


def _unknown(table: Table, check: str, reason: str) -> CheckResult:
    return _result(
        table,
        check,
        Severity.UNKNOWN,
        observed=f"not evaluated: {reason}",
        expected="the check evaluated",
        fix="see the DynamoDB inventory finding or the function's logs; the next pass evaluates it again",
    )


def _pitr_command(table: Table, days: int) -> str:
    return (
        f"aws dynamodb update-continuous-backups --table-name {table.name} --point-in-time-recovery-specification "
        f"PointInTimeRecoveryEnabled=true,RecoveryPeriodInDays={days}"
    )


def _check_inventory(inventory: DynamoDbInventory, verification: Verification) -> None:
    problems = [text for text in (inventory.table_error, inventory.backup_error) if text]
    verification.results.append(
        CheckResult(
            key=region_key(inventory.region, Engine.DYNAMODB),
            resource=f"DynamoDB {inventory.region}",
            check=CHECK_INVENTORY,
            severity=Severity.UNKNOWN if problems else Severity.OK,
            observed="; ".join(problems) or "tables and backups read",
            expected="tables and backups readable" if problems else "",
            fix="check the function's dynamodb:List*/Describe* permissions and the Region's DynamoDB health"
            if problems
            else "",
        )
    )


def _check_pitr(
    monitored: MonitoredTable, policy: Policy, context: VerificationContext, verification: Verification
) -> None:
    table, facts = monitored.table, monitored.continuous_backups
    wanted = policy.point_in_time_recovery.recovery_period_days
    add = verification.results.append
    if facts is None:
        add(_unknown(table, CHECK_PITR, monitored.pitr_error or "continuous backups unreadable"))
        return
    if not facts.pitr_enabled:
        add(
            _result(
                table,
                CHECK_PITR,
                Severity.CRITICAL,
                observed=f"point-in-time recovery is {facts.pitr_status.lower()}: no restore to a moment is possible",
                expected=f"enabled with a recovery period >= {wanted} days",
                fix=_pitr_command(table, wanted),
            )
        )
        return
    # DynamoDB omits the period for tables that kept the default (35 days).
    period = facts.recovery_period_days or 35
    if period < wanted:
        add(
            _result(
                table,
                CHECK_PITR,
                Severity.WARNING,
                observed=f"recovery period {period} days",
                expected=f"recovery period >= {wanted} days (policy {table.policy_name})",
                fix=_pitr_command(table, wanted),
            )
        )
        return
    add(_result(table, CHECK_PITR, Severity.OK, observed=f"enabled, recovery period {period} days"))


def _check_recovery_point_age(
    monitored: MonitoredTable, context: VerificationContext, verification: Verification
) -> None:
    table, facts, limits = monitored.table, monitored.continuous_backups, context.thresholds
    expected = f"<= {limit_text(limits.rpo_warning)} (RPO {limit_text(limits.rpo_critical)})"
    if facts is None:
        verification.results.append(
            _unknown(table, CHECK_RECOVERY_POINT_AGE, monitored.pitr_error or "continuous backups unreadable")
        )
        return
    if not facts.pitr_enabled or facts.latest_restorable is None:
        verification.results.append(
            _result(
                table,
                CHECK_RECOVERY_POINT_AGE,
                Severity.CRITICAL,
                observed="DynamoDB reports no latest restorable time: point-in-time recovery is not possible",
                expected=expected,
                fix="turn point-in-time recovery on (the point-in-time-recovery finding gives the command)",
            )
        )
        return
    age = context.now - facts.latest_restorable
    verification.measurements.append(
        Measurement(table.name, MEASURE_RECOVERY_POINT_AGE_MINUTES, round(max(age.total_seconds(), 0) / 60, 2))
    )
    if age > limits.rpo_critical:
        severity = Severity.CRITICAL
    elif age > limits.rpo_warning:
        severity = Severity.WARNING
    else:
        severity = Severity.OK
    verification.results.append(
        _result(
            table,
            CHECK_RECOVERY_POINT_AGE,
            severity,
            observed=f"latest restorable time {facts.latest_restorable.isoformat()} is {age_text(age)} old",
            expected=expected,
            fix=""
            if severity is Severity.OK
            else f"check the table's status and DynamoDB's health in the Region (aws dynamodb describe-continuous-"
            f"backups --table-name {table.name})",
        )
    )


def newest_managed_backup(
    backups: Sequence[TableBackup], table: Table, kind: str, stack_name: str
) -> TableBackup | None:
    """This stack's newest available backup of ``kind`` for ``table``, by the name contract."""
    found = []
    for backup in backups:
        name = backup.parsed_name(stack_name)
        if name is None or name.kind != kind or backup.status != _AVAILABLE_BACKUP or backup.created_at is None:
            continue
        if backup.table_name == table.name and name.names_table(table.name):
            found.append(backup)
    return max(found, key=lambda b: b.created_at.timestamp() if b.created_at else float("-inf"), default=None)


def _check_backups(
    monitored: MonitoredTable,
    policy: Policy,
    inventory: DynamoDbInventory,
    context: VerificationContext,
    verification: Verification,
) -> None:
    table, now = monitored.table, context.now
    supported = profile(Engine.DYNAMODB)
    for kind in sorted(policy.snapshots):
        max_age = context.thresholds.snapshot_max_age.get(kind)
        if (
            not supported.supports(kind)
            or kind in ON_DEMAND_KINDS
            or kind not in context.scheduled_kinds
            or max_age is None
        ):
            continue
        check = f"{CHECK_SNAPSHOT_AGE}:{kind}"
        if inventory.backups is None:
            reason = inventory.backup_error or f"backups in {inventory.region} unreadable"
            verification.results.append(_unknown(table, check, reason))
            continue
        expected = f"a {kind} backup of this stack no older than {limit_text(max_age)}"
        fix = f'check the snapshot function\'s results for table {table.name}; invoke it with {{"kind": "{kind}"}}'
        newest = newest_managed_backup(inventory.backups, table, kind, context.stack_name)
        if newest is None or newest.created_at is None:
            existed = now - monitored.created_at if monitored.created_at else None
            if existed is not None and existed <= max_age:
                verification.results.append(
                    _result(table, check, Severity.OK, observed=f"none yet; table is {age_text(existed)} old")
                )
                continue
            verification.results.append(
                _result(
                    table, check, Severity.CRITICAL, observed=f"no available {kind} backup", expected=expected, fix=fix
                )
            )
            continue
        age = now - newest.created_at
        verification.measurements.append(
            Measurement(table.name, MEASURE_SNAPSHOT_AGE_DAYS, round(age.total_seconds() / 86400, 3), kind=kind)
        )
        severity = age_severity(age, max_age)
        verification.results.append(
            _result(
                table,
                check,
                severity,
                observed=f"newest {kind} backup {newest.name} is {age_text(age)} old",
                expected=expected,
                fix="" if severity is Severity.OK else fix,
            )
        )


def _export_date(export: TableExport, prefix_root: str) -> datetime | None:
    """When an export of ours holds the table: its ExportTime, else the start of its period's date (UTC)."""
    if export.export_time is not None and export.export_time.tzinfo is not None:
        return export.export_time
    period = export.s3_prefix.rstrip("/").removeprefix(prefix_root)
    try:
        return datetime.fromisoformat(f"{period}T00:00:00+00:00")
    except ValueError:
        return None


def _check_dr_export(
    monitored: MonitoredTable, inventory: DynamoDbInventory, context: VerificationContext, verification: Verification
) -> None:
    """A table whose policy wants a weekly DR copy has a COMPLETED export within the weekly maximum age."""
    table = monitored.table
    max_age = context.thresholds.snapshot_max_age.get(EXPORT_KIND)
    if not export_wanted(table, context.policies) or max_age is None or EXPORT_KIND not in context.scheduled_kinds:
        return
    add = verification.results.append
    where = f"the DR Region ({context.dr_region})"
    expected = f"a COMPLETED export in {where} no older than {limit_text(max_age)}"
    if not inventory.export_bucket:
        add(
            _result(
                table,
                CHECK_DR_EXPORT,
                Severity.WARNING,
                observed=f"DR exports are off (DrExportBucket is empty): the weekly recovery point exists only in "
                f"{inventory.region}",
                expected=expected,
                fix="deploy dr-template.yaml in the DR Region and set DrExportBucket and DrExportKmsKeyArn from its "
                "outputs (docs/deploy.md)",
            )
        )
        return
    if monitored.exports is None:
        add(_unknown(table, CHECK_DR_EXPORT, monitored.export_error or "exports unreadable"))
        return
    root = f"{EXPORT_ROOT}/{context.stack_name}/{table.name}/{EXPORT_KIND}/"
    ours = [
        (moment, e)
        for e in monitored.exports
        if e.s3_bucket == inventory.export_bucket
        and e.s3_prefix.startswith(root)
        and (moment := _export_date(e, root)) is not None
    ]
    fix = (
        f"check the export function's results for table {table.name}; invoke it with "
        f'{{"tables": ["{table.name}"]}} to export now'
    )
    completed = [(moment, e) for moment, e in ours if e.status == COMPLETED]
    newest = max(ours, key=lambda pair: pair[0], default=None)
    if newest is not None and newest[1].status == FAILED and not any(m >= newest[0] for m, _ in completed):
        add(
            _result(
                table,
                CHECK_DR_EXPORT,
                Severity.WARNING if completed else Severity.CRITICAL,
                observed=f"the newest export (s3://{newest[1].s3_bucket}/{newest[1].s3_prefix}) FAILED: "
                f"{newest[1].failure or 'no reason given'}",
                expected=expected,
                fix=f"{fix}; a FAILED export is retried by the hourly reconcile up to 3 times, check the bucket "
                "policy and the KMS key policy of the DR companion stack",
            )
        )
        return
    if not completed:
        existed = context.now - monitored.created_at if monitored.created_at else None
        if existed is not None and existed <= max_age:
            add(_result(table, CHECK_DR_EXPORT, Severity.OK, observed=f"none yet; table is {age_text(existed)} old"))
            return
        running = " (one is in progress)" if ours else ""
        add(
            _result(
                table,
                CHECK_DR_EXPORT,
                Severity.CRITICAL,
                observed=f"no COMPLETED export in s3://{inventory.export_bucket}/{root}{running}",
                expected=expected,
                fix=fix,
            )
        )
        return
    moment, export = max(completed, key=lambda pair: pair[0])
    age = context.now - moment
    severity = age_severity(age, max_age)
    add(
        _result(
            table,
            CHECK_DR_EXPORT,
            severity,
            observed=f"newest COMPLETED export s3://{export.s3_bucket}/{export.s3_prefix} is {age_text(age)} old",
            expected=expected,
            fix="" if severity is Severity.OK else fix,
        )
    )


def _check_global_replica(monitored: MonitoredTable, context: VerificationContext, verification: Verification) -> None:
    table, region = monitored.table, context.dr_region
    if not monitored.is_global:
        # Reported so that a finding clears when the tag is removed.
        verification.results.append(
            _result(table, CHECK_GLOBAL_REPLICA, Severity.OK, observed=f"not marked global ({GLOBAL_TAG})")
        )
        return
    expected = f"an ACTIVE replica in {region} ({GLOBAL_TAG}=true)"
    replica = next((r for r in table.replicas if r.region == region), None)
    if replica is None:
        elsewhere = ", ".join(sorted(r.region for r in table.replicas)) or "none"
        verification.results.append(
            _result(
                table,
                CHECK_GLOBAL_REPLICA,
                Severity.WARNING,
                observed=f"no replica in {region} (replicas: {elsewhere})",
                expected=expected,
                fix=(
                    f"aws dynamodb update-table --table-name {table.name} "
                    f'--replica-updates \'[{{"Create": {{"RegionName": "{region}"}}}}]\''
                ),
            )
        )
        return
    if not replica.is_healthy:
        verification.results.append(
            _result(
                table,
                CHECK_GLOBAL_REPLICA,
                Severity.WARNING,
                observed=f"replica in {region} is {replica.status}",
                expected=expected,
                fix=f"aws dynamodb describe-table --table-name {table.name} --region {region}; "
                "for INACCESSIBLE_ENCRYPTION_CREDENTIALS restore access to the replica's KMS key",
            )
        )
        return
    verification.results.append(
        _result(table, CHECK_GLOBAL_REPLICA, Severity.OK, observed=f"replica in {region} is {replica.status}")
    )
