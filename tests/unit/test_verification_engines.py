"""Pure DynamoDB and ElastiCache checks over hand-made inventories: each finding fires, and clears."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from restorable import tags as tag_keys
from restorable.adapters.elasticache import Cache, CacheKind, CacheSnapshot
from restorable.dynamodb_backup_names import predeploy_backup_name, scheduled_backup_name
from restorable.dynamodb_models import ContinuousBackups, Replica, Table, TableBackup, TableExport
from restorable.policy import default_policy_text, parse_policy_document
from restorable.verification.checks import (
    CheckResult,
    Severity,
    Thresholds,
    Verification,
    VerificationContext,
)
from restorable.verification.dynamodb_checks import (
    GLOBAL_TAG,
    DynamoDbInventory,
    MonitoredTable,
    verify_tables,
)
from restorable.verification.elasticache_checks import ElastiCacheInventory, MonitoredCache, verify_caches

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
STACK = "restorable"
REGION = "us-east-1"
DR = "us-west-2"
TABLE_ARN = f"arn:aws:dynamodb:{REGION}:123456789012:table/orders"
CACHE_ARN = f"arn:aws:elasticache:{REGION}:123456789012:replicationgroup:sessions"


def _document(extra_kinds: dict[str, Any] | None = None, *, without: str | None = None) -> Any:
    raw = json.loads(default_policy_text())
    for policy in raw["policies"].values():
        policy["snapshots"].update(extra_kinds or {})
        policy["snapshots"].pop(without, None)
    raw["policies"]["short-pitr"] = {
        **raw["policies"]["standard"],
        "point_in_time_recovery": {"recovery_period_days": 7},
    }
    return parse_policy_document(json.dumps(raw))


CONTEXT = VerificationContext(
    policies=_document(without="daily"),
    thresholds=Thresholds(),
    stack_name=STACK,
    dr_region=DR,
    scheduled_kinds=frozenset({"weekly", "monthly", "daily"}),
    now=NOW,
)
CACHE_CONTEXT = replace(
    CONTEXT,
    policies=_document({"daily": {"retention_days": 7, "dr_copy": False}}),
    thresholds=replace(
        Thresholds(),
        snapshot_max_age={"weekly": timedelta(days=8), "monthly": timedelta(days=32), "daily": timedelta(days=2)},
    ),
    scheduled_kinds=frozenset({"weekly", "monthly", "daily"}),
)


# ---- DynamoDB


def table(policy: str | None = "standard", **tags: str) -> Table:
    found = dict(tags)
    if policy is not None:
        found[tag_keys.POLICY] = policy
    return Table(name="orders", arn=TABLE_ARN, status="ACTIVE", tags=found)


def pitr(status: str = "ENABLED", period: int | None = 35, lag: timedelta = timedelta(minutes=5)) -> ContinuousBackups:
    return ContinuousBackups(
        continuous_backups_enabled=True,
        pitr_status=status,
        recovery_period_days=period if status == "ENABLED" else None,
        earliest_restorable=NOW - timedelta(days=35) if status == "ENABLED" else None,
        latest_restorable=NOW - lag if status == "ENABLED" else None,
    )


def backup(age: timedelta, *, kind: str = "weekly", stack: str = STACK, table_name: str = "orders") -> TableBackup:
    made = NOW - age
    expires = made + timedelta(days=90)
    if kind == "predeploy":
        name = predeploy_backup_name(stack_name=stack, table_name=table_name, at=made, expires_at=expires)
    else:
        name = scheduled_backup_name(
            stack_name=stack, table_name=table_name, kind=kind, period_date=made.date(), expires_at=expires
        )
    return TableBackup(
        arn=f"{TABLE_ARN}/backup/{made:%s}",
        name=name,
        table_name=table_name,
        table_arn=TABLE_ARN,
        status="AVAILABLE",
        backup_type="USER",
        region=REGION,
        created_at=made,
    )


EXPORT_BUCKET = "dr-exports"


def weekly_export(
    age: timedelta = timedelta(days=2), status: str = "COMPLETED", bucket: str = EXPORT_BUCKET
) -> TableExport:
    """An export of ours, as DescribeExport gives it: ExportTime is the weekly period's scheduled time."""
    at = NOW - age
    return TableExport(
        arn=f"{TABLE_ARN}/export/{at:%s}",
        status=status,
        table_arn=TABLE_ARN,
        export_time=at,
        s3_bucket=bucket,
        s3_prefix=f"dynamodb/{STACK}/orders/weekly/{at.date().isoformat()}",
        failure="S3NoSuchBucket The specified bucket does not exist" if status == "FAILED" else "",
    )


