"""How the simulation runs the template's state machines (restore drills) on the emulator.

State machines start two ways in the template, and the simulation follows both:

- a ``ScheduleV2`` event of an ``AWS::Serverless::StateMachine`` starts it directly
  (``runner.run(logical_id, execution_input)``);
- a function starts it through ``states:StartExecution`` (the monthly ``DrillSchedulerFunction``
  does): after every invocation the simulation calls ``runner.run_started()``, which runs those
  executions to their end through the real definition on moto's Step Functions.

The runner (``local_runtime.statemachines.runner_for``) is entered for the whole period with the
simulation's time-machine traveller (``runner.active(traveller)``): ``Wait`` states move the
simulated clock instead of sleeping, so RTO and RPO are measured in simulated time. Each run
returns ``{"state_machine", "execution", "started_at", "status", "output", "error", "cause"}``;
``drill_figures`` reads the drill's result (outcome, RTO/RPO against targets, report) from ``output``.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Protocol

from .functions import Functions, ScheduleSpec
from .statemachines import runner_for
from .template import Template

STATE_MACHINE_TYPES = ("AWS::Serverless::StateMachine",)


class StateMachineRunner(Protocol):
    def active(self, traveller: Any) -> AbstractContextManager[Any]:
        """Entered for the whole simulated period, inside the simulation's time-machine ``traveller``."""
        ...

    def run(self, logical_id: str, execution_input: dict[str, Any]) -> dict[str, Any]:
        """Start one execution and run it to its end on the emulator; its status and output."""
        ...

    def run_started(self) -> list[dict[str, Any]]:
        """Run to their end, one after another, the executions handlers started since the last call."""
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
    """The runner on moto's Step Functions when the template has a state machine; otherwise None."""
    if not any(r.get("Type") in STATE_MACHINE_TYPES for r in template.resources.values()):
        return None
    runner: StateMachineRunner = runner_for(template, functions)
    return runner


def drill_figures(output: Any) -> dict[str, Any]:
    """A drill's result from its output (``plan`` + ``record``, see restorable.drills.steps.record).

    ``rto_seconds``/``rpo_seconds`` are None when not measured (e.g. the restore never finished).
    Another state machine's output gives every key naming an RTO or RPO figure instead.
    """
    if not isinstance(output, dict) or not isinstance(output.get("plan"), dict):
        return _rto_rpo_keys(output)
    plan, record = output["plan"], output.get("record") or {}
    targets = plan.get("targets") or {}
    figures = {
        "source": plan.get("source", {}).get("identifier"),
        "mode": plan.get("mode"),
        "region": plan.get("region"),
        "outcome": record.get("outcome", "not recorded"),
        "rto_seconds": record.get("rto_seconds"),
        "rto_target_seconds": targets.get("rto_seconds"),
        "rpo_seconds": record.get("rpo_seconds"),
        "rpo_target_seconds": targets.get("rpo_seconds"),
        "reasons": list(record.get("reasons") or []),
        "report": (record.get("report") or {}).get("markdown"),
        "cleanup": (output.get("cleanup") or {}).get("result"),
    }
    return figures


def _rto_rpo_keys(output: Any, prefix: str = "") -> dict[str, Any]:
    found: dict[str, Any] = {}
    if isinstance(output, dict):
        for key, value in output.items():
            path = f"{prefix}{key}"
            lowered = str(key).lower()
            if isinstance(value, dict):
                found.update(_rto_rpo_keys(value, path + "."))
            elif "rto" in lowered or "rpo" in lowered:
                found[path] = value
    return found
