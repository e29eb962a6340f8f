"""PruneFunction through the template's wiring, on moto in two Regions (us-east-1 and its DR Region us-west-2)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import time_machine

from local_runtime.functions import Functions
from local_runtime.template import REPO_ROOT
from restorable.errors import ConfigurationError, InvalidRequestError
from restorable.naming import format_timestamp
from tests.aws_faults import errors_by_parameter
from tests.conftest import DR_REGION, SOURCE_REGION
from tests.fleet import Fleet

NOW = datetime(2027, 3, 1, 6, 0, tzinfo=UTC)
STACK = "restorable"


def sample(name: str) -> dict[str, Any]:
    return dict(json.loads((REPO_ROOT / "events" / name).read_text()))


class Inventory:
    """Managed snapshots made at chosen times in the source Region, each copied to the DR Region."""

    def __init__(self, fleet: Fleet, clock: time_machine.Coordinates) -> None:
        self.fleet = fleet
        self.rds = fleet.rds
        self.dr = boto3.client("rds", region_name=DR_REGION)
        self.clock = clock

    def arn(self, database: str) -> str:
        return str(self.rds.describe_db_instances(DBInstanceIdentifier=database)["DBInstances"][0]["DBInstanceArn"])

    def snapshot(
        self,
        identifier: str,
        database: str,
        *,
        age_days: float,
        expires_in_days: float | None,
        kind: str = "weekly",
        managed: bool = True,
        extra: dict[str, str] | None = None,
        copy: bool = True,
    ) -> None:
        self.clock.move_to(NOW - timedelta(days=age_days))
        tags: dict[str, str] = dict(extra or {})
        if managed:
            tags.update(
                {
                    "restorable:managed-by": STACK,
                    "restorable:kind": kind,
                    "restorable:source": self.arn(database),
                    "restorable:policy": "standard",
                }
            )
            if expires_in_days is not None:
                tags["restorable:expires-at"] = format_timestamp(NOW + timedelta(days=expires_in_days))
        tag_list = [{"Key": k, "Value": v} for k, v in tags.items()]
        made = self.rds.create_db_snapshot(
            DBSnapshotIdentifier=identifier, DBInstanceIdentifier=database, Tags=tag_list
        )["DBSnapshot"]
        if copy:
            self.dr.copy_db_snapshot(
                SourceDBSnapshotIdentifier=made["DBSnapshotArn"],
                TargetDBSnapshotIdentifier=identifier,
                SourceRegion=SOURCE_REGION,
                KmsKeyId="alias/aws/rds",
                Tags=tag_list,
            )
        self.clock.move_to(NOW)

    def names(self, region: str = SOURCE_REGION) -> set[str]:
        client = self.rds if region == SOURCE_REGION else self.dr
        return set(Fleet(client).manual_snapshots())


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def inventory(fleet: Fleet, clock: time_machine.Coordinates) -> Inventory:
    fleet.instance("orders-mysql")
    fleet.instance("billing-pg", engine="postgres")
    return Inventory(fleet, clock)


@pytest.fixture
def typical(inventory: Inventory) -> Inventory:
    """Per Region: 2 expired weekly (deletable), 1 held, the newest weekly, an old monthly (the newest of its
    kind), a hand-made snapshot, and 6 fresh weekly of another database: 11 managed, breaker allows 2."""
    inventory.snapshot("orders-weekly-a", "orders-mysql", age_days=120, expires_in_days=-30)
    inventory.snapshot("orders-weekly-b", "orders-mysql", age_days=100, expires_in_days=-10)
    inventory.snapshot(
        "orders-weekly-held", "orders-mysql", age_days=110, expires_in_days=-20, extra={"restorable:legal-hold": "true"}
    )
    inventory.snapshot("orders-weekly-c", "orders-mysql", age_days=7, expires_in_days=83)
    inventory.snapshot("orders-monthly-a", "orders-mysql", age_days=400, expires_in_days=-35, kind="monthly")
    inventory.snapshot("hand-made", "orders-mysql", age_days=500, expires_in_days=None, managed=False)
    for number in range(6):
        inventory.snapshot(f"billing-weekly-{number}", "billing-pg", age_days=number * 7, expires_in_days=90)
    return inventory


EXPECTED_DELETED = {"orders-weekly-a", "orders-weekly-b"}


def prune(functions: Functions, event: dict[str, Any] | None = None, **environment: str) -> dict[str, Any]:
    invocation = functions.invoke("PruneFunction", sample("prune-daily.json") if event is None else event, environment)
    payload: dict[str, Any] = invocation.result()
    return payload


def test_daily_prune_deletes_only_what_every_rule_allows_in_both_regions(
    functions: Functions, typical: Inventory
) -> None:
    before = typical.names()
    assert typical.names(DR_REGION) == before
    invocation = functions.invoke("PruneFunction", sample("prune-daily.json"))
    payload = invocation.result()
    assert typical.names() == before - EXPECTED_DELETED
    assert typical.names(DR_REGION) == before - EXPECTED_DELETED
    deleted = {(i["region"], i["recovery_point"]) for i in payload["items"] if i["outcome"] == "deleted"}
    assert deleted == {(region, p) for region in (SOURCE_REGION, DR_REGION) for p in EXPECTED_DELETED}
    assert payload["counts"]["deleted"] == 4
    source = payload["regions"][SOURCE_REGION]
    assert source["role"] == "source"
    assert source["managed_total"] == 11
    assert source["kept_by_rule"] == {
        "legal-hold": 1,
        "not-expired": 7,
        "newest-of-its-kind-for-its-source": 1,
        "not-managed-by-this-stack": 1,
    }
    assert payload["regions"][DR_REGION]["kept_by_rule"]["newest-of-its-kind-for-its-source"] == 1
    held = [i for i in payload["items"] if i["recovery_point"] == "orders-weekly-held"]
    assert {i["reason"] for i in held} == {"kept: legal-hold"}

    metrics = invocation.metric_values()
    assert metrics["Deleted"] == 4
    assert metrics["CircuitBreakerTrips"] == 0
    kept = {
        (b["Rule"], b["Kept"][0] if isinstance(b["Kept"], list) else b["Kept"])
        for b in invocation.metrics
        if "Kept" in b
    }
    assert ("legal-hold", 1) in kept
    assert ("not-expired", 7) in kept

    again = prune(functions)
    assert again["counts"]["deleted"] == 0


def test_dry_run_returns_the_plan_and_deletes_nothing(functions: Functions, typical: Inventory) -> None:
    before = (typical.names(), typical.names(DR_REGION))
    payload = prune(functions, sample("prune-dry-run.json"))
    assert (typical.names(), typical.names(DR_REGION)) == before
    assert payload["dry_run"] is True
    planned = {(i["region"], i["recovery_point"]) for i in payload["items"] if i["outcome"] == "planned"}
    assert planned == {(region, p) for region in (SOURCE_REGION, DR_REGION) for p in EXPECTED_DELETED}
    reasons = {i["recovery_point"]: i["reason"] for i in payload["items"] if i["region"] == SOURCE_REGION}
    assert reasons["orders-weekly-a"].startswith("would delete: expired at ")
    assert reasons["orders-monthly-a"] == "kept: newest-of-its-kind-for-its-source"
    assert reasons["orders-weekly-held"] == "kept: legal-hold"
    assert reasons["orders-weekly-c"] == "kept: not-expired"
    assert reasons["hand-made"] == "kept: not-managed-by-this-stack"
    # every recovery point of both Regions is accounted for
    listed = {(i["region"], i["recovery_point"]) for i in payload["items"] if "recovery_point" in i}
    assert listed == {(SOURCE_REGION, p) for p in before[0]} | {(DR_REGION, p) for p in before[1]}


@pytest.fixture
def alerts(aws: None) -> Any:
    """The stack's alert topic (as the template names it) with a queue subscribed to read what was published."""
    sns = boto3.client("sns", region_name=SOURCE_REGION)
    sqs = boto3.client("sqs", region_name=SOURCE_REGION)
    topic = sns.create_topic(Name="restorable-AlertTopic")["TopicArn"]
    queue = sqs.create_queue(QueueName="alerts")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})

    def received() -> list[dict[str, Any]]:
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in messages]

    return received