def check_tables(
    monitored: MonitoredTable | None = None,
    backups: Sequence[TableBackup] | None = (),
    context: VerificationContext = CONTEXT,
    **inventory: Any,
) -> dict[str, CheckResult]:
    if monitored is None:
        monitored = MonitoredTable(table(), pitr(), created_at=NOW - timedelta(days=400), exports=[weekly_export()])
    if backups == ():
        backups = [backup(timedelta(days=2))]
    verification = Verification()
    inventory.setdefault("export_bucket", EXPORT_BUCKET)
    verify_tables(
        DynamoDbInventory(region=REGION, tables=[monitored], backups=backups, **inventory), context, verification
    )
    return {r.check: r for r in verification.results if r.key == TABLE_ARN}


def severities(results: dict[str, CheckResult]) -> dict[str, str]:
    return {check: result.severity.label for check, result in results.items()}


def test_a_healthy_table_is_ok_on_every_check() -> None:
    assert severities(check_tables()) == {
        "policy": "OK",
        "point-in-time-recovery": "OK",
        "recovery-point-age": "OK",
        "snapshot-age:weekly": "OK",
        "dr-export:weekly": "OK",
        "global-replica": "OK",
    }


def test_pitr_off_is_critical_with_the_command_that_turns_it_on() -> None:
    results = check_tables(MonitoredTable(table(), pitr(status="DISABLED")))
    found = results["point-in-time-recovery"]
    assert found.severity is Severity.CRITICAL
    assert found.fix == (
        "aws dynamodb update-continuous-backups --table-name orders --point-in-time-recovery-specification "
        "PointInTimeRecoveryEnabled=true,RecoveryPeriodInDays=35"
    )
    assert found.expected
    assert found.observed
    assert results["recovery-point-age"].severity is Severity.CRITICAL


def test_a_recovery_period_shorter_than_the_policy_warns() -> None:
    found = check_tables(MonitoredTable(table(), pitr(period=7)))["point-in-time-recovery"]
    assert found.severity is Severity.WARNING
    assert "RecoveryPeriodInDays=35" in found.fix
    assert found.observed == "recovery period 7 days"


def test_the_policy_decides_the_recovery_period() -> None:
    found = check_tables(MonitoredTable(table("short-pitr"), pitr(period=7)))["point-in-time-recovery"]
    assert found.severity is Severity.OK


def test_pitr_lag_uses_the_rpo_thresholds() -> None:
    def lagging(minutes: int) -> Severity:
        return check_tables(MonitoredTable(table(), pitr(lag=timedelta(minutes=minutes))))[
            "recovery-point-age"
        ].severity

    assert lagging(14) is Severity.OK
    assert lagging(16) is Severity.WARNING
    assert lagging(61) is Severity.CRITICAL


@given(st.integers(min_value=0, max_value=40 * 24))
def test_weekly_backup_age_against_the_weekly_period_plus_grace(hours: int) -> None:
    age = timedelta(hours=hours)
    found = check_tables(backups=[backup(age)])["snapshot-age:weekly"]
    limit = CONTEXT.thresholds.snapshot_max_age["weekly"]
    expected = Severity.CRITICAL if age > 2 * limit else Severity.WARNING if age > limit else Severity.OK
    assert found.severity is expected


