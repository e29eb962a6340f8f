"""RDS events as EventBridge delivers them, and the one policy for events a function does not handle.

An RDS event only says "reconcile this scope now"; it is never the evidence itself, and the
periodic pass reconciles everything anyway. So an event a function does not handle (another
source, detail-type or EventID, a malformed detail, a resource in another Region or account)
is ignored with a reason: a WARNING line and an ``IgnoredEvents`` metric, no error. Raising
would only make EventBridge's asynchronous invocation retry the same event twice and then drop
it, and it would make the function's error alarm fire for something no retry can change.
A direct invocation (a schedule's or an operator's request) still fails on bad input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

RDS_SOURCE = "aws.rds"


@dataclass(frozen=True)
class IgnoredEvent:
    """Why an event was not acted on; ``event_id`` and ``detail_type`` when the event had them."""

    reason: str
    event_id: str | None = None
    detail_type: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"ignored": self.reason}
        if self.event_id:
            data["event_id"] = self.event_id
        return data

    def log_fields(self) -> dict[str, Any]:
        return {"reason": self.reason, "event_id": self.event_id, "detail_type": self.detail_type}


def is_eventbridge_event(event: object) -> bool:
    """Whether ``event`` has EventBridge's shape (what a rule delivers), not a request's."""
    return isinstance(event, dict) and ("detail-type" in event or "source" in event or "detail" in event)


def text_field(value: object) -> str | None:
    return value if isinstance(value, str) else None
