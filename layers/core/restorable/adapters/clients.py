"""Where handlers get their boto3 clients.

Handlers call ``client(...)`` through this module rather than ``boto3.client`` directly, so

- a warm Lambda environment keeps its clients: one client per (service, Region), built on first
  use and reused by every later invocation (building a client costs more than most calls);
- a test can hand in a client of its own (e.g. a CodePipeline client with a botocore
  ``Stubber``, since the emulator lacks ``PutJob*Result``) by patching this one function.

A client belongs to the boto3 default session it was built from: when that session is replaced
(an emulator starting afresh replaces it, so does a test), the clients built from the old one are
dropped, never reused. ``reset()`` drops them explicitly.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3

_CLIENTS: dict[tuple[str, str], Any] = {}
_SESSION: list[Any] = []  # the session _CLIENTS were built from (held, so its identity stays unique)
_LOCK = threading.Lock()


def client(service_name: str, region_name: str) -> Any:
    """The boto3 client for ``service_name`` in ``region_name``, built once from the default session."""
    session = boto3._get_default_session()
    with _LOCK:
        if not _SESSION or _SESSION[0] is not session:
            _CLIENTS.clear()  # built from another session: never reuse them
            _SESSION[:] = [session]
        built = _CLIENTS.get((service_name, region_name))
        if built is None:
            built = _CLIENTS[(service_name, region_name)] = session.client(service_name, region_name=region_name)  # type: ignore[call-overload]
        return built


def reset() -> None:
    """Forget every client built so far (the next ``client(...)`` builds a new one)."""
    with _LOCK:
        _CLIENTS.clear()
        _SESSION.clear()