def test_only_our_weekly_backups_of_this_table_count() -> None:
    others = [
        backup(timedelta(days=1), stack="another-stack"),
        backup(timedelta(days=1), kind="predeploy"),
        backup(timedelta(days=1), table_name="orders-archive"),
        replace(backup(timedelta(days=1)), name="orders-before-migration"),
        replace(backup(timedelta(days=1)), status="CREATING"),
    ]
    found = check_tables(backups=others)["snapshot-age:weekly"]
    assert found.severity is Severity.CRITICAL
    assert found.observed == "no available weekly backup"
    assert 'invoke it with {"kind": "weekly"}' in found.fix


def test_a_young_table_needs_no_backup_yet() -> None:
    young = MonitoredTable(table(), pitr(), created_at=NOW - timedelta(days=3))
    assert check_tables(young, backups=[])["snapshot-age:weekly"].severity is Severity.OK


def test_a_global_table_needs_an_active_replica_in_the_dr_region() -> None:
    marked = table(**{GLOBAL_TAG: "true"})

    def replica_check(*replicas: Replica) -> CheckResult:
        return check_tables(MonitoredTable(replace(marked, replicas=replicas), pitr()))["global-replica"]

    missing = replica_check(Replica("eu-west-1", "ACTIVE"))
    assert missing.severity is Severity.WARNING
    assert "--replica-updates" in missing.fix
    assert DR in missing.fix
    assert replica_check(Replica(DR, "INACCESSIBLE_ENCRYPTION_CREDENTIALS")).severity is Severity.WARNING
    assert replica_check(Replica(DR, "ACTIVE")).severity is Severity.OK
    # Not marked: replicas are not required (and a finding clears when the tag goes).
    assert check_tables()["global-replica"].severity is Severity.OK


def test_an_unknown_policy_is_the_same_finding_as_for_rds() -> None:
    results = check_tables(MonitoredTable(table("gold"), pitr()))
    assert severities(results) == {"policy": "WARNING"}
    assert results["policy"].observed == "tag restorable:policy='gold' names no policy"


def test_unmanaged_tables_are_not_verified() -> None:
    verification = Verification()
    inventory = DynamoDbInventory(REGION, [MonitoredTable(table(None), None), MonitoredTable(table("none"), None)], [])
    verify_tables(inventory, CONTEXT, verification)
    assert verification.databases == []
    assert [r.check for r in verification.results] == ["inventory"]


def test_unreadable_lookups_are_unknown_never_missing() -> None:
    unreadable = MonitoredTable(table(), None, pitr_error="continuous backups of orders unreadable: denied")
    results = check_tables(unreadable, backups=None, backup_error="backups in us-east-1 unreadable: throttled")
    assert results["point-in-time-recovery"].severity is Severity.UNKNOWN
    assert results["recovery-point-age"].severity is Severity.UNKNOWN
    assert results["snapshot-age:weekly"].severity is Severity.UNKNOWN
    assert "throttled" in results["snapshot-age:weekly"].observed


def test_an_unlistable_region_is_one_unknown_inventory_finding() -> None:
    verification = Verification()
    verify_tables(DynamoDbInventory(REGION, None, None, table_error="tables unreadable: denied"), CONTEXT, verification)
    [found] = verification.results
    assert (found.key, found.check, found.severity) == ("dynamodb:us-east-1", "inventory", Severity.UNKNOWN)


# ---- ElastiCache


def cache(
    policy: str | None = "standard", *, engine: str = "valkey", kind: CacheKind = CacheKind.REPLICATION_GROUP
) -> Cache:
    tags = {tag_keys.POLICY: policy} if policy else {}
    return Cache(kind=kind, identifier="sessions", arn=CACHE_ARN, status="available", engine=engine, tags=tags)


