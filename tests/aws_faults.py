"""Inject AWS errors into calls the handlers make, with a botocore ``before-call`` hook.

A ``before-call`` handler that returns a response short-circuits the request, so the client
raises the ``ClientError`` it would get from AWS; moto serves every other call.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import boto3


def error_response(code: str, message: str | None = None) -> tuple[Any, dict[str, Any]]:
    """An HTTP 400 response as botocore's parser would return it."""
    return (
        type("Response", (), {"status_code": 400, "headers": {}})(),
        {
            "Error": {"Code": code, "Message": message or f"injected {code}"},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        },
    )


@contextlib.contextmanager
def failing_calls(operations: Iterable[str], choose: Callable[[dict[str, Any]], str | None]) -> Iterator[None]:
    """Fail RDS ``operations`` whose serialized request body ``choose`` maps to an error code."""
    names = list(operations)

    def before_call(params: dict[str, Any], **_: Any) -> Any:
        code = choose(params.get("body", {}))
        return error_response(code) if code else None

    events = boto3._get_default_session().events
    for operation in names:
        events.register(f"before-call.rds.{operation}", before_call, unique_id=f"inject-{operation}")
    try:
        yield
    finally:
        for operation in names:
            events.unregister(f"before-call.rds.{operation}", unique_id=f"inject-{operation}")


@contextlib.contextmanager
def errors_by_parameter(operations: str | Iterable[str], *parameters: str) -> Iterator[dict[str, str]]:
    """Fail the calls whose first present ``parameters`` value is a key of the yielded dict, with its code."""
    failures: dict[str, str] = {}

    def choose(body: dict[str, Any]) -> str | None:
        value = next((body[p] for p in parameters if p in body), None)
        return failures.get(value) if value is not None else None

    with failing_calls([operations] if isinstance(operations, str) else operations, choose):
        yield failures
