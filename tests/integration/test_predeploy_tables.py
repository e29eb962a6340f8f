"""PredeployFunction with DynamoDB targets, through the template's wiring: on-demand backups by the name contract.

DynamoDB and RDS are moto (moto makes a backup AVAILABLE at once; the ``creating_backups`` fixture
starts them CREATING as AWS does); CodePipeline's PutJob*Result is not in moto and goes to a
``Stubber`` (``tests/integration/test_predeploy_function.py``). AWS errors are injected with
``tests/aws_faults``.
"""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import time_machine
from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
from moto.dynamodb.models.table import Table as MotoTable

from local_runtime.functions import Functions
from local_runtime.template import REPO_ROOT
from restorable.dynamodb_backup_names import parse_backup_name
from restorable.predeploy_plan import Progress
from tests.aws_faults import failing_calls
from tests.conftest import SOURCE_REGION
from tests.fleet import Fleet
from tests.integration.test_predeploy_function import PipelineStub, pipeline, predeploy_snapshots

__all__ = ["pipeline"]  # the fixture, shared with the RDS tests

NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
STACK = "restorable"
ACCOUNT = "123456789012"
FIRST: dict[str, Any] = json.loads((REPO_ROOT / "events" / "predeploy-pipeline-tables.json").read_text())
JOB_ID = FIRST["CodePipeline.job"]["id"]
ORDERS_DB = "orders-db-predeploy-20261122093000"


def job_event(user_parameters: dict[str, Any] | None = None, token: str | None = None) -> dict[str, Any]:
    event = copy.deepcopy(FIRST)
    data = event["CodePipeline.job"]["data"]
    if user_parameters is not None:
        data["actionConfiguration"]["configuration"]["UserParameters"] = json.dumps(user_parameters)
    if token is not None:
        data["continuationToken"] = token
    return event


class Tables:
    def __init__(self) -> None:
        self.client = boto3.client("dynamodb", region_name=SOURCE_REGION)

    def table(self, name: str, policy: str | None = "standard") -> str:
        tags = [] if policy is None else [{"Key": "restorable:policy", "Value": policy}]
        created = self.client.create_table(
            TableName=name,
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
            **({"Tags": tags} if tags else {}),
        )
        return str(created["TableDescription"]["TableArn"])

    def backups(self) -> dict[str, dict[str, str]]:
        """Backup ARN -> name, table and status, every backup of the Region."""
        return {
            s["BackupArn"]: {"name": s["BackupName"], "table": s["TableName"], "status": s["BackupStatus"]}
            for s in self.client.list_backups()["BackupSummaries"]
        }

    def set_backup_status(self, arn: str, status: str) -> None:
        dynamodb_backends[ACCOUNT][SOURCE_REGION].backups[arn].status = status


@pytest.fixture
def tables(aws: None) -> Tables:
    return Tables()


@pytest.fixture
def release(tables: Tables, fleet: Fleet) -> Tables:
    fleet.instance("orders-db")
    tables.table("orders")
    tables.table("carts", policy="compliance")
    tables.table("scratch", policy=None)
    return tables


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def creating_backups(monkeypatch: pytest.MonkeyPatch) -> None:
    """Backups start CREATING as in AWS (moto makes them AVAILABLE at once)."""
    original = DynamoDBBackend.create_backup

    def creating(self: Any, *args: Any, **kwargs: Any) -> Any:
        backup = original(self, *args, **kwargs)
        backup.status = "CREATING"
        return backup

    monkeypatch.setattr(DynamoDBBackend, "create_backup", creating)


