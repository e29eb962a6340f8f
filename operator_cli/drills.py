"""Restore drills from the command line, the pure part: the request (validated by the drill's own
model), the execution name, progress from the execution history, and the result's summary."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from restorable.drills.plan import DrillRequest, parse_drill_request

MAX_EXECUTION_NAME = 80


def drill_input(
    source: str,
    mode: str,
    *,
    kind: str | None = None,
    snapshot: str | None = None,
    restore_time: str | None = None,
    instance_class: str | None = None,
    checks: Mapping[str, Any] | None = None,
    rto_seconds: int | None = None,
    rpo_seconds: int | None = None,
) -> DrillRequest:
    """The state machine's input, validated exactly as the drill's validate step will
    (``InvalidRequestError`` names every problem)."""
    body: dict[str, Any] = {"source": source, "mode": mode}
    if kind is not None or snapshot is not None:
        body["snapshot"] = {k: v for k, v in (("kind", kind), ("identifier", snapshot)) if v is not None}
    if restore_time is not None:
        body["restore_time"] = restore_time
    if instance_class is not None:
        body["instance_class"] = instance_class
    if checks:
        body["checks"] = dict(checks)
    targets = {k: v for k, v in (("rto_seconds", rto_seconds), ("rpo_seconds", rpo_seconds)) if v is not None}
    if targets:
        body["targets"] = targets
    return parse_drill_request(body)


def source_identifier(source: str) -> str:
    """``orders-db`` from ``orders-db`` or ``arn:aws:rds:...:db:orders-db`` (``:cluster:`` too)."""
    return source.rsplit(":", 1)[-1] if source.startswith("arn:") else source


def execution_name(source: str, now: datetime) -> str:
    """``cli-{source}-{UTC time}``: unique per second, within Step Functions' 80 characters."""
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    stem = re.sub(r"[^A-Za-z0-9-]", "-", source_identifier(source))
    room = MAX_EXECUTION_NAME - len("cli--") - len(stamp)
    return f"cli-{stem[:room]}-{stamp}"


@dataclass(frozen=True)
class StateProgress:
    name: str
    entered_seconds: float  # since the execution started
    exited_seconds: float | None
    failed: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.name,
            "entered_seconds": round(self.entered_seconds, 1),
            "exited_seconds": None if self.exited_seconds is None else round(self.exited_seconds, 1),
            "failed": self.failed,
        }


def progress(history: Sequence[Mapping[str, Any]]) -> list[StateProgress]:
    """States in the order entered, with their offsets from the start (GetExecutionHistory events)."""
    start = next((e["timestamp"] for e in history if e.get("type") == "ExecutionStarted"), None)
    if start is None:
        return []
    states: list[StateProgress] = []
    for event in history:
        offset = (event["timestamp"] - start).total_seconds()
        entered = event.get("stateEnteredEventDetails")
        exited = event.get("stateExitedEventDetails")
        failed = event.get("taskFailedEventDetails") or event.get("lambdaFunctionFailedEventDetails")
        if entered:
            states.append(StateProgress(name=entered["name"], entered_seconds=offset, exited_seconds=None))
        elif exited:
            for index in range(len(states) - 1, -1, -1):
                if states[index].name == exited["name"] and states[index].exited_seconds is None:
                    states[index] = replace(states[index], exited_seconds=offset)
                    break
        elif failed:
            open_states = [i for i, s in enumerate(states) if s.exited_seconds is None]
            if open_states:
                states[open_states[-1]] = replace(states[open_states[-1]], failed=str(failed.get("error")))
    return sorted(states, key=lambda state: state.entered_seconds)


def last_state_output(history: Sequence[Mapping[str, Any]]) -> Any:
    """The output of the last state that exited: a failed execution's drill state."""
    for event in reversed(history):
        details = event.get("stateExitedEventDetails")
        if details and details.get("output"):
            try:
                return json.loads(details["output"])
            except ValueError:
                return None
    return None


def summary(execution: Mapping[str, Any], output: Any) -> dict[str, Any]:
    """What the operator reads at the end: verdict, RTO/RPO against targets, the report's location."""
    plan = output.get("plan", {}) if isinstance(output, dict) else {}
    record = (output.get("record") or {}) if isinstance(output, dict) else {}
    targets = plan.get("targets") or {}
    report = record.get("report") or {}
    outcome = record.get("outcome")
    if outcome is None:
        outcome = "failed" if execution.get("status") in ("FAILED", "TIMED_OUT", "ABORTED") else "not recorded"
    reasons = list(record.get("reasons") or [])
    if not record and execution.get("error"):
        reasons.append(f"{execution.get('error')}: {execution.get('cause') or ''}".strip())
    return {
        "execution": execution.get("executionArn"),
        "status": execution.get("status"),
        "source": (plan.get("source") or {}).get("identifier"),
        "mode": plan.get("mode"),
        "region": plan.get("region"),
        "recovery_point": (plan.get("recovery_point") or {}).get("identifier") or plan.get("restore_time"),
        "outcome": outcome,
        "reasons": reasons,
        "rto_seconds": record.get("rto_seconds"),
        "rto_target_seconds": targets.get("rto_seconds"),
        "rpo_seconds": record.get("rpo_seconds"),
        "rpo_target_seconds": targets.get("rpo_seconds"),
        "report": {"json": report.get("json"), "markdown": report.get("markdown")},
    }
