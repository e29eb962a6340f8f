"""API calls of the DynamoDB export to the DR Region: one weekly run and its reconcile at 100 tables, on moto.

Each table is protected by ``standard`` (weekly DR copy wanted), has PITR on and ``HISTORY`` earlier weekly
exports in the DR bucket (what a 90-day retention leaves; ListExports lists the past 90 days). Counted with a
botocore ``before-call`` hook. ListTables is counted as the pages AWS would serve (100 a page); ListExports
asks for 25 a page, more than one table's history, so one page per table on both.

The floor is what no implementation of this design can go below: the ListTables pages, one ListExports page
per table (the only way to find a table's exports) and one ExportTableToPointInTime per table to start
(none on the rerun). Above it: reading each table's policy tag (DescribeTable for the ARN and status,
ListTagsOfResource), its PITR window (DescribeContinuousBackups) and a DescribeExport per export looked
at, since ListExports gives neither bucket nor prefix. ListExports documents no order: the job describes
the newest listed first and stops at the period's export, so a rerun where the listing puts it first
(moto does) describes one per table; the worst case describes every export in the list.

    PYTHONPATH=layers/core:. .venv/bin/python -m benchmarks.dynamodb_exports
"""

from __future__ import annotations

import json
import math
import os
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import time_machine
from moto import mock_aws

import local_runtime  # noqa: F401 - puts the core layer on the path
from local_runtime.functions import Functions
from local_runtime.template import Template
from restorable.dynamodb_export_plan import export_prefix

from .api_calls import count_api_calls

SUNDAY = datetime(2026, 11, 22, 2, tzinfo=UTC)
STACK = "restorable"
BUCKET = "restorable-dr-exports-123456789012-us-west-2"
KEY = "arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
HISTORY = 12
AWS_PAGE = 100


def _fleet(client: Any, count: int, clock: time_machine.Coordinates) -> list[str]:
    names = [f"table-{number:04d}" for number in range(count)]
    for name in names:
        arn = client.create_table(
            TableName=name,
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
            Tags=[{"Key": "restorable:policy", "Value": "standard"}],
        )["TableDescription"]["TableArn"]
        client.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
        for week in range(HISTORY, 0, -1):
            period = date(2026, 11, 22) - timedelta(days=7 * week)
            client.export_table_to_point_in_time(
                TableArn=arn,
                S3Bucket=BUCKET,
                S3Prefix=export_prefix(stack_name=STACK, table_name=name, kind="weekly", period_date=period),
            )
    return names


def _figures(calls: dict[str, int], floor: int, extra: dict[str, Any]) -> dict[str, Any]:
    total = sum(calls.values())
    return {
        **extra,
        "api_calls": total,
        "floor": floor,
        "ratio_to_floor": round(total / floor, 2),
        "by_operation": calls,
    }


def weekly_export_runs(table_count: int) -> list[dict[str, Any]]:
    with mock_aws(), time_machine.travel(SUNDAY, tick=False) as clock:
        boto3.client("s3", region_name="us-west-2").create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "us-west-2"}
        )
        _fleet(boto3.client("dynamodb", region_name="us-east-1"), table_count, clock)
        clock.move_to(SUNDAY + timedelta(hours=1))
        template = Template.load(parameter_overrides={"DrExportBucket": BUCKET, "DrExportKmsKeyArn": KEY})
        functions = Functions(template)
        schedules = {s.name: s for s in functions.schedules() if s.function == "ExportFunction"}
        figures = []
        for run, schedule, at in (
            ("weekly run", "WeeklyExports", SUNDAY),
            ("reconcile after it", "ExportReconcile", SUNDAY + timedelta(minutes=20)),
        ):
            with count_api_calls() as calls:
                payload = functions.invoke("ExportFunction", schedules[schedule].event_for(at)).result()
            found = {op: n for op, n in sorted(calls.items()) if op.startswith("dynamodb:")}
            found["dynamodb:ListTables"] = max(1, math.ceil(table_count / AWS_PAGE))
            started = payload["exports"]["started"]
            floor = found["dynamodb:ListTables"] + table_count + started
            figures.append(
                _figures(found, floor, {"run": run, "tables": table_count, "history": HISTORY, "started": started})
            )
        return figures


def main() -> None:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    print(json.dumps({"weekly_export": weekly_export_runs(100)}, indent=2))


if __name__ == "__main__":
    main()
