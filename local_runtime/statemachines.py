"""Run the template's state machines on moto's Step Functions, with Lambda tasks in this process.

``StateMachines(functions)`` reads a ``AWS::Serverless::StateMachine`` from ``template.yaml``
(``DefinitionUri`` + ``DefinitionSubstitutions`` resolved with the local names and ARNs), creates
it in moto together with the template's functions (so the ARNs in the definition resolve), and runs
executions::

    with mock_aws(), StateMachines(Functions(Template.load())).running() as machines:
        machines.provision()                       # the table, bucket and topic the definition uses
        result = machines.run("DrillStateMachine", {"source": "orders-db", "mode": "snapshot"})

While ``running()``:

- moto's Lambda ``invoke`` runs the real handler through ``Functions.invoke`` (template wiring,
  layers, environment); a handler exception becomes a function error whose ``errorType`` is the
  exception's class name, as in AWS;
- ``Wait`` states and ``Retry`` intervals do not sleep: they advance a ``VirtualClock`` (and, with
  ``simulate_time=True`` or a ``traveller``, shift the wall clock the handlers see with time-machine),
  so a drill that "waits" 90 minutes runs in a second. The deployed definition is unchanged;
- with ``queue_executions=True``, an execution a handler starts (``states:StartExecution``, e.g. the
  drill scheduler) is queued instead of running on its own thread; ``run_queued()`` then runs the
  queue one execution at a time, each from the (simulated) moment it really starts, so concurrent
  drills never share the virtual clock and every drill's RTO is its own.

``runner_for(template, functions)`` adapts this to the simulation's runner interface
(``local_runtime/statemachine_hook.py``).
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import threading
import time
import types
import uuid
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

import boto3

from .functions import Functions, Invocation
from .resources import provision_resources
from .template import REPO_ROOT

STATE_MACHINE_TYPES = ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine")
_ROLE_NAME = "restorable-local-runtime"
_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


class VirtualClock:
    """Simulated time spent in ``Wait`` states and retry intervals.

    ``listeners`` are called with the total simulated seconds after every advance (a benchmark uses
    this to finish a simulated restore after N minutes). With a time-machine traveller the wall clock
    the handlers read moves forward too.
    """

    def __init__(self) -> None:
        self.waited_seconds = 0.0
        self.waits: list[float] = []
        self.listeners: list[Callable[[float], None]] = []
        self._traveller: Any = None

    def advance(self, seconds: float) -> None:
        seconds = max(0.0, float(seconds))
        self.waited_seconds += seconds
        self.waits.append(seconds)
        if self._traveller is not None and seconds:
            self._traveller.shift(seconds)
        for listener in list(self.listeners):
            listener(self.waited_seconds)


@dataclass
class ExecutionResult:
    arn: str
    status: str
    input: Any
    output: Any = None
    error: str | None = None
    cause: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def state_transitions(self) -> int:
        """States entered (what Standard workflows bill, apart from retries)."""
        return sum(1 for event in self.history if str(event["type"]).endswith("StateEntered"))

    def states_entered(self) -> list[str]:
        return [
            event["stateEnteredEventDetails"]["name"]
            for event in self.history
            if str(event["type"]).endswith("StateEntered")
        ]

    def task_failures(self) -> list[dict[str, Any]]:
        return [
            event.get("taskFailedEventDetails") or event.get("lambdaFunctionFailedEventDetails") or {}
            for event in self.history
            if event["type"] in ("TaskFailed", "LambdaFunctionFailed")
        ]


class StateMachines:
    def __init__(self, functions: Functions, region: str | None = None) -> None:
        self.functions = functions
        self.template = functions.template
        self.region = region or self.template.region
        self.clock = VirtualClock()
        self._arns: dict[str, str] = {}
        self._function_by_name = {
            self.template.physical_name(logical_id): logical_id for logical_id in functions.names()
        }
        self.invocations: list[Invocation] = []
        self._queue_executions = False
        self._queued: list[Any] = []  # moto executions started by handlers, not yet run
        self._start_thread: Callable[[Any], None] = lambda execution: execution.start()
        self._threads: dict[str, list[threading.Thread]] = {}  # execution ARN -> the threads running it

    # ---- the definition, as the template wires it

    def names(self) -> list[str]:
        return sorted(k for k, v in self.template.resources.items() if v.get("Type") in STATE_MACHINE_TYPES)

    def definition(self, logical_id: str, overrides: Mapping[str, str] | None = None) -> str:
        """The ASL text with ``DefinitionSubstitutions`` resolved (plus ``overrides``)."""
        properties = self.template.resources[logical_id]["Properties"]
        path = REPO_ROOT / str(properties["DefinitionUri"])
        text = Path(path).read_text(encoding="utf-8")
        substitutions = {
            k: str(self.template.resolve(v)) for k, v in properties.get("DefinitionSubstitutions", {}).items()
        }
        substitutions.update(overrides or {})
        for name, value in substitutions.items():
            text = text.replace("${" + name + "}", value)
        leftover = [part.split("}")[0] for part in text.split("${")[1:]]
        if leftover:
            raise KeyError(f"{logical_id}: no substitution for {', '.join(sorted(set(leftover)))}")
        json.loads(text)
        return text

    # ---- moto set-up

    def provision(self) -> None:
        """Create the template's DynamoDB tables, S3 buckets and SNS topics in moto under their local names."""
        provision_resources(self.template, self.region)

    def _ensure_functions(self) -> None:
        iam = boto3.client("iam", region_name=self.region)
        try:
            role_arn = iam.get_role(RoleName=_ROLE_NAME)["Role"]["Arn"]
        except iam.exceptions.NoSuchEntityException:
            role_arn = iam.create_role(RoleName=_ROLE_NAME, AssumeRolePolicyDocument=json.dumps(_TRUST))["Role"]["Arn"]
        client = boto3.client("lambda", region_name=self.region)
        existing = {f["FunctionName"] for f in client.list_functions().get("Functions", [])}
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as bundle:
            bundle.writestr("app.py", "# runs in-process through local_runtime.functions\n")
        for name, logical_id in self._function_by_name.items():
            if name in existing:
                continue
            spec = self.functions.spec(logical_id)
            client.create_function(
                FunctionName=name,
                Runtime="python3.13",
                Role=role_arn,
                Handler=spec.handler,
                Code={"ZipFile": archive.getvalue()},
                Timeout=spec.timeout,
                MemorySize=spec.memory_mb,
            )

    def deploy(self, logical_id: str, overrides: Mapping[str, str] | None = None) -> str:
        """Create (or update) the state machine in moto; its ARN."""
        self._ensure_functions()
        client = boto3.client("stepfunctions", region_name=self.region)
        definition = self.definition(logical_id, overrides)
        name = self.template.physical_name(logical_id)
        role_arn = f"arn:aws:iam::{self.template.account_id}:role/{_ROLE_NAME}"
        machines = {m["name"]: m["stateMachineArn"] for m in client.list_state_machines()["stateMachines"]}
        if name in machines:
            client.update_state_machine(stateMachineArn=machines[name], definition=definition)
            arn = machines[name]
        else:
            arn = client.create_state_machine(name=name, definition=definition, roleArn=role_arn, type="STANDARD")[
                "stateMachineArn"
            ]
        self._arns[logical_id] = arn
        return arn

    # ---- executions

    def start(self, logical_id: str, execution_input: Any, name: str | None = None) -> str:
        arn = self._arns.get(logical_id) or self.deploy(logical_id)
        text = execution_input if isinstance(execution_input, str) else json.dumps(execution_input)
        with _threads_started() as started:
            execution_arn = boto3.client("stepfunctions", region_name=self.region).start_execution(
                stateMachineArn=arn, name=name or f"local-{uuid.uuid4().hex[:12]}", input=text
            )["executionArn"]
        self._threads[execution_arn] = started
        return str(execution_arn)

    def wait(self, execution_arn: str, timeout_seconds: float = 60.0) -> ExecutionResult:
        client = boto3.client("stepfunctions", region_name=self.region)
        deadline = time.monotonic() + timeout_seconds
        threads = self._threads.pop(execution_arn, [])
        while True:
            # The execution runs on moto's thread: wait for that thread to end rather than poll on a timer.
            for thread in threads:
                thread.join(max(0.0, deadline - time.monotonic()))
            described = client.describe_execution(executionArn=execution_arn)
            if described["status"] != "RUNNING":
                break
            if time.monotonic() > deadline:
                client.stop_execution(executionArn=execution_arn, error="LocalTimeout")
                raise TimeoutError(f"{execution_arn} still running after {timeout_seconds}s")
            threads = []
            time.sleep(0.01)
        history: list[dict[str, Any]] = []
        for page in client.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
            history.extend(dict(event) for event in page["events"])
        output = described.get("output")
        return ExecutionResult(
            arn=execution_arn,
            status=described["status"],
            input=json.loads(described.get("input") or "null"),
            output=json.loads(output) if output else None,
            error=described.get("error"),
            cause=described.get("cause"),
            history=history,
        )

    def run(
        self, logical_id: str, execution_input: Any, name: str | None = None, timeout_seconds: float = 60.0
    ) -> ExecutionResult:
        arn = self.start(logical_id, execution_input, name)
        for execution in [e for e in self._queued if e.exec_arn == arn]:  # the caller's own: run it now
            self._queued.remove(execution)
            self._launch(execution)
        return self.wait(arn, timeout_seconds)

    def run_queued(self, timeout_seconds: float = 60.0) -> list[ExecutionResult]:
        """Run the executions handlers started (``queue_executions=True``), one after another, in start order.

        Each starts at the current simulated time (its ``StartTime`` is set then), so one drill's waits
        never count in another's RTO.
        """
        results = []
        while self._queued:
            execution = self._queued.pop(0)
            self._launch(execution)
            results.append(self.wait(execution.exec_arn, timeout_seconds))
        return results

    def _launch(self, execution: Any) -> None:
        execution.start_date = datetime.now(UTC)
        with _threads_started() as started:
            self._start_thread(execution)
        self._threads[execution.exec_arn] = started

    # ---- the patches that make moto run the real handlers without Docker and without sleeping

    def _invoke(self, function: Any, body: str, request_headers: Any, response_headers: Any) -> bytes:
        logical_id = self._function_by_name.get(function.function_name)
        if logical_id is None:
            raise KeyError(f"{function.function_name} is not a function of the template")
        event = json.loads(body) if body else {}
        invocation = self.functions.invoke(logical_id, event)
        self.invocations.append(invocation)
        if invocation.error is not None:
            response_headers["x-amz-function-error"] = "Unhandled"
            payload: Any = {
                "errorType": type(invocation.error).__name__,
                "errorMessage": str(invocation.error),
                "stackTrace": [],
            }
        else:
            payload = invocation.payload
        return json.dumps(payload).encode()

    @contextlib.contextmanager
    def running(
        self,
        simulate_time: bool = False,
        start: datetime | None = None,
        *,
        traveller: Any = None,
        queue_executions: bool = False,
    ) -> Iterator[StateMachines]:
        """Inside an active moto mock: executions run the definitions, Lambda tasks run in-process.

        ``traveller``: a time-machine traveller already active (the simulation's); ``Wait`` states shift
        it. ``queue_executions``: executions started through the API wait for ``run_queued()``.
        """
        from moto.awslambda.models import LambdaFunction
        from moto.core.config import default_user_config
        from moto.stepfunctions.models import StateMachineInstance
        from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
        from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
        from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
        from moto.stepfunctions.parser.backend.execution import Execution

        machines = self

        def invoke(function: Any, body: str, request_headers: Any, response_headers: Any) -> bytes:
            return machines._invoke(function, body, request_headers, response_headers)

        def wait_interval(_: Any, env: Any, wait_seconds: int) -> None:
            machines.clock.advance(wait_seconds)

        def queue(execution: Any) -> None:
            machines._queued.append(execution)

        sleepless_time = types.SimpleNamespace(sleep=self.clock.advance, time=time.time)
        with contextlib.ExitStack() as stack:
            stack.enter_context(
                mock.patch.dict(default_user_config, {"stepfunctions": {"execute_state_machine": True}})
            )
            stack.enter_context(mock.patch.object(LambdaFunction, "invoke", invoke))
            stack.enter_context(
                mock.patch.object(lambda_eval_utils, "boto_client_for", _reused_task_client(lambda_eval_utils))
            )
            stack.enter_context(mock.patch.object(WaitFunction, "_wait_interval", wait_interval))
            stack.enter_context(mock.patch.object(retrier_decl, "time", sleepless_time))
            # moto deep-copies the state machine, past executions (threads, locks) included, on every start.
            stack.enter_context(
                mock.patch.object(StateMachineInstance, "__deepcopy__", _copy_without_executions, create=True)
            )
            if queue_executions:
                self._start_thread = Execution.start
                stack.enter_context(mock.patch.object(Execution, "start", queue))
            if traveller is not None:
                self.clock._traveller = traveller
            elif simulate_time:
                import time_machine

                self.clock._traveller = stack.enter_context(time_machine.travel(start or datetime.now(UTC), tick=True))
            try:
                yield self
            finally:
                self.clock._traveller = None
                self._queued.clear()


