"""Shared fixtures: moto accounts, the template's functions, and a sample fleet builder."""

from __future__ import annotations

import os
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from local_runtime.functions import Functions
from local_runtime.serverless_caches import answer_serverless_listings_empty
from local_runtime.template import Template
from tests.fleet import Fleet

SOURCE_REGION = "us-east-1"
DR_REGION = "us-west-2"


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never reach AWS: fake credentials, a default Region, no shared config."""
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", SOURCE_REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)


@pytest.fixture(autouse=True, scope="session")
def _no_serverless_caches_in_moto() -> Iterator[None]:
    """Every emulator answers the serverless cache listings (which moto lacks) empty, as AWS does for none."""
    with answer_serverless_listings_empty():
        yield


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def rds(aws: None) -> object:
    return boto3.client("rds", region_name=SOURCE_REGION)


@pytest.fixture
def fleet(rds: object) -> Fleet:
    return Fleet(rds)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def template() -> Template:
    return Template.load(region=SOURCE_REGION)


@pytest.fixture(scope="session")
def functions(template: Template) -> Functions:
    return Functions(template)
