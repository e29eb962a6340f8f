"""CopyFunction through the template's wiring, on moto in two Regions (us-east-1 -> us-west-2)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
import time_machine
from moto.core import DEFAULT_ACCOUNT_ID
from moto.events.models import EventPattern
from moto.rds.models import rds_backends

from local_runtime.functions import Functions
from local_runtime.template import REPO_ROOT
from restorable.errors import InvalidRequestError
from tests.aws_faults import failing_calls
from tests.conftest import DR_REGION
from tests.fleet import Fleet

SUNDAY = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
ORDERS_WEEKLY = "orders-mysql-weekly-2026-11-22"
LEDGER_WEEKLY = "ledger-weekly-2026-11-22"


def sample(name: str) -> dict[str, Any]:
    return dict(json.loads((REPO_ROOT / "events" / name).read_text()))


def schedule(functions: Functions, name: str) -> Any:
    [found] = [s for s in functions.schedules() if s.name == name]
    return found


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(SUNDAY, tick=False) as traveller:
        yield traveller


@pytest.fixture
def dr(aws: None) -> Any:
    return boto3.client("rds", region_name=DR_REGION)


@pytest.fixture
def dr_fleet(dr: Any) -> Fleet:
    return Fleet(dr)


@pytest.fixture
def weekly(functions: Functions, fleet: Fleet, clock: time_machine.Coordinates) -> Fleet:
    """orders-mysql (standard), billing-pg (compliance), ledger (Aurora), each with this week's snapshot."""
    fleet.instance("orders-mysql")
    fleet.instance("billing-pg", engine="postgres", policy="compliance")
    fleet.cluster("ledger")
    functions.invoke("SnapshotFunction", schedule(functions, "WeeklySnapshots").event_for(SUNDAY)).result()
    clock.shift(3600)
    return fleet


def copy(functions: Functions, event: Any | None = None, **environment: str) -> dict[str, Any]:
    invocation = functions.invoke(
        "CopyFunction", sample("copy-reconcile.json") if event is None else event, environment
    )
    payload: dict[str, Any] = invocation.result()
    return payload


def outcomes(payload: dict[str, Any]) -> dict[str, str]:
    return {item["recovery_point"]: item["outcome"] for item in payload["items"]}


def test_reconcile_copies_every_wanted_snapshot_with_tags_and_dr_key(
    functions: Functions, weekly: Fleet, dr_fleet: Fleet
) -> None:
    payload = copy(functions)
    assert outcomes(payload) == {
        ORDERS_WEEKLY: "created",
        "billing-pg-weekly-2026-11-22": "created",
        LEDGER_WEEKLY: "created",
    }
    source_tags = weekly.manual_snapshots()
    copies = dr_fleet.manual_snapshots()
    assert set(copies) == set(source_tags)
    for identifier, tags in copies.items():
        # same tags as the original (the attempts counter is bookkeeping on the source only)
        assert tags == {k: v for k, v in source_tags[identifier].items() if k != "restorable:copy-attempts"}
        assert tags["restorable:managed-by"] == "restorable"
        assert source_tags[identifier]["restorable:copy-attempts"] == "1"
    db_copy = dr_fleet.rds.describe_db_snapshots(DBSnapshotIdentifier=ORDERS_WEEKLY)["DBSnapshots"][0]
    cluster_copy = dr_fleet.rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=LEDGER_WEEKLY)[
        "DBClusterSnapshots"
    ][0]
    for copied in (db_copy, cluster_copy):
        assert copied["KmsKeyId"].startswith(f"arn:aws:kms:{DR_REGION}:")
        assert copied.get("Encrypted", copied.get("StorageEncrypted")) is True
    assert payload["dr_region"] == DR_REGION
    assert payload["kms_key_id"] == "alias/aws/rds"


def test_rerun_starts_nothing_and_reports_copies_available(functions: Functions, weekly: Fleet) -> None:
    copy(functions)
    again = copy(functions)
    assert set(outcomes(again).values()) == {"already_exists"}
    assert again["copies"]["started"] == 0
    assert weekly.manual_snapshots()[ORDERS_WEEKLY]["restorable:copy-attempts"] == "1"


def test_customer_managed_dr_key_is_used(functions: Functions, weekly: Fleet, dr: Any) -> None:
    key_arn = boto3.client("kms", region_name=DR_REGION).create_key(Description="dr")["KeyMetadata"]["Arn"]
    copy(functions, DR_KMS_KEY_ID=key_arn)
    assert dr.describe_db_snapshots(DBSnapshotIdentifier=ORDERS_WEEKLY)["DBSnapshots"][0]["KmsKeyId"] == key_arn


