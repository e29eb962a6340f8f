"""Pure checks of ElastiCache caches: daily snapshots, automatic backups, failed snapshots, quota headroom.

The same contract as the RDS checks (``checks.py``): one ``CheckResult`` per check and protected
cache, ``OK`` included, ``UNKNOWN`` with the reason when a lookup failed. A tagged node-based
Memcached cluster cannot be snapshotted at all: that is one finding, and no other check runs for it.
The caches and snapshots are the adapter's objects, read only through their attributes here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ..models import DatabaseType, Engine
from ..policy import Policy
from .checks import (
    CHECK_INVENTORY,
    CHECK_POLICY,
    CHECK_QUOTA,
    CHECK_SNAPSHOT_AGE,
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

if TYPE_CHECKING:
    from ..adapters.elasticache import Cache, CacheSnapshot

CHECK_SNAPSHOT_SUPPORT = "snapshot-support"
CHECK_POLICY_COVERAGE = "policy-coverage"
CHECK_AUTOMATIC_BACKUPS = "automatic-backups"
CHECK_SNAPSHOT_STATUS = "snapshot-status"
QUOTA_SNAPSHOTS_PER_DAY = "SnapshotsPer24Hours"
CHECK_SNAPSHOT_QUOTA = f"{CHECK_QUOTA}:{QUOTA_SNAPSHOTS_PER_DAY}"
DAILY = "daily"
# ElastiCache: at most 20 manual snapshots per node per 24 hours; serverless: 24 per cache per day.
NODE_SNAPSHOTS_PER_DAY = 20
SERVERLESS_SNAPSHOTS_PER_DAY = 24
_QUOTA_WINDOW = timedelta(hours=24)
_FAILED = "failed"


@dataclass(frozen=True)
class MonitoredCache:
    """A cache with its own automatic-backup setting (``SnapshotRetentionLimit``; None when not reported)."""

    cache: Cache
    snapshot_retention_limit: int | None
    created_at: datetime | None = None


@dataclass(frozen=True)
class ElastiCacheInventory:
    """One Region's caches and manual snapshots; ``None`` with an error when a listing failed."""

    region: str
    caches: Sequence[MonitoredCache] | None
    snapshots: Sequence[CacheSnapshot] | None
    cache_error: str = ""
    snapshot_error: str = ""


def verify_caches(inventory: ElastiCacheInventory, context: VerificationContext, verification: Verification) -> None:
    """Check every protected cache of ``inventory`` and the Region's inventory itself, into ``verification``."""
    _check_inventory(inventory, verification)
    for monitored in inventory.caches or []:
        cache = monitored.cache
        if cache.policy_name is None:
            continue
        verification.databases.append(cache.arn)
        policy = context.policies.get(cache.policy_name)
        if policy is None:
            verification.results.append(
                unknown_policy_result(cache.arn, cache.identifier, cache.policy_name, context.policies)
            )
            continue
        verification.results.append(_result(cache, CHECK_POLICY, Severity.OK, observed=cache.policy_name))
        if not cache.snapshottable:
            verification.results.append(
                _result(
                    cache,
                    CHECK_SNAPSHOT_SUPPORT,
                    Severity.WARNING,
                    observed=f"cannot be snapshotted: node-based {cache.engine} clusters have no snapshots, "
                    f"so policy {cache.policy_name} protects nothing here",
                    expected="a Valkey or Redis OSS cache, or a serverless cache",
                    fix=f"aws elasticache add-tags-to-resource --resource-name {cache.arn} "
                    "--tags Key=restorable:policy,Value=none "
                    "(accepting that it is not recoverable), or move the data to a serverless or Valkey cache",
                )
            )
            continue
        verification.results.append(_result(cache, CHECK_SNAPSHOT_SUPPORT, Severity.OK, observed=cache.engine))
        checked = Verification()
        try:
            ours = _our_snapshots(inventory.snapshots, cache, context.stack_name)
            _check_daily(monitored, policy, inventory, ours, context, checked)
            _check_automatic_backups(monitored, policy, checked)
            _check_snapshot_status(cache, inventory, ours, checked)
            _check_quota(cache, inventory, ours, context, checked)
        except Exception as exc:  # one cache's odd data never hides the others' results
            checked.results.append(checks_failed(cache.arn, cache.identifier, exc))
        verification.results.extend(checked.results)
        verification.measurements.extend(checked.measurements)


def _result(
    cache: Cache, check: str, severity: Severity, observed: str, expected: str = "", fix: str = ""
) -> CheckResult:
    return CheckResult(
        key=cache.arn,
        resource=cache.identifier,
        check=check,
        severity=severity,
        observed=observed,
        expected=expected,
        fix=fix,
    )


