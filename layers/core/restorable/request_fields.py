"""Field types shared by every request model: strict booleans and bounded event times.

A request comes from a schedule, an RDS event, a pipeline or a person, and each field is read
the one way a careful operator would expect: a boolean is JSON ``true`` or ``false`` and
nothing else (``"false"``, ``"n"`` or ``1`` are rejected, never read as "do it for real"), and a
time is an ISO-8601 string with a time zone, close to the clock. A schedule's
``scheduled_time`` may be late (retries, a replay from the dead-letter queue) but not by more
than ``MAX_EVENT_LATENESS``, and never ahead of the clock by more than ``MAX_EVENT_EARLINESS``
(clock skew): a year-2190 or year-1 time is rejected before anything is created.

The clock is the ``now`` passed in the validation context, or the current time.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import PlainValidator, StrictBool, ValidationInfo

MAX_EVENT_LATENESS = timedelta(days=7)
MAX_EVENT_EARLINESS = timedelta(minutes=15)

_EVENT_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?([Zz]|[+-]\d{2}:?\d{2})$")

_NAIVE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?$")


def clock_from(info: ValidationInfo | None) -> datetime:
    """The validation context's ``now`` (the injected clock), or the current time."""
    context = info.context if info is not None else None
    now = context.get("now") if isinstance(context, dict) else None
    if isinstance(now, datetime):
        return now
    return datetime.now(UTC)


def parse_event_time(value: object, now: datetime) -> datetime:
    """An aware UTC time within the allowed window around ``now``; ``ValueError`` saying why not."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        text = value.strip()
        if _NAIVE_TIME.match(text):
            raise ValueError(f"{value[:40]!r} must carry a time zone (e.g. 2026-11-22T02:00:00Z)")
        if not _EVENT_TIME.match(text):
            raise ValueError(f"{value[:40]!r} is not an ISO-8601 time with a time zone (e.g. 2026-11-22T02:00:00Z)")
        try:
            moment = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValueError(f"{value[:40]!r} is not a valid time: {exc}") from None
    else:
        raise ValueError(
            f"must be an ISO-8601 time string (e.g. 2026-11-22T02:00:00Z), not {type(value).__name__} {value!r:.40}"
        )
    if moment.tzinfo is None:
        raise ValueError("must carry a time zone (e.g. 2026-11-22T02:00:00Z)")
    try:
        moment = moment.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError(f"{moment.isoformat()} is out of range") from None
    if moment < now - MAX_EVENT_LATENESS:
        raise ValueError(
            f"{moment.isoformat()} is more than {MAX_EVENT_LATENESS.days} days before the clock ({now.isoformat()}); "
            "a schedule that late is not replayed, the next run reconciles"
        )
    if moment > now + MAX_EVENT_EARLINESS:
        raise ValueError(
            f"{moment.isoformat()} is in the future (clock {now.isoformat()}, "
            f"at most {int(MAX_EVENT_EARLINESS.total_seconds() // 60)} minutes of skew allowed)"
        )
    return moment


def _validate_event_time(value: Any, info: ValidationInfo) -> datetime:
    return parse_event_time(value, clock_from(info))


# A scheduled or requested time: an ISO-8601 string with a zone, near the clock.
EventTime = Annotated[datetime, PlainValidator(_validate_event_time)]

__all__ = ["MAX_EVENT_EARLINESS", "MAX_EVENT_LATENESS", "EventTime", "StrictBool", "clock_from", "parse_event_time"]
