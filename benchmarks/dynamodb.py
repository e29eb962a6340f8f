"""API calls of the DynamoDB engine: one weekly run and one prune pass at 100 and 1,000 tables, on moto.

Counted with a botocore ``before-call`` hook (``api_calls.count_api_calls``). moto ignores paging
for ListBackups (and the fleet is made so that every table is protected), so list calls are
reported as the pages AWS would serve: ListTables and ListBackups return at most 100 per page.
The floor is what no implementation can go below: the list pages, the holds store read (prune),
and one call per action (a CreateBackup per table, a DeleteBackup per expired backup). RDS calls
(the other engine of the same run, with no databases here) are left out.

    PYTHONPATH=layers/core:. .venv/bin/python -m benchmarks.dynamodb
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import time_machine
from moto import mock_aws

import local_runtime  # noqa: F401 - puts the core layer on the path
from local_runtime.functions import Functions
from local_runtime.serverless_caches import answer_serverless_listings_empty
from local_runtime.template import Template
from restorable.dynamodb_backup_names import scheduled_backup_name

from .api_calls import count_api_calls

SUNDAY = datetime(2026, 11, 22, 2, tzinfo=UTC)
PRUNE_NOW = datetime(2027, 3, 1, 6, tzinfo=UTC)
STACK = "restorable"
AWS_PAGE = 100
# Per table at prune time: the weekly backups a 90-day retention keeps, and one that expired.
KEPT_PER_TABLE = 5
LIST_OPERATIONS = {"dynamodb:ListTables": "tables", "dynamodb:ListBackups": "backups"}


def _tables(client: Any, count: int) -> list[str]:
    names = [f"table-{number:04d}" for number in range(count)]
    for name in names:
        client.create_table(
            TableName=name,
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
            Tags=[{"Key": "restorable:policy", "Value": "standard"}],
        )
    return names


def _dynamodb_calls(calls: Counter[str], listed: dict[str, int]) -> dict[str, int]:
    """The DynamoDB (and STS) calls, with each list operation counted as the pages AWS would serve."""
    found = {op: n for op, n in calls.items() if op.startswith(("dynamodb:", "sts:"))}
    for operation, what in LIST_OPERATIONS.items():
        if operation in found:
            found[operation] = max(1, math.ceil(listed[what] / AWS_PAGE))
    return dict(sorted(found.items()))


def _figures(by_operation: dict[str, int], floor: int, extra: dict[str, Any]) -> dict[str, Any]:
    total = sum(by_operation.values())
    return {
        **extra,
        "api_calls": total,
        "floor": floor,
        "ratio_to_floor": round(total / floor, 2),
        "by_operation": by_operation,
    }


def weekly_run(table_count: int) -> dict[str, Any]:
    with answer_serverless_listings_empty(), mock_aws(), time_machine.travel(SUNDAY + timedelta(hours=4), tick=False):
        client = boto3.client("dynamodb", region_name="us-east-1")
        _tables(client, table_count)
        functions = Functions(Template.load())
        [weekly] = [s for s in functions.schedules() if s.name == "WeeklySnapshots"]
        with count_api_calls() as calls:
            payload = functions.invoke("SnapshotFunction", weekly.event_for(SUNDAY)).result()
        created = sum(1 for item in payload["items"] if item["outcome"] == "created")
        pages = math.ceil(table_count / AWS_PAGE)
        by_operation = _dynamodb_calls(calls, {"tables": table_count, "backups": 0})
        return _figures(by_operation, pages + 1 + created, {"tables": table_count, "created": created})


def prune_pass(table_count: int) -> dict[str, Any]:
    with answer_serverless_listings_empty(), mock_aws(), time_machine.travel(PRUNE_NOW, tick=False):
        client = boto3.client("dynamodb", region_name="us-east-1")
        names = _tables(client, table_count)
        client.create_table(
            TableName=f"{STACK}-HoldsTable",
            AttributeDefinitions=[{"AttributeName": "backup_arn", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "backup_arn", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        for name in names:
            for week in range(KEPT_PER_TABLE + 1):  # week 0 expired ten days ago; the others are live
                period = date(2026, 11, 1) + timedelta(days=7 * week)
                expires = PRUNE_NOW + timedelta(days=-10 if week == 0 else 7 * week)
                backup = scheduled_backup_name(
                    stack_name=STACK, table_name=name, kind="weekly", period_date=period, expires_at=expires
                )
                client.create_backup(TableName=name, BackupName=backup)
        functions = Functions(Template.load())
        with count_api_calls() as calls:
            payload = functions.invoke("PruneFunction", {}).result()
        deleted = sum(1 for item in payload["items"] if item["outcome"] == "deleted")
        backups = table_count * (KEPT_PER_TABLE + 1)
        by_operation = _dynamodb_calls(calls, {"tables": table_count, "backups": backups})
        floor = math.ceil(table_count / AWS_PAGE) + math.ceil(backups / AWS_PAGE) + 1 + deleted
        return _figures(by_operation, floor, {"tables": table_count, "backups": backups, "deleted": deleted})


def main() -> None:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    figures = {
        "weekly_run": [weekly_run(n) for n in (100, 1000)],
        "prune_pass": [prune_pass(n) for n in (100, 1000)],
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
