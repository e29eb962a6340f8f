"""PredeployFunction through the template's wiring: the CodePipeline continuation protocol end to end.

RDS is moto; CodePipeline's PutJob*Result is not in moto, so the handler's CodePipeline
client is a real botocore client with a ``Stubber`` (which checks every request against
the service model), handed in through ``restorable.adapters.clients``.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import time_machine
from botocore.stub import Stubber
from moto.rds.models import RDSBackend

from benchmarks.api_calls import count_api_calls
from local_runtime.functions import Functions, Invocation
from local_runtime.template import REPO_ROOT, Template
from restorable.adapters import clients
from restorable.errors import AwsError, ConfigurationError
from restorable.predeploy_plan import Progress
from tests.aws_faults import errors_by_parameter
from tests.fleet import Fleet

NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
FUNCTION = "PredeployFunction"


def sample(name: str) -> dict[str, Any]:
    return dict(json.loads((REPO_ROOT / "events" / name).read_text()))


FIRST = sample("predeploy-pipeline-first.json")
JOB_ID = FIRST["CodePipeline.job"]["id"]
SECRETS = list(FIRST["CodePipeline.job"]["data"]["artifactCredentials"].values())
ORDERS = "orders-db-predeploy-20261122093000"
LEDGER = "ledger-predeploy-20261122093000"


def job_event(user_parameters: dict[str, Any] | str | None = None, token: str | None = None) -> dict[str, Any]:
    """The sample first-call event, with other UserParameters and/or a continuation token."""
    event = copy.deepcopy(FIRST)
    data = event["CodePipeline.job"]["data"]
    if user_parameters is not None:
        text = user_parameters if isinstance(user_parameters, str) else json.dumps(user_parameters)
        data["actionConfiguration"]["configuration"]["UserParameters"] = text
    if token is not None:
        data["continuationToken"] = token
    return event


def forged_token(content: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(content).encode()).decode()


class PipelineStub:
    """A CodePipeline client whose PutJob*Result calls are stubbed and recorded."""

    def __init__(self) -> None:
        self.client = boto3.client("codepipeline", region_name="us-east-1")
        self.stubber = Stubber(self.client)
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.client.meta.events.register("provide-client-params.codepipeline.*", self._record)
        self.stubber.activate()

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.requests.append((model.name, copy.deepcopy(params)))

    def expect(self, *operations: str) -> None:
        for operation in operations:
            self.stubber.add_response(operation, {})

    def last(self) -> tuple[str, dict[str, Any]]:
        return self.requests[-1]

    def token(self) -> str:
        operation, request = self.last()
        assert operation == "PutJobSuccessResult"
        return str(request["continuationToken"])


@pytest.fixture
def pipeline(monkeypatch: pytest.MonkeyPatch) -> Iterator[PipelineStub]:
    stub = PipelineStub()
    real_client = clients.client

    def client(service_name: str, region_name: str) -> Any:
        return stub.client if service_name == "codepipeline" else real_client(service_name, region_name)

    monkeypatch.setattr(clients, "client", client)
    yield stub
    stub.stubber.assert_no_pending_responses()


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def slow_snapshots(monkeypatch: pytest.MonkeyPatch) -> None:
    """Snapshots start 'creating' at 0% as in AWS (moto makes them 'available' at once)."""
    for name in ("create_db_snapshot", "create_db_cluster_snapshot"):
        original = getattr(RDSBackend, name)

        def creating(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            snapshot = _original(self, *args, **kwargs)
            snapshot.status = "creating"
            snapshot.percent_progress = 0
            return snapshot

        monkeypatch.setattr(RDSBackend, name, creating)


@pytest.fixture
def release_fleet(fleet: Fleet) -> Fleet:
    fleet.instance("orders-db")
    fleet.instance("billing-db", policy="compliance")
    fleet.instance("scratch-db", policy=None)
    fleet.cluster("ledger", members=2)
    return fleet


@pytest.fixture
def failing_creates() -> Iterator[dict[str, str]]:
    """Make CreateDBSnapshot fail for chosen instances with a chosen AWS error code."""
    with errors_by_parameter("CreateDBSnapshot", "DBInstanceIdentifier") as failures:
        yield failures


def invoke(functions: Functions, event: Any, **kwargs: Any) -> Invocation:
    return functions.invoke(FUNCTION, event, **kwargs)


def failure(stub: PipelineStub) -> dict[str, str]:
    operation, request = stub.last()
    assert operation == "PutJobFailureResult"
    assert request["jobId"] == JOB_ID
    return dict(request["failureDetails"])


def predeploy_snapshots(fleet: Fleet) -> dict[str, dict[str, str]]:
    return {k: v for k, v in fleet.manual_snapshots().items() if "-predeploy-" in k}


# ---- the protocol end to end ----


@pytest.mark.usefixtures("slow_snapshots")
def test_create_then_still_creating_then_available_then_success_with_output_variables(
    functions: Functions, release_fleet: Fleet, pipeline: PipelineStub, clock: time_machine.Traveller
) -> None:
    pipeline.expect("put_job_success_result")
    first = invoke(functions, FIRST).result()
    operation, request = pipeline.last()
    assert operation == "PutJobSuccessResult"
    assert request["jobId"] == JOB_ID
    assert "outputVariables" not in request
    assert request["executionDetails"]["percentComplete"] == 0
    assert first["status"] == "in_progress"
    assert {s["snapshot"] for s in first["snapshots"] if s["created_now"]} == {ORDERS, LEDGER}

    tags = predeploy_snapshots(release_fleet)
    assert set(tags) == {ORDERS, LEDGER}
    assert tags[ORDERS]["restorable:kind"] == "predeploy"
    assert tags[ORDERS]["restorable:expires-at"] == "2026-12-22T09:30:00Z"  # 30 days, the standard policy
    assert tags[ORDERS]["restorable:managed-by"] == "restorable"
    assert tags[ORDERS]["restorable:job-id"] == JOB_ID
    assert tags[ORDERS]["restorable:source"].endswith(":db:orders-db")
    assert tags[LEDGER]["restorable:source"].endswith(":cluster:ledger")
    progress = Progress.decode(pipeline.token(), job_id=JOB_ID)
    assert (progress.db, progress.cluster, progress.deadline) == ([ORDERS], [LEDGER], "2026-11-22T11:00:00Z")

    # a minute later: the cluster snapshot is done, the instance snapshot is at 40%
    clock.shift(timedelta(minutes=1))
    release_fleet.set_snapshot_status(LEDGER, "available")
    release_fleet.set_snapshot_status(ORDERS, "creating", percent_progress=40)
    pipeline.expect("put_job_success_result")
    second = invoke(functions, job_event(token=pipeline.token())).result()
    _, request = pipeline.last()
    assert request["continuationToken"]
    assert "outputVariables" not in request
    assert request["executionDetails"]["percentComplete"] == 40
    assert "1 of 2 snapshots available" in request["executionDetails"]["summary"]
    assert second["status"] == "in_progress"

    clock.shift(timedelta(minutes=5))
    release_fleet.set_snapshot_status(ORDERS, "available")
    pipeline.expect("put_job_success_result")
    final = invoke(functions, job_event(token=pipeline.token())).result()
    _, request = pipeline.last()
    assert "continuationToken" not in request
    arns = {s["snapshot"]: s["arn"] for s in final["snapshots"]}
    assert request["outputVariables"] == {
        "SnapshotIdentifiers": f"{LEDGER},{ORDERS}",
        "SnapshotArns": f"{arns[LEDGER]},{arns[ORDERS]}",
        "SnapshotCount": "2",
    }
    assert arns[ORDERS].endswith(f":snapshot:{ORDERS}")
    assert arns[LEDGER].endswith(f":cluster-snapshot:{LEDGER}")
    assert request["executionDetails"]["percentComplete"] == 100
    assert final["status"] == "succeeded"
    assert set(predeploy_snapshots(release_fleet)) == {ORDERS, LEDGER}  # continued calls never create


def test_snapshots_already_available_succeed_on_the_first_call(
    functions: Functions, release_fleet: Fleet, pipeline: PipelineStub, clock: time_machine.Traveller
) -> None:
    pipeline.expect("put_job_success_result")
    invoke(functions, job_event({"targets": ["orders-db"]})).result()
    _, request = pipeline.last()
    assert "continuationToken" not in request
    assert request["outputVariables"]["SnapshotIdentifiers"] == ORDERS


@pytest.mark.usefixtures("slow_snapshots")
def test_retried_job_never_creates_a_second_snapshot(
    functions: Functions, release_fleet: Fleet, pipeline: PipelineStub, clock: time_machine.Traveller
) -> None:
    pipeline.expect("put_job_success_result")
    invoke(functions, FIRST).result()
    first_token = Progress.decode(pipeline.token(), job_id=JOB_ID)
    # Lambda retries the same job two minutes later (say the first report was lost)
    clock.shift(timedelta(minutes=2))
    pipeline.expect("put_job_success_result")
    retried = invoke(functions, FIRST).result()
    assert set(predeploy_snapshots(release_fleet)) == {ORDERS, LEDGER}
    assert not any(s["created_now"] for s in retried["snapshots"])
    again = Progress.decode(pipeline.token(), job_id=JOB_ID)
    assert (again.db, again.cluster) == (first_token.db, first_token.cluster)


@pytest.mark.usefixtures("slow_snapshots")
def test_a_failed_report_fails_the_invocation_and_the_retry_reuses_the_snapshots(
    functions: Functions, release_fleet: Fleet, pipeline: PipelineStub, clock: time_machine.Traveller
) -> None:
    pipeline.stubber.add_client_error("put_job_success_result", "ThrottlingException", http_status_code=400)
    invocation = invoke(functions, FIRST)
    assert isinstance(invocation.error, AwsError)
    assert "PutJobSuccessResult" in str(invocation.error)
    pipeline.expect("put_job_success_result")
    clock.shift(timedelta(seconds=70))
    invoke(functions, FIRST).result()
    assert set(predeploy_snapshots(release_fleet)) == {ORDERS, LEDGER}


@pytest.mark.usefixtures("slow_snapshots")
def test_without_waiting_the_first_call_is_the_final_success(
    functions: Functions, release_fleet: Fleet, pipeline: PipelineStub, clock: time_machine.Traveller
) -> None:
    pipeline.expect("put_job_success_result")
    payload = invoke(functions, job_event({"targets": ["orders-db"], "wait": False})).result()
    _, request = pipeline.last()
    assert "continuationToken" not in request
    assert request["outputVariables"]["SnapshotIdentifiers"] == ORDERS
    assert payload["snapshots"][0]["status"] == "creating"


def test_policy_selects_every_protected_database_with_that_policy(
    functions: Functions, release_fleet: Fleet, pipeline: PipelineStub, clock: time_machine.Traveller
) -> None:
    pipeline.expect("put_job_success_result")
    invoke(functions, job_event({"policy": "standard"})).result()
    # the cluster is snapshotted, its members are not; other policies and untagged databases are left alone
    assert set(predeploy_snapshots(release_fleet)) == {ORDERS, LEDGER}


# ---- each failure ----


def test_missing_target_is_a_configuration_error_and_creates_nothing(
    functions: Functions, release_fleet: Fleet, pipeline: PipelineStub, clock: time_machine.Traveller
) -> None:
    pipeline.expect("put_job_failure_result")
    payload = invoke(functions, job_event({"targets": ["orders-db", "ghost-db"]})).result()
    details = failure(pipeline)
    assert details["type"] == "ConfigurationError"
    assert "database 'ghost-db' not found" in details["message"]
    assert payload["status"] == "failed"
    assert predeploy_snapshots(release_fleet) == {}


def test_target_not_available_fails_the_job_and_creates_nothing(
    functions: Functions, release_fleet: Fleet, pipeline: PipelineStub, clock: time_machine.Traveller
) -> None:
    release_fleet.set_instance_status("orders-db", "stopped")
    pipeline.expect("put_job_failure_result")
    invoke(functions, FIRST).result()
    details = failure(pipeline)
    assert details["type"] == "JobFailed"
    assert "instance 'orders-db' is 'stopped'" in details["message"]
    assert predeploy_snapshots(release_fleet) == {}


def test_quota_exceeded_fails_the_job_naming_the_database(
    functions: Functions,
    release_fleet: Fleet,
    pipeline: PipelineStub,
    clock: time_machine.Traveller,
    failing_creates: dict[str, str],
) -> None:
    failing_creates["orders-db"] = "SnapshotQuotaExceeded"
    pipeline.expect("put_job_failure_result")
    invoke(functions, FIRST).result()
    details = failure(pipeline)
    assert details["type"] == "JobFailed"
    assert "database 'orders-db': snapshot quota reached" in details["message"]
    assert "SnapshotQuotaExceeded" in details["message"]
    # the other target's snapshot was started and is kept (it expires with its policy)
    assert f"kept and expire with their policy: {LEDGER}" in details["message"]
    assert set(predeploy_snapshots(release_fleet)) == {LEDGER}


def test_permission_denied_is_a_permission_error(
    functions: Functions,
    release_fleet: Fleet,
    pipeline: PipelineStub,
    clock: time_machine.Traveller,
    failing_creates: dict[str, str],
) -> None:
    failing_creates["orders-db"] = "AccessDenied"
    pipeline.expect("put_job_failure_result")
    invoke(functions, job_event({"targets": ["orders-db"]})).result()
    assert failure(pipeline)["type"] == "PermissionError"


@pytest.mark.usefixtures("slow_snapshots")
def test_snapshot_that_fails_while_waiting_fails_the_job(
    functions: Functions, release_fleet: Fleet, pipeline: PipelineStub, clock: time_machine.Traveller
) -> None:
    pipeline.expect("put_job_success_result")
    invoke(functions, FIRST).result()
    release_fleet.set_snapshot_status(ORDERS, "failed")
    release_fleet.set_snapshot_status(LEDGER, "available")
    pipeline.expect("put_job_failure_result")
    clock.shift(timedelta(minutes=3))
    invoke(functions, job_event(token=pipeline.token())).result()
    details = failure(pipeline)
    assert details["type"] == "JobFailed"
    assert f"database 'orders-db': snapshot {ORDERS} is 'failed'" in details["message"]


@pytest.mark.usefixtures("slow_snapshots")
def test_time_limit_passed_fails_the_job_and_says_what_is_still_creating(
    functions: Functions, release_fleet: Fleet, pipeline: PipelineStub, clock: time_machine.Traveller
) -> None:
    pipeline.expect("put_job_success_result")
    invoke(functions, FIRST).result()
    token = pipeline.token()
    release_fleet.set_snapshot_status(LEDGER, "available")
    release_fleet.set_snapshot_status(ORDERS, "creating", percent_progress=85)
    clock.shift(timedelta(minutes=89))
    pipeline.expect("put_job_success_result")
    invoke(functions, job_event(token=token)).result()  # one minute left: keep waiting
    clock.shift(timedelta(minutes=1))
    pipeline.expect("put_job_failure_result")
    invoke(functions, job_event(token=pipeline.token())).result()
    details = failure(pipeline)
    assert details["type"] == "JobFailed"
    assert "time limit of 90 minutes passed" in details["message"]
    assert f"still creating: {ORDERS} (85%)" in details["message"]


@pytest.mark.parametrize(
    ("user_parameters", "message"),
    [
        ("", "UserParameters is empty"),
        ("targets: orders-db", "UserParameters is not valid JSON"),
        ('["orders-db"]', "UserParameters must be a JSON object"),
        ({"targets": ["orders-db"], "wiat": False}, "wiat: Extra inputs are not permitted"),
        ({"targets": []}, "name at least one target"),
        ({}, "name at least one target"),
        ({"targets": ["orders-db"], "wait": "yes"}, "wait"),
        ({"targets": ["orders-db"], "time_limit_minutes": 0}, "time_limit_minutes"),
        ({"targets": ["orders_db; drop"]}, "targets.0"),
        ({"targets": ["scratch-db"]}, "instance 'scratch-db' is not protected"),
        ({"targets": ["ledger-1"]}, "member of cluster 'ledger': name the cluster instead"),
        ({"policy": "gold"}, "no database in us-east-1 carries restorable:policy=gold"),
        # an ARN is checked whole, never trimmed to the local database of the same name
        (
            {"targets": ["orders-db", "arn:aws:rds:us-east-1:999999999999:db:billing-db"]},
            "targets[1]: arn:aws:rds:us-east-1:999999999999:db:billing-db belongs to account 999999999999, "
            "this stack runs in 123456789012",
        ),
        (
            {"targets": ["arn:aws:rds:eu-west-1:123456789012:db:orders-db"]},
            "targets[0]: arn:aws:rds:eu-west-1:123456789012:db:orders-db is in Region eu-west-1, expected us-east-1",
        ),
        (
            {"targets": ["arn:aws-us-gov:rds:us-east-1:123456789012:db:orders-db"]},
            "targets[0]: arn:aws-us-gov:rds:us-east-1:123456789012:db:orders-db is in partition 'aws-us-gov'",
        ),
        (
            {"targets": ["arn:aws:rds:us-east-1:123456789012:snapshot:orders-db"]},
            "targets[0]: arn:aws:rds:us-east-1:123456789012:snapshot:orders-db is not an RDS 'cluster' or 'db' ARN",
        ),
        (
            {"targets": ["arn:aws:rds:us-east-1:123456789012:cluster:orders-db"]},
            "targets[0]: arn:aws:rds:us-east-1:123456789012:cluster:orders-db is not "
            "arn:aws:rds:us-east-1:123456789012:db:orders-db",
        ),
    ],
)
def test_bad_user_parameters_are_a_configuration_error_and_create_nothing(
    functions: Functions,
    release_fleet: Fleet,
    pipeline: PipelineStub,
    clock: time_machine.Traveller,
    user_parameters: Any,
    message: str,
) -> None:
    pipeline.expect("put_job_failure_result")
    invoke(functions, job_event(user_parameters)).result()
    details = failure(pipeline)
    assert details["type"] == "ConfigurationError"
    assert message in details["message"]
    assert predeploy_snapshots(release_fleet) == {}


def test_targets_may_be_named_by_their_local_arns(
    functions: Functions, release_fleet: Fleet, pipeline: PipelineStub, clock: time_machine.Traveller
) -> None:
    pipeline.expect("put_job_success_result")
    targets = ["arn:aws:rds:us-east-1:123456789012:db:orders-db", "arn:aws:rds:us-east-1:123456789012:cluster:ledger"]
    payload = invoke(functions, job_event({"targets": targets, "wait": False})).result()
    assert payload["status"] == "succeeded", payload
    assert sorted(predeploy_snapshots(release_fleet)) == [LEDGER, ORDERS]


def test_a_direct_request_naming_another_accounts_database_creates_nothing(
    functions: Functions, release_fleet: Fleet, clock: time_machine.Traveller
) -> None:
    request = {"targets": ["arn:aws:rds:us-east-1:999999999999:db:orders-db"], "request_id": "release-42"}
    payload = invoke(functions, request).result()
    assert payload["status"] == "failed"
    assert "targets[0]: arn:aws:rds:us-east-1:999999999999:db:orders-db belongs to account 999999999999" in str(
        payload["message"]
    )
    assert predeploy_snapshots(release_fleet) == {}


def test_policy_without_a_predeploy_kind_is_a_configuration_error(
    functions: Functions, release_fleet: Fleet, pipeline: PipelineStub, clock: time_machine.Traveller
) -> None:
    document = {
        "version": 1,
        "policies": {
            "standard": {
                "automated_backups": {"retention_days": 7},
                "snapshots": {"weekly": {"retention_days": 90, "dr_copy": True}},
            },
            "compliance": {
                "automated_backups": {"retention_days": 7},
                "snapshots": {"predeploy": {"retention_days": 30, "dr_copy": True}},
            },
        },
    }
    pipeline.expect("put_job_failure_result")
    invoke(functions, FIRST, environment={"POLICY_DOCUMENT": json.dumps(document)}).result()
    details = failure(pipeline)
    assert details["type"] == "ConfigurationError"
    assert "policy 'standard' has no 'predeploy' snapshot kind" in details["message"]
    assert predeploy_snapshots(release_fleet) == {}


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("bm90IGEgdG9rZW4", "invalid continuation token"),
        ("%%%", "invalid continuation token"),
        (
            Progress(
                v=1, job="0" * 8 + "-0000-0000-0000-" + "0" * 12, deadline="2026-11-22T11:00:00Z", limit=90, db=[ORDERS]
            ).encode(),
            "belongs to job 00000000-0000-0000-0000-000000000000",
        ),
        (
            forged_token(
                {
                    "v": 1,
                    "job": JOB_ID,
                    "deadline": "2026-11-22T11:00:00Z",
                    "limit": 90,
                    "db": ["orders-db-weekly-2026-11-22"],
                }
            ),
            "not a pre-deploy snapshot identifier",
        ),
        (
            forged_token({"v": 1, "job": JOB_ID, "deadline": "tomorrow", "limit": 90, "db": [ORDERS]}),
            "deadline is not an ISO-8601 UTC time",
        ),
        (
            forged_token({"v": 2, "job": JOB_ID, "deadline": "2026-11-22T11:00:00Z", "limit": 90, "db": [ORDERS]}),
            "v: Input should be less than or equal to 1",
        ),
    ],
)
def test_continuation_token_is_checked_on_every_continued_call(
    functions: Functions,
    release_fleet: Fleet,
    pipeline: PipelineStub,
    clock: time_machine.Traveller,
    token: str,
    message: str,
) -> None:
    pipeline.expect("put_job_failure_result")
    invoke(functions, job_event(token=token)).result()
    details = failure(pipeline)
    assert details["type"] == "JobFailed"
    assert message in details["message"]


def test_token_naming_snapshots_of_another_job_is_not_trusted(
    functions: Functions, release_fleet: Fleet, pipeline: PipelineStub, clock: time_machine.Traveller
) -> None:
    release_fleet.rds.create_db_snapshot(DBSnapshotIdentifier=ORDERS, DBInstanceIdentifier="orders-db")
    token = Progress(v=1, job=JOB_ID, deadline="2026-11-22T11:00:00Z", limit=90, db=[ORDERS]).encode()
    pipeline.expect("put_job_failure_result")
    invoke(functions, job_event(token=token)).result()
    assert "was not taken by this job" in failure(pipeline)["message"]


def test_sample_continued_event_carries_a_token_for_its_job() -> None:
    event = sample("predeploy-pipeline-continued.json")
    job = event["CodePipeline.job"]
    progress = Progress.decode(job["data"]["continuationToken"], job_id=job["id"])
    assert (progress.db, progress.cluster) == ([ORDERS], [LEDGER])
    first_parameters = json.loads(
        FIRST["CodePipeline.job"]["data"]["actionConfiguration"]["configuration"]["UserParameters"]
    )
    assert progress.limit == first_parameters["time_limit_minutes"]


@pytest.mark.usefixtures("slow_snapshots")
def test_the_event_is_never_logged(
    functions: Functions, release_fleet: Fleet, pipeline: PipelineStub, clock: time_machine.Traveller
) -> None:
    pipeline.expect("put_job_success_result", "put_job_success_result")
    first = invoke(
        functions, FIRST, environment={"POWERTOOLS_LOGGER_LOG_EVENT": "true", "POWERTOOLS_LOG_LEVEL": "DEBUG"}
    )
    first.result()
    continued = invoke(functions, job_event(token=pipeline.token()), environment={"POWERTOOLS_LOG_LEVEL": "DEBUG"})
    continued.result()
    for invocation in (first, continued):
        assert invocation.logs, "the handler logged nothing"
        printed = json.dumps([invocation.logs, invocation.metrics, invocation.other_output, invocation.payload])
        for secret in SECRETS:
            assert secret not in printed
    assert all(log.get("codepipeline_job_id") == JOB_ID for log in first.logs if log["message"] != "Cold start")
    assert any(log["service"] == "predeploy" and log.get("status") == "in_progress" for log in first.logs)


def test_metrics_count_created_snapshots_and_the_outcome(
    functions: Functions, release_fleet: Fleet, pipeline: PipelineStub, clock: time_machine.Traveller
) -> None:
    pipeline.expect("put_job_success_result")
    values = invoke(functions, FIRST).metric_values()
    assert values["Created"] == 2
    assert values["PredeploySucceeded"] == 1


def test_a_malformed_job_event_is_rejected_without_reporting(functions: Functions, pipeline: PipelineStub) -> None:
    event = copy.deepcopy(FIRST)
    event["CodePipeline.job"]["id"] = "not-a-job-id"
    invocation = invoke(functions, event)
    assert invocation.error is not None
    assert "not a CodePipeline job id" in str(invocation.error)
    assert pipeline.requests == []


# ---- direct invocation ----


@pytest.mark.usefixtures("slow_snapshots")
def test_direct_invocation_waits_and_returns_a_synchronous_result(
    functions: Functions,
    release_fleet: Fleet,
    pipeline: PipelineStub,
    clock: time_machine.Traveller,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    snapshot = "orders-db-predeploy-20261122093000"
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:  # the snapshot finishes during the second wait
        sleeps.append(seconds)
        clock.shift(timedelta(seconds=seconds))
        if len(sleeps) == 2:
            release_fleet.set_snapshot_status(snapshot, "available")

    monkeypatch.setattr("time.sleep", sleep)
    payload = invoke(functions, sample("predeploy-direct.json")).result()
    assert payload["status"] == "succeeded"
    assert payload["output_variables"]["SnapshotIdentifiers"] == snapshot
    assert payload["job_id"] == "github-run-8812345-attempt-1"
    assert sleeps == [15, 15]
    assert pipeline.requests == []  # not a pipeline job: nothing reported to CodePipeline
    assert predeploy_snapshots(release_fleet)[snapshot]["restorable:job-id"] == "github-run-8812345-attempt-1"

    # the same request id again (a CI retry): no second snapshot
    clock.shift(timedelta(minutes=5))
    again = invoke(functions, sample("predeploy-direct.json")).result()
    assert again["status"] == "succeeded"
    assert set(predeploy_snapshots(release_fleet)) == {snapshot}


@pytest.mark.usefixtures("slow_snapshots")
def test_direct_invocation_out_of_time_returns_a_token_to_continue_with(
    release_fleet: Fleet, clock: time_machine.Traveller, monkeypatch: pytest.MonkeyPatch
) -> None:
    short = Functions(Template.load(region="us-east-1"))
    short._specs[FUNCTION] = dataclasses.replace(short.spec(FUNCTION), timeout=40)  # 40 s left: one wait only
    monkeypatch.setattr("time.sleep", lambda seconds: clock.shift(timedelta(seconds=seconds)))
    payload = short.invoke(FUNCTION, {"targets": ["orders-db"]}).result()
    assert payload["status"] == "in_progress"
    release_fleet.set_snapshot_status(ORDERS, "available")
    done = short.invoke(FUNCTION, {"continuation_token": payload["continuation_token"]}).result()
    assert done["status"] == "succeeded"


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"targets": ["orders-db"], "surprise": 1}, "surprise: Extra inputs are not permitted"),
        ({}, "name at least one target"),
        ({"continuation_token": "garbage"}, "invalid continuation token"),
        (["orders-db"], "must be a JSON object"),
    ],
)
def test_bad_direct_requests_fail_clearly_and_create_nothing(
    functions: Functions, release_fleet: Fleet, event: Any, message: str
) -> None:
    invocation = invoke(functions, event)
    assert isinstance(invocation.error, ConfigurationError)
    assert message in str(invocation.error)
    assert predeploy_snapshots(release_fleet) == {}


def test_direct_failure_is_a_result_not_an_exception(functions: Functions, release_fleet: Fleet) -> None:
    payload = invoke(functions, {"targets": ["ghost-db"]}).result()
    assert payload["status"] == "failed"
    assert payload["failure_type"] == "ConfigurationError"
    assert "ghost-db" in payload["message"]


# ---- permissions ----


def test_predeploy_permissions_are_least_privilege(template: Template) -> None:
    statements = template.resources[FUNCTION]["Properties"]["Policies"][0]["Statement"]

    def actions(statement: dict[str, Any]) -> list[str]:
        action = statement["Action"]
        return [action] if isinstance(action, str) else list(action)

    creates = [s for s in statements if any(a.startswith("rds:Create") for a in actions(s))]
    assert len(creates) == 3
    for statement in creates:
        assert "Condition" in statement, statement["Sid"]
        assert statement["Resource"] != "*", statement["Sid"]
    [report] = [s for s in statements if any(a.startswith("codepipeline:") for a in actions(s))]
    assert sorted(actions(report)) == ["codepipeline:PutJobFailureResult", "codepipeline:PutJobSuccessResult"]
    every = [a for s in statements for a in actions(s)]
    assert not [a for a in every if a.startswith(("rds:Delete", "rds:Modify", "rds:Restore")) or a.endswith("*")]


@pytest.mark.usefixtures("slow_snapshots")
def test_a_continued_call_costs_one_describe_per_snapshot_type(
    functions: Functions, release_fleet: Fleet, pipeline: PipelineStub, clock: time_machine.Traveller
) -> None:
    pipeline.expect("put_job_success_result", "put_job_success_result")
    invoke(functions, FIRST).result()
    token, reported = pipeline.token(), len(pipeline.requests)
    with count_api_calls() as calls:
        invoke(functions, job_event(token=token)).result()
    assert dict(calls) == {"rds:DescribeDBSnapshots": 1, "rds:DescribeDBClusterSnapshots": 1}
    assert [operation for operation, _ in pipeline.requests[reported:]] == ["PutJobSuccessResult"]