def table_status(monkeypatch: pytest.MonkeyPatch, statuses: dict[str, str]) -> None:
    """DescribeTable reports ``statuses`` for the named tables (moto's tables are always ACTIVE)."""
    original = MotoTable.describe

    def describe(self: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        found: dict[str, Any] = original(self, *args, **kwargs)
        if self.name in statuses:
            for body in found.values():
                body["TableStatus"] = statuses[self.name]
        return found

    monkeypatch.setattr(MotoTable, "describe", describe)


@contextlib.contextmanager
def errors_by_parameter(operation: str, parameter: str) -> Iterator[dict[str, str]]:
    """Fail the DynamoDB ``operation`` calls whose ``parameter`` is a key of the yielded dict, with its code.

    DynamoDB speaks JSON: the request body is the serialized JSON document, read here.
    """
    failures: dict[str, str] = {}

    def choose(body: Any) -> str | None:
        request = json.loads(body) if body else {}
        return failures.get(request.get(parameter))

    with failing_calls([operation], choose, service="dynamodb"):
        yield failures


def failure(stub: PipelineStub) -> dict[str, str]:
    operation, request = stub.last()
    assert operation == "PutJobFailureResult"
    assert request["jobId"] == JOB_ID
    return dict(request["failureDetails"])


def invoke(functions: Functions, event: Any) -> dict[str, Any]:
    result: dict[str, Any] = functions.invoke("PredeployFunction", event).result()
    return result


@pytest.mark.usefixtures("creating_backups")
def test_tables_get_contract_named_backups_waited_on_until_available(
    functions: Functions, release: Tables, fleet: Fleet, pipeline: PipelineStub, clock: time_machine.Traveller
) -> None:
    pipeline.expect("put_job_success_result")
    first = invoke(functions, FIRST)
    assert first["status"] == "in_progress"
    backups = release.backups()
    assert sorted(b["table"] for b in backups.values()) == ["carts", "orders"]  # never the unprotected table
    for arn, backup in backups.items():
        parsed = parse_backup_name(backup["name"], STACK)
        assert parsed is not None, backup
        assert (parsed.kind, parsed.period) == ("predeploy", "20261122T093000Z")
        assert parsed.names_table(backup["table"])
        retention = {"orders": 30, "carts": 30}[backup["table"]]
        assert parsed.expires_at == NOW + timedelta(days=retention)
        assert arn.startswith(f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{backup['table']}/backup/")
    assert set(predeploy_snapshots(fleet)) == {ORDERS_DB}  # the RDS target, in the same job
    progress = Progress.decode(pipeline.token(), job_id=JOB_ID)
    assert sorted(progress.table) == sorted(backups)
    assert progress.db == [ORDERS_DB]

    # a minute later one backup is done, the other still creating
    clock.shift(timedelta(minutes=1))
    orders_arn = next(a for a, b in backups.items() if b["table"] == "orders")
    carts_arn = next(a for a, b in backups.items() if b["table"] == "carts")
    release.set_backup_status(orders_arn, "AVAILABLE")
    pipeline.expect("put_job_success_result")
    second = invoke(functions, job_event(token=pipeline.token()))
    _, request = pipeline.last()
    assert second["status"] == "in_progress"
    assert "2 of 3 snapshots available" in request["executionDetails"]["summary"]
    assert backups[carts_arn]["name"] in request["executionDetails"]["summary"]

    clock.shift(timedelta(minutes=1))
    release.set_backup_status(carts_arn, "AVAILABLE")
    pipeline.expect("put_job_success_result")
    final = invoke(functions, job_event(token=pipeline.token()))
    _, request = pipeline.last()
    assert final["status"] == "succeeded"
    assert "continuationToken" not in request
    assert set(request["outputVariables"]["SnapshotArns"].split(",")) == {
        orders_arn,
        carts_arn,
        *[s["arn"] for s in final["snapshots"] if s["type"] == "instance"],
    }
    assert request["outputVariables"]["SnapshotCount"] == "3"
    assert {s["database"] for s in final["snapshots"]} == {"orders-db", "orders", "carts"}
    assert len(release.backups()) == 2  # continued calls never create


def test_tables_already_available_succeed_on_the_first_call(
    functions: Functions, release: Tables, pipeline: PipelineStub, clock: time_machine.Traveller
) -> None:
    pipeline.expect("put_job_success_result")
    result = invoke(functions, job_event({"targets": [{"table": "orders"}]}))
    _, request = pipeline.last()
    assert result["status"] == "succeeded"
    [arn] = release.backups()
    assert request["outputVariables"]["SnapshotArns"] == arn


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        ([{"table": "missing"}], "table 'missing' not found (no DynamoDB table of that name in us-east-1)"),
        (
            ["arn:aws:dynamodb:us-east-1:123456789012:table/gone"],
            "DynamoDB table arn:aws:dynamodb:us-east-1:123456789012:table/gone not found in us-east-1",
        ),
        ([{"table": "scratch"}], "table 'scratch' is not protected: tag it restorable:policy=<policy>"),
        (
            ["arn:aws:dynamodb:us-east-1:999999999999:table/orders"],
            "targets[1]: arn:aws:dynamodb:us-east-1:999999999999:table/orders belongs to account 999999999999",
        ),
        (
            ["arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026-11-22T00:00:00.000"],
            "is not a DynamoDB table ARN",
        ),
    ],
)
def test_a_bad_table_target_fails_the_action_and_nothing_is_created_for_any_target(
    functions: Functions,
    release: Tables,
    fleet: Fleet,
    pipeline: PipelineStub,
    clock: time_machine.Traveller,
    targets: list[Any],
    message: str,
) -> None:
    pipeline.expect("put_job_failure_result")
    result = invoke(functions, job_event({"targets": ["orders-db", *targets, {"table": "orders"}]}))
    details = failure(pipeline)
    assert details["type"] == "ConfigurationError"
    assert message in details["message"]
    assert details["message"].endswith("nothing was created")
    assert result["status"] == "failed"
    assert release.backups() == {}
    assert predeploy_snapshots(fleet) == {}