def test_unusable_kms_key_fails_clearly_retries_then_gives_up(
    functions: Functions, weekly: Fleet, dr_fleet: Fleet
) -> None:
    foreign_key = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000"
    first = copy(functions, DR_KMS_KEY_ID=foreign_key)
    assert set(outcomes(first).values()) == {"failed"}
    assert "KMSKeyNotAccessibleFault" in first["items"][0]["reason"]
    assert "attempt 1 of 3" in first["items"][0]["reason"]
    assert dr_fleet.manual_snapshots() == {}
    copy(functions, DR_KMS_KEY_ID=foreign_key)
    third = copy(functions, DR_KMS_KEY_ID=foreign_key)
    assert "no more retries" in third["items"][0]["reason"]
    fourth = copy(functions, DR_KMS_KEY_ID=foreign_key)
    assert set(outcomes(fourth).values()) == {"finding"}
    assert "3 copies were started" in fourth["items"][0]["reason"]
    assert dr_fleet.manual_snapshots() == {}
    # an operator fixes the key and clears the counter: the next pass copies
    weekly.rds.remove_tags_from_resource(
        ResourceName=weekly.rds.describe_db_snapshots(DBSnapshotIdentifier=ORDERS_WEEKLY)["DBSnapshots"][0][
            "DBSnapshotArn"
        ],
        TagKeys=["restorable:copy-attempts"],
    )
    assert outcomes(copy(functions))[ORDERS_WEEKLY] == "created"


def set_dr_status(identifier: str, status: str, *, cluster: bool = False) -> None:
    backend = rds_backends[DEFAULT_ACCOUNT_ID][DR_REGION]
    (backend.cluster_snapshots if cluster else backend.database_snapshots)[identifier].status = status


def test_quota_counts_copies_in_flight_and_starts_oldest_first(
    functions: Functions, fleet: Fleet, dr_fleet: Fleet, clock: time_machine.Coordinates
) -> None:
    fleet.instance("orders-mysql")
    fleet.cluster("ledger")
    arn = fleet.rds.describe_db_instances(DBInstanceIdentifier="orders-mysql")["DBInstances"][0]["DBInstanceArn"]
    cluster_arn = fleet.rds.describe_db_clusters(DBClusterIdentifier="ledger")["DBClusters"][0]["DBClusterArn"]
    tags = {"restorable:managed-by": "restorable", "restorable:kind": "predeploy", "restorable:policy": "standard"}
    for number in range(25):  # pre-deploy-like snapshots, one an hour: s00 is the oldest
        clock.shift(3600)
        fleet.rds.create_db_snapshot(
            DBSnapshotIdentifier=f"s{number:02d}",
            DBInstanceIdentifier="orders-mysql",
            Tags=[{"Key": k, "Value": v} for k, v in {**tags, "restorable:source": arn}.items()],
        )
    for number in range(7):
        clock.shift(3600)
        fleet.rds.create_db_cluster_snapshot(
            DBClusterSnapshotIdentifier=f"c{number}",
            DBClusterIdentifier="ledger",
            Tags=[{"Key": k, "Value": v} for k, v in {**tags, "restorable:source": cluster_arn}.items()],
        )

    first = copy(functions)
    started = sorted(i["recovery_point"] for i in first["items"] if i["outcome"] == "created")
    assert started == sorted([f"s{n:02d}" for n in range(20)] + [f"c{n}" for n in range(5)])
    assert first["copies"]["waiting"] == 7
    # moto finishes copies at once; make them still in flight, as RDS would for hours
    for identifier in started:
        set_dr_status(identifier, "copying", cluster=identifier.startswith("c"))
    second = copy(functions)
    assert second["copies"]["started"] == 0
    assert second["copies"]["in_flight"] == 25
    assert second["copies"]["waiting"] == 7
    assert {i["recovery_point"] for i in second["items"] if i["outcome"] == "skipped"} == {
        "s20",
        "s21",
        "s22",
        "s23",
        "s24",
        "c5",
        "c6",
    }
    # two DB copies finish: exactly two slots open, taken by the oldest waiting
    set_dr_status("s00", "available")
    set_dr_status("s01", "available")
    third = copy(functions)
    assert sorted(i["recovery_point"] for i in third["items"] if i["outcome"] == "created") == ["s20", "s21"]


