"""The check step for a restored cache: API checks on what ElastiCache reports, then the key checks through
the real client (redis-py), in the check-result shape the SQL checks use.

The client connects with TLS whenever the cache has encryption in transit (every drill cache has it),
authenticates with the secret ``checks.cache.secret_arn`` names (if any) and never logs, returns or
reports it: ``adapters/cache_client`` scrubs it from every error.
"""

from __future__ import annotations

import time
from datetime import datetime

from ..adapters.cache_client import CacheTarget, SecretSource, observe
from ..cache_checks import CacheCheckError, evaluate
from ..errors import AwsError, InvalidRequestError
from .cache_model import CacheRestoreSpec, RestoredCache
from .cache_plan import CacheDrillChecks
from .state import CheckResult


def compare_restored_cache(spec: CacheRestoreSpec, restored: RestoredCache) -> list[CheckResult]:
    """What ElastiCache reports of the temporary cache against the snapshot it was restored from."""

    def result(name: str, ok: bool, detail: str) -> CheckResult:
        return CheckResult(name=name, kind="api", status="passed" if ok else "failed", detail=detail)

    results = [
        result("status", restored.status == "available", f"status {restored.status}"),
        result("engine", restored.engine == spec.engine, f"restored {restored.engine}, snapshot {spec.engine}"),
        result(
            "encryption",
            restored.transit_encryption and restored.at_rest_encryption,
            f"in transit={restored.transit_encryption}, at rest={restored.at_rest_encryption}",
        ),
    ]
    if spec.type == "replication-group":
        results.append(
            result(
                "engine_version",
                not spec.engine_version or restored.engine_version == spec.engine_version,
                f"restored {restored.engine_version or 'unknown'}, snapshot {spec.engine_version or 'unknown'}",
            )
        )
        results.append(
            result(
                "shards",
                restored.shard_count == spec.shard_count,
                f"restored {restored.shard_count}, snapshot {spec.shard_count}",
            )
        )
    return results


def cache_checks(
    restored: RestoredCache,
    checks: CacheDrillChecks,
    recovery_point_time: datetime,
    secrets: SecretSource,
) -> tuple[list[CheckResult], float | None]:
    """The configured key checks on the temporary cache, and the data-level RPO (freshness key).

    A cache that cannot be reached, refuses the credentials or whose secret cannot be read fails every
    key check with the reason; the step itself does not fail (the report says what happened).
    """
    names = _names(checks)
    if restored.cluster_mode_enabled:
        detail = "cluster mode enabled: the key checks need a cluster client (not supported yet)"
        return [CheckResult(name=name, kind="cache", status="error", detail=detail) for name in names], None
    if not restored.address or not restored.port:
        detail = f"{restored.identifier} reports no endpoint to connect to"
        return [CheckResult(name=name, kind="cache", status="error", detail=detail) for name in names], None
    target = CacheTarget(
        host=restored.address,
        port=restored.port,
        tls=restored.transit_encryption,
        secret_id=checks.secret_arn,
        connect_timeout_seconds=checks.connect_timeout_seconds,
    )
    started = time.perf_counter()
    try:
        observation = observe(target, checks, secrets)
    except AwsError as exc:
        detail = f"the cache secret cannot be read: {exc.code or type(exc).__name__}"
        return [CheckResult(name=name, kind="cache", status="error", detail=detail) for name in names], None
    except (CacheCheckError, InvalidRequestError) as exc:  # both messages are free of the secret
        detail = str(exc)
        return [CheckResult(name=name, kind="cache", status="error", detail=detail) for name in names], None
    duration_ms = round((time.perf_counter() - started) * 1000, 3)
    evaluation = evaluate(checks, observation, recovery_point_time)
    values: dict[str, float | str | None] = {
        "min_keys": float(observation.key_count),
        "required_keys": float(len(observation.missing_keys)),
        "freshness": evaluation.data_rpo_seconds,
    }
    results = [
        CheckResult(
            name=item.name,
            kind="cache",
            status="passed" if item.ok else "failed",
            detail=item.detail,
            value=values.get(item.name),
            duration_ms=duration_ms,
        )
        for item in evaluation.results
    ]
    return results, evaluation.data_rpo_seconds


def _names(checks: CacheDrillChecks) -> list[str]:
    return [
        name
        for name, configured in (
            ("min_keys", checks.min_keys is not None),
            ("required_keys", bool(checks.required_keys)),
            ("freshness", checks.freshness is not None),
        )
        if configured
    ]
