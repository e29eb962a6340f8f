"""CacheExportFunction through the template's wiring: moto's S3 in two Regions, ElastiCache's export by a hook.

What stands on moto: the caches, snapshots and tags (ElastiCache), both buckets, the server-side copies,
the read-backs with their checksums and the deletes (S3), the DR key (KMS). What stands on the hook
(``tests/cache_export_env.py``): ``CopySnapshot`` with ``TargetBucket``, which moto lacks; it writes the
objects ElastiCache would. Assertions are on the buckets' contents, never on values the emulator makes up.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
import time_machine

from local_runtime.template import REPO_ROOT
from restorable.cache_export_plan import META_MANAGED_BY, META_OBJECT_COUNT, META_SOURCE, META_STAGING_KEY
from restorable.errors import InvalidRequestError
from tests.aws_faults import errors_by_parameter, failing_operation, recorded_calls
from tests.cache_export_env import DR_BUCKET, ExportHook, ExportWorld, rdb_bytes
from tests.conftest import DR_REGION, SOURCE_REGION

DAY = datetime(2026, 12, 8, 3, 0, tzinfo=UTC)
SNAPSHOT = "sessions-daily-2026-12-08"
STAGED = f"{SNAPSHOT}-0001.rdb"
DR_KEY = f"elasticache/sessions/{SNAPSHOT}/{STAGED}"


def sample(name: str) -> dict[str, Any]:
    return dict(json.loads((REPO_ROOT / "events" / name).read_text()))


@pytest.fixture
def world(aws: None) -> Iterator[ExportWorld]:
    with time_machine.travel(datetime(2026, 12, 8, 4, 40, tzinfo=UTC), tick=False):
        yield ExportWorld.deploy(SOURCE_REGION, DR_REGION)


@pytest.fixture
def hook(world: ExportWorld) -> Iterator[ExportHook]:
    yield from ExportHook(SOURCE_REGION).install()


@pytest.fixture
def sessions(world: ExportWorld) -> str:
    """An opted-in cache (dr-standard) with today's daily snapshot, and a cache of the standard policy."""
    world.cache("sessions")
    world.cache("scratch", policy="standard")
    world.daily_snapshot("scratch", DAY)
    return world.daily_snapshot("sessions", DAY)