@pytest.fixture
def quota_exceeded() -> Iterator[set[str]]:
    """Make CopyDBSnapshot / CopyDBClusterSnapshot answer SnapshotQuotaExceeded for chosen targets."""
    targets: set[str] = set()

    def choose(body: dict[str, Any]) -> str | None:
        target = body.get("TargetDBSnapshotIdentifier") or body.get("TargetDBClusterSnapshotIdentifier")
        return "SnapshotQuotaExceeded" if target in targets else None

    with failing_calls(["CopyDBSnapshot", "CopyDBClusterSnapshot"], choose):
        yield targets


def test_snapshot_quota_exceeded_is_a_later_not_an_error(
    functions: Functions, weekly: Fleet, dr_fleet: Fleet, quota_exceeded: set[str]
) -> None:
    quota_exceeded.update({ORDERS_WEEKLY, LEDGER_WEEKLY})
    invocation = functions.invoke("CopyFunction", sample("copy-reconcile.json"))
    payload = invocation.result()
    result = outcomes(payload)
    assert result == {ORDERS_WEEKLY: "skipped", LEDGER_WEEKLY: "skipped", "billing-pg-weekly-2026-11-22": "created"}
    assert payload["ok"] is True
    assert payload["copies"]["waiting"] == 2
    assert "SnapshotQuotaExceeded" in {i["recovery_point"]: i["reason"] for i in payload["items"]}[ORDERS_WEEKLY]
    # not counted as an attempt; the copy happens once the quota frees up
    assert "restorable:copy-attempts" not in weekly.manual_snapshots()[ORDERS_WEEKLY]
    assert set(dr_fleet.manual_snapshots()) == {"billing-pg-weekly-2026-11-22"}
    metrics = invocation.metric_values()
    assert (metrics["CopiesStarted"], metrics["CopiesWaiting"], metrics["CopiesInFlight"]) == (1, 2, 1)
    assert metrics["DrLagSeconds"] == 3600  # the snapshots were taken an hour ago and have no copy
    quota_exceeded.clear()
    assert set(outcomes(copy(functions)).values()) == {"created", "already_exists"}
    assert len(dr_fleet.manual_snapshots()) == 3


def test_dr_lag_is_zero_once_everything_is_copied(functions: Functions, weekly: Fleet) -> None:
    copy(functions)
    invocation = functions.invoke("CopyFunction", sample("copy-reconcile.json"))
    invocation.result()
    assert invocation.metric_values()["DrLagSeconds"] == 0


@pytest.mark.parametrize(
    ("event_file", "rule", "copied"),
    [
        ("copy-db-snapshot-created.json", "DbSnapshotCreated", ORDERS_WEEKLY),
        ("copy-cluster-snapshot-created.json", "ClusterSnapshotCreated", LEDGER_WEEKLY),
    ],
)
def test_snapshot_created_event_copies_that_snapshot_only(
    functions: Functions, weekly: Fleet, dr_fleet: Fleet, event_file: str, rule: str, copied: str
) -> None:
    event = sample(event_file)
    [spec] = [r for r in functions.rules() if r.name == rule]
    assert EventPattern.load(json.dumps(spec.pattern)).matches_event(event)
    payload = copy(functions, event)
    assert outcomes(payload) == {copied: "created"}
    assert set(dr_fleet.manual_snapshots()) == {copied}
    # the same event delivered twice: nothing new
    assert outcomes(copy(functions, event)) == {copied: "already_exists"}


def test_rules_do_not_match_other_snapshot_events(functions: Functions) -> None:
    event = sample("copy-db-snapshot-created.json")
    event["detail"]["EventID"] = "RDS-EVENT-0040"  # creating, not created
    patterns = [EventPattern.load(json.dumps(r.pattern)) for r in functions.rules() if r.function == "CopyFunction"]
    assert not any(p.matches_event(event) for p in patterns)


def test_event_for_a_missing_snapshot_is_a_finding(functions: Functions, fleet: Fleet, dr_fleet: Fleet) -> None:
    payload = copy(functions, sample("copy-db-snapshot-created.json"))
    [item] = payload["items"]
    assert item["outcome"] == "finding"
    assert "does not exist in us-east-1" in item["reason"]
    assert payload["ok"] is False
    assert dr_fleet.manual_snapshots() == {}


def test_event_for_someone_elses_snapshot_is_a_finding(functions: Functions, fleet: Fleet, dr_fleet: Fleet) -> None:
    fleet.instance("orders-mysql")
    fleet.rds.create_db_snapshot(DBSnapshotIdentifier=ORDERS_WEEKLY, DBInstanceIdentifier="orders-mysql")
    payload = copy(functions, sample("copy-db-snapshot-created.json"))
    [item] = payload["items"]
    assert item["outcome"] == "finding"
    assert "not this stack" in item["reason"]
    assert dr_fleet.manual_snapshots() == {}


