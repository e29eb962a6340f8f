"""Count the AWS API calls a handler makes, with a botocore event hook on the default session."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3


@contextmanager
def count_api_calls() -> Iterator[Counter[str]]:
    calls: Counter[str] = Counter()

    def record(event_name: str, **_: Any) -> None:
        # before-call.<service>.<Operation>
        _, service, operation = event_name.split(".", 2)
        calls[f"{service}:{operation}"] += 1

    session = boto3._get_default_session()
    session.events.register("before-call.*.*", record, unique_id="bench-count-calls")
    try:
        yield calls
    finally:
        session.events.unregister("before-call.*.*", unique_id="bench-count-calls")
