"""Cache checks through redis-py against a real redis-server (password on, TLS off)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import boto3
import pytest
import redis

from restorable.adapters.cache_client import CacheTarget, SecretsManagerSource, observe
from restorable.cache_checks import (
    CacheAuthenticationError,
    CacheChecks,
    CacheUnreachableError,
    evaluate,
)
from tests.drills.cache_server import CacheServer, cache_server_fixture  # noqa: F401
from tests.drills.servers import free_port

RECOVERY_POINT = datetime(2026, 12, 8, 6, 0, tzinfo=UTC)
SECRET_ID = "drill/cache-token"


class Secrets:
    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.reads: list[str] = []

    def secret_string(self, secret_id: str) -> str:
        self.reads.append(secret_id)
        return self.values[secret_id]


@pytest.fixture
def seeded(cache_server: CacheServer) -> CacheServer:
    """250 session keys, a user hash and the app's last-write marker (05:00, an hour before the point)."""
    client = redis.Redis(host=cache_server.host, port=cache_server.port, password=cache_server.password)
    client.flushdb()
    client.mset({f"session:{i}": "x" for i in range(250)})
    client.hset("user:ada", mapping={"name": "ada"})
    client.set("app:last-write", "2026-12-08T05:00:00Z")
    client.close()
    return cache_server


def _target(server: CacheServer, port: int | None = None) -> CacheTarget:
    return CacheTarget(
        host=server.host,
        port=port or server.port,
        tls=False,
        secret_id=SECRET_ID,
        connect_timeout_seconds=1,
        command_timeout_seconds=2,
    )


def _secrets(server: CacheServer) -> Secrets:
    return Secrets({SECRET_ID: json.dumps({"auth_token": server.password})})


def test_seeded_cache_passes_every_check_and_measures_the_data_rpo(seeded: CacheServer) -> None:
    checks = CacheChecks.model_validate(
        {
            "min_keys": 200,
            "required_keys": ["user:ada", "session:0", "session:249"],
            "freshness": {"key": "app:last-write", "max_age_seconds": 7200},
        }
    )
    secrets = _secrets(seeded)
    observation = observe(_target(seeded), checks, secrets)
    assert observation.key_count == 252
    assert observation.missing_keys == ()
    result = evaluate(checks, observation, RECOVERY_POINT)
    assert result.ok, result.results
    assert result.data_rpo_seconds == 3600.0
    assert [r.name for r in result.results] == ["min_keys", "required_keys", "freshness"]
    assert secrets.reads == [SECRET_ID]


def test_missing_keys_are_named_across_batches(seeded: CacheServer) -> None:
    wanted = [f"session:{i}" for i in range(0, 300, 2)]  # 150 keys, two EXISTS batches; 25 do not exist
    checks = CacheChecks(required_keys=tuple(wanted))
    observation = observe(_target(seeded), checks, _secrets(seeded))
    assert observation.missing_keys == tuple(f"session:{i}" for i in range(250, 300, 2))
    result = evaluate(checks, observation, RECOVERY_POINT)
    assert not result.ok
    assert result.results[0].detail.startswith("25 of 150 missing: session:250, session:252")


def test_too_few_keys_fails(seeded: CacheServer) -> None:
    checks = CacheChecks(min_keys=1000)
    result = evaluate(checks, observe(_target(seeded), checks, _secrets(seeded)), RECOVERY_POINT)
    assert not result.ok
    assert result.results[0].detail == "252 keys (minimum 1000)"


def test_freshness_from_an_epoch_in_milliseconds_and_a_missing_key(seeded: CacheServer) -> None:
    client = redis.Redis(host=seeded.host, port=seeded.port, password=seeded.password)
    client.set("app:last-write", str(int(datetime(2026, 12, 8, 5, 30, tzinfo=UTC).timestamp() * 1000)))
    client.close()
    checks = CacheChecks.model_validate({"freshness": {"key": "app:last-write", "max_age_seconds": 600}})
    result = evaluate(checks, observe(_target(seeded), checks, _secrets(seeded)), RECOVERY_POINT)
    assert result.data_rpo_seconds == 1800.0
    assert not result.ok  # 30 minutes old, 10 allowed
    missing = CacheChecks.model_validate({"freshness": {"key": "app:no-such-key"}})
    result = evaluate(missing, observe(_target(seeded), missing, _secrets(seeded)), RECOVERY_POINT)
    assert not result.ok
    assert result.data_rpo_seconds is None
    assert result.results[0].detail == "key 'app:no-such-key' does not exist"


def test_wrong_password_is_an_authentication_error_without_the_token(seeded: CacheServer) -> None:
    wrong = "not-the-password-" + seeded.password[:6]
    with pytest.raises(CacheAuthenticationError) as raised:
        observe(_target(seeded), CacheChecks(min_keys=1), Secrets({SECRET_ID: wrong}))
    message = str(raised.value)
    assert f"cache 127.0.0.1:{seeded.port}" in message
    assert wrong not in message
    assert seeded.password not in message
    assert raised.value.__cause__ is None
    assert raised.value.__suppress_context__


def test_no_token_for_a_cache_that_needs_one_is_an_authentication_error(seeded: CacheServer) -> None:
    target = CacheTarget(host=seeded.host, port=seeded.port, tls=False, secret_id=None)
    with pytest.raises(CacheAuthenticationError):
        observe(target, CacheChecks(min_keys=1), Secrets({}))


def test_server_down_is_unreachable_within_the_timeout(cache_server: CacheServer) -> None:
    started = time.monotonic()
    with pytest.raises(CacheUnreachableError) as raised:
        observe(_target(cache_server, port=free_port()), CacheChecks(min_keys=1), _secrets(cache_server))
    assert time.monotonic() - started < 5
    assert cache_server.password not in str(raised.value)


def test_token_from_secrets_manager(aws: None, seeded: CacheServer) -> None:
    client = boto3.client("secretsmanager", region_name="us-east-1")
    arn = client.create_secret(
        Name="cache-token", SecretString=json.dumps({"username": "default", "password": seeded.password})
    )["ARN"]
    target = CacheTarget(host=seeded.host, port=seeded.port, tls=False, secret_id=arn)
    observation = observe(target, CacheChecks(min_keys=1), SecretsManagerSource(client))
    assert observation.key_count == 252
