"""A client's paginators are built once and shared; each client has its own."""

from __future__ import annotations

import boto3

from restorable.adapters.paginators import paginator


def test_the_same_client_gets_the_same_paginator_and_another_client_its_own() -> None:
    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")
    first, second = session.client("rds"), session.client("rds")
    shared = paginator(first, "describe_db_snapshots")
    assert paginator(first, "describe_db_snapshots") is shared
    assert paginator(first, "describe_db_instances") is not shared
    assert paginator(second, "describe_db_snapshots") is not shared
    assert type(shared).__name__ == type(second.get_paginator("describe_db_snapshots")).__name__


class _NoWeakReferences:
    __slots__ = ("built",)

    def __init__(self) -> None:
        self.built = 0

    def get_paginator(self, operation: str) -> str:
        self.built += 1
        return f"{operation}-{self.built}"


def test_a_client_that_cannot_be_weakly_referenced_gets_a_fresh_paginator() -> None:
    client = _NoWeakReferences()
    assert paginator(client, "scan") == "scan-1"
    assert paginator(client, "scan") == "scan-2"