def test_a_table_not_active_fails_the_job_before_anything_is_started(
    functions: Functions,
    release: Tables,
    fleet: Fleet,
    pipeline: PipelineStub,
    clock: time_machine.Traveller,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    table_status(monkeypatch, {"carts": "UPDATING"})
    pipeline.expect("put_job_failure_result")
    invoke(functions, FIRST)
    details = failure(pipeline)
    assert details["type"] == "JobFailed"
    assert "table 'carts' is 'UPDATING'" in details["message"]
    assert "table ACTIVE" in details["message"]
    assert release.backups() == {}
    assert predeploy_snapshots(fleet) == {}


@pytest.mark.parametrize(
    ("code", "failure_type", "says"),
    [
        ("AccessDeniedException", "PermissionError", "permission denied"),
        ("LimitExceededException", "JobFailed", "table 'carts'"),
        ("ThrottlingException", "SystemUnavailable", "throttled"),
    ],
)
def test_a_failed_create_backup_fails_the_job_and_keeps_what_was_started(
    functions: Functions,
    release: Tables,
    pipeline: PipelineStub,
    clock: time_machine.Traveller,
    code: str,
    failure_type: str,
    says: str,
) -> None:
    pipeline.expect("put_job_failure_result")
    with errors_by_parameter("CreateBackup", "TableName") as failures:
        failures["carts"] = code
        invoke(functions, FIRST)
    details = failure(pipeline)
    assert details["type"] == failure_type
    assert "carts" in details["message"]
    assert says in details["message"]
    [kept] = release.backups().values()
    assert kept["table"] == "orders"
    assert kept["name"] in details["message"]  # the started backup is reported as kept


@pytest.mark.usefixtures("creating_backups")
def test_a_throttled_describe_backup_keeps_waiting_and_a_denied_one_fails(
    functions: Functions, release: Tables, pipeline: PipelineStub, clock: time_machine.Traveller
) -> None:
    pipeline.expect("put_job_success_result")
    invoke(functions, job_event({"targets": [{"table": "orders"}]}))
    token = pipeline.token()
    [arn] = release.backups()

    clock.shift(timedelta(minutes=1))
    pipeline.expect("put_job_success_result")
    with errors_by_parameter("DescribeBackup", "BackupArn") as failures:
        failures[arn] = "ThrottlingException"
        waiting = invoke(functions, job_event({"targets": [{"table": "orders"}]}, token=token))
    assert waiting["status"] == "in_progress"
    assert pipeline.token() == token

    pipeline.expect("put_job_failure_result")
    with errors_by_parameter("DescribeBackup", "BackupArn") as failures:
        failures[arn] = "AccessDeniedException"
        invoke(functions, job_event({"targets": [{"table": "orders"}]}, token=token))
    details = failure(pipeline)
    assert details["type"] == "PermissionError"
    assert "checking the snapshots" in details["message"]


@pytest.mark.usefixtures("creating_backups")
def test_a_backup_failing_while_waiting_fails_the_job_naming_the_table(
    functions: Functions, release: Tables, pipeline: PipelineStub, clock: time_machine.Traveller
) -> None:
    pipeline.expect("put_job_success_result")
    invoke(functions, job_event({"targets": [{"table": "orders"}]}))
    [arn] = release.backups()
    release.set_backup_status(arn, "DELETED")
    pipeline.expect("put_job_failure_result")
    invoke(functions, job_event(token=pipeline.token()))
    details = failure(pipeline)
    assert details["type"] == "JobFailed"
    assert "table 'orders'" in details["message"]
    assert "is 'deleted'" in details["message"]


def test_a_token_naming_a_backup_this_stack_did_not_take_is_not_trusted(
    functions: Functions, release: Tables, pipeline: PipelineStub, clock: time_machine.Traveller
) -> None:
    arn = release.client.create_backup(TableName="orders", BackupName="before-release")["BackupDetails"]["BackupArn"]
    progress = Progress(v=1, job=JOB_ID, deadline="2026-11-22T10:30:00Z", limit=60, table=[arn])
    pipeline.expect("put_job_failure_result")
    invoke(functions, job_event(token=progress.encode()))
    details = failure(pipeline)
    assert details["type"] == "JobFailed"
    assert f"table 'orders': backup {arn} was not taken by this job; not trusted" in details["message"]


def test_a_policy_selects_protected_tables_as_well_as_databases(
    functions: Functions, release: Tables, fleet: Fleet, pipeline: PipelineStub, clock: time_machine.Traveller
) -> None:
    pipeline.expect("put_job_success_result")
    result = invoke(functions, job_event({"policy": "standard"}))
    assert result["status"] == "succeeded"
    assert sorted(b["table"] for b in release.backups().values()) == ["orders"]
    assert set(predeploy_snapshots(fleet)) == {ORDERS_DB}


def test_a_direct_invocation_backs_up_a_table_and_returns_the_result(
    functions: Functions, release: Tables, clock: time_machine.Traveller
) -> None:
    direct = json.loads((REPO_ROOT / "events" / "predeploy-direct.json").read_text())
    direct["targets"] = [{"table": "orders"}]
    result = functions.invoke("PredeployFunction", direct).result()
    assert result["status"] == "succeeded"
    [(arn, backup)] = release.backups().items()
    assert result["output_variables"]["SnapshotArns"] == arn
    assert result["output_variables"]["SnapshotIdentifiers"] == backup["name"]


def test_more_table_backups_than_the_token_holds_are_refused_before_any_is_taken(
    functions: Functions, tables: Tables, pipeline: PipelineStub, clock: time_machine.Traveller
) -> None:
    names = [f"table{n:07d}" for n in range(16)]  # 15 backups of 12-character table names fit in 2048 characters
    for name in names:
        tables.table(name)
    pipeline.expect("put_job_failure_result")
    invoke(functions, job_event({"targets": [{"table": name} for name in names]}))
    details = failure(pipeline)
    assert details["type"] == "ConfigurationError"
    assert "16 targets are too many for one pipeline action" in details["message"]
    assert tables.backups() == {}

    pipeline.expect("put_job_success_result")
    invoke(functions, job_event({"targets": [{"table": name} for name in names[:15]]}))
    assert len(tables.backups()) == 15
