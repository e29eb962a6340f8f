"""Invoke a function exactly as ``template.yaml`` wires it, in this process.

``Functions(template).invoke("SnapshotFunction", event)`` imports the handler named by
``Handler`` from ``CodeUri`` with the template's layers on the path and the function's
merged environment (Globals + its own), calls it with a Lambda-like context, and returns
the payload together with the structured log lines and EMF metrics it printed.
Schedules come from the function's ``ScheduleV2`` events with their ``Input``.
"""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import io
import json
import os
import sys
import threading
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from .template import REPO_ROOT, Template

SERVERLESS_FUNCTION = "AWS::Serverless::Function"
# Powertools settings for running outside Lambda: no X-Ray daemon here.
LOCAL_ENVIRONMENT = {"POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_DEV": "false"}


@dataclass(frozen=True)
class ScheduleSpec:
    """A ``ScheduleV2`` event of a function."""

    function: str
    name: str
    expression: str
    timezone: str
    input_template: str | None
    enabled: bool = True

    def event_for(self, scheduled_time: datetime, attempt: int = 1) -> dict[str, Any]:
        """The payload EventBridge Scheduler would deliver for the firing at ``scheduled_time``."""
        if self.input_template is None:
            return {}
        text = (
            self.input_template.replace(
                "<aws.scheduler.scheduled-time>", scheduled_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            )
            .replace("<aws.scheduler.execution-id>", str(uuid.uuid4()))
            .replace("<aws.scheduler.attempt-number>", str(attempt))
            .replace(
                "<aws.scheduler.schedule-arn>", f"arn:aws:scheduler:local:schedule/default/{self.function}-{self.name}"
            )
        )
        return dict(json.loads(text))


@dataclass(frozen=True)
class RuleSpec:
    """An EventBridge rule event (``EventBridgeRule`` / ``CloudWatchEvent``) of a function."""

    function: str
    name: str
    pattern: dict[str, Any]
    input_path: str | None = None


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    handler: str
    code_uri: Path
    layer_dirs: tuple[Path, ...]
    environment: dict[str, str]
    timeout: int
    memory_mb: int
    schedules: tuple[ScheduleSpec, ...]
    rules: tuple[RuleSpec, ...]

    @property
    def module_path(self) -> Path:
        module, _, _ = self.handler.rpartition(".")
        return self.code_uri / (module.replace(".", "/") + ".py")

    @property
    def handler_name(self) -> str:
        return self.handler.rpartition(".")[2]


@dataclass
class Invocation:
    """What one invocation returned and printed (``output``; sorted into ``logs``, ``metrics`` and
    ``other_output`` when first asked: most invocations' output is never read)."""

    function: str
    payload: Any = None
    error: BaseException | None = None
    output: str = ""
    _sorted: tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]] | None = field(default=None, repr=False)

    @property
    def logs(self) -> list[dict[str, Any]]:
        """The structured log lines printed (JSON objects without ``_aws``)."""
        return self._sort()[0]

    @property
    def metrics(self) -> list[dict[str, Any]]:
        """The EMF blobs printed (JSON objects with ``_aws``)."""
        return self._sort()[1]

    @property
    def other_output(self) -> list[str]:
        """Every other line printed."""
        return self._sort()[2]

    def _sort(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
        if self._sorted is None:
            self._sorted = _sort_output(self.output)
        return self._sorted

    def result(self) -> Any:
        """The payload, or the handler's exception re-raised."""
        if self.error is not None:
            raise self.error
        return self.payload

    def metric_values(self) -> dict[str, float]:
        """Metric name to value, summed over the EMF blobs printed."""
        totals: dict[str, float] = {}
        for blob in self.metrics:
            for directive in blob.get("_aws", {}).get("CloudWatchMetrics", []):
                for metric in directive.get("Metrics", []):
                    value: Any = blob.get(metric["Name"], 0)
                    values: list[Any] = value if isinstance(value, list) else [value]
                    total = sum((float(v) for v in values), 0.0)
                    totals[metric["Name"]] = totals.get(metric["Name"], 0.0) + total
        return totals


@dataclass
class LambdaContext:
    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    aws_request_id: str
    log_group_name: str = ""
    log_stream_name: str = "local"
    function_version: str = "$LATEST"
    _deadline_ms: int = 0

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(datetime.now(UTC).timestamp() * 1000))