@contextlib.contextmanager
def _threads_started() -> Iterator[list[threading.Thread]]:
    """The threads moto's Step Functions started inside the block (an execution runs on its own)."""
    from moto.stepfunctions.parser.utils import TMP_THREADS

    before = {id(thread) for thread in TMP_THREADS}
    started: list[threading.Thread] = []
    try:
        yield started
    finally:
        started.extend(thread for thread in TMP_THREADS if id(thread) not in before)


def _reused_task_client(lambda_eval_utils: Any) -> Callable[..., Any]:
    """moto's interpreter builds a new Lambda client (models, event hooks) for every Lambda task, always
    the same one: its Region, fixed keys and Config (the state's credentials are not used to build it).
    While running, the one built first for a Region is used again."""
    from moto.core.models import botocore_stubber

    built = lambda_eval_utils.boto_client_for
    clients: dict[tuple[str, str, bool], Any] = {}
    lock = threading.Lock()

    def client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        key = (region, service, botocore_stubber.enabled)  # moto's endpoint depends on the last one
        with lock:
            if key not in clients:
                clients[key] = built(region=region, service=service, state_credentials=state_credentials)
            return clients[key]

    return client_for


def _copy_without_executions(machine: Any, memo: dict[int, Any]) -> Any:
    clone = machine.__class__.__new__(machine.__class__)
    memo[id(machine)] = clone
    for key, value in machine.__dict__.items():
        setattr(clone, key, [] if key == "executions" else copy.deepcopy(value, memo))
    return clone


