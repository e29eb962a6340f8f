"""The demo's remembered User-Agent: every request carries the header botocore builds without it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws

from local_runtime.user_agent import remembered_user_agent

REGION = "us-east-1"


def _headers_of(calls: Callable[[boto3.Session], None]) -> list[str]:
    """The User-Agent of every request ``calls`` sends, as the wire would carry it."""
    seen: list[str] = []
    session = boto3.Session(region_name=REGION)

    def capture(request: Any, **_: Any) -> None:
        header = request.headers["User-Agent"]
        seen.append(header.decode() if isinstance(header, bytes) else header)

    session.events.register("before-send.*.*", capture)
    calls(session)
    return seen


def _mixed_calls(session: boto3.Session) -> None:
    plain = session.client("rds")
    standard = session.client("rds", config=Config(retries={"mode": "standard", "max_attempts": 3}))
    adaptive = session.client("dynamodb", config=Config(retries={"mode": "adaptive"}, user_agent_extra="drill/1"))
    appid = session.client("elasticache", config=Config(user_agent_appid="restorable"))
    for _ in range(2):
        plain.describe_db_instances()
        list(plain.get_paginator("describe_db_snapshots").paginate())  # adds the paginator's feature id
        standard.describe_db_instances()
        adaptive.list_tables()
        list(adaptive.get_paginator("list_tables").paginate())
        appid.describe_replication_groups()
        plain.describe_db_instances()


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield


def test_every_request_carries_the_header_botocore_builds(emulator: Any) -> None:
    built = _headers_of(_mixed_calls)
    with remembered_user_agent():
        remembered = _headers_of(_mixed_calls)
    assert remembered == built
    assert len(set(built)) >= 4  # clients, configs and paginator features make different headers


def test_a_changed_setting_builds_the_header_afresh(emulator: Any) -> None:
    with remembered_user_agent():
        session = boto3.Session(region_name=REGION)
        seen: list[str] = []
        session.events.register("before-send.*.*", lambda request, **_: seen.append(str(request.headers["User-Agent"])))
        client = session.client("rds", config=Config(user_agent_extra="first"))
        client.describe_db_instances()
        client._client_config.user_agent_extra = "second"
        client._user_agent_creator._client_config = client._client_config
        client.describe_db_instances()
    assert "first" in seen[0]
    assert "second" in seen[1]
    assert "first" not in seen[1]


def test_outside_the_context_botocore_is_as_it_was() -> None:
    from botocore import useragent

    original = useragent.UserAgentString.to_string
    with remembered_user_agent():
        assert useragent.UserAgentString.to_string is not original
    assert useragent.UserAgentString.to_string is original
