"""Cache drills, the pure part: the checks a request asks for, which source and snapshot a drill may
restore, the temporary cache's name and the create request's shape. No boto3 here.

A cache drill restores a managed snapshot of a protected Valkey / Redis OSS cache (the newest ``daily``
one unless the request names a kind or a snapshot) to a temporary cache, checks it through a real
client, and always deletes it. Memcached is refused: node-based Memcached has no snapshots, and the
checks speak the Redis protocol.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import UTC, datetime

from pydantic import Field

from .. import tags as tag_keys
from ..cache_checks import CacheChecks
from ..cache_naming import DAILY, MAX_CACHE_ID_LENGTH
from ..errors import InvalidRequestError
from ..policy import PolicyDocument
from .cache_model import CACHE_DRILL_ENGINES, CacheRestoreSpec, CacheSnapshotInfo, SourceCache

# The kind a cache drill restores when the request names none: the one kind every protected cache has.
DEFAULT_CACHE_KIND = DAILY
_CACHE_IDENTIFIER = re.compile(r"^[a-z](?!.*--)[a-z0-9-]{0,39}(?<!-)$")
# 8 hex digits of the execution: two drills of one source collide once in about 4 billion executions,
# and the name keeps 25 characters of the source's identifier.
_DIGEST_LENGTH = 8
_PREFIX = "drill-"


class CacheDrillChecks(CacheChecks):
    """``checks.cache``: the key checks of ``cache_checks.CacheChecks`` and how to authenticate.

    ``secret_arn`` names a secret holding an RBAC user's ``{"username": .., "password": ..}`` (or a plain
    token) for the user group the temporary cache is given (``DRILL_CACHE_USER_GROUP_ID``); without it the
    client sends no AUTH. Credentials come from Secrets Manager, never from the input.
    """

    secret_arn: str | None = Field(default=None, pattern=r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+")
    connect_timeout_seconds: int = Field(default=5, ge=1, le=60)


def cache_drill_identifier(source_identifier: str, execution_id: str) -> str:
    """A valid ElastiCache identifier (at most 40 characters), unique per execution:
    ``drill-{source}-{digest of the execution}``."""
    digest = hashlib.sha256(execution_id.encode()).hexdigest()[:_DIGEST_LENGTH]
    stem = re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9-]", "-", source_identifier.lower())).strip("-")
    room = MAX_CACHE_ID_LENGTH - len(_PREFIX) - 1 - _DIGEST_LENGTH
    stem = stem[:room].rstrip("-")
    return f"{_PREFIX}{stem}-{digest}" if stem else f"{_PREFIX}{digest}"


def is_valid_cache_identifier(identifier: str) -> bool:
    return bool(_CACHE_IDENTIFIER.match(identifier))


def check_cache_source(source: SourceCache, policies: PolicyDocument) -> SourceCache:
    """``source`` if a drill may restore it: a Valkey / Redis OSS cache protected by a policy that exists."""
    name = f"source: {source.type.value} {source.identifier}"
    if source.engine not in CACHE_DRILL_ENGINES:
        raise InvalidRequestError(
            f"{name} runs {source.engine or 'an unknown engine'}: drills restore Valkey and Redis OSS caches only "
            "(node-based Memcached has no snapshots, and the checks speak the Redis protocol)"
        )
    policy_name = source.policy_name
    if policy_name is None:
        raise InvalidRequestError(
            f"{name} is not protected (no {tag_keys.POLICY} tag naming a policy): drills restore only protected caches"
        )
    if policies.get(policy_name) is None:
        known = ", ".join(sorted(policies.policies))
        raise InvalidRequestError(f"{name}: {tag_keys.POLICY}={policy_name!r} names no policy (known: {known})")
    return source


def check_named_cache_snapshot(snapshot: CacheSnapshotInfo, source: SourceCache, stack_name: str) -> None:
    """A named snapshot is restored only if it is this stack's recovery point of ``source`` and available."""
    owner = snapshot.tags.get(tag_keys.MANAGED_BY)
    if owner != stack_name:
        by = f"managed by {owner!r}" if owner else f"not managed by any stack (no {tag_keys.MANAGED_BY} tag)"
        raise InvalidRequestError(
            f"snapshot.identifier: snapshot {snapshot.identifier} is {by}; drills restore only recovery points "
            f"of stack {stack_name}"
        )
    if snapshot.source_arn != source.arn or snapshot.source_identifier != source.identifier:
        raise InvalidRequestError(
            f"snapshot.identifier: snapshot {snapshot.identifier} is a recovery point of "
            f"{snapshot.source_arn or snapshot.source_identifier or 'an unknown cache'}, not of {source.arn}"
        )
    if snapshot.status != "available":
        raise InvalidRequestError(f"snapshot {snapshot.identifier} is '{snapshot.status}', not available")


