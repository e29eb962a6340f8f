"""Read what the cache checks need from a Valkey / Redis OSS endpoint, through redis-py.

The auth token is read through a ``SecretSource`` (Secrets Manager in the drill Lambda), held in
memory only for the connection, and scrubbed from every error message; errors leave this module
as domain errors (``cache_checks.CacheCheckError`` and its subclasses) without the redis-py
exception chained to them.

Cluster-mode-enabled caches need a cluster client (DBSIZE per shard, keys per slot): not here yet.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..cache_checks import (
    CacheAuthenticationError,
    CacheCheckError,
    CacheChecks,
    CacheObservation,
    CacheUnreachableError,
)
from ..errors import InvalidRequestError
from .errors import BOTO_ERRORS, translate

EXISTS_BATCH = 100


class SecretSource(Protocol):
    def secret_string(self, secret_id: str) -> str: ...


class SecretsManagerSource:
    """Secret strings from Secrets Manager, through a client the caller creates."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def secret_string(self, secret_id: str) -> str:
        try:
            return str(self._client.get_secret_value(SecretId=secret_id)["SecretString"])
        except BOTO_ERRORS as exc:
            raise translate(exc, f"read secret {secret_id}") from exc


@dataclass(frozen=True)
class CacheCredentials:
    """An ElastiCache AUTH token, or an RBAC user's name and password."""

    token: str = field(repr=False)
    username: str | None = None


def credentials_from_secret(secret: str) -> CacheCredentials:
    """A plain token, or JSON with ``auth_token`` or ``password`` (and optionally ``username``)."""
    text = secret.strip()
    if not text.startswith("{"):
        if not text:
            raise InvalidRequestError("the cache secret is empty")
        return CacheCredentials(token=text)
    try:
        document = json.loads(text)
    except ValueError:
        raise InvalidRequestError("the cache secret looks like JSON but does not parse") from None
    if not isinstance(document, dict):
        raise InvalidRequestError("the cache secret's JSON is not an object")
    token = document.get("auth_token") or document.get("password")
    if not isinstance(token, str) or not token:
        raise InvalidRequestError("the cache secret has no 'auth_token' or 'password' string")
    username = document.get("username")
    return CacheCredentials(token=token, username=username if isinstance(username, str) and username else None)


@dataclass(frozen=True)
class CacheTarget:
    """Where the restored cache listens and how to reach it."""

    host: str
    port: int
    tls: bool
    secret_id: str | None  # None: the cache has no AUTH (the drill then checks an open cache)
    connect_timeout_seconds: float = 5.0
    command_timeout_seconds: float = 10.0


def observe(target: CacheTarget, checks: CacheChecks, secrets: SecretSource) -> CacheObservation:
    """DBSIZE, EXISTS of the required keys (pipelined in batches) and GET of the freshness key."""
    credentials = credentials_from_secret(secrets.secret_string(target.secret_id)) if target.secret_id else None
    secret = credentials.token if credentials else ""
    with _client(target, credentials) as client, _domain_errors(target, secret):
        key_count = int(client.dbsize())
        missing = _missing(client, checks.required_keys)
        freshness = client.get(checks.freshness.key) if checks.freshness is not None else None
    return CacheObservation(
        key_count=key_count,
        missing_keys=tuple(missing),
        freshness_value=_text(freshness) if freshness is not None else None,
    )


def _missing(client: Any, keys: Sequence[str]) -> list[str]:
    missing: list[str] = []
    for start in range(0, len(keys), EXISTS_BATCH):
        batch = keys[start : start + EXISTS_BATCH]
        pipeline = client.pipeline(transaction=False)
        for key in batch:
            pipeline.exists(key)
        missing.extend(key for key, found in zip(batch, pipeline.execute(), strict=True) if not found)
    return missing


def _text(value: Any) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


@contextmanager
def _client(target: CacheTarget, credentials: CacheCredentials | None) -> Iterator[Any]:
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    client = redis.Redis(
        host=target.host,
        port=target.port,
        username=credentials.username if credentials else None,
        password=credentials.token if credentials else None,
        ssl=target.tls,
        socket_connect_timeout=target.connect_timeout_seconds,
        socket_timeout=target.command_timeout_seconds,
        # One quick retry: a restored cache that does not answer is a finding, not something to wait out here.
        retry=Retry(NoBackoff(), 1),
        # RESP2: every ElastiCache engine version speaks it; HELLO (RESP3) needs Redis OSS 6 or later.
        protocol=2,
    )
    try:
        yield client
    finally:
        client.close()


@contextmanager
def _domain_errors(target: CacheTarget, secret: str) -> Iterator[None]:
    import redis

    where = f"cache {target.host}:{target.port}"
    try:
        yield
    except (redis.AuthenticationError, redis.exceptions.NoPermissionError) as exc:
        raise CacheAuthenticationError(_message(where, exc, secret)) from None
    except redis.ResponseError as exc:
        if str(exc).upper().startswith(("NOAUTH", "WRONGPASS")):
            raise CacheAuthenticationError(_message(where, exc, secret)) from None
        raise CacheCheckError(_message(where, exc, secret)) from None
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise CacheUnreachableError(_message(where, exc, secret)) from None
    except redis.RedisError as exc:
        raise CacheCheckError(_message(where, exc, secret)) from None


def _message(where: str, error: Exception, secret: str) -> str:
    text = str(error)
    if secret:
        text = text.replace(secret, "***")
    return f"{where}: {type(error).__name__}: {text}"