class _StdoutRouter(io.TextIOBase):
    """Stand-in for ``sys.stdout`` during invocations.

    Powertools' Logger keeps the stream it saw when first created, so the same router
    object is installed for every invocation and sends lines to the current capture.
    """

    def __init__(self) -> None:
        self._local = threading.local()

    @contextlib.contextmanager
    def capture(self) -> Iterator[list[str]]:
        lines: list[str] = []
        previous = getattr(self._local, "buffer", None)
        self._local.buffer = lines
        try:
            yield lines
        finally:
            self._local.buffer = previous

    def write(self, text: str) -> int:
        buffer = getattr(self._local, "buffer", None)
        if buffer is None:
            return sys.__stdout__.write(text) if sys.__stdout__ else len(text)
        buffer.append(text)
        return len(text)

    def flush(self) -> None:
        return None


_ROUTER = _StdoutRouter()
_ENV_LOCK = threading.RLock()


class Functions:
    """The functions of a template, invocable in-process."""

    def __init__(
        self, template: Template, extra_environment: Mapping[str, str] | None = None, *, warm: bool = False
    ) -> None:
        """``warm=True`` reuses a handler module between invocations whose environment is the
        same (a warm Lambda container); the default imports it afresh every time (a cold start)."""
        self.template = template
        self.extra_environment = dict(extra_environment or {})
        self.warm = warm
        self._warm_modules: dict[str, tuple[tuple[tuple[str, str], ...], ModuleType]] = {}
        self._specs = {spec.logical_id: spec for spec in self._read_specs()}

    def names(self) -> list[str]:
        return sorted(self._specs)

    def spec(self, logical_id: str) -> FunctionSpec:
        if logical_id not in self._specs:
            raise KeyError(f"template has no function {logical_id}; it has {', '.join(self.names())}")
        return self._specs[logical_id]

    def schedules(self) -> list[ScheduleSpec]:
        return [schedule for spec in self._specs.values() for schedule in spec.schedules]

    def rules(self) -> list[RuleSpec]:
        return [rule for spec in self._specs.values() for rule in spec.rules]

    def _read_specs(self) -> Iterator[FunctionSpec]:
        template = self.template
        globals_ = template.document.get("Globals", {}).get("Function", {})
        for logical_id, resource in template.resources.items():
            if resource.get("Type") != SERVERLESS_FUNCTION:
                continue
            condition = resource.get("Condition")
            if condition and not template.conditions.get(condition):
                continue  # not deployed with these parameters (ExportFunction without DrExportBucket)
            properties = resource.get("Properties", {})
            merged = _merge_globals(globals_, properties)
            environment = {
                key: _env_value(template.resolve(value))
                for key, value in merged.get("Environment", {}).get("Variables", {}).items()
            }
            layer_dirs = tuple(self._layer_dir(layer) for layer in merged.get("Layers", []))
            schedules, rules = [], []
            for name, event in properties.get("Events", {}).items():
                event_properties = template.resolve(event.get("Properties", {}))
                if event["Type"] == "ScheduleV2":
                    schedules.append(
                        ScheduleSpec(
                            function=logical_id,
                            name=name,
                            expression=event_properties["ScheduleExpression"],
                            timezone=event_properties.get("ScheduleExpressionTimezone", "UTC"),
                            input_template=event_properties.get("Input"),
                            enabled=event_properties.get("State", "ENABLED") == "ENABLED",
                        )
                    )
                elif event["Type"] in ("EventBridgeRule", "CloudWatchEvent"):
                    rules.append(
                        RuleSpec(
                            function=logical_id,
                            name=name,
                            pattern=event_properties["Pattern"],
                            input_path=event_properties.get("InputPath"),
                        )
                    )
            yield FunctionSpec(
                logical_id=logical_id,
                handler=template.resolve(merged["Handler"]),
                code_uri=(REPO_ROOT / template.resolve(merged["CodeUri"])).resolve(),
                layer_dirs=layer_dirs,
                environment=environment,
                timeout=int(merged.get("Timeout", 3)),
                memory_mb=int(merged.get("MemorySize", 128)),
                schedules=tuple(schedules),
                rules=tuple(rules),
            )

    def _layer_dir(self, layer: Any) -> Path:
        if not (isinstance(layer, dict) and "Ref" in layer):
            raise ValueError(f"only layers of this template (!Ref) can run locally, got {layer!r}")
        resource = self.template.resources[layer["Ref"]]
        return (REPO_ROOT / str(resource["Properties"]["ContentUri"])).resolve()

    def environment(self, logical_id: str) -> dict[str, str]:
        spec = self.spec(logical_id)
        return {
            **spec.environment,
            "AWS_REGION": self.template.region,
            "AWS_DEFAULT_REGION": self.template.region,
            **LOCAL_ENVIRONMENT,
            **self.extra_environment,
        }

    def invoke(self, logical_id: str, event: Any, environment: Mapping[str, str] | None = None) -> Invocation:
        """Run the handler once with ``event``; exceptions are caught into ``Invocation.error``."""
        spec = self.spec(logical_id)
        invocation = Invocation(function=logical_id)
        env = {**self.environment(logical_id), **(environment or {})}
        context = LambdaContext(
            function_name=f"{self.template.stack_name}-{logical_id}",
            memory_limit_in_mb=spec.memory_mb,
            invoked_function_arn=f"arn:aws:lambda:{self.template.region}:{self.template.account_id}:function:{self.template.stack_name}-{logical_id}",
            aws_request_id=str(uuid.uuid4()),
            _deadline_ms=int(datetime.now(UTC).timestamp() * 1000) + spec.timeout * 1000,
        )
        with _ENV_LOCK, _patched_environment(env), _on_path(spec.layer_dirs), _ROUTER.capture() as lines:
            saved_stdout = sys.stdout
            sys.stdout = _ROUTER
            try:
                module = self._module(spec, env)
                handler = getattr(module, spec.handler_name)
                invocation.payload = json.loads(json.dumps(handler(copy.deepcopy(event), context), default=str))
            except Exception as exc:  # the caller inspects invocation.error
                invocation.error = exc
            finally:
                sys.stdout = saved_stdout
        invocation.output = "".join(lines)
        return invocation

    def _module(self, spec: FunctionSpec, environment: Mapping[str, str]) -> ModuleType:
        if not self.warm:
            return _load_module(spec)
        key = tuple(sorted(environment.items()))
        cached = self._warm_modules.get(spec.logical_id)
        if cached is not None and cached[0] == key:
            return cached[1]
        module = _load_module(spec)
        self._warm_modules[spec.logical_id] = (key, module)
        return module


