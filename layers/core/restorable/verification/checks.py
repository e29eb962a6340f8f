"""Backup verification: pure checks over the inventory, returning one result per check.

Every check returns a ``CheckResult`` (``OK`` included), so the notifier can tell "fixed"
from "not looked at". A result above ``OK`` is a finding: it names the resource, the
check, what was observed, what was expected and how to fix it. A check whose input could
not be read (a denied or throttled lookup) is ``UNKNOWN``, with the reason; one failing
lookup or database never stops the other checks. No boto3 here; the verification job
gathers the inventory through adapters.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .. import tags as tag_keys
from ..engines import profile
from ..models import Database, DatabaseType, Engine, RecoveryPoint
from ..policy import ON_DEMAND_KINDS, Policy, PolicyDocument


class Severity(enum.IntEnum):
    """Ordered: a higher value is worse. ``OK`` results are not findings.

    ``UNKNOWN``: the check could not be evaluated (its input was unreadable). It is a finding,
    never a recovery: the notifier keeps whatever was announced before.
    """

    OK = 0
    UNKNOWN = 1
    WARNING = 2
    CRITICAL = 3

    @property
    def label(self) -> str:
        return self.name


class Status(enum.Enum):
    HEALTHY = "HEALTHY"
    UNKNOWN = "UNKNOWN"
    DEGRADED = "DEGRADED"
    CRITICAL = "CRITICAL"

    @classmethod
    def of(cls, severities: Iterable[Severity]) -> Status:
        worst = max(severities, default=Severity.OK)
        return {
            Severity.OK: cls.HEALTHY,
            Severity.UNKNOWN: cls.UNKNOWN,
            Severity.WARNING: cls.DEGRADED,
            Severity.CRITICAL: cls.CRITICAL,
        }[worst]


# Check names: stable, they key the notification state and appear in alerts.
CHECK_POLICY = "policy"
CHECK_STATE = "database-state"
CHECK_AUTOMATED_BACKUPS = "automated-backups"
CHECK_BACKUP_WINDOW = "backup-window"
CHECK_COPY_TAGS = "copy-tags-to-snapshot"
CHECK_ENCRYPTION = "storage-encrypted"
CHECK_RECOVERY_POINT_AGE = "recovery-point-age"
CHECK_SNAPSHOT_AGE = "snapshot-age"  # suffixed with the kind: snapshot-age:weekly
CHECK_DR_COPY = "dr-copy"  # suffixed with the kind: dr-copy:weekly
CHECK_BACKUP_REPLICATION = "backup-replication"
CHECK_QUOTA = "snapshot-quota"  # suffixed with the quota name
CHECK_DRILL = "restore-drill"
CHECK_INVENTORY = "inventory"
CHECK_VERIFICATION = "verification"  # the database's checks themselves could not run

# Quota names as RDS DescribeAccountAttributes reports them.
QUOTA_MANUAL_SNAPSHOTS = "ManualSnapshots"
QUOTA_MANUAL_CLUSTER_SNAPSHOTS = "ManualClusterSnapshots"
SNAPSHOT_QUOTAS = (QUOTA_MANUAL_SNAPSHOTS, QUOTA_MANUAL_CLUSTER_SNAPSHOTS)

# States in which a database takes no automated backups or cannot be backed up reliably.
_STOPPED_STATES = frozenset({"stopped", "stopping"})
_BROKEN_STATES = frozenset(
    {"failed", "storage-full", "incompatible-restore", "incompatible-parameters", "inaccessible-encryption-credentials"}
)


@dataclass(frozen=True)
class Thresholds:
    """Limits the checks hold databases to (from the template's parameters)."""

    rpo_warning: timedelta = timedelta(minutes=15)
    rpo_critical: timedelta = timedelta(minutes=60)
    # Per scheduled kind: older than this is a warning, older than twice this is critical.
    snapshot_max_age: Mapping[str, timedelta] = field(
        default_factory=lambda: {"weekly": timedelta(days=8), "monthly": timedelta(days=32)}
    )
    dr_lag_warning: timedelta = timedelta(hours=6)
    dr_lag_critical: timedelta = timedelta(hours=24)
    quota_warning_percent: float = 80.0
    drill_max_age: timedelta = timedelta(days=35)


@dataclass(frozen=True)
class BackupFacts:
    """What RDS reports about a database's own (automated) backups."""

    retention_days: int
    backup_window: str | None
    copy_tags_to_snapshot: bool
    storage_encrypted: bool
    latest_restorable_time: datetime | None
    created_at: datetime | None = None
    # Regions that receive this instance's automated backups (cross-Region replication).
    replication_regions: frozenset[str] = frozenset()


@dataclass(frozen=True)
class MonitoredDatabase:
    database: Database
    backup: BackupFacts


@dataclass(frozen=True)
class QuotaUsage:
    region: str
    name: str
    used: int
    maximum: int

    @property
    def percent(self) -> float:
        return 100.0 * self.used / self.maximum if self.maximum > 0 else 100.0


@dataclass(frozen=True)
class RegionInventory:
    """A Region's manual snapshots and quotas; ``error`` says why a part could not be read."""

    region: str
    snapshots: Sequence[RecoveryPoint] | None
    quotas: Sequence[QuotaUsage] | None = None
    snapshot_error: str = ""
    quota_error: str = ""
    database_error: str = ""  # the Region's databases could not be listed


@dataclass(frozen=True)
class DrillHistory:
    """Newest successful drill per source ARN; ``enabled`` False when no table is configured."""

    enabled: bool
    last_success: Mapping[str, datetime] = field(default_factory=dict)
    error: str = ""


@dataclass(frozen=True)
class CheckResult:
    key: str  # stable identity of the resource (its ARN, or a pseudo-ARN for Region-level checks)
    resource: str  # what a person calls it
    check: str
    severity: Severity
    observed: str
    expected: str = ""
    fix: str = ""

    @property
    def is_finding(self) -> bool:
        return self.severity > Severity.OK

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "resource": self.resource,
            "resource_key": self.key,
            "check": self.check,
            "severity": self.severity.label,
            "observed": self.observed,
        }
        if self.expected:
            data["expected"] = self.expected
        if self.fix:
            data["fix"] = self.fix
        return data


