"""Count the AWS API calls a handler makes, with a botocore event hook on the default session."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3

from local_runtime.functions import Functions
from restorable.adapters import clients


@contextmanager
def count_api_calls() -> Iterator[Counter[str]]:
    calls: Counter[str] = Counter()

    def record(event_name: str, **_: Any) -> None:
        # before-call.<service>.<Operation>
        _, service, operation = event_name.split(".", 2)
        calls[f"{service}:{operation}"] += 1

    session = boto3._get_default_session()
    session.events.register("before-call.*.*", record, unique_id="bench-count-calls")
    clients.reset()  # handlers' kept clients copied the session's hooks when built: rebuild them with this one
    try:
        yield calls
    finally:
        session.events.unregister("before-call.*.*", unique_id="bench-count-calls")


@dataclass(frozen=True)
class MeasuredInvocation:
    payload: Any
    calls: Counter[str]
    seconds: float

    def figures(self) -> dict[str, Any]:
        """API calls in all, by operation, and wall time on moto."""
        return {
            "api_calls": sum(self.calls.values()),
            "by_operation": dict(sorted(self.calls.items())),
            "wall_seconds_on_moto": round(self.seconds, 2),
        }


def measure_invocation(functions: Functions, logical_id: str, event: Any) -> MeasuredInvocation:
    """Invoke a function through the template wiring, counting its AWS calls and timing it."""
    with count_api_calls() as calls:
        started = time.perf_counter()
        payload = functions.invoke(logical_id, event).result()
        seconds = time.perf_counter() - started
    return MeasuredInvocation(payload, calls, seconds)
