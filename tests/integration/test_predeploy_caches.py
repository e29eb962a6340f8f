"""PredeployFunction with ElastiCache targets, through the template's wiring: tagged snapshots waited on.

ElastiCache and RDS are moto (moto makes a snapshot available at once; ``creating_snapshots`` starts
them ``creating`` as AWS does); CodePipeline's PutJob*Result goes to a ``Stubber``. AWS errors are
injected with ``tests/aws_faults``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import time_machine
from moto.elasticache.models import ElastiCacheBackend, elasticache_backends

from local_runtime.functions import Functions
from local_runtime.template import REPO_ROOT
from restorable.predeploy_plan import Progress
from tests.aws_faults import errors_by_parameter
from tests.conftest import SOURCE_REGION
from tests.fleet import Fleet
from tests.integration.test_predeploy_function import PipelineStub, pipeline, predeploy_snapshots

__all__ = ["pipeline"]  # the fixture, shared with the RDS tests

NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
ACCOUNT = "123456789012"
FIRST: dict[str, Any] = json.loads((REPO_ROOT / "events" / "predeploy-pipeline-first.json").read_text())
JOB_ID = FIRST["CodePipeline.job"]["id"]
SESSIONS = "sessions-predeploy-20261122093000"
POLICY = [{"Key": "restorable:policy", "Value": "standard"}]


def job_event(user_parameters: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    event = copy.deepcopy(FIRST)
    data = event["CodePipeline.job"]["data"]
    data["actionConfiguration"]["configuration"]["UserParameters"] = json.dumps(user_parameters)
    if token is not None:
        data["continuationToken"] = token
    return event


class Caches:
    def __init__(self) -> None:
        self.client = boto3.client("elasticache", region_name=SOURCE_REGION)

    def snapshots(self) -> dict[str, dict[str, str]]:
        """Snapshot name -> tags, every manual snapshot of the Region."""
        found = {}
        for item in self.client.describe_snapshots()["Snapshots"]:
            arn = item["ARN"]
            found[item["SnapshotName"]] = {
                t["Key"]: t["Value"] for t in self.client.list_tags_for_resource(ResourceName=arn)["TagList"]
            }
        return found

    def set_status(self, name: str, status: str) -> None:
        elasticache_backends[ACCOUNT][SOURCE_REGION].snapshots[name].snapshot_status = status


@pytest.fixture
def caches(aws: None, fleet: Fleet) -> Caches:
    found = Caches()
    client = found.client
    client.create_replication_group(
        ReplicationGroupId="sessions",
        ReplicationGroupDescription="user sessions",
        Engine="valkey",
        CacheNodeType="cache.t4g.small",
        NumCacheClusters=2,
        Tags=POLICY,
    )
    client.create_cache_cluster(
        CacheClusterId="pages", Engine="memcached", CacheNodeType="cache.t4g.small", NumCacheNodes=2, Tags=POLICY
    )
    client.create_cache_cluster(
        CacheClusterId="scratch", Engine="redis", CacheNodeType="cache.t4g.micro", NumCacheNodes=1
    )
    fleet.instance("orders-db")
    return found


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def creating_snapshots(monkeypatch: pytest.MonkeyPatch) -> None:
    original = ElastiCacheBackend.create_snapshot

    def creating(self: Any, *args: Any, **kwargs: Any) -> Any:
        snapshot = original(self, *args, **kwargs)
        snapshot.snapshot_status = "creating"
        return snapshot

    monkeypatch.setattr(ElastiCacheBackend, "create_snapshot", creating)


def invoke(functions: Functions, event: Any) -> dict[str, Any]:
    result: dict[str, Any] = functions.invoke("PredeployFunction", event).result()
    return result


def failure(stub: PipelineStub) -> dict[str, str]:
    operation, request = stub.last()
    assert operation == "PutJobFailureResult"
    assert request["jobId"] == JOB_ID
    return dict(request["failureDetails"])


@pytest.mark.usefixtures("creating_snapshots")
@pytest.mark.parametrize(
    "target", [{"cache": "sessions"}, "arn:aws:elasticache:us-east-1:123456789012:replicationgroup:sessions"]
)
def test_a_cache_gets_a_tagged_predeploy_snapshot_waited_on_until_available(
    functions: Functions, caches: Caches, pipeline: PipelineStub, clock: time_machine.Traveller, target: Any
) -> None:
    pipeline.expect("put_job_success_result")
    first = invoke(functions, job_event({"targets": [target]}))
    assert first["status"] == "in_progress"
    tags = caches.snapshots()
    assert set(tags) == {SESSIONS}
    assert tags[SESSIONS]["restorable:kind"] == "predeploy"
    assert tags[SESSIONS]["restorable:managed-by"] == "restorable"
    assert tags[SESSIONS]["restorable:job-id"] == JOB_ID
    assert tags[SESSIONS]["restorable:expires-at"] == "2026-12-22T09:30:00Z"
    assert tags[SESSIONS]["restorable:source"].endswith(":replicationgroup:sessions")
    progress = Progress.decode(pipeline.token(), job_id=JOB_ID)
    assert progress.cache == [SESSIONS]

    clock.shift(timedelta(minutes=2))
    pipeline.expect("put_job_success_result")
    assert invoke(functions, job_event({}, token=pipeline.token()))["status"] == "in_progress"

    caches.set_status(SESSIONS, "available")
    pipeline.expect("put_job_success_result")
    final = invoke(functions, job_event({}, token=pipeline.token()))
    _, request = pipeline.last()
    assert final["status"] == "succeeded"
    assert request["outputVariables"]["SnapshotIdentifiers"] == SESSIONS
    assert set(caches.snapshots()) == {SESSIONS}  # continued calls never create


@pytest.mark.usefixtures("creating_snapshots")
def test_a_retried_first_call_reuses_the_jobs_cache_snapshot(
    functions: Functions, caches: Caches, pipeline: PipelineStub, clock: time_machine.Traveller
) -> None:
    pipeline.expect("put_job_success_result")
    invoke(functions, job_event({"targets": [{"cache": "sessions"}]}))
    clock.shift(timedelta(minutes=2))
    pipeline.expect("put_job_success_result")
    retried = invoke(functions, job_event({"targets": [{"cache": "sessions"}]}))
    assert set(caches.snapshots()) == {SESSIONS}
    assert not any(s["created_now"] for s in retried["snapshots"])


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ({"cache": "pages"}, "cache-cluster 'pages' runs memcached, which takes no snapshots"),
        ({"cache": "scratch"}, "cache-cluster 'scratch' is not protected"),
        ({"cache": "missing"}, "cache 'missing' not found (no ElastiCache cache of that name in us-east-1)"),
        (
            "arn:aws:elasticache:us-east-1:123456789012:snapshot:sessions-daily-2026-11-22",
            "is not an ElastiCache 'replicationgroup', 'cluster', 'serverlesscache' ARN",
        ),
    ],
)
def test_a_bad_cache_target_fails_the_action_and_nothing_is_created_for_any_target(
    functions: Functions,
    caches: Caches,
    fleet: Fleet,
    pipeline: PipelineStub,
    clock: time_machine.Traveller,
    target: Any,
    message: str,
) -> None:
    pipeline.expect("put_job_failure_result")
    invoke(functions, job_event({"targets": ["orders-db", {"cache": "sessions"}, target]}))
    details = failure(pipeline)
    assert details["type"] == "ConfigurationError"
    assert message in details["message"]
    assert details["message"].endswith("nothing was created")
    assert caches.snapshots() == {}
    assert predeploy_snapshots(fleet) == {}


def test_a_failed_create_snapshot_fails_the_job_naming_the_cache(
    functions: Functions, caches: Caches, fleet: Fleet, pipeline: PipelineStub, clock: time_machine.Traveller
) -> None:
    pipeline.expect("put_job_failure_result")
    with errors_by_parameter("CreateSnapshot", "ReplicationGroupId", service="elasticache") as failures:
        failures["sessions"] = "SnapshotQuotaExceededFault"
        invoke(functions, job_event({"targets": ["orders-db", {"cache": "sessions"}]}))
    details = failure(pipeline)
    assert details["type"] == "JobFailed"
    assert "cache 'sessions'" in details["message"]
    assert "orders-db-predeploy-20261122093000" in details["message"]  # started, kept, reported
    assert caches.snapshots() == {}
    assert set(predeploy_snapshots(fleet)) == {"orders-db-predeploy-20261122093000"}


def test_a_policy_selects_protected_caches_and_leaves_out_a_tagged_memcached_cluster(
    functions: Functions, caches: Caches, fleet: Fleet, pipeline: PipelineStub, clock: time_machine.Traveller
) -> None:
    pipeline.expect("put_job_success_result")
    result = invoke(functions, job_event({"policy": "standard"}))
    assert result["status"] == "succeeded"
    assert set(caches.snapshots()) == {SESSIONS}
    assert set(predeploy_snapshots(fleet)) == {"orders-db-predeploy-20261122093000"}


@pytest.mark.usefixtures("creating_snapshots")
def test_a_throttled_describe_snapshots_keeps_waiting_and_a_denied_one_fails(
    functions: Functions, caches: Caches, pipeline: PipelineStub, clock: time_machine.Traveller
) -> None:
    pipeline.expect("put_job_success_result")
    invoke(functions, job_event({"targets": [{"cache": "sessions"}]}))
    token = pipeline.token()
    clock.shift(timedelta(minutes=1))

    pipeline.expect("put_job_success_result")
    with errors_by_parameter("DescribeSnapshots", "SnapshotName", service="elasticache") as failures:
        failures[SESSIONS] = "Throttling"
        assert invoke(functions, job_event({}, token=token))["status"] == "in_progress"
    assert pipeline.token() == token

    pipeline.expect("put_job_failure_result")
    with errors_by_parameter("DescribeSnapshots", "SnapshotName", service="elasticache") as failures:
        failures[SESSIONS] = "AccessDenied"
        invoke(functions, job_event({}, token=token))
    details = failure(pipeline)
    assert details["type"] == "PermissionError"
    assert "checking the snapshots" in details["message"]
