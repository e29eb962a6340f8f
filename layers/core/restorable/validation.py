"""One way to turn a pydantic ``ValidationError`` into the message a caller reads.

Every problem is listed with the dotted path of its field (``targets.0``, ``scheduled_time``)
and pydantic's description; the offending value is never echoed, so a secret that reached a
wrong field does not reach a log line or an error response.
"""

from __future__ import annotations

from pydantic import ValidationError


def describe_problems(error: ValidationError, *, top: str = "event") -> str:
    """``field.path: message; ...`` for every problem; ``top`` names a problem of the whole input."""
    return "; ".join(f"{'.'.join(str(p) for p in item['loc']) or top}: {item['msg']}" for item in error.errors())