def run(world: ExportWorld, event: dict[str, Any] | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = world.functions.invoke(
        "CacheExportFunction", sample("cache-export-reconcile.json") if event is None else event
    ).result()
    return payload


def outcomes(payload: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((item["resource"], item["outcome"]) for item in payload["items"])


def converge(world: ExportWorld, passes: int = 4) -> None:
    for _ in range(passes):
        run(world)


def test_the_schedule_fires_hourly_with_the_sample_event(world: ExportWorld) -> None:
    [schedule] = [s for s in world.functions.schedules() if s.function == "CacheExportFunction"]
    assert schedule.expression == "cron(40 * * * ? *)"
    assert schedule.event_for(datetime(2026, 12, 8, 4, 40, tzinfo=UTC)) == sample("cache-export-reconcile.json")


def test_the_function_is_not_deployed_while_exports_are_off(functions: Any) -> None:
    assert "CacheExportFunction" not in functions.names()


def test_export_copy_verify_then_staging_is_cleared(world: ExportWorld, hook: ExportHook, sessions: str) -> None:
    first = run(world)
    assert outcomes(first) == [("sessions", "created")]  # scratch's policy does not opt in: not even listed
    assert [call["SourceSnapshotName"] for call in hook.calls] == [SNAPSHOT]
    assert hook.calls[0]["TargetBucket"] == world.staging_bucket
    assert set(world.staged()) == {STAGED}

    second = run(world)
    assert outcomes(second) == [("sessions", "created")]
    assert "verified" in second["items"][0]["reason"]
    assert world.staged() == {}
    assert world.dr_objects() == {DR_KEY: rdb_bytes(SNAPSHOT, 1)}
    head = world.dr_head(DR_KEY)
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"] == world.dr_key_arn
    assert head["Metadata"][META_MANAGED_BY] == "restorable"
    assert head["Metadata"][META_STAGING_KEY] == STAGED
    assert head["Metadata"][META_OBJECT_COUNT] == "1"
    assert head["Metadata"][META_SOURCE].endswith(":replicationgroup:sessions")

    with recorded_calls() as calls:
        third = run(world)
    assert outcomes(third) == [("sessions", "already_exists")]
    writes = {c.operation for c in calls} & {"CopySnapshot", "CopyObject", "DeleteObject", "PutObject"}
    assert writes == set()
    assert len(hook.calls) == 1


def test_every_shard_is_copied_and_the_set_is_complete(world: ExportWorld, hook: ExportHook, sessions: str) -> None:
    hook.shards[SNAPSHOT] = 3
    converge(world)
    assert world.staged() == {}
    assert world.dr_objects() == {
        f"elasticache/sessions/{SNAPSHOT}/{SNAPSHOT}-{n:04d}.rdb": rdb_bytes(SNAPSHOT, n) for n in (1, 2, 3)
    }
    assert {world.dr_head(k)["Metadata"][META_OBJECT_COUNT] for k in world.dr_objects()} == {"3"}


def test_dry_run_changes_nothing(world: ExportWorld, hook: ExportHook, sessions: str) -> None:
    payload = run(world, sample("cache-export-dry-run.json"))
    assert payload["dry_run"] is True
    assert outcomes(payload) == [("sessions", "planned")]
    assert hook.calls == []
    run(world)  # the export, for real
    staged = world.staged()
    payload = run(world, sample("cache-export-dry-run.json"))
    assert outcomes(payload) == [("sessions", "planned")]
    assert world.staged() == staged
    assert world.dr_objects() == {}


def test_a_dr_copy_that_differs_is_copied_again_before_staging_goes(
    world: ExportWorld, hook: ExportHook, sessions: str
) -> None:
    run(world)
    s3 = boto3.client("s3", region_name=DR_REGION)
    s3.put_object(Bucket=DR_BUCKET, Key=DR_KEY, Body=b"not the export", Metadata={META_STAGING_KEY: STAGED})
    run(world)
    assert world.staged() == {}
    assert world.dr_objects() == {DR_KEY: rdb_bytes(SNAPSHOT, 1)}


def test_one_caches_failed_export_never_stops_the_others(world: ExportWorld, hook: ExportHook) -> None:
    world.cache("sessions")
    world.cache("carts")
    world.daily_snapshot("sessions", DAY)
    world.daily_snapshot("carts", DAY)
    with errors_by_parameter("CopySnapshot", "SourceSnapshotName", service="elasticache") as failures:
        failures[SNAPSHOT] = "InvalidParameterValue"
        payload = run(world)
    assert outcomes(payload) == [("carts", "created"), ("sessions", "failed")]
    converge(world)
    assert set(world.dr_objects()) == {
        DR_KEY,
        "elasticache/carts/carts-daily-2026-12-08/carts-daily-2026-12-08-0001.rdb",
    }


# Every AWS call of the export, copy and clean-up path; each failing alone deletes nothing unverified and a
# rerun finishes the work.
CALLS = [
    ("elasticache", "DescribeReplicationGroups"),
    ("elasticache", "DescribeCacheClusters"),
    ("elasticache", "DescribeServerlessCaches"),
    ("elasticache", "DescribeServerlessCacheSnapshots"),
    ("elasticache", "DescribeSnapshots"),
    ("elasticache", "ListTagsForResource"),
    ("elasticache", "CopySnapshot"),
    ("s3", "ListObjectsV2"),
    ("s3", "HeadObject"),
    ("s3", "CopyObject"),
    ("s3", "DeleteObject"),
]


# A transient and a permanent error for the calls that change something; reads fail transiently.
FAULTS = [
    (service, operation, code)
    for service, operation in CALLS
    for code in (
        ("ServiceUnavailable", "AccessDenied")
        if operation in ("CopySnapshot", "CopyObject", "DeleteObject")
        else ("ServiceUnavailable",)
    )
]


@pytest.mark.parametrize(("service", "operation", "code"), FAULTS, ids=[f"{op}-{code}" for _, op, code in FAULTS])
def test_a_failed_call_deletes_nothing_unverified_and_a_rerun_finishes(
    world: ExportWorld, hook: ExportHook, sessions: str, service: str, operation: str, code: str
) -> None:
    with failing_operation(service, operation, code) as failed:
        for _ in range(3):  # export pass, copy pass, and one more: the failure hits wherever the call is made
            staged_before = world.staged()
            run(world)
            for key, content in staged_before.items():
                if key not in world.staged():  # a staging object went: its DR copy is there, whole
                    assert world.dr_objects().get(f"elasticache/sessions/{SNAPSHOT}/{key}") == content
    assert failed, f"{operation} was never called"
    converge(world)
    assert world.staged() == {}
    assert world.dr_objects() == {DR_KEY: rdb_bytes(SNAPSHOT, 1)}
    assert len(hook.calls) == 1  # exported once: a rerun continues from the staged objects


def test_a_failed_read_back_after_the_copy_keeps_staging(world: ExportWorld, hook: ExportHook, sessions: str) -> None:
    run(world)
    with failing_operation("s3", "HeadObject", "ServiceUnavailable", region=DR_REGION):
        payload = run(world)
    assert outcomes(payload) == [("sessions", "failed")]
    assert set(world.staged()) == {STAGED}  # copied, not verified: kept
    assert set(world.dr_objects()) == {DR_KEY}
    payload = run(world)
    assert outcomes(payload) == [("sessions", "deleted")]
    assert world.staged() == {}


def test_invalid_request_is_rejected_naming_the_field(world: ExportWorld, hook: ExportHook, sessions: str) -> None:
    with pytest.raises(InvalidRequestError, match="dry_run"):
        world.functions.invoke("CacheExportFunction", {"dry_run": "yes"}).result()
    assert hook.calls == []


# The IAM actions an S3 call needs (the others are named as their operation).
S3_ACTIONS = {
    "ListObjectsV2": {"s3:ListBucket"},
    "HeadObject": {"s3:GetObject"},
    "CopyObject": {"s3:GetObject", "s3:PutObject"},
    "DeleteObject": {"s3:DeleteObject"},
}


def test_every_call_of_the_export_path_is_allowed_by_the_role(
    world: ExportWorld, hook: ExportHook, sessions: str
) -> None:
    policies = world.template.resolve(world.template.resources["CacheExportFunction"]["Properties"]["Policies"])
    allowed = {
        action
        for policy in policies
        for statement in policy["Statement"]
        if statement["Effect"] == "Allow"
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    }
    with recorded_calls() as calls:
        converge(world, 3)
    needed = {a for c in calls for a in S3_ACTIONS.get(c.operation, {f"{c.service}:{c.operation}"})}
    assert {"elasticache:CopySnapshot", "s3:PutObject", "s3:DeleteObject"} <= needed
    assert needed - allowed == set()