@contextlib.contextmanager
def rds_endpoints_at(address: str) -> Iterator[None]:
    """Make moto report ``address`` as every DB instance's and cluster's endpoint (the port stays the
    database's own), so SQL checks reach a real local server."""
    from moto.rds.models import DBCluster, DBInstance

    with (
        mock.patch.object(DBInstance, "address", property(lambda self: address)),
        mock.patch.object(DBCluster, "endpoint", property(lambda self: address)),
    ):
        yield


class SimulationRunner:
    """The simulation's state machine runner (``statemachine_hook.StateMachineRunner``) on ``StateMachines``.

    While ``active``: every state machine of the template is deployed on moto, executions that handlers
    start are queued, and ``Wait`` states shift the simulation's clock.
    """

    def __init__(self, machines: StateMachines) -> None:
        self.machines = machines

    @contextlib.contextmanager
    def active(self, traveller: Any) -> Iterator[SimulationRunner]:
        with self.machines.running(traveller=traveller, queue_executions=True):
            for logical_id in self.machines.names():
                self.machines.deploy(logical_id)
            yield self

    def run(self, logical_id: str, execution_input: dict[str, Any]) -> dict[str, Any]:
        return self._outcome(self.machines.run(logical_id, execution_input))

    def run_started(self) -> list[dict[str, Any]]:
        return [self._outcome(result) for result in self.machines.run_queued()]

    def _outcome(self, result: ExecutionResult) -> dict[str, Any]:
        machine_name = result.arn.split(":")[-2]
        logical_id = next(
            (lid for lid in self.machines.names() if self.machines.template.physical_name(lid) == machine_name),
            machine_name,
        )
        started = next((e["timestamp"] for e in result.history if e["type"] == "ExecutionStarted"), None)
        return {
            "state_machine": logical_id,
            "execution": result.arn,
            "started_at": started.astimezone(UTC) if isinstance(started, datetime) else None,
            "status": result.status,
            # a failed execution has no output: its last state's output carries the drill's record
            "output": result.output if result.output is not None else last_state_output(result.history),
            "error": result.error,
            "cause": result.cause,
            "state_transitions": result.state_transitions,
        }


def last_state_output(history: list[dict[str, Any]]) -> Any:
    """The output of the last state that exited (JSON-decoded), or None."""
    for event in reversed(history):
        details = event.get("stateExitedEventDetails")
        if details and details.get("output"):
            try:
                return json.loads(details["output"])
            except ValueError:
                return None
    return None


def runner_for(template: Any, functions: Functions) -> SimulationRunner:
    """What ``statemachine_hook.connect_runner`` connects the simulation to."""
    return SimulationRunner(StateMachines(functions))