@dataclass(frozen=True)
class Measurement:
    """A per-database figure for metrics and the dashboard."""

    database: str
    name: str  # one of the MEASURE_* names
    value: float
    kind: str | None = None


DRILL_HISTORY_KEY = "restorable:drill-history"
MEASURE_RECOVERY_POINT_AGE_MINUTES = "recovery_point_age_minutes"
MEASURE_SNAPSHOT_AGE_DAYS = "snapshot_age_days"
MEASURE_DR_LAG_HOURS = "dr_lag_hours"


@dataclass
class Verification:
    """Everything one pass found: results of every evaluated check, and measurements."""

    results: list[CheckResult] = field(default_factory=list)
    measurements: list[Measurement] = field(default_factory=list)
    databases: list[str] = field(default_factory=list)  # keys of the databases verified
    quota_usage: list[QuotaUsage] = field(default_factory=list)
    managed_snapshots: dict[str, int] = field(default_factory=dict)  # Region -> this stack's manual snapshots

    @property
    def findings(self) -> list[CheckResult]:
        return sorted((r for r in self.results if r.is_finding), key=lambda r: (-r.severity, r.resource, r.check))

    @property
    def status(self) -> Status:
        return Status.of(r.severity for r in self.results)

    def counts(self) -> dict[str, int]:
        return {severity.label: sum(1 for r in self.results if r.severity is severity) for severity in Severity}


def age_text(age: timedelta) -> str:
    seconds = int(age.total_seconds())
    if seconds < 0:
        return "in the future"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 3 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def limit_text(limit: timedelta) -> str:
    minutes = limit.total_seconds() / 60
    if minutes < 120 and minutes == int(minutes):
        return f"{int(minutes)} min"
    hours = minutes / 60
    if hours < 72 and hours == int(hours):
        return f"{int(hours)} h"
    days = hours / 24
    if days == int(days):
        return f"{int(days)} days"
    return age_text(limit)