@pytest.fixture
def mass_expiry(inventory: Inventory) -> Inventory:
    """A bad expiry tag rollout: 8 of 10 managed recovery points look expired (breaker allows 2)."""
    for number in range(8):
        inventory.snapshot(f"orders-weekly-{number}", "orders-mysql", age_days=30 + number, expires_in_days=-1)
    inventory.snapshot("orders-weekly-new", "orders-mysql", age_days=1, expires_in_days=89)
    inventory.snapshot("billing-weekly", "billing-pg", age_days=1, expires_in_days=89)
    return inventory


def test_circuit_breaker_deletes_nothing_alerts_and_says_why(
    functions: Functions, mass_expiry: Inventory, alerts: Any
) -> None:
    before = (mass_expiry.names(), mass_expiry.names(DR_REGION))
    invocation = functions.invoke("PruneFunction", sample("prune-daily.json"))
    payload = invocation.result()
    assert (mass_expiry.names(), mass_expiry.names(DR_REGION)) == before
    assert payload["counts"]["deleted"] == 0
    assert payload["ok"] is False
    for region in (SOURCE_REGION, DR_REGION):
        summary = payload["regions"][region]
        assert summary["breaker_tripped"] is True
        assert "would delete 8 of 10 managed recovery points" in summary["breaker_reason"]
        assert summary["kept_by_rule"]["circuit-breaker"] == 8
    findings = [i for i in payload["items"] if i["outcome"] == "finding"]
    assert {i["resource"] for i in findings} == {SOURCE_REGION, DR_REGION}
    assert invocation.metric_values()["CircuitBreakerTrips"] == 2
    errors = [log for log in invocation.logs if log["level"] == "ERROR"]
    assert {log["prune_region"] for log in errors if "circuit breaker tripped" in log["message"]} == {
        SOURCE_REGION,
        DR_REGION,
    }
    messages = alerts()
    assert {m["region"] for m in messages} == {SOURCE_REGION, DR_REGION}
    assert all(
        m["alert"] == "restorable-prune-circuit-breaker" and "override_breaker" in m["what_to_do"] for m in messages
    )


