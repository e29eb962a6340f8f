"""The cross-region table drill through the real drill definition on moto: ImportTable in the DR Region from the
newest completed export this stack wrote into the DR bucket.

moto's export task writes its data under a random directory and reports neither an ``export/`` ARN nor an
``ExportTime``; these tests lay the export out as DynamoDB does (``{prefix}/AWSDynamoDB/{export-id}/data/``, gzip
DynamoDB JSON) and register it with the ARN and time DynamoDB would report. moto's ImportTable then really
reads those files: what the checks find is what the chosen export holds.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends

from restorable.dynamodb_export_plan import export_prefix
from tests.drills.conftest import DR_REGION, SOURCE_REGION, STACK, START, DrillWorld, drill_world_with, sample
from tests.drills.test_table_drills import DRILL_TAG_KEYS, ORDERS_ARN, drill_tables, make_table, table_calls

ACCOUNT = DEFAULT_ACCOUNT_ID
BUCKET = "restorable-dr-exports"
EXPORT_KEY = f"arn:aws:kms:{DR_REGION}:{ACCOUNT}:key/0b0e4f38-7c55-4f43-9a8c-1b4a2d2f6e11"
EXPORTS_ON = {"DrExportBucket": BUCKET, "DrExportKmsKeyArn": EXPORT_KEY}


@pytest.fixture
def exports_world() -> Iterator[DrillWorld]:
    for world in drill_world_with(EXPORTS_ON):
        boto3.client("s3", region_name=DR_REGION).create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": DR_REGION}
        )
        yield world


def item(customer: int, order: int, updated_at: str) -> dict[str, Any]:
    return {"pk": {"S": f"customer#{customer}"}, "sk": {"S": f"order#{order}"}, "updated_at": {"S": updated_at}}


def weekly_export(
    *,
    day: str,
    items: list[dict[str, Any]],
    table: str = "orders",
    status: str = "COMPLETED",
    bucket: str = BUCKET,
    stack: str = STACK,
) -> str:
    """An export as the export job makes it (as of 02:00 UTC on ``day``), laid out in the bucket as DynamoDB does."""
    taken = datetime.fromisoformat(f"{day}T02:00:00+00:00")
    prefix = export_prefix(stack_name=stack, table_name=table, kind="weekly", period_date=taken.date())
    client = boto3.client("dynamodb", region_name=SOURCE_REGION)
    table_arn = client.describe_table(TableName=table)["Table"]["TableArn"]
    s3 = boto3.client("s3", region_name=DR_REGION)
    if bucket != BUCKET:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": DR_REGION})
    made = client.export_table_to_point_in_time(TableArn=table_arn, S3Bucket=bucket, S3Prefix=prefix)
    backend = dynamodb_backends[ACCOUNT][SOURCE_REGION]
    task = backend.table_exports.pop(made["ExportDescription"]["ExportArn"])
    task.join()
    export_id = f"{int(taken.timestamp() * 1000)}-{abs(hash((table, day, bucket, stack))) % 16**8:08x}"
    arn = f"{table_arn}/export/{export_id}"
    task.arn = arn
    task.status = status
    real = task.response

    def response(real: Any = real) -> dict[str, Any]:
        return {**real(), "ExportTime": taken.timestamp()}

    task.response = response
    backend.table_exports[arn] = task
    for listed in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []):
        s3.delete_object(Bucket=bucket, Key=listed["Key"])  # moto's own layout
    lines = "".join(json.dumps({"Item": i}) + "\n" for i in items)
    data_key = f"{prefix}/AWSDynamoDB/{export_id}/data/{export_id[-8:]}.json.gz"
    s3.put_object(Bucket=bucket, Key=data_key, Body=gzip.compress(lines.encode()))
    return arn


def imports(world: DrillWorld) -> list[tuple[str, dict[str, Any]]]:
    return [(region, body) for region, op, body in world.calls if op == "ImportTable"]


# ---------------------------------------------------------------- end to end


def test_cross_region_drill_imports_the_newest_weekly_export_in_the_dr_region(exports_world: DrillWorld) -> None:
    world = exports_world
    make_table(world)
    weekly_export(day="2026-11-29", items=[item(1, 1, "2026-11-28T10:00:00Z")])
    newest = weekly_export(
        day="2026-12-06",
        items=[
            item(1, 1, "2026-11-28T10:00:00Z"),
            item(2, 7, "2026-12-05T23:00:00Z"),
            item(3, 7, "2026-12-06T01:00:00Z"),
        ],
    )

    result = world.run(sample("drill-table-cross-region.json"))

    assert result.status == "SUCCEEDED", (result.error, result.cause, result.task_failures())
    drill = result.output
    plan = drill["plan"]
    assert (plan["engine"], plan["mode"], plan["region"], plan["checks_via"]) == (
        "dynamodb",
        "cross-region",
        DR_REGION,
        "api",
    )
    assert plan["targets"]["rto_seconds"] == 4 * 3600
    assert plan["recovery_point"]["arn"] == newest
    assert plan["recovery_point"]["kind"] == "weekly"
    target = plan["target"]["identifier"]
    assert target.startswith(f"drill.{STACK}.")
    assert target.endswith(".orders")
    assert plan["target"]["region"] == DR_REGION

    [(region, body)] = imports(world)
    assert region == DR_REGION
    export_id = newest.rsplit("/", 1)[1]
    assert body["S3BucketSource"]["S3Bucket"] == BUCKET
    assert (
        body["S3BucketSource"]["S3KeyPrefix"]
        == f"dynamodb/{STACK}/orders/weekly/2026-12-06/AWSDynamoDB/{export_id}/data/"
    )
    assert (body["InputFormat"], body["InputCompressionType"]) == ("DYNAMODB_JSON", "GZIP")
    created = body["TableCreationParameters"]
    assert created["TableName"] == target
    assert created["BillingMode"] == "PAY_PER_REQUEST"
    assert created["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert plan["target"]["table_import"]["import_arn"].startswith(f"arn:aws:dynamodb:{DR_REGION}:")

    [tagging] = table_calls(world, "TagResource")
    tags = {t["Key"]: t["Value"] for t in tagging["Tags"]}
    assert set(tags) == DRILL_TAG_KEYS
    assert tags["restorable:source"] == ORDERS_ARN
    assert [(r, op) for r, op, _ in world.calls if op == "DeleteTable"] == [(DR_REGION, "DeleteTable")]
    assert drill_tables(world) == []

    results = {c["name"]: c for c in drill["checks"]["results"]}
    assert {name: c["status"] for name, c in results.items()} == {
        "status": "passed",
        "encryption": "passed",
        "isolation": "passed",
        "item_count": "passed",
        "keys": "passed",
        "freshness": "passed",
    }
    # What the chosen export holds: three items, the newest written an hour before its export time.
    assert results["item_count"]["value"] == 3
    assert results["freshness"]["value"] == "2026-12-06T01:00:00.000Z"
    export_age = (START - datetime(2026, 12, 6, 2, tzinfo=UTC)).total_seconds()
    assert drill["record"]["rpo_seconds"] == pytest.approx(export_age, abs=60)
    history = world.history_item("orders")
    assert (history["mode"]["S"], history["outcome"]["S"]) == ("cross-region", "passed")


def test_a_named_export_is_imported(exports_world: DrillWorld) -> None:
    make_table(exports_world)
    older = weekly_export(day="2026-11-29", items=[item(1, 1, "2026-11-28T10:00:00Z")])
    weekly_export(day="2026-12-06", items=[item(1, 1, "2026-11-28T10:00:00Z"), item(2, 7, "2026-12-05T23:00:00Z")])
    result = exports_world.run(
        {
            "source": ORDERS_ARN,
            "mode": "cross-region",
            "export_arn": older,
            "checks": {"table": {"min_items": 1}},
        }
    )
    assert result.status == "SUCCEEDED", result.task_failures()
    assert result.output["plan"]["recovery_point"]["arn"] == older
    assert {c["name"]: c.get("value") for c in result.output["checks"]["results"]}["item_count"] == 1
    assert drill_tables(exports_world) == []


# ---------------------------------------------------------------- bad input: clear error, nothing created


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("no export", "no completed export of orders in s3://restorable-dr-exports/dynamodb/restorable/orders/"),
        ("in progress", "(1 not completed)"),
        ("named in progress", "is 'IN_PROGRESS', not COMPLETED"),
        ("named of another table", "is an export of arn:aws:dynamodb:us-east-1:123456789012:table/payments"),
        ("another stack's", "drills import only exports of this stack"),
        ("another bucket", "drills import only exports of this stack"),
        ("snapshot selector", "'snapshot' applies to RDS drills"),
    ],
)
def test_bad_cross_region_input_is_rejected_before_anything_is_created(
    exports_world: DrillWorld, case: str, message: str
) -> None:
    world = exports_world
    make_table(world)
    make_table(world, "payments")
    drill_input: dict[str, Any] = {"source": "orders", "engine": "dynamodb", "mode": "cross-region"}
    items = [item(1, 1, "2026-11-28T10:00:00Z")]
    if case == "in progress":
        weekly_export(day="2026-12-06", items=items, status="IN_PROGRESS")
    elif case == "named in progress":
        drill_input["export_arn"] = weekly_export(day="2026-12-06", items=items, status="IN_PROGRESS")
    elif case == "named of another table":
        weekly_export(day="2026-12-06", items=items)
        drill_input["export_arn"] = weekly_export(day="2026-12-06", items=items, table="payments")
    elif case == "another stack's":
        drill_input["export_arn"] = weekly_export(day="2026-12-06", items=items, stack="other-stack")
    elif case == "another bucket":
        drill_input["export_arn"] = weekly_export(day="2026-12-06", items=items, bucket="someone-elses-bucket")
    elif case == "snapshot selector":
        weekly_export(day="2026-12-06", items=items)
        drill_input["snapshot"] = {"kind": "weekly"}

    result = world.run(drill_input)

    assert result.status == "FAILED"
    assert result.error == "DrillRejected"
    assert message in str(result.cause)
    assert imports(world) == []
    assert drill_tables(world) == []
    assert result.states_entered() == ["ValidateInput", "NotifyRejected", "Rejected"]


def test_without_exports_a_cross_region_table_drill_is_rejected(world: DrillWorld) -> None:
    make_table(world)
    result = world.run({"source": "orders", "engine": "dynamodb", "mode": "cross-region"})
    assert result.status == "FAILED"
    assert result.error == "DrillRejected"
    assert "exports to the DR Region are off (DR_EXPORT_BUCKET is not set)" in str(result.cause)
    assert drill_tables(world) == []


# ---------------------------------------------------------------- failures: the table is still deleted


def test_a_refused_import_fails_the_drill_creates_nothing_and_records(exports_world: DrillWorld) -> None:
    world = exports_world
    make_table(world)
    weekly_export(day="2026-12-06", items=[item(1, 1, "2026-11-28T10:00:00Z")])
    world.failures["ImportTable"] = lambda params: "LimitExceededException"

    result = world.run(sample("drill-table-cross-region.json"))

    assert result.status == "FAILED"
    assert result.error == "DrillFailed"
    states = result.states_entered()
    assert states[states.index("StartRestore") + 1] == "Cleanup"
    assert drill_tables(world) == []
    assert table_calls(world, "DeleteTable") == []  # nothing was made
    history = world.history_item("orders")
    assert history["outcome"]["S"] == "failed"
    assert "QuotaExceededError" in history["reasons"]["L"][0]["S"]


def test_an_import_that_fails_while_polled_deletes_the_table(exports_world: DrillWorld) -> None:
    world = exports_world
    make_table(world)
    weekly_export(day="2026-12-06", items=[item(1, 1, "2026-11-28T10:00:00Z")])
    backend = dynamodb_backends[ACCOUNT][DR_REGION]

    def fail_the_import(waited: float) -> None:
        for task in backend.table_imports.values():
            task.status, task.failure_code, task.failure_message = "FAILED", "ItemValidationError", "bad items"

    world.machines.clock.listeners.append(fail_the_import)
    result = world.run(sample("drill-table-cross-region.json"))

    assert result.status == "FAILED"
    reason = world.history_item("orders")["reasons"]["L"][0]["S"]
    assert "RestoreFailedError" in reason
    assert "IMPORT_FAILED" in reason
    assert [r for r, op, _ in world.calls if op == "DeleteTable"] == [DR_REGION]
    assert drill_tables(world) == []


def test_a_temporary_table_deleted_while_polled_fails_the_drill(exports_world: DrillWorld) -> None:
    world = exports_world
    make_table(world)
    weekly_export(day="2026-12-06", items=[item(1, 1, "2026-11-28T10:00:00Z")])
    client = boto3.client("dynamodb", region_name=DR_REGION)

    def delete_drill_tables(waited: float) -> None:
        for name in list(dynamodb_backends[ACCOUNT][DR_REGION].tables):
            if name.startswith("drill."):
                client.delete_table(TableName=name)

    world.machines.clock.listeners.append(delete_drill_tables)
    result = world.run(sample("drill-table-cross-region.json"))

    assert result.status == "FAILED"
    reason = world.history_item("orders")["reasons"]["L"][0]["S"]
    assert "does not exist" in reason
    assert drill_tables(world) == []
    assert world.history_item("orders")["outcome"]["S"] == "failed"


def test_the_janitor_sweeps_an_expired_imported_drill_table_in_the_dr_region(exports_world: DrillWorld) -> None:
    world = exports_world
    make_table(world)
    weekly_export(day="2026-12-06", items=[item(1, 1, "2026-11-28T10:00:00Z")])
    world.failures["DeleteTable"] = lambda params: "AccessDeniedException"
    result = world.run(sample("drill-table-cross-region.json"))
    assert result.status == "FAILED"
    [left] = drill_tables(world)
    assert left.startswith(f"{DR_REGION}:")
    del world.failures["DeleteTable"]
    world.machines.clock.advance(10 * 3600)  # past the expiry: start + 2 x 4 h + 2 h
    swept = world.machines.functions.invoke("DrillJanitorFunction", {}).result()
    assert [d["resource"] for d in swept["deleted"]] == [left.split(":", 1)[1]]
    assert drill_tables(world) == []


def test_an_imported_table_whose_tagging_failed_is_kept_and_reported(exports_world: DrillWorld) -> None:
    """An imported table has no RestoreSummary: without its drill tags nothing proves it is this drill's."""
    world = exports_world
    make_table(world)
    weekly_export(day="2026-12-06", items=[item(1, 1, "2026-11-28T10:00:00Z")])
    world.failures["TagResource"] = lambda params: "AccessDeniedException"

    result = world.run(sample("drill-table-cross-region.json"))

    assert result.status == "FAILED"
    [left] = drill_tables(world)
    assert left.startswith(f"{DR_REGION}:")
    assert table_calls(world, "DeleteTable") == []
    reasons = " | ".join(r["S"] for r in world.history_item("orders")["reasons"]["L"])
    assert "PermissionDeniedError" in reasons
    assert "cleanup failed" in reasons
    del world.failures["TagResource"]
    world.machines.clock.advance(10 * 3600)
    swept = world.machines.functions.invoke("DrillJanitorFunction", {}).result()
    assert swept["deleted"] == []
    assert drill_tables(world) == [left]