@dataclass(frozen=True)
class VerificationContext:
    policies: PolicyDocument
    thresholds: Thresholds
    stack_name: str
    dr_region: str
    scheduled_kinds: frozenset[str]
    now: datetime


def verify(
    databases: Iterable[MonitoredDatabase],
    source: RegionInventory,
    dr: RegionInventory,
    drills: DrillHistory,
    context: VerificationContext,
    *,
    include_region_checks: bool = True,
) -> Verification:
    """Run every check on every protected database (cluster members are verified via their cluster)."""
    verification = Verification()
    source_index = _index_managed(source.snapshots or [], context.stack_name)
    dr_by_id = {(p.type, p.identifier): p for p in dr.snapshots or []}
    for monitored in databases:
        database = monitored.database
        if database.policy_name is None or database.is_cluster_member:
            continue
        verification.databases.append(database.arn)
        policy = context.policies.get(database.policy_name)
        if policy is None:
            verification.results.append(
                unknown_policy_result(database.arn, database.identifier, database.policy_name, context.policies)
            )
            continue
        verification.results.append(_result(database, CHECK_POLICY, Severity.OK, observed=database.policy_name))
        checked = Verification()
        try:
            _check_database(monitored, policy, source, source_index, dr, dr_by_id, drills, context, checked)
        except Exception as exc:  # one database's odd data never hides the others' results
            checked.results.append(checks_failed(database.arn, database.identifier, exc))
        verification.results.extend(checked.results)
        verification.measurements.extend(checked.measurements)
    if include_region_checks:
        for inventory in (source, dr):
            _check_region(inventory, context, verification)
            if inventory.snapshots is not None:
                verification.managed_snapshots[inventory.region] = sum(
                    1 for p in inventory.snapshots if p.managed_by == context.stack_name and not p.is_automated
                )
        if drills.enabled:
            verification.results.append(
                CheckResult(
                    key=DRILL_HISTORY_KEY,
                    resource="drill history table",
                    check=CHECK_INVENTORY,
                    severity=Severity.UNKNOWN if drills.error else Severity.OK,
                    observed=drills.error or "read",
                    expected="readable" if drills.error else "",
                    fix="check DRILL_HISTORY_TABLE and the function's dynamodb:Scan permission" if drills.error else "",
                )
            )
    return verification


def unknown_policy_result(key: str, resource: str, policy_name: str, policies: PolicyDocument) -> CheckResult:
    """The one finding for a resource of any engine whose ``restorable:policy`` names no policy."""
    known = ", ".join(sorted(policies.policies))
    return CheckResult(
        key=key,
        resource=resource,
        check=CHECK_POLICY,
        severity=Severity.WARNING,
        observed=f"tag {tag_keys.POLICY}={policy_name!r} names no policy",
        expected=f"one of: {known}",
        fix=f"set {tag_keys.POLICY} to a known policy, or add '{policy_name}' to POLICY_DOCUMENT",
    )


def checks_failed(key: str, resource: str, error: Exception) -> CheckResult:
    """A resource's checks raised (odd data from the service): one UNKNOWN, the other resources are verified."""
    return CheckResult(
        key=key,
        resource=resource,
        check=CHECK_VERIFICATION,
        severity=Severity.UNKNOWN,
        observed=f"checks could not run: {type(error).__name__}: {error}",
        expected="every check evaluated",
        fix="read the verify function's logs; the other resources were verified",
    )


def age_severity(age: timedelta, max_age: timedelta) -> Severity:
    """A recovery point older than ``max_age`` is a warning, older than twice that critical."""
    if age > 2 * max_age:
        return Severity.CRITICAL
    if age > max_age:
        return Severity.WARNING
    return Severity.OK


def _result(
    database: Database, check: str, severity: Severity, observed: str, expected: str = "", fix: str = ""
) -> CheckResult:
    return CheckResult(
        key=database.arn,
        resource=database.identifier,
        check=check,
        severity=severity,
        observed=observed,
        expected=expected,
        fix=fix,
    )


