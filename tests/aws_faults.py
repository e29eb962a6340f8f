"""Inject AWS errors into calls the handlers make, with a botocore ``before-call`` hook.

A ``before-call`` handler that returns a response short-circuits the request, so the client
raises the ``ClientError`` it would get from AWS (or, for a raised botocore error such as
``EndpointConnectionError``, fails as if AWS could not be reached); moto serves every
other call. Hooks are registered on boto3's default session, and the handlers' kept clients are
dropped around each block, so they see every client the handlers use; register them inside
``mock_aws`` (which replaces that session).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3

from restorable.adapters import clients

# Codes a test can inject, by what the code means to AWS callers.
TRANSIENT_CODES = ("Throttling", "RequestLimitExceeded", "ServiceUnavailable", "InternalFailure")
PERMANENT_CODES = ("AccessDenied", "InvalidParameterValue")
_SERVER_ERRORS = {"ServiceUnavailable": 503, "InternalFailure": 500, "InternalError": 500}


def error_response(code: str, message: str | None = None, status: int | None = None) -> tuple[Any, dict[str, Any]]:
    """An HTTP error response (400, or the 5xx AWS sends for a server-side code) as botocore's parser returns it."""
    status = status or _SERVER_ERRORS.get(code, 400)
    return (
        type("Response", (), {"status_code": status, "headers": {}})(),
        {
            "Error": {"Code": code, "Message": message or f"injected {code}"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
    )


@dataclass(frozen=True)
class Call:
    """One AWS call a handler made: service (as botocore's event names spell it), operation, Region."""

    service: str
    operation: str
    region: str


def _call(kwargs: dict[str, Any]) -> Call:
    model = kwargs["model"]
    signer = kwargs.get("request_signer")
    region = str(getattr(signer, "_region_name", "") or "")
    return Call(model.service_model.service_id.hyphenize(), model.name, region)


@contextlib.contextmanager
def _hooks_on_default_session(hooks: Iterable[tuple[str, Callable[..., Any], str]]) -> Iterator[None]:
    """Register ``(event, handler, unique_id)`` hooks first on the default session for the block.

    A botocore client copies the session's hooks when it is built, and the handlers keep their
    clients as a warm Lambda does (``restorable.adapters.clients``): the kept clients are dropped on
    entry and on exit, so every client inside the block sees the hooks and none outside keeps them.
    """
    listed = list(hooks)
    events = boto3._get_default_session().events
    clients.reset()
    for event, handler, unique_id in listed:
        events.register_first(event, handler, unique_id=unique_id)
    try:
        yield
    finally:
        for event, _handler, unique_id in listed:
            events.unregister(event, unique_id=unique_id)
        clients.reset()


@contextlib.contextmanager
def recorded_calls() -> Iterator[list[Call]]:
    """Every AWS call made inside the block, in order."""
    calls: list[Call] = []

    def before_call(**kwargs: Any) -> None:
        calls.append(_call(kwargs))

    with _hooks_on_default_session([("before-call.*.*", before_call, "record-calls")]):
        yield calls


@contextlib.contextmanager
def failing_calls(
    operations: Iterable[str], choose: Callable[[dict[str, Any]], str | None], *, service: str = "rds"
) -> Iterator[None]:
    """Fail ``service``'s ``operations`` whose serialized request body ``choose`` maps to an error code."""
    names = list(operations)

    def before_call(params: dict[str, Any], **_: Any) -> Any:
        code = choose(params.get("body", {}))
        return error_response(code) if code else None

    with _hooks_on_default_session(
        (f"before-call.{service}.{operation}", before_call, f"inject-{operation}") for operation in names
    ):
        yield


@contextlib.contextmanager
def failing_operation(
    service: str, operation: str, fault: str | BaseException, *, region: str | None = None
) -> Iterator[list[Call]]:
    """Fail every ``service`` ``operation`` call (in ``region``, or in every Region) with ``fault``.

    ``fault`` is an AWS error code, or a botocore exception to raise (e.g. a connection error).
    Yields the calls that were failed.
    """
    failed: list[Call] = []

    def before_call(**kwargs: Any) -> Any:
        call = _call(kwargs)
        if region is not None and call.region != region:
            return None
        failed.append(call)
        if isinstance(fault, BaseException):
            raise fault
        return error_response(fault)

    with _hooks_on_default_session(
        [(f"before-call.{service}.{operation}", before_call, f"fail-{service}-{operation}")]
    ):
        yield failed


@contextlib.contextmanager
def errors_by_parameter(
    operations: str | Iterable[str], *parameters: str, service: str = "rds"
) -> Iterator[dict[str, str]]:
    """Fail the calls whose first present ``parameters`` value is a key of the yielded dict, with its code."""
    failures: dict[str, str] = {}

    def choose(body: dict[str, Any]) -> str | None:
        value = next((body[p] for p in parameters if p in body), None)
        return failures.get(value) if value is not None else None

    with failing_calls([operations] if isinstance(operations, str) else operations, choose, service=service):
        yield failures
