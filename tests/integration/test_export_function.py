"""ExportFunction through the template's wiring, on moto: weekly exports of protected tables into the DR bucket.

moto models ExportTableToPointInTime, DescribeExport and ListExports (also into a bucket of another Region),
checks that PITR is on, and writes the table's items under the prefix. It ignores ExportTime, ClientToken and
the KMS settings, and freezes the PITR window at the moment PITR was turned on: the tests turn PITR on at the
period's scheduled time so that the export time lies in that window, and never assert on the export time,
the token or the encryption (the adapter's Stubber test checks the exact request). What the tests assert is
what the function decides and asks for: which tables, which prefix, how many exports, and what it rejects.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import time_machine
from aws_cron_expression_validator.validator import AWSCronExpressionValidator

from local_runtime.functions import Functions
from local_runtime.template import REPO_ROOT, Template
from restorable.errors import InvalidRequestError
from tests.aws_faults import failing_calls, recorded_calls
from tests.conftest import DR_REGION, SOURCE_REGION
from tests.verify_env import VerifyEnvironment

STACK = "restorable"
SUNDAY = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
BUCKET = "restorable-dr-exports-123456789012"
KEY_ARN = f"arn:aws:kms:{DR_REGION}:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
PARAMETERS = {"DrExportBucket": BUCKET, "DrExportKmsKeyArn": KEY_ARN}


def sample(name: str) -> dict[str, Any]:
    return dict(json.loads((REPO_ROOT / "events" / name).read_text()))


def prefix(table: str) -> str:
    return f"dynamodb/{STACK}/{table}/weekly/2026-11-22"


@pytest.fixture(scope="module")
def exporting() -> Functions:
    return Functions(Template.load(region=SOURCE_REGION, parameter_overrides=PARAMETERS))


class Tables:
    def __init__(self) -> None:
        self.client = boto3.client("dynamodb", region_name=SOURCE_REGION)

    def table(self, name: str, policy: str | None = "standard", *, pitr: bool = True) -> str:
        tags = [] if policy is None else [{"Key": "restorable:policy", "Value": policy}]
        created = self.client.create_table(
            TableName=name,
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
            **({"Tags": tags} if tags else {}),
        )
        self.client.put_item(TableName=name, Item={"id": {"S": f"{name}-1"}})
        if pitr:
            self.pitr(name)
        return str(created["TableDescription"]["TableArn"])

    def pitr(self, name: str) -> None:
        self.client.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )

    def exports(self, name: str) -> list[dict[str, Any]]:
        arn = self.client.describe_table(TableName=name)["Table"]["TableArn"]
        summaries = self.client.list_exports(TableArn=arn)["ExportSummaries"]
        return [self.client.describe_export(ExportArn=s["ExportArn"])["ExportDescription"] for s in summaries]


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(SUNDAY, tick=False) as traveller:
        yield traveller


@pytest.fixture
def tables(aws: None, clock: time_machine.Coordinates) -> Tables:
    """At the scheduled time: tables of every kind, PITR on where wanted, the DR bucket; then two hours later."""
    boto3.client("s3", region_name=DR_REGION).create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": DR_REGION}
    )
    made = Tables()
    clock.move_to(SUNDAY - timedelta(days=9))  # older than the weekly maximum age: verification wants an export
    for name, policy in [
        ("orders", "standard"),
        ("ledger", "compliance"),
        ("scratch", None),
        ("opted-out", "none"),
        ("mystery", "platinum"),
        ("no-pitr", "standard"),
        ("late", "standard"),
    ]:
        made.table(name, policy, pitr=False)
    clock.move_to(SUNDAY)
    for name in ("orders", "ledger", "scratch", "opted-out", "mystery"):
        made.pitr(name)
    clock.move_to(SUNDAY + timedelta(hours=1))
    made.pitr("late")  # PITR turned on after the period's scheduled time: its window starts too late
    clock.move_to(SUNDAY + timedelta(hours=2))
    return made


def invoke(functions: Functions, event: Any) -> dict[str, Any]:
    payload: dict[str, Any] = functions.invoke("ExportFunction", event).result()
    return payload


def outcomes(payload: dict[str, Any]) -> dict[str, str]:
    return {item["resource"]: item["outcome"] for item in payload["items"]}


def test_weekly_run_exports_each_table_that_wants_a_dr_copy_once(exporting: Functions, tables: Tables) -> None:
    payload = invoke(exporting, sample("export-weekly.json"))

    assert outcomes(payload) == {
        "orders": "created",
        "ledger": "created",
        "mystery": "finding",
        "no-pitr": "finding",
        "late": "finding",
    }
    for name in ("orders", "ledger"):
        [export] = tables.exports(name)
        assert (export["S3Bucket"], export["S3Prefix"]) == (BUCKET, prefix(name))
    for name in ("scratch", "opted-out", "mystery", "no-pitr", "late"):
        assert tables.exports(name) == []
    reasons = {item["resource"]: item["reason"] for item in payload["items"]}
    assert "point-in-time recovery is disabled" in reasons["no-pitr"]
    assert "update-continuous-backups --table-name no-pitr" in reasons["no-pitr"]
    assert "before the earliest restorable time" in reasons["late"]
    assert "names no policy" in reasons["mystery"]
    assert payload["period"]["scheduled_at"] == SUNDAY.isoformat()
    assert payload["exports"]["started"] == 2
    assert payload["destination"] == {"region": DR_REGION, "bucket": BUCKET, "kms_key_arn": KEY_ARN}


def test_the_reconcile_finds_the_exports_it_started_and_starts_none(exporting: Functions, tables: Tables) -> None:
    invoke(exporting, sample("export-weekly.json"))
    rerun = invoke(exporting, sample("export-reconcile.json"))

    assert {outcomes(rerun)[name] for name in ("orders", "ledger")} == {"already_exists"}
    assert rerun["exports"]["started"] == 0
    assert [len(tables.exports(name)) for name in ("orders", "ledger")] == [1, 1]


def test_a_failed_export_is_retried_and_a_completed_one_never_is(exporting: Functions, tables: Tables) -> None:
    # A bucket that does not exist makes moto's export FAILED, as an unusable bucket does in AWS.
    broken = Functions(
        Template.load(region=SOURCE_REGION, parameter_overrides={**PARAMETERS, "DrExportBucket": "no-such-bucket"})
    )
    first = invoke(broken, {"tables": ["orders"]})
    assert outcomes(first) == {"orders": "created"}
    _wait_for_exports(tables, "orders", 1)

    second = invoke(broken, {"tables": ["orders"]})
    assert outcomes(second) == {"orders": "created"}
    assert "attempt 2 of 3; 1 failed" in second["items"][0]["reason"]
    _wait_for_exports(tables, "orders", 2)
    invoke(broken, {"tables": ["orders"]})
    _wait_for_exports(tables, "orders", 3)

    given_up = invoke(broken, {"tables": ["orders"]})
    assert outcomes(given_up) == {"orders": "finding"}
    assert "3 exports to s3://no-such-bucket/" in given_up["items"][0]["reason"]
    assert len(tables.exports("orders")) == 3


def _wait_for_exports(tables: Tables, name: str, count: int) -> None:
    """moto runs an export in a thread: wait until ``count`` exports left IN_PROGRESS."""
    for _ in range(200):
        found = tables.exports(name)
        if len(found) == count and all(e["ExportStatus"] != "IN_PROGRESS" for e in found):
            return
        threading.Event().wait(0.01)  # a real wait: the frozen clock does not stop the thread
    raise AssertionError(f"{name}: exports did not settle: {tables.exports(name)}")


def test_dry_run_starts_nothing(exporting: Functions, tables: Tables) -> None:
    payload = invoke(exporting, sample("export-dry-run.json"))
    assert outcomes(payload) == {"orders": "planned"}
    assert payload["items"][0]["reason"].startswith(f"would export as of {SUNDAY.isoformat()} to s3://{BUCKET}/")
    assert tables.exports("orders") == []


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"tables": ["nope"]}, "no table 'nope'"),
        ({"tables": ["orders", "scratch"]}, "'scratch' not protected"),
        ({"tables": ["orders", "no-pitr"]}, "no-pitr: point-in-time recovery is disabled"),
        ({"tables": ["orders", "late"]}, "late: export time"),
        ({"tables": "orders"}, "tables"),
        ({"tables": []}, "tables"),
        ({"tables": ["x"]}, "tables"),
        ({"scheduled_time": "yesterday"}, "scheduled_time"),
        ({"scheduled_time": "2026-11-02T02:00:00Z"}, "scheduled_time"),
        ({"dry_run": "false"}, "dry_run"),
        ({"table": "orders"}, "table"),
        (["orders"], "JSON object"),
    ],
)
def test_bad_requests_are_rejected_and_nothing_starts(
    exporting: Functions, tables: Tables, event: Any, message: str
) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        invoke(exporting, event)
    assert message in str(raised.value)
    assert all(tables.exports(name) == [] for name in ("orders", "ledger"))


def test_throttling_and_the_export_limit_leave_the_table_for_a_later_pass(exporting: Functions, tables: Tables) -> None:
    codes = {"orders": "LimitExceededException", "ledger": "ThrottlingException"}

    def choose(body: Any) -> str | None:
        arn = json.loads(body)["TableArn"] if body else ""
        return codes.get(arn.rsplit("/", 1)[-1])

    with failing_calls(["ExportTableToPointInTime"], choose, service="dynamodb"):
        payload = invoke(exporting, sample("export-weekly.json"))

    assert outcomes(payload)["orders"] == "skipped"
    assert outcomes(payload)["ledger"] == "skipped"
    assert all("retried later" in i["reason"] for i in payload["items"] if i["resource"] in codes)
    assert payload["exports"]["retry_later"] == 2
    assert tables.exports("orders") == []

    later = invoke(exporting, sample("export-reconcile.json"))
    assert {outcomes(later)[name] for name in codes} == {"created"}


def test_one_tables_failure_never_stops_the_others(exporting: Functions, tables: Tables) -> None:
    def choose(body: Any) -> str | None:
        return "AccessDeniedException" if body and json.loads(body)["TableArn"].endswith("/orders") else None

    with failing_calls(["ExportTableToPointInTime"], choose, service="dynamodb"):
        payload = invoke(exporting, sample("export-weekly.json"))

    assert outcomes(payload)["orders"] == "failed"
    assert outcomes(payload)["ledger"] == "created"
    assert not payload["ok"]


def test_with_no_bucket_the_function_is_not_deployed_and_invoked_anyway_does_nothing(
    functions: Functions, exporting: Functions, tables: Tables
) -> None:
    assert functions.template.conditions["ExportsToDrRegion"] is False
    assert not [s for s in functions.schedules() if s.function == "ExportFunction"]
    off = {"DR_EXPORT_BUCKET": "", "DR_EXPORT_KMS_KEY_ARN": ""}
    payload = exporting.invoke("ExportFunction", sample("export-weekly.json"), environment=off).result()
    assert payload["items"] == []
    assert payload["exports"]["enabled"] is False
    assert tables.exports("orders") == []


@pytest.mark.parametrize(
    ("schedule_name", "event_file"),
    [("WeeklyExports", "export-weekly.json"), ("ExportReconcile", "export-reconcile.json")],
)
def test_sample_events_are_what_the_schedules_deliver(
    exporting: Functions, schedule_name: str, event_file: str
) -> None:
    event = sample(event_file)
    [schedule] = [s for s in exporting.schedules() if s.name == schedule_name]
    assert schedule.function == "ExportFunction"
    at = datetime.fromisoformat(event["scheduled_time"].replace("Z", "+00:00"))
    assert schedule.event_for(at) == event


# ---- verification of the DR exports ----


def test_verification_finds_each_completed_export_and_reports_the_tables_without_one(
    exporting: Functions, tables: Tables
) -> None:
    invoke(exporting, sample("export-weekly.json"))
    _wait_for_exports(tables, "orders", 1)
    _wait_for_exports(tables, "ledger", 1)
    environment = VerifyEnvironment(exporting.template, SOURCE_REGION, DR_REGION)
    environment.create()
    allowed = {
        action
        for policy in exporting.template.resolve(
            exporting.template.resources["VerifyFunction"]["Properties"]["Policies"]
        )
        for statement in policy["Statement"]
        for action in (statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]])
    }
    for _ in environment.install():
        with recorded_calls() as calls:
            payload = exporting.invoke("VerifyFunction", {"scheduled_time": "2026-11-22T04:05:00Z"}).result()
    found = {f["resource"]: f["severity"] for f in payload["findings"] if f["check"] == "dr-export:weekly"}
    # Only findings are reported: the two exported tables are OK, the two that could not be exported are not.
    assert found == {"no-pitr": "CRITICAL", "late": "CRITICAL"}
    # IAM authorizes an operation by its action: ListObjectsV2 is s3:ListBucket.
    action_of = {"s3:ListObjectsV2": "s3:ListBucket"}
    made = {action_of.get(name, name) for name in (f"{call.service}:{call.operation}" for call in calls)}
    assert {"dynamodb:ListExports", "dynamodb:DescribeExport"} <= made
    assert made - allowed == set()


def test_the_export_schedules_are_valid_for_eventbridge(exporting: Functions) -> None:
    schedules = [s for s in exporting.schedules() if s.function == "ExportFunction"]
    assert {s.name for s in schedules} == {"WeeklyExports", "ExportReconcile"}
    for schedule in schedules:
        AWSCronExpressionValidator.validate(schedule.expression[len("cron(") : -1])
