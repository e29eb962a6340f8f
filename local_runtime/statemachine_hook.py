"""Integration point for running the template's state machines (restore drills) in the simulation.

The simulation reads every ``AWS::Serverless::StateMachine`` of the template and fires its
``ScheduleV2`` events like a function's. Executing a state machine is not this module's work:
issue 6 provides the runner in ``local_runtime/statemachines.py``. This module only states the
interface the simulation calls and finds an implementation if one is present.

INTEGRATION POINT (for the lead, after issue 6 is merged): make ``connect_runner`` return an
object with ``run(logical_id, execution_input) -> dict`` backed by issue 6's runner. The dict
the simulation expects (extra keys are kept and shown):

    {"status": "SUCCEEDED" | "FAILED" | ..., "output": {...}, "error": "..." (optional)}

Drill figures are read from ``output`` by name: any key containing ``rto`` or ``rpo`` (e.g.
``rto_seconds``, ``rpo_seconds``, ``rto_met``) is shown in the summary and the report.
If ``local_runtime.statemachines`` exposes ``runner_for(template, functions)`` returning such an
object, it is connected automatically.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any, Protocol

from .functions import Functions, ScheduleSpec
from .template import Template

STATE_MACHINE_TYPES = ("AWS::Serverless::StateMachine",)


class StateMachineRunner(Protocol):
    def run(self, logical_id: str, execution_input: dict[str, Any]) -> dict[str, Any]:
        """Run one execution to its end on the emulator and return its status and output."""
        ...


def state_machine_schedules(template: Template) -> list[ScheduleSpec]:
    """The ``ScheduleV2`` events of every state machine, as schedule specs (``function`` = state machine)."""
    schedules = []
    for logical_id, resource in template.resources.items():
        if resource.get("Type") not in STATE_MACHINE_TYPES:
            continue
        for name, event in resource.get("Properties", {}).get("Events", {}).items():
            if event.get("Type") != "ScheduleV2":
                continue
            properties = template.resolve(event.get("Properties", {}))
            schedules.append(
                ScheduleSpec(
                    function=logical_id,
                    name=name,
                    expression=properties["ScheduleExpression"],
                    timezone=properties.get("ScheduleExpressionTimezone", "UTC"),
                    input_template=properties.get("Input"),
                    enabled=properties.get("State", "ENABLED") == "ENABLED",
                )
            )
    return schedules


def connect_runner(template: Template, functions: Functions) -> StateMachineRunner | None:
    """Issue 6's runner when ``local_runtime.statemachines`` provides ``runner_for``; otherwise None."""
    if importlib.util.find_spec("local_runtime.statemachines") is None:
        return None
    module = importlib.import_module("local_runtime.statemachines")
    factory = getattr(module, "runner_for", None)
    if factory is None:
        return None
    runner: StateMachineRunner = factory(template, functions)
    return runner


def drill_figures(output: Any, prefix: str = "") -> dict[str, Any]:
    """Every value in ``output`` whose key names an RTO or RPO figure, flattened to dotted keys."""
    found: dict[str, Any] = {}
    if isinstance(output, dict):
        for key, value in output.items():
            path = f"{prefix}{key}"
            lowered = str(key).lower()
            if isinstance(value, dict):
                found.update(drill_figures(value, path + "."))
            elif "rto" in lowered or "rpo" in lowered:
                found[path] = value
    return found