def test_override_lets_a_reviewed_run_proceed(functions: Functions, mass_expiry: Inventory, alerts: Any) -> None:
    invocation = functions.invoke("PruneFunction", sample("prune-override.json"))
    payload = invocation.result()
    assert payload["counts"]["deleted"] == 16
    assert payload["override_reason"].startswith("CHG-1234")
    assert mass_expiry.names() == {"orders-weekly-new", "billing-weekly"}
    assert any(log["level"] == "WARNING" and "override" in log["message"] for log in invocation.logs)
    assert alerts() == []


def test_breaker_limits_come_from_the_template_parameters(functions: Functions, mass_expiry: Inventory) -> None:
    payload = prune(functions, PRUNE_MAX_SHARE_PERCENT="100", PRUNE_MAX_COUNT="8")
    assert payload["counts"]["deleted"] == 16
    assert payload["breaker_limits"] == {"max_share": 1.0, "max_count": 8}


def test_dry_run_shows_the_trip_without_alerting(functions: Functions, mass_expiry: Inventory, alerts: Any) -> None:
    invocation = functions.invoke("PruneFunction", sample("prune-dry-run.json"))
    payload = invocation.result()
    assert payload["regions"][SOURCE_REGION]["breaker_tripped"] is True
    assert alerts() == []
    assert "CircuitBreakerTrips" not in invocation.metric_values()


def test_trip_without_alert_topic_still_logs_error(functions: Functions, mass_expiry: Inventory) -> None:
    invocation = functions.invoke("PruneFunction", sample("prune-daily.json"), {"ALERT_TOPIC_ARN": ""})
    invocation.result()
    assert any(log["level"] == "ERROR" and "circuit breaker tripped" in log["message"] for log in invocation.logs)
    assert invocation.metric_values()["CircuitBreakerTrips"] == 2


@pytest.fixture
def failing_deletes() -> Iterator[dict[str, str]]:
    """Make DeleteDBSnapshot fail for chosen snapshots with a chosen AWS error code."""
    with errors_by_parameter("DeleteDBSnapshot", "DBSnapshotIdentifier") as failures:
        yield failures


def test_already_deleted_is_fine_and_one_failure_never_stops_the_others(
    functions: Functions, typical: Inventory, failing_deletes: dict[str, str]
) -> None:
    failing_deletes["orders-weekly-a"] = "DBSnapshotNotFound"
    failing_deletes["orders-weekly-b"] = "InvalidDBSnapshotState"
    payload = prune(functions, {"regions": ["source"]})
    by_point = {i["recovery_point"]: i for i in payload["items"] if i.get("recovery_point") in EXPECTED_DELETED}
    assert by_point["orders-weekly-a"]["outcome"] == "skipped"
    assert by_point["orders-weekly-a"]["reason"] == "already deleted"
    assert by_point["orders-weekly-b"]["outcome"] == "failed"
    assert "InvalidDBSnapshotState" in by_point["orders-weekly-b"]["reason"]
    assert list(payload["regions"]) == [SOURCE_REGION]
    assert typical.names(DR_REGION) >= EXPECTED_DELETED