def cache_snapshot(
    age: timedelta, *, kind: str = "daily", status: str = "available", stack: str = STACK, source: str = CACHE_ARN
) -> CacheSnapshot:
    made = NOW - age
    return CacheSnapshot(
        type=CacheKind.REPLICATION_GROUP,
        identifier=f"sessions-{kind}-{made:%Y-%m-%d-%H%M}",
        arn="",
        source_identifier="sessions",
        status=status,
        snapshot_type="manual",
        region=REGION,
        created_at=made,
        tags={tag_keys.MANAGED_BY: stack, tag_keys.KIND: kind, tag_keys.SOURCE: source},
    )


def check_caches(
    monitored: MonitoredCache | None = None,
    snapshots: Sequence[CacheSnapshot] | None = (),
    context: VerificationContext = CACHE_CONTEXT,
    **inventory: Any,
) -> dict[str, CheckResult]:
    if monitored is None:
        monitored = MonitoredCache(cache(), snapshot_retention_limit=0, created_at=NOW - timedelta(days=400))
    if snapshots == ():
        snapshots = [cache_snapshot(timedelta(hours=10))]
    verification = Verification()
    verify_caches(
        ElastiCacheInventory(region=REGION, caches=[monitored], snapshots=snapshots, **inventory), context, verification
    )
    return {r.check: r for r in verification.results if r.key == CACHE_ARN}


def test_a_healthy_cache_is_ok_on_every_check() -> None:
    assert severities(check_caches()) == {
        "policy": "OK",
        "snapshot-support": "OK",
        "policy-coverage": "OK",
        "snapshot-age:daily": "OK",
        "automatic-backups": "OK",
        "snapshot-status": "OK",
        "snapshot-quota:SnapshotsPer24Hours": "OK",
    }


@given(st.integers(min_value=0, max_value=10 * 24))
def test_daily_snapshot_age_against_the_daily_maximum(hours: int) -> None:
    age = timedelta(hours=hours)
    found = check_caches(snapshots=[cache_snapshot(age)])["snapshot-age:daily"]
    limit = CACHE_CONTEXT.thresholds.snapshot_max_age["daily"]
    expected = Severity.CRITICAL if age > 2 * limit else Severity.WARNING if age > limit else Severity.OK
    assert found.severity is expected


def test_no_daily_snapshot_is_critical_unless_the_cache_is_young() -> None:
    foreign = [
        cache_snapshot(timedelta(hours=1), stack="someone-else"),
        cache_snapshot(timedelta(hours=1), status="creating"),
    ]
    assert check_caches(snapshots=foreign)["snapshot-age:daily"].severity is Severity.CRITICAL
    young = MonitoredCache(cache(), 0, created_at=NOW - timedelta(hours=20))
    assert check_caches(young, snapshots=[])["snapshot-age:daily"].severity is Severity.OK


def test_a_policy_without_a_daily_kind_gives_the_cache_nothing() -> None:
    results = check_caches(context=CONTEXT)
    coverage = results["policy-coverage"]
    assert coverage.severity is Severity.WARNING
    assert "no daily kind" in coverage.observed
    assert '"daily"' in coverage.fix
    assert "snapshot-age:daily" not in results
    # Nothing else backs it up either: the automatic-backup setting says so.
    assert results["automatic-backups"].severity is Severity.WARNING
    assert "--snapshot-retention-limit 7" in results["automatic-backups"].fix


def test_automatic_backups_are_reported() -> None:
    on = check_caches(MonitoredCache(cache(), snapshot_retention_limit=5), context=CONTEXT)["automatic-backups"]
    assert on.severity is Severity.OK
    assert on.observed == "automatic backups kept 5 days (deleted with the cache)"
    off_but_managed = check_caches(MonitoredCache(cache(), snapshot_retention_limit=0))["automatic-backups"]
    assert off_but_managed.severity is Severity.OK
    assert "managed daily snapshots" in off_but_managed.observed


