"""The drill's cache check step against a real redis-server (password on, TLS off: the restored cache here
is described as having no encryption in transit, so the client connects in plain TCP).

The credentials come from Secrets Manager on moto, read by the drill's own ``SecretsManagerStore``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
import redis
from moto import mock_aws

from restorable.adapters.secrets import SecretsManagerStore
from restorable.drills.cache_check import cache_checks, compare_restored_cache
from restorable.drills.cache_model import CacheRestoreSpec, RestoredCache
from restorable.drills.cache_plan import CacheDrillChecks
from tests.drills.cache_server import CacheServer, cache_server_fixture, tls_cache_server_fixture  # noqa: F401
from tests.drills.servers import free_port

REGION = "us-east-1"
RECOVERY_POINT = datetime(2026, 12, 8, 3, 0, tzinfo=UTC)
CHECKS = {
    "min_keys": 100,
    "required_keys": ["user:ada", "session:0"],
    "freshness": {"key": "app:last-write", "max_age_seconds": 7200},
}


@pytest.fixture
def seeded(cache_server: CacheServer) -> CacheServer:
    """The data the snapshot held: 120 sessions, a user and the last write at 02:00 (an hour before the point)."""
    client = redis.Redis(host=cache_server.host, port=cache_server.port, password=cache_server.password)
    client.flushdb()
    client.mset({f"session:{i}": "x" for i in range(120)})
    client.hset("user:ada", mapping={"name": "ada"})
    client.set("app:last-write", "2026-12-08T02:00:00Z")
    client.close()
    return cache_server


@pytest.fixture
def secrets(seeded: CacheServer) -> Iterator[tuple[SecretsManagerStore, dict[str, str]]]:
    with mock_aws():
        client = boto3.client("secretsmanager", region_name=REGION)
        arns = {
            "good": client.create_secret(
                Name="drill/sessions", SecretString=json.dumps({"username": "default", "password": seeded.password})
            )["ARN"],
            "wrong": client.create_secret(Name="drill/wrong", SecretString=json.dumps({"password": "not-it-42"}))[
                "ARN"
            ],
        }
        arns["missing"] = arns["good"].replace("drill/sessions", "drill/missing")
        yield SecretsManagerStore(lambda region: boto3.client("secretsmanager", region_name=region)), arns


def _restored(server: CacheServer, **changes: Any) -> RestoredCache:
    fields: dict[str, Any] = {
        "identifier": "drill-sessions-acc90c33",
        "type": "replication-group",
        "status": "available",
        "engine": "valkey",
        "address": server.host,
        "port": server.port,
    }
    fields.update(changes)
    return RestoredCache(**fields)


def _checks(secret_arn: str | None, **changes: Any) -> CacheDrillChecks:
    return CacheDrillChecks.model_validate(
        {**CHECKS, "secret_arn": secret_arn, "connect_timeout_seconds": 1, **changes}
    )


def test_the_restored_data_passes_every_check_and_gives_the_data_rpo(
    seeded: CacheServer, secrets: tuple[SecretsManagerStore, dict[str, str]]
) -> None:
    store, arns = secrets
    results, data_rpo = cache_checks(_restored(seeded), _checks(arns["good"]), RECOVERY_POINT, store)
    assert [(r.name, r.kind, r.status) for r in results] == [
        ("min_keys", "cache", "passed"),
        ("required_keys", "cache", "passed"),
        ("freshness", "cache", "passed"),
    ]
    assert results[0].value == 122.0
    assert results[0].detail == "122 keys (minimum 100)"
    assert data_rpo == 3600.0
    assert all(r.duration_ms is not None and r.duration_ms >= 0 for r in results)


def test_missing_data_fails_the_checks_that_look_for_it(
    seeded: CacheServer, secrets: tuple[SecretsManagerStore, dict[str, str]]
) -> None:
    store, arns = secrets
    checks = _checks(arns["good"], min_keys=500, required_keys=["user:ada", "user:grace"])
    results, _ = cache_checks(_restored(seeded), checks, RECOVERY_POINT, store)
    by_name = {r.name: r for r in results}
    assert by_name["min_keys"].status == "failed"
    assert by_name["required_keys"].status == "failed"
    assert by_name["required_keys"].detail == "1 of 2 missing: user:grace"
    assert by_name["freshness"].status == "passed"


def test_wrong_credentials_error_every_check_without_showing_them(
    seeded: CacheServer, secrets: tuple[SecretsManagerStore, dict[str, str]]
) -> None:
    store, arns = secrets
    results, data_rpo = cache_checks(_restored(seeded), _checks(arns["wrong"]), RECOVERY_POINT, store)
    assert [r.status for r in results] == ["error", "error", "error"]
    assert data_rpo is None
    assert all("AuthenticationError" in r.detail or "WRONGPASS" in r.detail for r in results), results
    text = json.dumps([r.to_json() for r in results])
    assert "not-it-42" not in text
    assert seeded.password not in text


def test_no_secret_against_a_cache_that_needs_auth_is_an_error(
    seeded: CacheServer, secrets: tuple[SecretsManagerStore, dict[str, str]]
) -> None:
    store, _ = secrets
    results, _ = cache_checks(_restored(seeded), _checks(None), RECOVERY_POINT, store)
    assert {r.status for r in results} == {"error"}
    assert "Authentication" in results[0].detail or "NOAUTH" in results[0].detail


def test_a_secret_that_cannot_be_read_errors_every_check_with_its_code(
    seeded: CacheServer, secrets: tuple[SecretsManagerStore, dict[str, str]]
) -> None:
    store, arns = secrets
    results, _ = cache_checks(_restored(seeded), _checks(arns["missing"]), RECOVERY_POINT, store)
    assert [r.detail for r in results] == ["the cache secret cannot be read: ResourceNotFoundException"] * 3


def test_an_unreachable_cache_errors_every_check(
    seeded: CacheServer, secrets: tuple[SecretsManagerStore, dict[str, str]]
) -> None:
    store, arns = secrets
    restored = _restored(seeded, port=free_port())
    results, _ = cache_checks(restored, _checks(arns["good"]), RECOVERY_POINT, store)
    assert {r.status for r in results} == {"error"}
    assert results[0].detail.startswith(f"cache {seeded.host}:{restored.port}: ConnectionError")


def test_tls_is_used_when_the_cache_encrypts_in_transit(
    seeded: CacheServer, secrets: tuple[SecretsManagerStore, dict[str, str]]
) -> None:
    store, arns = secrets
    # The test server speaks plain TCP: a TLS handshake against it fails, which proves the client tried TLS.
    results, _ = cache_checks(_restored(seeded, transit_encryption=True), _checks(arns["good"]), RECOVERY_POINT, store)
    assert {r.status for r in results} == {"error"}


def test_cluster_mode_and_a_missing_endpoint_are_errors_without_a_connection(seeded: CacheServer) -> None:
    class NoSecrets:
        def secret_string(self, secret_id: str) -> str:
            raise AssertionError("no secret is read when nothing can be checked")

    results, _ = cache_checks(
        _restored(seeded, cluster_mode_enabled=True),
        _checks("arn:aws:secretsmanager:us-east-1:123456789012:secret:x"),
        RECOVERY_POINT,
        NoSecrets(),
    )
    assert {r.detail for r in results} == {
        "cluster mode enabled: the key checks need a cluster client (not supported yet)"
    }
    results, _ = cache_checks(_restored(seeded, address=None), _checks(None), RECOVERY_POINT, NoSecrets())
    assert {r.detail for r in results} == {"drill-sessions-acc90c33 reports no endpoint to connect to"}


def test_api_checks_compare_the_restored_cache_with_its_snapshot(seeded: CacheServer) -> None:
    spec = CacheRestoreSpec(
        type="replication-group",
        identifier="drill-sessions-acc90c33",
        snapshot_name="sessions-daily-2026-12-08",
        engine="valkey",
        engine_version="8.0.1",
        node_type="cache.t4g.small",
        shard_count=1,
    )
    good = _restored(seeded, transit_encryption=True, at_rest_encryption=True, engine_version="8.0.1", shard_count=1)
    assert {r.name: r.status for r in compare_restored_cache(spec, good)} == {
        "status": "passed",
        "engine": "passed",
        "encryption": "passed",
        "engine_version": "passed",
        "shards": "passed",
    }
    bad = _restored(seeded, status="modifying", engine="redis", at_rest_encryption=False, shard_count=2)
    assert {r.name for r in compare_restored_cache(spec, bad) if r.status == "failed"} == {
        "status",
        "engine",
        "encryption",
        "engine_version",
        "shards",
    }


def _seed(server: CacheServer) -> None:
    assert server.ca_file is not None
    client = redis.Redis(
        host=server.host, port=server.port, password=server.password, ssl=True, ssl_ca_certs=str(server.ca_file)
    )
    client.flushdb()
    client.mset({f"session:{i}": "x" for i in range(120)})
    client.hset("user:ada", mapping={"name": "ada"})
    client.set("app:last-write", "2026-12-08T02:00:00Z")
    client.close()


def test_over_tls_the_client_verifies_the_certificate_and_reads_the_data(
    tls_cache_server: CacheServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The drill's client trusts the system's CAs (ElastiCache's certificates chain to a public root); here
    the system's trust is the test CA, through SSL_CERT_FILE."""
    _seed(tls_cache_server)
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_cache_server.ca_file))
    with mock_aws():
        secrets = boto3.client("secretsmanager", region_name=REGION)
        arn = secrets.create_secret(Name="drill/tls", SecretString=tls_cache_server.password)["ARN"]
        store = SecretsManagerStore(lambda region: boto3.client("secretsmanager", region_name=region))
        restored = _restored(tls_cache_server, transit_encryption=True, at_rest_encryption=True)
        results, data_rpo = cache_checks(restored, _checks(arn), RECOVERY_POINT, store)
    assert [r.status for r in results] == ["passed", "passed", "passed"], results
    assert data_rpo == 3600.0


def test_over_tls_an_untrusted_certificate_is_refused(tls_cache_server: CacheServer) -> None:
    _seed(tls_cache_server)
    with mock_aws():
        secrets = boto3.client("secretsmanager", region_name=REGION)
        arn = secrets.create_secret(Name="drill/tls", SecretString=tls_cache_server.password)["ARN"]
        store = SecretsManagerStore(lambda region: boto3.client("secretsmanager", region_name=region))
        restored = _restored(tls_cache_server, transit_encryption=True)
        results, _ = cache_checks(restored, _checks(arn), RECOVERY_POINT, store)
    assert {r.status for r in results} == {"error"}
    assert "CERTIFICATE_VERIFY_FAILED" in results[0].detail
    assert tls_cache_server.password not in results[0].detail