def _event(mutate: Any) -> dict[str, Any]:
    event = sample("copy-db-snapshot-created.json")
    mutate(event)
    return event


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (_event(lambda e: e.pop("detail")), "detail is missing"),
        (_event(lambda e: e.update(detail="oops")), "detail is missing or not an object"),
        (_event(lambda e: e["detail"].update(EventID="RDS-EVENT-0041")), "is not RDS-EVENT-0042"),
        (_event(lambda e: e.update({"detail-type": "RDS DB Instance Event"})), "is not one of"),
        (_event(lambda e: e.update(source="aws.ec2")), "is not aws.rds"),
        (_event(lambda e: e["detail"].update(SourceArn="arn:aws:s3:::bucket")), "is not an RDS snapshot ARN"),
        (
            _event(lambda e: e["detail"].update(SourceArn=e["detail"]["SourceArn"].replace("us-east-1", "eu-west-1"))),
            "this stack copies from us-east-1",
        ),
        (
            _event(
                lambda e: e["detail"].update(
                    SourceArn=e["detail"]["SourceArn"].replace(":snapshot:", ":cluster-snapshot:")
                )
            ),
            "is not a snapshot ARN",
        ),
        (_event(lambda e: [e["detail"].pop(k) for k in ("SourceArn", "SourceIdentifier")]), "neither SourceArn"),
        (_event(lambda e: e["detail"].update(SourceArn=None, SourceIdentifier="bad_name!")), "not a valid RDS"),
    ],
)
def test_unhandled_or_malformed_rds_events_are_ignored_with_a_reason_and_copy_nothing(
    functions: Functions, weekly: Fleet, dr_fleet: Fleet, event: Any, reason: str
) -> None:
    invocation = functions.invoke("CopyFunction", event)
    assert invocation.error is None  # not raised: EventBridge would retry it and the error alarm would fire
    payload = invocation.result()
    assert reason in payload["ignored"]
    assert payload["items"] == []
    assert dr_fleet.manual_snapshots() == {}
    assert any(
        log["level"] == "WARNING" and log["message"] == "event ignored" and reason in log["reason"]
        for log in invocation.logs
    )
    assert invocation.metric_values()["IgnoredEvents"] == 1


def test_an_ignored_event_reports_its_event_id(functions: Functions, weekly: Fleet) -> None:
    payload = copy(functions, _event(lambda e: e["detail"].update(EventID="RDS-EVENT-0041")))
    assert payload["event_id"] == "RDS-EVENT-0041"


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"scheduled_time": "yesterday"}, "scheduled_time"),
        ({"surprise": True}, "Extra inputs are not permitted"),
        ([], "must be a JSON object"),
    ],
)
def test_malformed_requests_fail_clearly_and_copy_nothing(
    functions: Functions, weekly: Fleet, dr_fleet: Fleet, event: Any, message: str
) -> None:
    invocation = functions.invoke("CopyFunction", event)
    assert isinstance(invocation.error, InvalidRequestError)
    assert message in str(invocation.error)
    assert dr_fleet.manual_snapshots() == {}
    assert any(log["level"] == "ERROR" and "nothing was copied" in log["message"] for log in invocation.logs)


def test_event_without_event_id_still_works(functions: Functions, weekly: Fleet, dr_fleet: Fleet) -> None:
    event = _event(lambda e: e["detail"].pop("EventID"))
    assert outcomes(copy(functions, event)) == {ORDERS_WEEKLY: "created"}


def test_dry_run_copies_nothing(functions: Functions, weekly: Fleet, dr_fleet: Fleet) -> None:
    payload = copy(functions, sample("copy-dry-run.json"))
    assert payload["dry_run"] is True
    assert payload["counts"]["planned"] == 3
    assert dr_fleet.manual_snapshots() == {}
    assert "restorable:copy-attempts" not in weekly.manual_snapshots()[ORDERS_WEEKLY]


def test_policy_without_dr_copy_is_not_copied(functions: Functions, weekly: Fleet, dr_fleet: Fleet) -> None:
    document = {
        "version": 1,
        "policies": {
            name: {
                "automated_backups": {"retention_days": 7},
                "snapshots": {
                    "weekly": {"retention_days": 90, "dr_copy": name == "compliance"},
                    "monthly": {"retention_days": 365, "dr_copy": True},
                },
            }
            for name in ("standard", "compliance")
        },
    }
    payload = copy(functions, POLICY_DOCUMENT=json.dumps(document))
    assert outcomes(payload) == {"billing-pg-weekly-2026-11-22": "created"}
    assert set(dr_fleet.manual_snapshots()) == {"billing-pg-weekly-2026-11-22"}