def _unknown(database: Database, check: str, reason: str) -> CheckResult:
    """``check`` could not be evaluated for ``database``: ``reason`` says which lookup failed."""
    return _result(
        database,
        check,
        Severity.UNKNOWN,
        observed=f"not evaluated: {reason}",
        expected="the check evaluated",
        fix="see the Region's or the drill history's inventory finding; the next pass evaluates it again",
    )


def _modify_command(database: Database, option: str) -> str:
    if database.type is DatabaseType.CLUSTER:
        return f"aws rds modify-db-cluster --db-cluster-identifier {database.identifier} {option} --apply-immediately"
    return f"aws rds modify-db-instance --db-instance-identifier {database.identifier} {option} --apply-immediately"


def _index_managed(points: Iterable[RecoveryPoint], stack_name: str) -> dict[tuple[str, str], list[RecoveryPoint]]:
    """This stack's available manual snapshots by (source key, kind), newest first.

    The source key is the ``restorable:source`` ARN; snapshots without it are matched by
    their source identifier (``type:identifier``).
    """
    index: dict[tuple[str, str], list[RecoveryPoint]] = {}
    for point in points:
        if point.is_automated or point.managed_by != stack_name or not point.kind or not point.is_available:
            continue
        keys = {f"{point.type.value}:{point.source_identifier}"}
        if point.source_arn:
            keys.add(point.source_arn)
        for key in keys:
            index.setdefault((key, point.kind), []).append(point)
    for found in index.values():
        found.sort(key=lambda p: p.created_at.timestamp() if p.created_at else float("-inf"), reverse=True)
    return index


def _newest(
    index: Mapping[tuple[str, str], list[RecoveryPoint]], database: Database, kind: str
) -> RecoveryPoint | None:
    for key in (database.arn, f"{database.type.value}:{database.identifier}"):
        found = index.get((key, kind))
        if found:
            return found[0]
    return None


