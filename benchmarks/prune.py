"""Prune figures: API calls and wall time of a prune pass over 100 sources x 40 recovery points in two
Regions (moto), and planning time for 100,000 recovery points in the pure core.

``python -m benchmarks.prune``
"""

from __future__ import annotations

import json
import os
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.rds.models import DBSnapshot, rds_backends

import local_runtime  # noqa: F401 - puts the core layer on the path
from local_runtime.functions import Functions
from local_runtime.serverless_caches import answer_serverless_listings_empty
from local_runtime.template import Template
from restorable.models import DatabaseType, RecoveryPoint
from restorable.naming import format_timestamp
from restorable.prune_plan import BreakerLimits, plan_prune

from .api_calls import measure_invocation

NOW = datetime(2027, 6, 1, 6, tzinfo=UTC)
STACK = "restorable"


def _tags(source_arn: str, kind: str, expires: datetime) -> list[dict[str, str]]:
    return [
        {"Key": "restorable:managed-by", "Value": STACK},
        {"Key": "restorable:kind", "Value": kind},
        {"Key": "restorable:source", "Value": source_arn},
        {"Key": "restorable:policy", "Value": "standard"},
        {"Key": "restorable:expires-at", "Value": format_timestamp(expires)},
    ]


def prune_pass(sources: int = 100, points_per_source: int = 40) -> dict[str, Any]:
    """Each source has ``points_per_source`` weekly snapshots in each Region, one a week; the two oldest
    expired (2 x 100 = 200 deletions per Region, 5 % of 4,000: under the breaker)."""
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ["MOTO_RDS_SNAPSHOT_LIMIT"] = "1000000"
    with answer_serverless_listings_empty(), mock_aws():
        rds = boto3.client("rds", region_name="us-east-1")
        for number in range(sources):
            rds.create_db_instance(
                DBInstanceIdentifier=f"db{number:03d}",
                DBInstanceClass="db.t3.micro",
                Engine="postgres",
                AllocatedStorage=20,
                MasterUsername="u",
                MasterUserPassword="password-1",
                Tags=[{"Key": "restorable:policy", "Value": "standard"}],
            )
        # Snapshots are put straight into moto's backends (creating 8,000 through the API takes minutes).
        for region in ("us-east-1", "us-west-2"):
            backend = rds_backends[DEFAULT_ACCOUNT_ID][region]
            source_backend = rds_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
            for number in range(sources):
                database = source_backend.databases[f"db{number:03d}"]
                for week in range(points_per_source):
                    created = NOW - timedelta(weeks=points_per_source - week)
                    identifier = f"db{number:03d}-weekly-{week:02d}"
                    expires = created + timedelta(days=90 if week >= 2 else 1)
                    snapshot = DBSnapshot(
                        backend, database, identifier, tags=_tags(database.db_instance_arn, "weekly", expires)
                    )
                    snapshot.created = created
                    snapshot.original_snapshot_create_time = created
                    backend.database_snapshots[identifier] = snapshot
        template = Template.load()
        functions = Functions(template)
        functions.invoke("PruneFunction", {"dry_run": True}).result()  # warm imports
        run = measure_invocation(functions, "PruneFunction", {})
        return {
            "sources": sources,
            "recovery_points_per_region": sources * points_per_source,
            "deleted": run.payload["counts"]["deleted"],
            **run.figures(),
        }


def synthetic_points(count: int, seed: int = 7) -> list[RecoveryPoint]:
    rng = random.Random(seed)
    sources = [f"arn:aws:rds:us-east-1:123456789012:db:db{n:05d}" for n in range(max(1, count // 40))]
    points = []
    for index in range(count):
        created = NOW - timedelta(days=rng.randint(0, 800))
        source = rng.choice(sources)
        kind = rng.choice(["weekly", "monthly", "predeploy"])
        tags = {
            "restorable:managed-by": STACK if rng.random() > 0.05 else "someone-else",
            "restorable:kind": kind,
            "restorable:source": source,
            "restorable:expires-at": format_timestamp(created + timedelta(days=rng.choice([30, 90, 365]))),
        }
        if rng.random() < 0.01:
            tags["restorable:legal-hold"] = "true"
        points.append(
            RecoveryPoint(
                DatabaseType.INSTANCE,
                f"p{index:06d}",
                f"arn:aws:rds:us-east-1:123456789012:snapshot:p{index:06d}",
                source.rsplit(":", 1)[-1],
                "available",
                "manual",
                "us-east-1",
                created_at=created,
                tags=tags,
            )
        )
    return points


def planning_time(count: int = 100_000, runs: int = 7) -> dict[str, Any]:
    points = synthetic_points(count)
    sources = {p.source_arn for p in points if p.source_arn}
    samples = []
    plan = None
    for _ in range(runs):
        started = time.perf_counter()
        plan = plan_prune(
            points,
            stack_name=STACK,
            now=NOW,
            existing_sources=sources,
            region="us-east-1",
            limits=BreakerLimits(max_share=1.0, max_count=count),
        )
        samples.append(time.perf_counter() - started)
    assert plan is not None
    return {
        "recovery_points": count,
        "runs": runs,
        "median_seconds": round(statistics.median(samples), 3),
        "min_seconds": round(min(samples), 3),
        "planned_deletions": len(plan.deletions),
    }


def main() -> None:
    print(json.dumps({"prune_pass_two_regions": prune_pass(), "plan_prune_100k": planning_time()}, indent=2))


if __name__ == "__main__":
    main()
