"""The drill's verdict: every check passed, RTO and RPO within target, nothing left behind."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from .plan import DRILL_FAILED, DRILL_PASSED, parse_time
from .state import DrillState


@dataclass(frozen=True)
class Verdict:
    outcome: Literal["passed", "failed"]
    reasons: tuple[str, ...]
    rto_seconds: float | None
    rpo_seconds: float | None
    data_rpo_seconds: float | None


def judge(state: DrillState) -> Verdict:
    """The drill's outcome from its state. RTO runs from the drill's start to the moment the checks
    finished on an available database; the verdict does not depend on when it is written."""
    plan = state.plan
    reasons: list[str] = []
    error = state.error
    if error is not None:
        reasons.append(f"{error.Error}: {cause_text(error.Cause)}")

    checks = state.checks
    validated_at = parse_time(checks.finished_at) if checks is not None else None
    rto = (validated_at - plan.started).total_seconds() if validated_at and error is None else None
    rto_target = plan.targets.rto_seconds
    if rto is not None and rto > rto_target:
        reasons.append(f"RTO {rto:.0f}s exceeds the target {rto_target}s")
    if rto is None and error is None:
        reasons.append("the restored database was never validated")

    for result in checks.results if checks is not None else []:
        if not result.passed:
            reasons.append(f"check {result.name} {result.status}: {result.detail}".strip())

    rpo = max(0.0, (plan.targeted - plan.recovery_point_moment).total_seconds())
    rpo_target = plan.targets.rpo_seconds
    if rpo_target is not None and rpo > rpo_target:
        reasons.append(f"RPO {rpo:.0f}s exceeds the target {rpo_target}s")
    data_rpo = checks.data_rpo_seconds if checks is not None else None

    if state.cleanup_error is not None:
        reasons.append(f"cleanup failed: {cause_text(state.cleanup_error.Cause)}; the janitor retries")
    elif state.cleanup is not None and state.cleanup.remaining:
        reasons.append(f"cleanup left {', '.join(state.cleanup.remaining)}")
    return Verdict(
        outcome=DRILL_FAILED if reasons else DRILL_PASSED,
        reasons=tuple(reasons),
        rto_seconds=None if rto is None else round(rto, 3),
        rpo_seconds=round(rpo, 3),
        data_rpo_seconds=None if data_rpo is None else float(data_rpo),
    )


def cause_text(cause: str | None) -> str:
    """Step Functions puts a Lambda error's JSON (errorMessage, errorType...) in Cause: show the message."""
    if cause is None:
        return "None"
    try:
        parsed = json.loads(cause)
    except json.JSONDecodeError:
        return cause
    if isinstance(parsed, dict) and "errorMessage" in parsed:
        return str(parsed["errorMessage"])
    return cause
