"""Every drill step checks the state it receives, through the handlers the template declares."""

from __future__ import annotations

from typing import Any

import pytest

from restorable.errors import InvalidRequestError
from tests.drills.conftest import DrillWorld


@pytest.mark.parametrize(
    ("function", "event", "named"),
    [
        ("DrillFunction", {"step": "restore"}, "step 'restore' needs the drill state"),
        ("DrillFunction", {"step": "poll", "drill": {}}, "plan: Field required"),
        ("DrillFunction", {"step": "cleanup", "drill": {"plan": {}}}, "plan.target: Field required"),
        ("DrillFunction", {"step": "record", "drill": {"plan": {"mode": "weekly"}}}, "plan.mode: Input should be"),
        ("DrillFunction", {"step": "validate", "input": {"source": "x", "mode": "pitr"}}, "needs the execution id"),
        (
            "DrillFunction",
            {"step": "validate", "execution_id": "arn:aws:states:us-east-1:123456789012:stateMachine:x"},
            "execution_id: arn:aws:states:us-east-1:123456789012:stateMachine:x is not a Step Functions execution",
        ),
        ("DrillCheckFunction", {"step": "check", "drill": {"plan": {}}}, "plan.execution_id: Field required"),
    ],
)
def test_a_partial_state_names_the_missing_field(
    world: DrillWorld, function: str, event: dict[str, Any], named: str
) -> None:
    invocation = world.machines.functions.invoke(function, event)
    assert isinstance(invocation.error, InvalidRequestError), invocation.error
    assert named in str(invocation.error)
    assert world.restores() == []