def _check_database(
    monitored: MonitoredDatabase,
    policy: Policy,
    source: RegionInventory,
    source_index: Mapping[tuple[str, str], list[RecoveryPoint]],
    dr: RegionInventory,
    dr_by_id: Mapping[tuple[DatabaseType, str], RecoveryPoint],
    drills: DrillHistory,
    context: VerificationContext,
    verification: Verification,
) -> None:
    database, facts, now, limits = monitored.database, monitored.backup, context.now, context.thresholds
    add = verification.results.append

    # State: a stopped instance takes no backups (RDS-EVENT-0004 triggers a pass that sees it).
    if database.status in _STOPPED_STATES:
        add(
            _result(
                database,
                CHECK_STATE,
                Severity.WARNING,
                observed=f"{database.type.value} is '{database.status}': it takes no automated backups",
                expected="available",
                fix=f"start it (aws rds start-db-{'cluster' if database.type is DatabaseType.CLUSTER else 'instance'})"
                "; RDS restarts a stopped database by itself after 7 days",
            )
        )
    elif database.status in _BROKEN_STATES:
        add(
            _result(
                database,
                CHECK_STATE,
                Severity.CRITICAL,
                observed=f"{database.type.value} is '{database.status}': backups are at risk",
                expected="available",
                fix="resolve the state named (e.g. add storage for storage-full, restore KMS key access)",
            )
        )
    else:
        add(_result(database, CHECK_STATE, Severity.OK, observed=database.status))

    # Automated backups: on, retention at least the policy's.
    wanted_retention = policy.automated_backups.retention_days
    if facts.retention_days <= 0:
        add(
            _result(
                database,
                CHECK_AUTOMATED_BACKUPS,
                Severity.CRITICAL,
                observed="automated backups are disabled (retention 0 days): no point-in-time recovery",
                expected=f"retention >= {wanted_retention} days",
                fix=_modify_command(database, f"--backup-retention-period {wanted_retention}"),
            )
        )
    elif facts.retention_days < wanted_retention:
        add(
            _result(
                database,
                CHECK_AUTOMATED_BACKUPS,
                Severity.WARNING,
                observed=f"retention {facts.retention_days} days",
                expected=f"retention >= {wanted_retention} days (policy {database.policy_name})",
                fix=_modify_command(database, f"--backup-retention-period {wanted_retention}"),
            )
        )
    else:
        add(_result(database, CHECK_AUTOMATED_BACKUPS, Severity.OK, observed=f"retention {facts.retention_days} days"))

    if facts.backup_window:
        add(_result(database, CHECK_BACKUP_WINDOW, Severity.OK, observed=facts.backup_window))
    else:
        add(
            _result(
                database,
                CHECK_BACKUP_WINDOW,
                Severity.WARNING,
                observed="no preferred backup window",
                expected="a backup window (the default policy uses 03:00-04:00 UTC)",
                fix=_modify_command(database, "--preferred-backup-window 03:00-04:00"),
            )
        )

    if facts.copy_tags_to_snapshot:
        add(_result(database, CHECK_COPY_TAGS, Severity.OK, observed="on"))
    else:
        add(
            _result(
                database,
                CHECK_COPY_TAGS,
                Severity.WARNING,
                observed="copy-tags-to-snapshot is off: automated snapshots lose the database's tags",
                expected="on",
                fix=_modify_command(database, "--copy-tags-to-snapshot"),
            )
        )

    if facts.storage_encrypted:
        add(_result(database, CHECK_ENCRYPTION, Severity.OK, observed="encrypted"))
    else:
        add(
            _result(
                database,
                CHECK_ENCRYPTION,
                Severity.WARNING,
                observed="storage is not encrypted, nor are its snapshots",
                expected="storage encrypted with KMS",
                fix="snapshot it, copy the snapshot with --kms-key-id, restore from the encrypted copy and switch over",
            )
        )

    _check_recovery_point_age(database, facts, context, verification)
    _check_snapshots(database, facts, policy, source, source_index, dr, dr_by_id, context, verification)

    # Cross-Region automated backup replication exists for RDS instances only (not Aurora, not clusters).
    if policy.automated_backups.dr_replication and database.type is DatabaseType.INSTANCE:
        if context.dr_region in facts.replication_regions:
            add(
                _result(database, CHECK_BACKUP_REPLICATION, Severity.OK, observed=f"replicating to {context.dr_region}")
            )
        else:
            elsewhere = ", ".join(sorted(facts.replication_regions)) or "no Region"
            add(
                _result(
                    database,
                    CHECK_BACKUP_REPLICATION,
                    Severity.WARNING,
                    observed=f"automated backups replicate to {elsewhere}",
                    expected=f"replication to {context.dr_region} (policy {database.policy_name})",
                    fix=(
                        f"aws rds start-db-instance-automated-backups-replication --region {context.dr_region} "
                        f"--source-db-instance-arn {database.arn} --backup-retention-period {wanted_retention}"
                    ),
                )
            )

    if drills.enabled and drills.error:
        add(_unknown(database, CHECK_DRILL, drills.error))
    elif drills.enabled:
        _check_drill(database, facts, drills, limits, now, verification)


def _check_recovery_point_age(
    database: Database, facts: BackupFacts, context: VerificationContext, verification: Verification
) -> None:
    limits = context.thresholds
    expected = f"<= {limit_text(limits.rpo_warning)} (RPO {limit_text(limits.rpo_critical)})"
    if facts.latest_restorable_time is None:
        verification.results.append(
            _result(
                database,
                CHECK_RECOVERY_POINT_AGE,
                Severity.CRITICAL,
                observed="RDS reports no latest restorable time: point-in-time recovery is not possible",
                expected=expected,
                fix="turn automated backups on and check the database's state and events",
            )
        )
        return
    age = context.now - facts.latest_restorable_time
    verification.measurements.append(
        Measurement(database.identifier, MEASURE_RECOVERY_POINT_AGE_MINUTES, round(max(age.total_seconds(), 0) / 60, 2))
    )
    if age > limits.rpo_critical:
        severity = Severity.CRITICAL
    elif age > limits.rpo_warning:
        severity = Severity.WARNING
    else:
        severity = Severity.OK
    verification.results.append(
        _result(
            database,
            CHECK_RECOVERY_POINT_AGE,
            severity,
            observed=f"latest restorable time {facts.latest_restorable_time.isoformat()} is {age_text(age)} old",
            expected=expected,
            fix=""
            if severity is Severity.OK
            else "check the database's state and RDS events (log upload stalled, stopped instance, storage full)",
        )
    )


