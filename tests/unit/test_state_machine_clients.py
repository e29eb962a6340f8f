"""The interpreter's Lambda clients: one built per Region and service while state machines run."""

from __future__ import annotations

import threading
import types
from typing import Any

from local_runtime.statemachines import _reused_task_client


def test_one_client_is_built_per_region_and_service_whatever_the_state_credentials() -> None:
    built: list[tuple[str, str]] = []

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> object:
        built.append((region, service))
        return object()

    client_for = _reused_task_client(types.SimpleNamespace(boto_client_for=boto_client_for))
    first = client_for(region="us-east-1", service="lambda", state_credentials=object())
    assert client_for(region="us-east-1", service="lambda", state_credentials=object()) is first
    west = client_for(region="us-west-2", service="lambda")
    assert west is not first
    assert client_for(region="us-east-1", service="s3") is not first
    threads = [
        threading.Thread(target=client_for, kwargs={"region": "eu-west-1", "service": "lambda"}) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert built == [("us-east-1", "lambda"), ("us-west-2", "lambda"), ("us-east-1", "s3"), ("eu-west-1", "lambda")]
