"""API calls of the ElastiCache engine: one daily snapshot run and one prune pass over 100 caches, on moto.

Counted with a botocore ``before-call`` hook (``api_calls.count_api_calls``); listings are counted as the
pages AWS would serve (moto answers each in one page): DescribeReplicationGroups and DescribeCacheClusters
return at most 100 per page, DescribeSnapshots 50. moto has no serverless caches: their two listings
answer empty (one page each). Calls of the other engines (no databases or tables here) are left out.

The floor is what no implementation can go below: the listing pages and one call per action (a
CreateSnapshot per cache, a DeleteSnapshot per expired snapshot). ElastiCache listings carry no tags, so
the gateway reads them with one ListTagsForResource per cache (snapshot run) and per snapshot (both runs):
that is what separates the figures from the floor.

    PYTHONPATH=layers/core:. .venv/bin/python -m benchmarks.elasticache
"""

from __future__ import annotations

import json
import math
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import time_machine
from moto import mock_aws

import local_runtime  # noqa: F401 - puts the core layer on the path
from local_runtime.functions import Functions
from local_runtime.serverless_caches import answer_serverless_listings_empty
from local_runtime.template import Template
from restorable.naming import format_timestamp

from .api_calls import ApiCalls, count_api_calls

DAY = datetime(2026, 12, 8, 3, tzinfo=UTC)
STACK = "restorable"
CACHE_PAGE, SNAPSHOT_PAGE = 100, 50
# The daily snapshots a 7-day retention keeps per cache at prune time, and one that expired.
KEPT_PER_CACHE = 7


def _caches(client: Any, count: int) -> list[str]:
    names = [f"cache-{number:04d}" for number in range(count)]
    for name in names:
        client.create_replication_group(
            ReplicationGroupId=name,
            ReplicationGroupDescription=name,
            Engine="valkey",
            CacheNodeType="cache.t4g.micro",
            NumCacheClusters=1,
            Tags=[{"Key": "restorable:policy", "Value": "standard"}],
        )
    return names


def _history(client: Any, names: list[str], days: int, now: datetime) -> None:
    """``days`` daily snapshots per cache, made as the snapshot function makes them; the oldest is expired."""
    for name in names:
        arn = f"arn:aws:elasticache:us-east-1:123456789012:replicationgroup:{name}"
        for age in range(1, days + 1):
            made = now - timedelta(days=age)
            tags = {
                "restorable:managed-by": STACK,
                "restorable:kind": "daily",
                "restorable:expires-at": format_timestamp(made + timedelta(days=7)),
                "restorable:source": arn,
                "restorable:policy": "standard",
                "restorable:created-at": format_timestamp(made),
            }
            client.create_snapshot(
                SnapshotName=f"{name}-daily-{made:%Y-%m-%d}",
                ReplicationGroupId=name,
                Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
            )


def _elasticache_calls(calls: ApiCalls) -> dict[str, int]:
    """The ElastiCache calls, with each paged listing counted as the pages AWS would serve."""
    found = {op: n for op, n in calls.items() if op.startswith("elasticache:")}
    for operation, pages in calls.aws_pages.items():
        if operation in found:
            found[operation] = pages
    return dict(sorted(found.items()))


def _figures(by_operation: dict[str, int], floor: int, extra: dict[str, Any]) -> dict[str, Any]:
    total = sum(by_operation.values())
    return {
        **extra,
        "api_calls": total,
        "floor": floor,
        "ratio_to_floor": round(total / floor, 2),
        "tag_reads": by_operation.get("elasticache:ListTagsForResource", 0),
        "by_operation": by_operation,
    }


def _listing_floor(caches: int, snapshots: int) -> int:
    # replication groups, clusters, serverless caches; node-based snapshots, serverless snapshots
    return math.ceil(caches / CACHE_PAGE) + 1 + 1 + max(1, math.ceil(snapshots / SNAPSHOT_PAGE)) + 1


def daily_run(cache_count: int, history_days: int = 0) -> dict[str, Any]:
    with (
        answer_serverless_listings_empty(),
        mock_aws(),
        time_machine.travel(DAY + timedelta(minutes=1), tick=False),
    ):
        client = boto3.client("elasticache", region_name="us-east-1")
        names = _caches(client, cache_count)
        _history(client, names, history_days, DAY)
        functions = Functions(Template.load())
        [daily] = [s for s in functions.schedules() if s.name == "DailySnapshots"]
        with count_api_calls() as calls:
            payload = functions.invoke("SnapshotFunction", daily.event_for(DAY)).result()
        created = payload["counts"]["created"]
        existing = cache_count * history_days
        floor = _listing_floor(cache_count, existing) + created
        return _figures(
            _elasticache_calls(calls),
            floor,
            {"caches": cache_count, "existing_snapshots": existing, "created": created},
        )


def prune_pass(cache_count: int) -> dict[str, Any]:
    now = DAY.replace(hour=6)
    with answer_serverless_listings_empty(), mock_aws(), time_machine.travel(now, tick=False):
        client = boto3.client("elasticache", region_name="us-east-1")
        names = _caches(client, cache_count)
        # made at 07:00 on each of the last 8 days: only the oldest has expired by 06:00 (1 in 8, under the breaker)
        _history(client, names, KEPT_PER_CACHE + 1, DAY.replace(hour=7))
        functions = Functions(Template.load())
        with count_api_calls() as calls:
            payload = functions.invoke("PruneFunction", {}).result()
        summary = payload["regions"]["us-east-1"]["engines"]["elasticache"]
        snapshots = cache_count * (KEPT_PER_CACHE + 1)
        floor = _listing_floor(cache_count, snapshots) + summary["deleted"]
        return _figures(
            _elasticache_calls(calls),
            floor,
            {
                "caches": cache_count,
                "snapshots": snapshots,
                "deleted": summary["deleted"],
                "breaker_tripped": summary["breaker_tripped"],
            },
        )


def main() -> None:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    figures = {
        "daily_run": [daily_run(100), daily_run(100, history_days=7)],
        "prune_pass": [prune_pass(100)],
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