def _merge_globals(globals_: Mapping[str, Any], properties: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(globals_)
    for key, value in properties.items():
        if key == "Environment":
            variables = {**globals_.get("Environment", {}).get("Variables", {}), **value.get("Variables", {})}
            merged["Environment"] = {"Variables": variables}
        elif key == "Layers":
            merged["Layers"] = [*globals_.get("Layers", []), *value]
        else:
            merged[key] = value
    return merged


def _env_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _load_module(spec: FunctionSpec) -> ModuleType:
    """Import the handler module fresh (a cold start), under a name unique to the function."""
    name = f"_restorable_function_{spec.logical_id}"
    module_spec = importlib.util.spec_from_file_location(name, spec.module_path)
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f"cannot load {spec.module_path}")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    module_spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def _patched_environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


@contextlib.contextmanager
def _on_path(directories: tuple[Path, ...]) -> Iterator[None]:
    added = [str(d) for d in directories if str(d) not in sys.path]
    sys.path[:0] = added
    try:
        yield
    finally:
        for directory in added:
            sys.path.remove(directory)


def _sort_output(text: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """Printed text into (structured log lines, EMF blobs, other lines)."""
    logs: list[dict[str, Any]] = []
    metrics: list[dict[str, Any]] = []
    other: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            other.append(line)
            continue
        if isinstance(record, dict) and "_aws" in record:
            metrics.append(record)
        elif isinstance(record, dict):
            logs.append(record)
        else:
            other.append(line)
    return logs, metrics, other