def test_deleted_database_keeps_its_last_backups_and_is_reported(functions: Functions, inventory: Inventory) -> None:
    for number in range(3):
        inventory.snapshot(f"gone-weekly-{number}", "billing-pg", age_days=200 - number * 7, expires_in_days=-100)
    inventory.snapshot("gone-monthly", "billing-pg", age_days=300, expires_in_days=-5, kind="monthly")
    for number in range(12):
        inventory.snapshot(f"orders-weekly-{number}", "orders-mysql", age_days=number, expires_in_days=80)
    inventory.rds.delete_db_instance(DBInstanceIdentifier="billing-pg", SkipFinalSnapshot=True)
    payload = prune(functions)
    for region in (SOURCE_REGION, DR_REGION):
        left = {n for n in inventory.names(region) if n.startswith("gone")}
        assert left == {"gone-weekly-2", "gone-monthly"}
        assert payload["regions"][region]["orphaned_sources"] == ["arn:aws:rds:us-east-1:123456789012:db:billing-pg"]
    findings = [i for i in payload["items"] if i["outcome"] == "finding"]
    assert len(findings) == 2
    assert all("no longer exists" in f["reason"] and "(2 in" in f["reason"] for f in findings)


def test_source_inventory_failure_deletes_nothing_anywhere(functions: Functions, typical: Inventory) -> None:
    before = (typical.names(), typical.names(DR_REGION))

    def fail(**_: Any) -> Any:
        return (
            type("Response", (), {"status_code": 500, "headers": {}})(),
            {"Error": {"Code": "InternalFailure", "Message": "injected"}, "ResponseMetadata": {"HTTPStatusCode": 500}},
        )

    session = boto3._get_default_session()
    session.events.register("before-call.rds.DescribeDBInstances", fail, unique_id="fail-inventory")
    try:
        invocation = functions.invoke("PruneFunction", sample("prune-daily.json"))
    finally:
        session.events.unregister("before-call.rds.DescribeDBInstances", unique_id="fail-inventory")
    assert invocation.error is not None
    assert (typical.names(), typical.names(DR_REGION)) == before


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"override_breaker": True}, "needs an override_reason"),
        ({"regions": ["source", "moon"]}, "regions.1"),
        ({"regions": []}, "regions"),
        ({"regions": ["dr", "dr"]}, "lists a Region twice"),
        ({"dry_run": "maybe"}, "dry_run"),
        ({"dry_run": "n"}, "dry_run: Input should be a valid boolean"),
        ({"dry_run": "false"}, "dry_run: Input should be a valid boolean"),
        ({"dry_run": 0}, "dry_run: Input should be a valid boolean"),
        ({"override_breaker": "yes", "override_reason": "x"}, "override_breaker: Input should be a valid boolean"),
        ({"scheduled_time": "2190-03-01T06:00:00Z"}, "scheduled_time: Value error, 2190-03-01"),
        ({"scheduled_time": "1971-03-01T06:00:00Z"}, "days before the clock"),
        ({"scheduled_time": "0001-01-01T00:00:00Z"}, "days before the clock"),
        ({"scheduled_time": 1803880800}, "scheduled_time: Value error, must be an ISO-8601"),
        ({"scheduled_time": False}, "not bool"),
        ({"delete_everything": True}, "Extra inputs are not permitted"),
        ("prune", "must be a JSON object"),
    ],
)
def test_bad_requests_fail_clearly_and_delete_nothing(
    functions: Functions, typical: Inventory, event: Any, message: str
) -> None:
    before = (typical.names(), typical.names(DR_REGION))
    invocation = functions.invoke("PruneFunction", event)
    assert isinstance(invocation.error, InvalidRequestError)
    assert message in str(invocation.error)
    assert (typical.names(), typical.names(DR_REGION)) == before
    assert any(log["level"] == "ERROR" and "nothing was deleted" in log["message"] for log in invocation.logs)


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ({"PRUNE_MAX_SHARE_PERCENT": "0"}, "PRUNE_MAX_SHARE_PERCENT"),
        ({"PRUNE_MAX_SHARE_PERCENT": "150"}, "at most 100"),
        ({"PRUNE_MAX_COUNT": "lots"}, "PRUNE_MAX_COUNT"),
        ({"ALERT_TOPIC_ARN": "alerts"}, "not an SNS topic ARN"),
        ({"DR_REGION": SOURCE_REGION}, "DR_REGION must differ"),
    ],
)
def test_bad_configuration_deletes_nothing(
    functions: Functions, typical: Inventory, environment: dict[str, str], message: str
) -> None:
    before = typical.names()
    invocation = functions.invoke("PruneFunction", sample("prune-daily.json"), environment)
    assert isinstance(invocation.error, ConfigurationError)
    assert message in str(invocation.error)
    assert typical.names() == before