def _check_snapshots(
    database: Database,
    facts: BackupFacts,
    policy: Policy,
    source: RegionInventory,
    source_index: Mapping[tuple[str, str], list[RecoveryPoint]],
    dr: RegionInventory,
    dr_by_id: Mapping[tuple[DatabaseType, str], RecoveryPoint],
    context: VerificationContext,
    verification: Verification,
) -> None:
    now, limits = context.now, context.thresholds
    dr_lags: list[timedelta] = []
    for kind, rule in sorted(policy.snapshots.items()):
        if not profile(Engine.RDS).supports(kind):
            continue  # another engine's kind (a cache's daily): it means nothing for a database
        check = f"{CHECK_DR_COPY}:{kind}"
        max_age = limits.snapshot_max_age.get(kind)
        checks_age = kind in context.scheduled_kinds and kind not in ON_DEMAND_KINDS and max_age is not None
        if source.snapshots is None:
            # Unreadable is not "none": nothing here may read as missing, nor as fixed.
            reason = source.snapshot_error or f"manual snapshots in {source.region} unreadable"
            if checks_age:
                verification.results.append(_unknown(database, f"{CHECK_SNAPSHOT_AGE}:{kind}", reason))
            if rule.dr_copy:
                verification.results.append(_unknown(database, check, reason))
            continue
        newest = _newest(source_index, database, kind)
        if checks_age and max_age is not None:
            _check_snapshot_age(database, facts, kind, newest, max_age, now, verification)
        if not rule.dr_copy:
            continue
        if newest is None or newest.created_at is None:
            # Reported (OK) so that an earlier UNKNOWN for this check clears like any other result.
            verification.results.append(
                _result(database, check, Severity.OK, observed=f"no available {kind} snapshot to copy yet")
            )
            continue
        if dr.snapshots is None:
            reason = dr.snapshot_error or f"manual snapshots in {dr.region} unreadable"
            verification.results.append(_unknown(database, check, reason))
            continue
        copy = dr_by_id.get((newest.type, newest.identifier))
        if copy is not None and copy.is_available:
            dr_lags.append(timedelta(0))
            verification.results.append(
                _result(database, check, Severity.OK, observed=f"{newest.identifier} available in {context.dr_region}")
            )
            continue
        lag = now - newest.created_at
        dr_lags.append(lag)
        if lag > limits.dr_lag_critical:
            severity = Severity.CRITICAL
        elif lag > limits.dr_lag_warning:
            severity = Severity.WARNING
        else:
            severity = Severity.OK
        state = f"is '{copy.status}'" if copy is not None else "does not exist"
        verification.results.append(
            _result(
                database,
                check,
                severity,
                observed=f"DR copy of {newest.identifier} {state} ({age_text(lag)} since the snapshot)",
                expected=f"an available copy within {limit_text(limits.dr_lag_warning)}",
                fix=""
                if severity is Severity.OK
                else "check the DR copy function's results and logs (concurrent copy quota, KMS key in the DR Region)",
            )
        )
    if dr_lags:
        verification.measurements.append(
            Measurement(database.identifier, MEASURE_DR_LAG_HOURS, round(max(dr_lags).total_seconds() / 3600, 2))
        )


def _check_snapshot_age(
    database: Database,
    facts: BackupFacts,
    kind: str,
    newest: RecoveryPoint | None,
    max_age: timedelta,
    now: datetime,
    verification: Verification,
) -> None:
    check = f"{CHECK_SNAPSHOT_AGE}:{kind}"
    expected = f"a {kind} snapshot no older than {limit_text(max_age)}"
    fix = f'check the snapshot function\'s results for {database.identifier}; invoke it with {{"kind": "{kind}"}}'
    if newest is None or newest.created_at is None:
        existed = now - facts.created_at if facts.created_at else None
        if existed is not None and existed <= max_age:
            verification.results.append(
                _result(database, check, Severity.OK, observed=f"none yet; database is {age_text(existed)} old")
            )
            return
        verification.results.append(
            _result(
                database, check, Severity.CRITICAL, observed=f"no available {kind} snapshot", expected=expected, fix=fix
            )
        )
        return
    age = now - newest.created_at
    verification.measurements.append(
        Measurement(database.identifier, MEASURE_SNAPSHOT_AGE_DAYS, round(age.total_seconds() / 86400, 3), kind=kind)
    )
    severity = age_severity(age, max_age)
    verification.results.append(
        _result(
            database,
            check,
            severity,
            observed=f"newest {kind} snapshot {newest.identifier} is {age_text(age)} old",
            expected=expected,
            fix="" if severity is Severity.OK else fix,
        )
    )