def _unknown(cache: Cache, check: str, reason: str) -> CheckResult:
    return _result(
        cache,
        check,
        Severity.UNKNOWN,
        observed=f"not evaluated: {reason}",
        expected="the check evaluated",
        fix="see the ElastiCache inventory finding; the next pass evaluates it again",
    )


def _is_serverless(cache: Cache) -> bool:
    return cache.kind.value == DatabaseType.SERVERLESS_CACHE.value


def _our_snapshots(snapshots: Sequence[CacheSnapshot] | None, cache: Cache, stack_name: str) -> list[CacheSnapshot]:
    """This stack's manual snapshots of ``cache`` (by ``restorable:source``, else by type and identifier)."""
    found = []
    for point in snapshots or []:
        if point.is_automated or point.managed_by != stack_name:
            continue
        same_source = point.source_arn == cache.arn if point.source_arn else False
        same_identity = point.type.value == cache.kind.value and point.source_identifier == cache.identifier
        if same_source or same_identity:
            found.append(point)
    return found


def _check_inventory(inventory: ElastiCacheInventory, verification: Verification) -> None:
    problems = [text for text in (inventory.cache_error, inventory.snapshot_error) if text]
    verification.results.append(
        CheckResult(
            key=region_key(inventory.region, Engine.ELASTICACHE),
            resource=f"ElastiCache {inventory.region}",
            check=CHECK_INVENTORY,
            severity=Severity.UNKNOWN if problems else Severity.OK,
            observed="; ".join(problems) or "caches and snapshots read",
            expected="caches and snapshots readable" if problems else "",
            fix="check the function's elasticache:Describe*/ListTagsForResource permissions and the Region's "
            "ElastiCache health"
            if problems
            else "",
        )
    )


def _check_daily(
    monitored: MonitoredCache,
    policy: Policy,
    inventory: ElastiCacheInventory,
    ours: Sequence[CacheSnapshot],
    context: VerificationContext,
    verification: Verification,
) -> None:
    cache, now = monitored.cache, context.now
    if policy.rule_for(DAILY) is None:
        verification.results.append(
            _result(
                cache,
                CHECK_POLICY_COVERAGE,
                Severity.WARNING,
                observed=f"policy {cache.policy_name} has no {DAILY} kind: it gives this cache no snapshots",
                expected=f"a {DAILY} kind in the policy (caches take {DAILY} and predeploy snapshots)",
                fix=f'add "{DAILY}": {{"retention_days": 7, "dr_copy": false}} to policy {cache.policy_name} in '
                f"POLICY_DOCUMENT and a {DAILY} schedule to SNAPSHOT_SCHEDULES, or tag the cache with another policy",
            )
        )
        return
    verification.results.append(
        _result(cache, CHECK_POLICY_COVERAGE, Severity.OK, observed=f"policy {cache.policy_name} has a {DAILY} kind")
    )
    max_age = context.thresholds.snapshot_max_age.get(DAILY)
    if DAILY not in context.scheduled_kinds or max_age is None:
        return  # the settings refuse a policy kind without a schedule and a maximum age
    check = f"{CHECK_SNAPSHOT_AGE}:{DAILY}"
    if inventory.snapshots is None:
        verification.results.append(
            _unknown(cache, check, inventory.snapshot_error or f"snapshots in {inventory.region} unreadable")
        )
        return
    expected = f"a {DAILY} snapshot of this stack no older than {limit_text(max_age)}"
    fix = f'check the snapshot function\'s results for {cache.identifier}; invoke it with {{"kind": "{DAILY}"}}'
    dated = [p for p in ours if p.kind == DAILY and p.is_available and p.created_at is not None]
    newest = max(dated, key=lambda p: p.created_at.timestamp() if p.created_at else float("-inf"), default=None)
    if newest is None or newest.created_at is None:
        existed = now - monitored.created_at if monitored.created_at else None
        if existed is not None and existed <= max_age:
            verification.results.append(
                _result(cache, check, Severity.OK, observed=f"none yet; cache is {age_text(existed)} old")
            )
            return
        verification.results.append(
            _result(
                cache, check, Severity.CRITICAL, observed=f"no available {DAILY} snapshot", expected=expected, fix=fix
            )
        )
        return
    age = now - newest.created_at
    verification.measurements.append(
        Measurement(cache.identifier, MEASURE_SNAPSHOT_AGE_DAYS, round(age.total_seconds() / 86400, 3), kind=DAILY)
    )
    severity = age_severity(age, max_age)
    verification.results.append(
        _result(
            cache,
            check,
            severity,
            observed=f"newest {DAILY} snapshot {newest.identifier} is {age_text(age)} old",
            expected=expected,
            fix="" if severity is Severity.OK else fix,
        )
    )