def test_a_hold_on_the_dr_copy_keeps_the_source_snapshot_and_the_reverse(
    functions: Functions, typical: Inventory
) -> None:
    """Holds are set on one copy only; an unanticipated value and a differently cased key both hold."""
    dr_copy = typical.dr.describe_db_snapshots(DBSnapshotIdentifier="orders-weekly-a")["DBSnapshots"][0]
    typical.dr.add_tags_to_resource(
        ResourceName=dr_copy["DBSnapshotArn"], Tags=[{"Key": "Restorable:Legal-Hold", "Value": "yes"}]
    )
    source = typical.rds.describe_db_snapshots(DBSnapshotIdentifier="orders-weekly-b")["DBSnapshots"][0]
    typical.rds.add_tags_to_resource(
        ResourceName=source["DBSnapshotArn"], Tags=[{"Key": "restorable:legal-hold", "Value": "true"}]
    )
    before = (typical.names(), typical.names(DR_REGION))
    payload = prune(functions)
    assert (typical.names(), typical.names(DR_REGION)) == before
    assert payload["counts"]["deleted"] == 0
    reasons = {(i["region"], i["recovery_point"], i["outcome"]): i["reason"] for i in payload["items"]}
    assert reasons[(DR_REGION, "orders-weekly-a", "skipped")] == "kept: legal-hold"
    assert reasons[(SOURCE_REGION, "orders-weekly-a", "skipped")] == "kept: legal-hold-on-another-copy"
    assert reasons[(SOURCE_REGION, "orders-weekly-b", "skipped")] == "kept: legal-hold"
    assert reasons[(DR_REGION, "orders-weekly-b", "skipped")] == "kept: legal-hold-on-another-copy"
    # the unanticipated value is reported for a person to fix
    unrecognised = reasons[(DR_REGION, "orders-weekly-a", "finding")]
    assert "unrecognised legal-hold tag 'Restorable:Legal-Hold'='yes'" in unrecognised


def test_a_run_limited_to_the_source_region_still_honours_a_hold_on_the_dr_copy(
    functions: Functions, typical: Inventory
) -> None:
    dr_copy = typical.dr.describe_db_snapshots(DBSnapshotIdentifier="orders-weekly-a")["DBSnapshots"][0]
    typical.dr.add_tags_to_resource(
        ResourceName=dr_copy["DBSnapshotArn"], Tags=[{"Key": "restorable:legal-hold", "Value": ""}]
    )
    payload = prune(functions, {"regions": ["source"]})
    assert "orders-weekly-a" in typical.names()
    assert "orders-weekly-b" not in typical.names()
    assert list(payload["regions"]) == [SOURCE_REGION]


def test_a_released_hold_is_deleted_and_a_padded_false_denied_by_iam_is_kept_not_failed(
    functions: Functions, typical: Inventory, failing_deletes: dict[str, str]
) -> None:
    for identifier, value in (("orders-weekly-a", "FALSE"), ("orders-weekly-b", " false ")):
        arn = typical.rds.describe_db_snapshots(DBSnapshotIdentifier=identifier)["DBSnapshots"][0]["DBSnapshotArn"]
        typical.rds.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": "restorable:legal-hold", "Value": value}])
    # the template's deny (read in test_template_copy_prune) refuses a padded "false"; moto does not enforce IAM
    failing_deletes["orders-weekly-b"] = "AccessDenied"
    payload = prune(functions, {"regions": ["source"]})
    assert "orders-weekly-a" not in typical.names()
    assert "orders-weekly-b" in typical.names()
    [kept] = [i for i in payload["items"] if i.get("recovery_point") == "orders-weekly-b"]
    assert kept["outcome"] == "skipped"
    assert kept["reason"].startswith("kept: legal-hold (IAM denied the delete")
    assert payload["counts"]["failed"] == 0


def test_a_limited_run_deletes_nothing_when_the_snapshot_inventories_cannot_be_read(
    functions: Functions, typical: Inventory
) -> None:
    before = typical.names()
    with errors_by_parameter("DescribeDBSnapshots", "SnapshotType") as failures:
        failures["manual"] = "InternalFailure"
        invocation = functions.invoke("PruneFunction", {"regions": ["source"]})
    payload = invocation.result()
    assert typical.names() == before
    assert payload["counts"]["deleted"] == 0
    assert payload["counts"]["failed"] >= 1