def newest_cache_snapshot(
    snapshots: Sequence[CacheSnapshotInfo], source: SourceCache, stack_name: str, kind: str | None, region: str
) -> CacheSnapshotInfo:
    """The newest available snapshot of ``kind`` (default ``daily``) this stack made of ``source``.

    Both the tags and ElastiCache's own record of the source must name it: a snapshot whose
    ``restorable:source`` was copied onto another cache's snapshot is not a recovery point of this one.
    """
    wanted = kind or DEFAULT_CACHE_KIND
    candidates = [
        s
        for s in snapshots
        if s.source_arn == source.arn
        and s.source_identifier == source.identifier
        and s.tags.get(tag_keys.MANAGED_BY) == stack_name
        and s.tags.get(tag_keys.KIND) == wanted
    ]
    available = [s for s in candidates if s.status == "available" and s.created_at is not None]
    if not available:
        pending = f" ({len(candidates)} not available yet)" if candidates else ""
        raise InvalidRequestError(f"no available {wanted} snapshot of {source.identifier} in {region}{pending}")
    return max(available, key=lambda s: (s.created_at or datetime.min.replace(tzinfo=UTC), s.identifier))


def check_cache_checks(source: SourceCache, checks: CacheDrillChecks | None) -> None:
    """Key checks read one endpoint; a cluster-mode-enabled cache spreads keys over shards (no cluster client yet)."""
    if checks is not None and source.cluster_mode_enabled:
        raise InvalidRequestError(
            f"checks.cache: {source.identifier} runs in cluster mode ({source.cluster_mode}); key checks need a "
            "cluster client, which the drill does not have yet: drill it without checks.cache"
        )


def cache_restore_spec(
    snapshot: CacheSnapshotInfo, source: SourceCache, identifier: str, execution_name: str
) -> CacheRestoreSpec:
    """The temporary cache for ``snapshot``: the snapshot's engine, version, node type and shards.

    Node-based caches get one node per shard and no replicas (a drill reads the data once); a cluster-mode
    cache keeps its shard count and automatic failover (cluster mode requires it).
    """
    if not is_valid_cache_identifier(identifier):
        raise InvalidRequestError(f"'{identifier}' is not a valid ElastiCache identifier")
    if snapshot.engine not in CACHE_DRILL_ENGINES:
        raise InvalidRequestError(
            f"snapshot {snapshot.identifier} is of engine {snapshot.engine!r}, not Valkey or Redis OSS"
        )
    description = f"Restorable drill of {source.identifier} ({execution_name})"[:255]
    if snapshot.is_serverless:
        return CacheRestoreSpec(
            type="serverless-cache",
            identifier=identifier,
            snapshot_name=snapshot.identifier,
            snapshot_arn=snapshot.arn,
            engine=snapshot.engine,
            engine_version=snapshot.engine_version.split(".")[0] if snapshot.engine_version else "",
            kms_key_id=snapshot.kms_key_id,
            description=description,
        )
    if not snapshot.node_type:
        raise InvalidRequestError(f"snapshot {snapshot.identifier} reports no node type to restore onto")
    return CacheRestoreSpec(
        type="replication-group",
        identifier=identifier,
        snapshot_name=snapshot.identifier,
        snapshot_arn=snapshot.arn,
        engine=snapshot.engine,
        engine_version=snapshot.engine_version,
        node_type=snapshot.node_type,
        shard_count=max(1, snapshot.shard_count),
        cluster_mode_enabled=source.cluster_mode_enabled or snapshot.shard_count > 1,
        port=snapshot.port,
        parameter_group=snapshot.parameter_group,
        kms_key_id=snapshot.kms_key_id,
        data_tiering=snapshot.data_tiering,
        description=description,
    )
