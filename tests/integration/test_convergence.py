"""Every job converges after a fault in any one of its AWS calls.

For each job (snapshot, copy, prune, pre-deploy, verify) a healthy run on a fresh world is
recorded first: the AWS calls it makes, and the state it leaves (recovery points in both
Regions, or the verification result). Then, for each of those calls and each kind of
error, a fresh world gets one run with every call of that operation failing, followed by
one healthy run: the state must be the healthy run's. Transient errors never spend the DR
copy's attempt budget; verification always completes, with ``UNKNOWN`` findings for what
it could not read.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import time_machine
from botocore.exceptions import EndpointConnectionError
from moto import mock_aws

from local_runtime.functions import Functions, Invocation
from local_runtime.template import REPO_ROOT, Template
from restorable.errors import RestorableError
from tests.aws_faults import Call, failing_operation, recorded_calls
from tests.conftest import DR_REGION, SOURCE_REGION
from tests.fleet import Fleet
from tests.verify_env import VerifyEnvironment

SUNDAY = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
PRUNE_NOW = datetime(2027, 3, 1, 6, 0, tzinfo=UTC)
ATTEMPTS = "restorable:copy-attempts"

# One of each: throttling, a server error, no answer at all; denied; a bad parameter.
TRANSIENT: list[str | BaseException] = [
    "Throttling",
    "ServiceUnavailable",
    EndpointConnectionError(endpoint_url="https://rds.example.amazonaws.com"),
]
PERMANENT: list[str | BaseException] = ["AccessDenied", "InvalidParameterValue"]


def sample(name: str) -> dict[str, Any]:
    return dict(json.loads((REPO_ROOT / "events" / name).read_text()))


def fault_name(fault: str | BaseException) -> str:
    return fault if isinstance(fault, str) else type(fault).__name__


@dataclass
class World:
    functions: Functions
    clock: time_machine.Coordinates
    source: Fleet
    dr: Fleet
    env: VerifyEnvironment | None = None


@dataclass(frozen=True)
class Job:
    function: str
    event: str
    start: datetime
    build: Callable[[World], None]
    state: Callable[[World, Invocation], Any]


def _snapshot_world(world: World) -> None:
    world.source.instance("orders-mysql")
    world.source.cluster("ledger")


def _copy_world(world: World) -> None:
    _snapshot_world(world)
    world.functions.invoke("SnapshotFunction", sample("snapshot-weekly.json")).result()
    world.clock.shift(3600)


def _prune_world(world: World) -> None:
    world.source.instance("orders-mysql")
    arn = world.source.rds.describe_db_instances()["DBInstances"][0]["DBInstanceArn"]
    for identifier, age, expires_in in (("orders-weekly-a", 120, -30), ("orders-weekly-b", 7, 83)):
        world.clock.move_to(PRUNE_NOW - timedelta(days=age))
        tags = {
            "restorable:managed-by": "restorable",
            "restorable:kind": "weekly",
            "restorable:source": arn,
            "restorable:policy": "standard",
            "restorable:expires-at": (PRUNE_NOW + timedelta(days=expires_in)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        tag_list = [{"Key": k, "Value": v} for k, v in tags.items()]
        made = world.source.rds.create_db_snapshot(
            DBSnapshotIdentifier=identifier, DBInstanceIdentifier="orders-mysql", Tags=tag_list
        )["DBSnapshot"]
        world.dr.rds.copy_db_snapshot(
            SourceDBSnapshotIdentifier=made["DBSnapshotArn"],
            TargetDBSnapshotIdentifier=identifier,
            SourceRegion=SOURCE_REGION,
            KmsKeyId="alias/aws/rds",
            Tags=tag_list,
        )
    world.clock.move_to(PRUNE_NOW)


def _predeploy_world(world: World) -> None:
    world.source.instance("orders-db")


def _verify_world(world: World) -> None:
    """Two instances and a cluster with every backup in order, copied to the DR Region."""
    assert world.env is not None
    world.source.instance("orders-mysql")
    world.source.cluster("ledger")
    world.source.rds.modify_db_cluster(DBClusterIdentifier="ledger", CopyTagsToSnapshot=True, ApplyImmediately=True)
    world.env.set_replication("orders-mysql", DR_REGION)
    for name in ("snapshot-weekly.json", "snapshot-monthly.json"):
        event = sample(name)
        event["scheduled_time"] = "2026-11-22T02:00:00Z"
        world.functions.invoke("SnapshotFunction", event).result()
    copy = sample("copy-reconcile.json")
    copy["scheduled_time"] = "2026-11-22T02:00:00Z"
    world.functions.invoke("CopyFunction", copy).result()
    world.clock.move_to(SUNDAY + timedelta(hours=1, minutes=5))


def _snapshots(world: World, _: Invocation) -> Any:
    return {
        region: {k: {t: v for t, v in tags.items() if t != ATTEMPTS} for k, tags in fleet.manual_snapshots().items()}
        for region, fleet in (("source", world.source), ("dr", world.dr))
    }


def _verification(world: World, invocation: Invocation) -> Any:
    payload = invocation.result()
    assert world.env is not None
    return {
        "status": payload["status"],
        "databases_verified": payload["databases_verified"],
        "findings": payload["findings"],
        "open_notification_state": world.env.state(),
    }


COPY_RECONCILE = SUNDAY + timedelta(hours=1, minutes=15)  # when the sample reconcile event fires
JOBS = {
    "snapshot": Job("SnapshotFunction", "snapshot-weekly.json", SUNDAY, _snapshot_world, _snapshots),
    "copy": Job("CopyFunction", "copy-reconcile.json", COPY_RECONCILE, _copy_world, _snapshots),
    "prune": Job("PruneFunction", "prune-daily.json", PRUNE_NOW, _prune_world, _snapshots),
    "predeploy": Job("PredeployFunction", "predeploy-direct.json", SUNDAY, _predeploy_world, _snapshots),
    "verify": Job("VerifyFunction", "verify-hourly.json", SUNDAY, _verify_world, _verification),
}


@pytest.fixture(scope="module")
def warm_functions(template: Template) -> Functions:
    return Functions(template, warm=True)


@contextlib.contextmanager
def world(job: Job, functions: Functions, template: Template) -> Iterator[World]:
    with mock_aws(), time_machine.travel(job.start, tick=False) as clock:
        source = Fleet(boto3.client("rds", region_name=SOURCE_REGION))
        dr = Fleet(boto3.client("rds", region_name=DR_REGION))
        built = World(functions, clock, source, dr)
        with contextlib.ExitStack() as stack:
            if job.function == "VerifyFunction":
                env = VerifyEnvironment(template, SOURCE_REGION, DR_REGION)
                env.create()
                stack.enter_context(contextlib.contextmanager(env.install)())
                built.env = env
            job.build(built)
            yield built


@dataclass
class Case:
    first: Invocation
    second: Invocation
    state: Any
    attempts: dict[str, str]
    failed: list[Call]


def run(job: Job, functions: Functions, template: Template, call: Call | None = None, fault: Any = None) -> Case:
    """One run (with ``call``'s operation failing with ``fault``), then one healthy run."""
    with world(job, functions, template) as built:
        failed: list[Call] = []
        with contextlib.ExitStack() as stack:
            if call is not None:
                failed = stack.enter_context(failing_operation(call.service, call.operation, fault))
            first = functions.invoke(job.function, sample(job.event))
        second = functions.invoke(job.function, sample(job.event))
        attempts = {k: tags.get(ATTEMPTS, "") for k, tags in built.source.manual_snapshots().items()}
        return Case(first, second, job.state(built, second), attempts, failed)


def healthy(job: Job, functions: Functions, template: Template) -> tuple[list[Call], Case]:
    with world(job, functions, template) as built:
        with recorded_calls() as calls:
            first = functions.invoke(job.function, sample(job.event))
        first.result()
        second = functions.invoke(job.function, sample(job.event))
        attempts = {k: tags.get(ATTEMPTS, "") for k, tags in built.source.manual_snapshots().items()}
        case = Case(first, second, job.state(built, second), attempts, [])
    operations = sorted({Call(c.service, c.operation, "") for c in calls}, key=lambda c: (c.service, c.operation))
    return operations, case


def check_first_run(job: Job, case: Case, fault: Any) -> str | None:
    """The faulted run fails cleanly: a domain error or a result, never a crash; verification always completes."""
    if job.function == "VerifyFunction":
        if case.first.error is not None:
            return f"verification died: {type(case.first.error).__name__}: {case.first.error}"
        payload = case.first.payload
        if (
            not any(f["severity"] == "UNKNOWN" for f in payload["findings"])
            and payload.get("notifications", {}).get("error") is None
        ):
            return f"nothing in the result says a lookup failed: {payload}"
        if "VerificationRuns" not in case.first.metric_values():
            return "no metrics published"
        return None
    if case.first.error is not None and not isinstance(case.first.error, RestorableError):
        return f"crashed with {type(case.first.error).__name__}: {case.first.error}"
    return None


@pytest.mark.parametrize("kind", ["transient", "permanent"])
@pytest.mark.parametrize("name", sorted(JOBS))
def test_every_call_can_fail_and_the_next_run_converges(
    warm_functions: Functions, template: Template, name: str, kind: str
) -> None:
    job = JOBS[name]
    operations, reference = healthy(job, warm_functions, template)
    assert operations, "the healthy run made no AWS calls"
    problems: list[str] = []
    for call in operations:
        for fault in TRANSIENT if kind == "transient" else PERMANENT:
            label = f"{call.service}.{call.operation} {fault_name(fault)}"
            case = run(job, warm_functions, template, call, fault)
            if not case.failed:
                problems.append(f"{label}: the fault was never hit")
                continue
            problem = check_first_run(job, case, fault)
            if problem:
                problems.append(f"{label}: {problem}")
            if case.second.error is not None:
                problems.append(f"{label}: healthy rerun failed: {case.second.error}")
                continue
            if case.state != reference.state:
                problems.append(f"{label}: did not converge:\n  got  {case.state}\n  want {reference.state}")
            for snapshot, spent in case.attempts.items():
                healthy_spent = int(reference.attempts.get(snapshot) or 0)
                limit = healthy_spent if kind == "transient" else healthy_spent + 1
                if int(spent or 0) > limit:
                    problems.append(f"{label}: {snapshot} spent {spent} copy attempts (healthy: {healthy_spent})")
    assert not problems, "\n".join(problems)