def test_failed_snapshots_warn_with_the_delete_command() -> None:
    snapshots = [cache_snapshot(timedelta(hours=2)), cache_snapshot(timedelta(hours=30), status="failed")]
    found = check_caches(snapshots=snapshots)["snapshot-status"]
    assert found.severity is Severity.WARNING
    assert "aws elasticache delete-snapshot --snapshot-name sessions-daily-" in found.fix
    assert found.observed.startswith("failed snapshot(s): sessions-daily-")


def test_quota_headroom_of_twenty_per_node_per_day() -> None:
    def with_ours(count: int, *, older: int = 0) -> Severity:
        snapshots = [cache_snapshot(timedelta(hours=1))]
        snapshots += [cache_snapshot(timedelta(minutes=10 + i), kind="predeploy") for i in range(count - 1)]
        snapshots += [cache_snapshot(timedelta(hours=25 + i), kind="predeploy") for i in range(older)]
        return check_caches(snapshots=snapshots)["snapshot-quota:SnapshotsPer24Hours"].severity

    assert with_ours(15, older=10) is Severity.OK  # older than 24 h: out of the window
    assert with_ours(16) is Severity.WARNING  # 80 % of 20
    assert with_ours(20) is Severity.CRITICAL


def test_serverless_caches_have_twenty_four_a_day() -> None:
    serverless = MonitoredCache(cache(kind=CacheKind.SERVERLESS), None)
    snapshots = [replace(cache_snapshot(timedelta(minutes=i)), type=CacheKind.SERVERLESS) for i in range(17)]
    found = check_caches(serverless, snapshots=snapshots)["snapshot-quota:SnapshotsPer24Hours"]
    assert found.severity is Severity.OK  # 17 of 24 is 71 %
    assert "17 of 24" in found.observed


def test_a_tagged_memcached_cluster_cannot_be_snapshotted() -> None:
    memcached = MonitoredCache(cache(engine="memcached", kind=CacheKind.CACHE_CLUSTER), None)
    results = check_caches(memcached, snapshots=[])
    assert severities(results) == {"policy": "OK", "snapshot-support": "WARNING"}
    assert results["snapshot-support"].observed.startswith("cannot be snapshotted: node-based memcached")


def test_unreadable_snapshots_are_unknown_and_an_unknown_policy_is_the_rds_finding() -> None:
    results = check_caches(snapshots=None, snapshot_error="cache snapshots in us-east-1 unreadable: throttled")
    for check in ("snapshot-age:daily", "snapshot-status", "snapshot-quota:SnapshotsPer24Hours"):
        assert results[check].severity is Severity.UNKNOWN, check
    assert results["automatic-backups"].severity is Severity.OK
    gold = check_caches(MonitoredCache(cache("gold"), 0))
    assert severities(gold) == {"policy": "WARNING"}
    assert gold["policy"].fix == "set restorable:policy to a known policy, or add 'gold' to POLICY_DOCUMENT"


def test_an_unlistable_cache_region_is_one_unknown_inventory_finding() -> None:
    verification = Verification()
    verify_caches(
        ElastiCacheInventory(REGION, None, [], cache_error="caches unreadable: denied"), CONTEXT, verification
    )
    [found] = verification.results
    assert (found.key, found.check, found.severity) == ("elasticache:us-east-1", "inventory", Severity.UNKNOWN)


def test_one_tables_odd_data_is_unknown_and_the_others_are_verified() -> None:
    naive = replace(pitr(), latest_restorable=datetime(2026, 11, 22, 11, 55))  # naive: the odd data
    other = Table(name="carts", arn=TABLE_ARN.replace("orders", "carts"), status="ACTIVE", tags=table().tags)
    verification = Verification()
    inventory = DynamoDbInventory(REGION, [MonitoredTable(table(), naive), MonitoredTable(other, pitr())], [])
    verify_tables(inventory, CONTEXT, verification)
    by_table = {(r.resource, r.check): r.severity for r in verification.results}
    assert by_table[("orders", "verification")] is Severity.UNKNOWN
    assert by_table[("carts", "point-in-time-recovery")] is Severity.OK
    assert verification.databases == [TABLE_ARN, other.arn]