def _check_automatic_backups(monitored: MonitoredCache, policy: Policy, verification: Verification) -> None:
    """Reported, not required: the managed snapshots are manual, because automatic ones die with the cache."""
    cache, limit = monitored.cache, monitored.snapshot_retention_limit
    if limit is not None and limit > 0:
        observed = f"automatic backups kept {limit} days (deleted with the cache)"
        verification.results.append(_result(cache, CHECK_AUTOMATIC_BACKUPS, Severity.OK, observed=observed))
        return
    if policy.rule_for(DAILY) is not None:
        observed = "automatic backups off; the managed daily snapshots protect the cache"
        verification.results.append(_result(cache, CHECK_AUTOMATIC_BACKUPS, Severity.OK, observed=observed))
        return
    if _is_serverless(cache):
        fix = (
            f"aws elasticache modify-serverless-cache --serverless-cache-name {cache.identifier} "
            "--snapshot-retention-limit 7"
        )
    elif cache.kind.value == DatabaseType.CACHE_REPLICATION_GROUP.value:
        fix = (
            f"aws elasticache modify-replication-group --replication-group-id {cache.identifier} "
            "--snapshot-retention-limit 7 --apply-immediately"
        )
    else:
        fix = (
            f"aws elasticache modify-cache-cluster --cache-cluster-id {cache.identifier} "
            "--snapshot-retention-limit 7 --apply-immediately"
        )
    verification.results.append(
        _result(
            cache,
            CHECK_AUTOMATIC_BACKUPS,
            Severity.WARNING,
            observed="automatic backups off (SnapshotRetentionLimit 0) and no managed daily snapshots: "
            "nothing backs this cache up",
            expected="a daily kind in the policy, or automatic backups on",
            fix=f"add a daily kind to policy {cache.policy_name}, or {fix}",
        )
    )


def _check_snapshot_status(
    cache: Cache, inventory: ElastiCacheInventory, ours: Sequence[CacheSnapshot], verification: Verification
) -> None:
    if inventory.snapshots is None:
        reason = inventory.snapshot_error or f"snapshots in {inventory.region} unreadable"
        verification.results.append(_unknown(cache, CHECK_SNAPSHOT_STATUS, reason))
        return
    failed = sorted(p.identifier for p in ours if p.status == _FAILED)
    if not failed:
        verification.results.append(
            _result(cache, CHECK_SNAPSHOT_STATUS, Severity.OK, observed=f"{len(ours)} managed snapshot(s), none failed")
        )
        return
    delete = (
        "aws elasticache delete-serverless-cache-snapshot --serverless-cache-snapshot-name"
        if _is_serverless(cache)
        else "aws elasticache delete-snapshot --snapshot-name"
    )
    verification.results.append(
        _result(
            cache,
            CHECK_SNAPSHOT_STATUS,
            Severity.WARNING,
            observed=f"failed snapshot(s): {', '.join(failed)}",
            expected="no failed snapshots",
            fix=f"read the cache's events (aws elasticache describe-events --source-identifier {cache.identifier}), "
            f"then {delete} {failed[0]} (a failed snapshot holds no data)",
        )
    )


def _check_quota(
    cache: Cache,
    inventory: ElastiCacheInventory,
    ours: Sequence[CacheSnapshot],
    context: VerificationContext,
    verification: Verification,
) -> None:
    if inventory.snapshots is None:
        reason = inventory.snapshot_error or f"snapshots in {inventory.region} unreadable"
        verification.results.append(_unknown(cache, CHECK_SNAPSHOT_QUOTA, reason))
        return
    maximum = SERVERLESS_SNAPSHOTS_PER_DAY if _is_serverless(cache) else NODE_SNAPSHOTS_PER_DAY
    since = context.now - _QUOTA_WINDOW
    used = sum(1 for p in ours if p.created_at is not None and p.created_at > since)
    percent = 100.0 * used / maximum
    if used >= maximum:
        severity = Severity.CRITICAL
    elif percent >= context.thresholds.quota_warning_percent:
        severity = Severity.WARNING
    else:
        severity = Severity.OK
    unit = "per cache" if _is_serverless(cache) else "per node"
    verification.results.append(
        _result(
            cache,
            CHECK_SNAPSHOT_QUOTA,
            severity,
            observed=f"{used} of {maximum} manual snapshots {unit} in the last 24 h are this stack's ({percent:.0f} %)",
            expected=f"below {context.thresholds.quota_warning_percent:.0f} % of {maximum} {unit} per 24 hours",
            fix=""
            if severity is Severity.OK
            else f"fewer pre-deploy snapshots of {cache.identifier} (each deployment takes one); "
            "further snapshots fail until the oldest leaves the 24-hour window",
        )
    )


