"""Count the AWS API calls a handler makes, with botocore event hooks on the default session.

moto answers a listing in one page however many items it holds, so its call counts undercount
what AWS would take. Each listing's items are counted too, and the pages AWS would return are
computed from them and the API's page size (``MaxRecords`` as asked, up to the API's limit).
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3

from local_runtime.functions import Functions
from restorable.adapters import clients

# Paginated listings: operation -> (the answer's list, the API's largest page; RDS's default is its limit).
AWS_PAGES: dict[str, tuple[str, int]] = {
    "rds:DescribeDBInstances": ("DBInstances", 100),
    "rds:DescribeDBClusters": ("DBClusters", 100),
    "rds:DescribeDBSnapshots": ("DBSnapshots", 100),
    "rds:DescribeDBClusterSnapshots": ("DBClusterSnapshots", 100),
    "rds:DescribeDBInstanceAutomatedBackups": ("DBInstanceAutomatedBackups", 100),
    "rds:DescribeDBClusterAutomatedBackups": ("DBClusterAutomatedBackups", 100),
    "rds:DescribeEvents": ("Events", 100),
    "rds:DescribeDBSnapshotAttributes": ("DBSnapshotAttributesResult", 100),
    "elasticache:DescribeReplicationGroups": ("ReplicationGroups", 100),
    "elasticache:DescribeCacheClusters": ("CacheClusters", 100),
    "elasticache:DescribeSnapshots": ("Snapshots", 50),
}


class ApiCalls(Counter[str]):
    """Calls by ``service:Operation``; ``aws_pages``: the pages AWS would have returned for the listings."""

    def __init__(self) -> None:
        super().__init__()
        self.aws_pages: Counter[str] = Counter()

    def as_aws_would_page(self) -> int:
        """Every call, with each listing counted as the pages AWS would have taken."""
        return sum(n for op, n in self.items() if op not in self.aws_pages) + sum(self.aws_pages.values())


def aws_pages(items: int, requested_page_size: int | None, limit: int) -> int:
    """Pages AWS returns for ``items`` at the page size asked for (its limit when none or more)."""
    page = min(requested_page_size or limit, limit)
    return max(1, math.ceil(items / page))


@contextmanager
def count_api_calls() -> Iterator[ApiCalls]:
    calls = ApiCalls()

    def record(event_name: str, params: Any = None, context: Any = None, **_: Any) -> None:
        # before-call.<service>.<Operation>
        _prefix, service, operation = event_name.split(".", 2)
        calls[f"{service}:{operation}"] += 1
        body = params.get("body") if isinstance(params, dict) else None
        if isinstance(context, dict) and isinstance(body, dict) and body.get("MaxRecords"):
            context["bench_max_records"] = int(body["MaxRecords"])

    def pages(event_name: str, parsed: Any = None, context: Any = None, **_: Any) -> None:
        _prefix, service, operation = event_name.split(".", 2)
        name = f"{service}:{operation}"
        if name not in AWS_PAGES or not isinstance(parsed, dict):
            return
        result_key, limit = AWS_PAGES[name]
        asked = context.get("bench_max_records") if isinstance(context, dict) else None
        items = parsed.get(result_key)
        count = len(items) if isinstance(items, list) else 0
        calls.aws_pages[name] += aws_pages(count, asked, limit)

    session = boto3._get_default_session()
    session.events.register("before-call.*.*", record, unique_id="bench-count-calls")
    session.events.register("after-call.*.*", pages, unique_id="bench-count-pages")
    clients.reset()  # handlers' kept clients copied the session's hooks when built: rebuild them with this one
    try:
        yield calls
    finally:
        session.events.unregister("before-call.*.*", unique_id="bench-count-calls")
        session.events.unregister("after-call.*.*", unique_id="bench-count-pages")


@dataclass(frozen=True)
class MeasuredInvocation:
    payload: Any
    calls: ApiCalls
    seconds: float

    def figures(self) -> dict[str, Any]:
        """API calls in all (on moto, and with the listings paged as AWS would), by operation, wall time on moto."""
        return {
            "api_calls": sum(self.calls.values()),
            "api_calls_as_aws_pages": self.calls.as_aws_would_page(),
            "by_operation": dict(sorted(self.calls.items())),
            "aws_pages_of_listings": dict(sorted(self.calls.aws_pages.items())),
            "wall_seconds_on_moto": round(self.seconds, 2),
        }


def measure_invocation(functions: Functions, logical_id: str, event: Any) -> MeasuredInvocation:
    """Invoke a function through the template wiring, counting its AWS calls and timing it."""
    with count_api_calls() as calls:
        started = time.perf_counter()
        payload = functions.invoke(logical_id, event).result()
        seconds = time.perf_counter() - started
    return MeasuredInvocation(payload, calls, seconds)
