"""Where handlers get their boto3 clients.

Handlers call ``client(...)`` through this module rather than ``boto3.client`` directly, so
a test can hand in a client of its own (e.g. a CodePipeline client with a botocore
``Stubber``, since the emulator lacks ``PutJob*Result``) by patching this one function.
"""

from __future__ import annotations

from typing import Any

import boto3


def client(service_name: str, region_name: str) -> Any:
    """A boto3 client for ``service_name`` in ``region_name`` from the default session."""
    return boto3.client(service_name, region_name=region_name)  # type: ignore[call-overload]
