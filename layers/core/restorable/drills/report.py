"""The drill report an auditor reads: one JSON document and the same content as Markdown."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import JsonValue

from .plan import parse_time
from .state import DrillState, PollState
from .verdict import Verdict

REPORT_VERSION = 1
_STEPS = (
    ("started_at", "drill started"),
    ("validated_at", "input validated"),
    ("restore_started_at", "restore started"),
    ("available_at", "temporary database available"),
    ("checked_at", "checks finished"),
    ("cleaned_up_at", "temporary resources deleted"),
    ("finished_at", "drill recorded"),
)


def report_document(state: DrillState, verdict: Verdict) -> dict[str, JsonValue]:
    plan = state.plan
    timeline = state.timeline
    started = parse_time(timeline.started_at)
    steps: list[JsonValue] = []
    for key, label in _STEPS:
        moment: str | None = getattr(timeline, key)
        at = parse_time(moment)
        if at is not None:
            offset = round((at - started).total_seconds(), 3) if started else None
            steps.append({"step": key.removesuffix("_at"), "label": label, "at": moment, "offset_seconds": offset})
    poll = state.poll or PollState()
    cleanup: JsonValue = (
        state.cleanup.to_json()
        if state.cleanup is not None
        else {"error": state.cleanup_error.to_json() if state.cleanup_error else None}
    )
    return {
        "report_version": REPORT_VERSION,
        "outcome": verdict.outcome,
        "reasons": list(verdict.reasons),
        "execution_id": plan.execution_id,
        "mode": plan.mode.value,
        "region": plan.region,
        "source": plan.source.to_json(),
        "recovery_point": plan.recovery_point.to_json(),
        "temporary_database": {**plan.target.to_json(), "tags": dict(plan.tags)},
        "measures": {
            "rto_seconds": verdict.rto_seconds,
            "rto_target_seconds": plan.targets.rto_seconds,
            "rpo_seconds": verdict.rpo_seconds,
            "rpo_target_seconds": plan.targets.rpo_seconds,
            "data_rpo_seconds": verdict.data_rpo_seconds,
            "recovery_point_time": plan.recovery_point_time,
            "targeted_time": plan.targeted_time,
            "status_polls": poll.attempt,
            "rto_resolution_seconds": poll.resolution_seconds,
        },
        "steps": steps,
        "checks": [result.to_json() for result in state.checks.results] if state.checks else [],
        "cleanup": cleanup,
        "error": state.error.to_json() if state.error else None,
    }


def _value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.0f}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def render_markdown(document: Mapping[str, Any]) -> str:
    measures = document["measures"]
    source = document["source"]
    point = document["recovery_point"]
    lines = [
        f"# Restore drill of {source['identifier']}: {document['outcome'].upper()}",
        "",
        f"- Execution: `{document['execution_id']}`",
        f"- Mode: {document['mode']} in {document['region']}",
        f"- Source: `{source['arn']}` ({' '.join(filter(None, (source['engine'], source['engine_version'])))})",
        f"- Recovery point: {point.get('identifier') or point['type']} ({measures['recovery_point_time']})",
        f"- Temporary {document['temporary_database']['type']}: `{document['temporary_database']['identifier']}`",
        "",
        "## RTO and RPO",
        "",
        "| measure | value (s) | target (s) |",
        "|---|---|---|",
        f"| RTO (start to available and validated) | {_value(measures['rto_seconds'])} "
        f"| {_value(measures['rto_target_seconds'])} |",
        f"| poll resolution (available at most this long before seen) | {_value(measures['rto_resolution_seconds'])} "
        "| - |",
        f"| RPO (recovery point to targeted time) | {_value(measures['rpo_seconds'])} "
        f"| {_value(measures['rpo_target_seconds'])} |",
        f"| data RPO (freshness query) | {_value(measures['data_rpo_seconds'])} | - |",
        "",
    ]
    if document["reasons"]:
        lines += ["## Why it failed", "", *[f"- {_value(reason)}" for reason in document["reasons"]], ""]
    lines += ["## Steps", "", "| step | at | seconds after start |", "|---|---|---|"]
    lines += [f"| {s['label']} | {s['at']} | {_value(s['offset_seconds'])} |" for s in document["steps"]]
    lines += ["", "## Checks", "", "| check | kind | status | detail |", "|---|---|---|---|"]
    lines += [
        f"| {_value(c.get('name'))} | {_value(c.get('kind'))} | {_value(c.get('status'))} | {_value(c.get('detail'))} |"
        for c in document["checks"]
    ] or ["| - | - | not run | - |"]
    cleanup = document["cleanup"] or {}
    lines += ["", "## Cleanup", "", f"- {_value(cleanup.get('target'))}: {_value(cleanup.get('result'))}"]
    if cleanup.get("error"):
        lines.append(f"- cleanup error: {_value(cleanup['error'].get('Cause'))} (the janitor deletes it after expiry)")
    return "\n".join(lines) + "\n"