# ---- Exports to the DR Region (opt-in: the policy's daily rule sets dr_copy) ----

CHECK_DR_EXPORT = f"dr-export:{DAILY}"


@dataclass(frozen=True)
class DrExportSet:
    """The objects of one exported snapshot in the DR bucket (``elasticache/{cache}/{snapshot}/``)."""

    cache_id: str
    snapshot: str
    objects: int
    complete: bool
    created_at: datetime | None  # the snapshot's creation time the copy recorded (else the copy's time)


@dataclass(frozen=True)
class DrExportInventory:
    """The newest export set per cache in the DR bucket; ``sets`` None with an error when unreadable."""

    bucket: str  # "" when exports to the DR Region are off
    region: str
    sets: dict[str, DrExportSet] | None
    error: str = ""


def verify_cache_exports(
    inventory: ElastiCacheInventory,
    exports: DrExportInventory,
    context: VerificationContext,
    verification: Verification,
) -> None:
    """For each protected cache whose policy opts in: the newest DR export set's age against the daily maximum."""
    for monitored in inventory.caches or []:
        cache = monitored.cache
        policy = context.policies.get(cache.policy_name) if cache.policy_name else None
        rule = policy.rule_for(DAILY) if policy is not None else None
        if rule is None or not rule.dr_copy or not cache.snapshottable:
            continue
        try:
            verification.results.append(_export_result(monitored, exports, context))
        except Exception as exc:  # one cache's odd data never hides the others' results
            verification.results.append(checks_failed(cache.arn, cache.identifier, exc))


def _export_result(monitored: MonitoredCache, exports: DrExportInventory, context: VerificationContext) -> CheckResult:
    cache, now = monitored.cache, context.now
    max_age = context.thresholds.snapshot_max_age.get(DAILY)
    expected = f"a complete export of a {DAILY} snapshot in the DR bucket" + (
        f", no older than {limit_text(max_age)}" if max_age is not None else ""
    )
    reconcile = (
        "read the cache export function's results (CacheExportFunction) for this cache; invoke it with "
        '{"dry_run": true} to see what it would do, then without'
    )
    if not exports.bucket:
        return _result(
            cache,
            CHECK_DR_EXPORT,
            Severity.WARNING,
            observed=f"policy {cache.policy_name} asks for a DR copy of {DAILY} snapshots, but exports to the DR "
            "Region are off",
            expected=expected,
            fix="deploy dr-template.yaml in the DR Region and set the stack's DrExportBucket and DrExportKmsKeyArn "
            f"parameters, or set dr_copy false for {DAILY} in policy {cache.policy_name}",
        )
    if exports.sets is None:
        unreadable = exports.error or f"s3://{exports.bucket} in {exports.region} unreadable"
        return _unknown(cache, CHECK_DR_EXPORT, unreadable)
    found = exports.sets.get(cache.identifier.lower())
    if found is None:
        existed = now - monitored.created_at if monitored.created_at else None
        if existed is not None and max_age is not None and existed <= max_age:
            return _result(cache, CHECK_DR_EXPORT, Severity.OK, observed=f"none yet; cache is {age_text(existed)} old")
        return _result(
            cache,
            CHECK_DR_EXPORT,
            Severity.CRITICAL,
            observed=f"no export of this cache in s3://{exports.bucket}/elasticache/ ({exports.region})",
            expected=expected,
            fix=reconcile,
        )
    if not found.complete:
        return _result(
            cache,
            CHECK_DR_EXPORT,
            Severity.WARNING,
            observed=f"newest export {found.snapshot} in the DR bucket is incomplete ({found.objects} object(s))",
            expected=expected,
            fix=reconcile,
        )
    if found.created_at is None or max_age is None:
        return _result(cache, CHECK_DR_EXPORT, Severity.OK, observed=f"newest export {found.snapshot} is complete")
    age = now - found.created_at
    severity = age_severity(age, max_age)
    return _result(
        cache,
        CHECK_DR_EXPORT,
        severity,
        observed=f"newest export in the DR Region, {found.snapshot}, is {age_text(age)} old",
        expected=expected,
        fix="" if severity is Severity.OK else reconcile,
    )
