"""Pure verification checks: each fires and clears; severities are ordered and never lost."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from hypothesis import given
from hypothesis import strategies as st

from restorable import tags as tag_keys
from restorable.adapters.backup_inventory import BackupInventory
from restorable.errors import PermissionDeniedError
from restorable.models import Database, DatabaseType, RecoveryPoint
from restorable.policy import default_policy_text, parse_policy_document
from restorable.rds_events import IgnoredEvent
from restorable.verification.checks import (
    BackupFacts,
    DrillHistory,
    MonitoredDatabase,
    QuotaUsage,
    RegionInventory,
    Severity,
    Status,
    Thresholds,
    VerificationContext,
    verify,
)
from restorable.verification.request import InstanceEvent, parse_rds_event

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
ARN = "arn:aws:rds:us-east-1:123456789012:db:orders"
POLICIES = parse_policy_document(default_policy_text())
CONTEXT = VerificationContext(
    policies=POLICIES,
    thresholds=Thresholds(),
    stack_name="restorable",
    dr_region="us-west-2",
    scheduled_kinds=frozenset({"weekly", "monthly", "daily"}),
    now=NOW,
)


def database(policy: str | None = "standard", status: str = "available", **facts: Any) -> MonitoredDatabase:
    values: dict[str, Any] = {
        "retention_days": 7,
        "backup_window": "03:00-04:00",
        "copy_tags_to_snapshot": True,
        "storage_encrypted": True,
        "latest_restorable_time": NOW - timedelta(minutes=5),
        "created_at": NOW - timedelta(days=400),
        "replication_regions": frozenset({"us-west-2"}),
    }
    values.update(facts)
    tags = {tag_keys.POLICY: policy} if policy else {}
    return MonitoredDatabase(
        Database(DatabaseType.INSTANCE, "orders", ARN, status, "mysql", tags), BackupFacts(**values)
    )


def snapshot(
    kind: str, age: timedelta, region: str = "us-east-1", stack: str = "restorable", **extra: Any
) -> RecoveryPoint:
    return RecoveryPoint(
        type=DatabaseType.INSTANCE,
        identifier=f"orders-{kind}-{(NOW - age):%Y-%m-%d}",
        arn="",
        source_identifier="orders",
        status=extra.get("status", "available"),
        snapshot_type="manual",
        region=region,
        created_at=NOW - age,
        tags={tag_keys.MANAGED_BY: stack, tag_keys.KIND: kind, tag_keys.SOURCE: ARN},
    )


def fresh_snapshots(region: str = "us-east-1") -> list[RecoveryPoint]:
    return [snapshot("weekly", timedelta(days=2), region), snapshot("monthly", timedelta(days=20), region)]


def run(
    monitored: MonitoredDatabase,
    source: list[RecoveryPoint] | None = None,
    dr: list[RecoveryPoint] | None = None,
    drills: DrillHistory | None = None,
    **context: Any,
) -> dict[str, Severity]:
    verification = verify(
        [monitored],
        RegionInventory("us-east-1", fresh_snapshots() if source is None else source),
        RegionInventory("us-west-2", fresh_snapshots("us-west-2") if dr is None else dr),
        drills or DrillHistory(enabled=False),
        VerificationContext(**{**CONTEXT.__dict__, **context}),
        include_region_checks=False,
    )
    return {r.check: r.severity for r in verification.results}


def test_a_healthy_database_passes_every_check() -> None:
    results = run(database())
    assert set(results.values()) == {Severity.OK}
    assert set(results) >= {
        "policy",
        "database-state",
        "automated-backups",
        "backup-window",
        "copy-tags-to-snapshot",
        "storage-encrypted",
        "recovery-point-age",
        "snapshot-age:weekly",
        "snapshot-age:monthly",
        "dr-copy:weekly",
        "dr-copy:monthly",
        "backup-replication",
    }


@pytest.mark.parametrize(
    ("monitored", "check", "severity"),
    [
        (database(retention_days=0), "automated-backups", Severity.CRITICAL),
        (database(retention_days=3), "automated-backups", Severity.WARNING),
        (database(backup_window=None), "backup-window", Severity.WARNING),
        (database(copy_tags_to_snapshot=False), "copy-tags-to-snapshot", Severity.WARNING),
        (database(storage_encrypted=False), "storage-encrypted", Severity.WARNING),
        (database(latest_restorable_time=None), "recovery-point-age", Severity.CRITICAL),
        (database(latest_restorable_time=NOW - timedelta(minutes=16)), "recovery-point-age", Severity.WARNING),
        (database(latest_restorable_time=NOW - timedelta(minutes=61)), "recovery-point-age", Severity.CRITICAL),
        (database(replication_regions=frozenset()), "backup-replication", Severity.WARNING),
        (database(replication_regions=frozenset({"eu-west-1"})), "backup-replication", Severity.WARNING),
        (database(status="stopped"), "database-state", Severity.WARNING),
        (database(status="storage-full"), "database-state", Severity.CRITICAL),
        (database(policy="platinum"), "policy", Severity.WARNING),
    ],
)
def test_database_checks_fire(monitored: MonitoredDatabase, check: str, severity: Severity) -> None:
    assert run(monitored)[check] is severity


def test_snapshot_age_warns_then_goes_critical_and_ignores_other_stacks() -> None:
    monthly = snapshot("monthly", timedelta(days=1))
    assert (
        run(database(), source=[snapshot("weekly", timedelta(days=9)), monthly])["snapshot-age:weekly"]
        is Severity.WARNING
    )
    assert (
        run(database(), source=[snapshot("weekly", timedelta(days=17)), monthly])["snapshot-age:weekly"]
        is Severity.CRITICAL
    )
    others = [snapshot("weekly", timedelta(days=1), stack="someone-else"), monthly]
    assert run(database(), source=others)["snapshot-age:weekly"] is Severity.CRITICAL
    creating = [snapshot("weekly", timedelta(days=1), status="creating"), monthly]
    assert run(database(), source=creating)["snapshot-age:weekly"] is Severity.CRITICAL
    # a new database is not expected to have one yet
    new = database(created_at=NOW - timedelta(days=2))
    assert run(new, source=[monthly])["snapshot-age:weekly"] is Severity.OK


def test_dr_copy_lag() -> None:
    source = [snapshot("weekly", timedelta(hours=7)), snapshot("monthly", timedelta(days=3))]
    dr_monthly = [snapshot("monthly", timedelta(days=3), region="us-west-2")]
    assert run(database(), source=source, dr=dr_monthly)["dr-copy:weekly"] is Severity.WARNING
    source[0] = snapshot("weekly", timedelta(hours=25))
    assert run(database(), source=source, dr=dr_monthly)["dr-copy:weekly"] is Severity.CRITICAL
    source[0] = snapshot("weekly", timedelta(hours=2))
    assert run(database(), source=source, dr=dr_monthly)["dr-copy:weekly"] is Severity.OK  # within the lag
    copying = [*dr_monthly, snapshot("weekly", timedelta(hours=30), region="us-west-2", status="copying")]
    source[0] = snapshot("weekly", timedelta(hours=30))
    assert run(database(), source=source, dr=copying)["dr-copy:weekly"] is Severity.CRITICAL


def test_unreadable_dr_region_makes_dr_checks_unknown_with_the_reason() -> None:
    verification = verify(
        [database()],
        RegionInventory("us-east-1", fresh_snapshots()),
        RegionInventory("us-west-2", None, snapshot_error="manual snapshots unreadable: AccessDenied"),
        DrillHistory(enabled=False),
        CONTEXT,
    )
    by_check = {(r.resource, r.check): r for r in verification.results}
    dr_checks = {check: r for (_, check), r in by_check.items() if check in ("dr-copy:weekly", "dr-copy:monthly")}
    assert len(dr_checks) == 2, "the DR checks are reported, not dropped"
    assert by_check[("orders", "dr-copy:predeploy")].severity is Severity.OK  # nothing to copy: known either way
    assert {r.severity for r in dr_checks.values()} == {Severity.UNKNOWN}
    assert all("AccessDenied" in r.observed for r in dr_checks.values())
    assert by_check[("RDS us-west-2", "inventory")].severity is Severity.UNKNOWN
    # the source-side checks were still evaluated
    assert by_check[("orders", "snapshot-age:weekly")].severity is Severity.OK
    assert verification.status.value == "UNKNOWN"


def test_unreadable_source_snapshots_are_unknown_not_missing() -> None:
    verification = verify(
        [database()],
        RegionInventory("us-east-1", None, snapshot_error="manual snapshots unreadable: Throttling"),
        RegionInventory("us-west-2", fresh_snapshots()),
        DrillHistory(enabled=False),
        CONTEXT,
    )
    severities = {r.check: r.severity for r in verification.results if r.resource == "orders"}
    assert severities["snapshot-age:weekly"] is Severity.UNKNOWN  # never "no available weekly snapshot"
    assert severities["dr-copy:weekly"] is Severity.UNKNOWN
    assert severities["recovery-point-age"] is Severity.OK


def test_unreadable_quotas_and_drill_history_are_unknown_findings() -> None:
    verification = verify(
        [database()],
        RegionInventory("us-east-1", fresh_snapshots(), None, quota_error="snapshot quotas unreadable: AccessDenied"),
        RegionInventory("us-west-2", fresh_snapshots(), None, quota_error="snapshot quotas unreadable: Throttling"),
        DrillHistory(enabled=True, error="drill history unreadable: AccessDeniedException"),
        CONTEXT,
    )
    unknown = {(r.resource, r.check): r.observed for r in verification.findings if r.severity is Severity.UNKNOWN}
    assert unknown == {
        ("RDS us-east-1", "snapshot-quota:ManualSnapshots"): "not evaluated: snapshot quotas unreadable: AccessDenied",
        ("RDS us-east-1", "snapshot-quota:ManualClusterSnapshots"): (
            "not evaluated: snapshot quotas unreadable: AccessDenied"
        ),
        ("RDS us-west-2", "snapshot-quota:ManualSnapshots"): "not evaluated: snapshot quotas unreadable: Throttling",
        ("RDS us-west-2", "snapshot-quota:ManualClusterSnapshots"): (
            "not evaluated: snapshot quotas unreadable: Throttling"
        ),
        ("drill history table", "inventory"): "drill history unreadable: AccessDeniedException",
        ("orders", "restore-drill"): "not evaluated: drill history unreadable: AccessDeniedException",
    }
    assert [r for r in verification.findings if r.severity is not Severity.UNKNOWN] == []


def test_one_database_whose_checks_fail_never_hides_the_others() -> None:
    broken = database()
    odd = MonitoredDatabase(
        database=replace(broken.database, identifier="odd", arn=broken.database.arn + "-odd"),
        backup=replace(broken.backup, retention_days="seven"),  # type: ignore[arg-type]
    )
    verification = verify(
        [odd, database()],
        RegionInventory("us-east-1", fresh_snapshots()),
        RegionInventory("us-west-2", fresh_snapshots()),
        DrillHistory(enabled=False),
        CONTEXT,
    )
    by_resource: dict[str, set[Severity]] = {}
    for result in verification.results:
        by_resource.setdefault(result.resource, set()).add(result.severity)
    assert by_resource["orders"] == {Severity.OK}
    [finding] = [r for r in verification.findings if r.resource == "odd"]
    assert (finding.check, finding.severity) == ("verification", Severity.UNKNOWN)
    assert "TypeError" in finding.observed


def test_quota_headroom() -> None:
    def quota(used: int) -> Severity:
        verification = verify(
            [],
            RegionInventory("us-east-1", [], quotas=[QuotaUsage("us-east-1", "ManualSnapshots", used, 100)]),
            RegionInventory("us-west-2", []),
            DrillHistory(enabled=False),
            CONTEXT,
        )
        [result] = [r for r in verification.results if r.check == "snapshot-quota:ManualSnapshots"]
        return result.severity

    assert [quota(79), quota(80), quota(99), quota(100)] == [
        Severity.OK,
        Severity.WARNING,
        Severity.WARNING,
        Severity.CRITICAL,
    ]


def test_drill_age() -> None:
    drills = DrillHistory(enabled=True, last_success={ARN: NOW - timedelta(days=10)})
    assert run(database(), drills=drills)["restore-drill"] is Severity.OK
    old = DrillHistory(enabled=True, last_success={ARN: NOW - timedelta(days=40)})
    assert run(database(), drills=old)["restore-drill"] is Severity.WARNING
    assert run(database(), drills=DrillHistory(enabled=True))["restore-drill"] is Severity.WARNING
    assert "restore-drill" not in run(database())


def test_unprotected_and_cluster_members_are_not_verified() -> None:
    assert run(database(policy=None)) == {}
    member = MonitoredDatabase(
        Database(
            DatabaseType.INSTANCE, "ledger-1", ARN, "available", "aurora", {tag_keys.POLICY: "standard"}, "ledger"
        ),
        database().backup,
    )
    assert run(member) == {}


@given(st.integers(0, 600), st.integers(0, 600))
def test_older_recovery_point_is_never_less_severe(minutes_a: int, minutes_b: int) -> None:
    def severity(minutes: int) -> Severity:
        return run(database(latest_restorable_time=NOW - timedelta(minutes=minutes)))["recovery-point-age"]

    if minutes_a <= minutes_b:
        assert severity(minutes_a) <= severity(minutes_b)


@given(st.lists(st.sampled_from(list(Severity)), max_size=20))
def test_status_is_the_worst_severity(severities: list[Severity]) -> None:
    status = Status.of(severities)
    if Severity.CRITICAL in severities:
        assert status is Status.CRITICAL
    elif Severity.WARNING in severities:
        assert status is Status.DEGRADED
    elif Severity.UNKNOWN in severities:
        assert status is Status.UNKNOWN
    else:
        assert status is Status.HEALTHY


@given(
    st.booleans(),
    st.integers(0, 10),
    st.booleans(),
    st.booleans(),
    st.one_of(st.none(), st.integers(0, 300)),
    st.sampled_from(["available", "stopped", "storage-full", "modifying"]),
)
def test_every_finding_is_counted_in_the_status_and_listed(
    window: bool, retention: int, copy_tags: bool, encrypted: bool, rpo_minutes: int | None, status: str
) -> None:
    monitored = database(
        status=status,
        backup_window="03:00-04:00" if window else None,
        retention_days=retention,
        copy_tags_to_snapshot=copy_tags,
        storage_encrypted=encrypted,
        latest_restorable_time=None if rpo_minutes is None else NOW - timedelta(minutes=rpo_minutes),
    )
    verification = verify(
        [monitored],
        RegionInventory("us-east-1", fresh_snapshots()),
        RegionInventory("us-west-2", fresh_snapshots("us-west-2")),
        DrillHistory(enabled=False),
        CONTEXT,
    )
    bad = [r for r in verification.results if r.severity > Severity.OK]
    assert verification.findings == sorted(bad, key=lambda r: (-r.severity, r.resource, r.check))
    assert verification.status is Status.of(r.severity for r in bad)
    assert sum(verification.counts().values()) == len(verification.results)
    for finding in bad:
        assert finding.observed
        assert finding.expected
        assert finding.fix


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)


@given(
    st.fixed_dictionaries(
        {},
        optional={
            "source": st.sampled_from(["aws.rds", "aws.ec2"]) | st.text(max_size=10),
            "detail-type": st.sampled_from(["RDS DB Instance Event", "RDS DB Snapshot Event"]),
            "detail": st.fixed_dictionaries(
                {},
                optional={
                    "EventID": st.sampled_from(["RDS-EVENT-0002", "RDS-EVENT-0004", "RDS-EVENT-0028"]) | json_values,
                    "SourceArn": st.sampled_from([ARN, "arn:aws:rds:eu-west-1:123456789012:db:x"]) | json_values,
                    "SourceIdentifier": st.sampled_from(["rds:orders", "orders"]) | json_values,
                    "Message": json_values,
                },
            )
            | json_values,
        },
    )
)
def test_parsing_any_event_never_raises(event: dict[str, Any]) -> None:
    parsed = parse_rds_event(event, "us-east-1")
    assert isinstance(parsed, InstanceEvent | IgnoredEvent)
    if isinstance(parsed, InstanceEvent):
        assert event["source"] == "aws.rds"
        assert parsed.event_id in {"RDS-EVENT-0002", "RDS-EVENT-0004", "RDS-EVENT-0028"}


def test_quota_adapter_reads_account_attributes() -> None:
    """moto has no DescribeAccountAttributes: the adapter path is checked against the service model."""
    client = boto3.client("rds", region_name="us-west-2")
    with Stubber(client) as stubber:
        stubber.add_response(
            "describe_account_attributes",
            {
                "AccountQuotas": [
                    {"AccountQuotaName": "DBInstances", "Used": 3, "Max": 40},
                    {"AccountQuotaName": "ManualSnapshots", "Used": 87, "Max": 100},
                    {"AccountQuotaName": "ManualClusterSnapshots", "Used": 2, "Max": 100},
                ]
            },
            {},
        )
        stubber.add_client_error("describe_account_attributes", service_error_code="AccessDenied", http_status_code=403)
        inventory = BackupInventory(client)
        assert inventory.snapshot_quotas() == [
            QuotaUsage("us-west-2", "ManualSnapshots", 87, 100),
            QuotaUsage("us-west-2", "ManualClusterSnapshots", 2, 100),
        ]
        with pytest.raises(PermissionDeniedError, match="describe_account_attributes"):
            inventory.snapshot_quotas()