def _check_drill(
    database: Database,
    facts: BackupFacts,
    drills: DrillHistory,
    limits: Thresholds,
    now: datetime,
    verification: Verification,
) -> None:
    last = drills.last_success.get(database.arn)
    expected = f"a successful restore drill within {limit_text(limits.drill_max_age)}"
    fix = f"run a restore drill for {database.identifier} and read its report"
    if last is None:
        existed = now - facts.created_at if facts.created_at else None
        if existed is not None and existed <= limits.drill_max_age:
            verification.results.append(
                _result(database, CHECK_DRILL, Severity.OK, observed=f"none yet; database is {age_text(existed)} old")
            )
        else:
            verification.results.append(
                _result(
                    database,
                    CHECK_DRILL,
                    Severity.WARNING,
                    observed="no successful drill recorded",
                    expected=expected,
                    fix=fix,
                )
            )
        return
    age = now - last
    severity = Severity.WARNING if age > limits.drill_max_age else Severity.OK
    verification.results.append(
        _result(
            database,
            CHECK_DRILL,
            severity,
            observed=f"last successful drill {age_text(age)} ago ({last.isoformat()})",
            expected=expected,
            fix="" if severity is Severity.OK else fix,
        )
    )


def region_key(region: str, engine: Engine = Engine.RDS) -> str:
    """The notification-state key of an engine's Region-level checks (quotas, inventory): ``rds:us-east-1``."""
    return f"{engine.value}:{region}"


def _check_region(inventory: RegionInventory, context: VerificationContext, verification: Verification) -> None:
    key, name = region_key(inventory.region), f"RDS {inventory.region}"
    problems = [text for text in (inventory.database_error, inventory.snapshot_error) if text]
    verification.results.append(
        CheckResult(
            key=key,
            resource=name,
            check=CHECK_INVENTORY,
            severity=Severity.UNKNOWN if problems else Severity.OK,
            observed="; ".join(problems) or "databases and snapshots read",
            expected="databases and snapshots readable" if problems else "",
            fix="check the function's IAM permissions and the Region's RDS health" if problems else "",
        )
    )
    if inventory.quotas is None and inventory.quota_error:
        for quota in SNAPSHOT_QUOTAS:
            verification.results.append(
                CheckResult(
                    key=key,
                    resource=name,
                    check=f"{CHECK_QUOTA}:{quota}",
                    severity=Severity.UNKNOWN,
                    observed=f"not evaluated: {inventory.quota_error}",
                    expected="quota usage readable (rds:DescribeAccountAttributes)",
                    fix="check the function's rds:DescribeAccountAttributes permission; the next pass reads it again",
                )
            )
    for usage in inventory.quotas or []:
        verification.quota_usage.append(usage)
        percent = usage.percent
        if usage.used >= usage.maximum:
            severity = Severity.CRITICAL
        elif percent >= context.thresholds.quota_warning_percent:
            severity = Severity.WARNING
        else:
            severity = Severity.OK
        verification.results.append(
            CheckResult(
                key=key,
                resource=name,
                check=f"{CHECK_QUOTA}:{usage.name}",
                severity=severity,
                observed=f"{usage.used} of {usage.maximum} {usage.name} used ({percent:.0f} %)",
                expected=f"below {context.thresholds.quota_warning_percent:.0f} % of the quota",
                fix=""
                if severity is Severity.OK
                else f"delete unneeded manual snapshots in {inventory.region} or request a quota increase "
                "(Service Quotas: Amazon RDS, Manual snapshots)",
            )
        )
