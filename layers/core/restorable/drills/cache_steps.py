"""What the drill steps do for a cache, through the ``DrillCache`` port: choose what to restore (validate),
start the restore, look at the temporary cache, delete it. The state machine's steps call these for a
cache source; everything a step checks is checked before anything is created.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..arns import check_local, is_arn, parse_arn
from ..errors import AwsError, InvalidRequestError
from ..models import DatabaseType
from ..policy import PolicyDocument
from .cache_model import (
    CacheNetwork,
    CacheRestoreSpec,
    CacheSnapshotInfo,
    RestoredCache,
    RestoredCacheType,
    SourceCache,
)
from .cache_plan import (
    CacheDrillChecks,
    cache_drill_identifier,
    cache_restore_spec,
    check_cache_checks,
    check_cache_source,
    check_named_cache_snapshot,
    newest_cache_snapshot,
)
from .model import DrillResource
from .ports import DrillCache, SecretStore

# ElastiCache ARN resource types of the caches a drill restores, and of their snapshots.
CACHE_ARN_TYPES = {
    "replicationgroup": DatabaseType.CACHE_REPLICATION_GROUP,
    "serverlesscache": DatabaseType.SERVERLESS_CACHE,
    "cluster": DatabaseType.CACHE_CLUSTER,
}
SNAPSHOT_ARN_TYPES = {"snapshot": False, "serverlesscachesnapshot": True}  # -> serverless


@dataclass(frozen=True)
class CacheRestoreChoice:
    """What validation decided: the protected cache, its snapshot and the temporary cache to make."""

    source: SourceCache
    snapshot: CacheSnapshotInfo
    spec: CacheRestoreSpec


def is_cache_reference(reference: str) -> bool:
    """An ElastiCache ARN names a cache; a bare identifier could be a database or a cache."""
    return is_arn(reference) and parse_arn(reference, field="source").service == "elasticache"


def choose_cache_restore(
    *,
    gateway: DrillCache,
    source: str,
    snapshot_identifier: str | None,
    kind: str | None,
    checks: CacheDrillChecks | None,
    policies: PolicyDocument,
    stack_name: str,
    secrets: SecretStore,
    execution_id: str,
    execution_name: str,
    account: str | None = None,
) -> CacheRestoreChoice:
    """Check the request against what exists; raises ``InvalidRequestError`` (naming the field) or
    ``ResourceNotFoundError`` before anything is created."""
    cache = find_protected_cache(gateway, source, policies, account)
    check_cache_checks(cache, checks)
    _check_secret(checks, cache, secrets, gateway.region)
    if snapshot_identifier is not None:
        snapshot = _named_snapshot(gateway, cache, snapshot_identifier, stack_name, account)
    else:
        snapshot = newest_cache_snapshot(gateway.list_snapshots(cache), cache, stack_name, kind, gateway.region)
    identifier = cache_drill_identifier(cache.identifier, execution_id)
    return CacheRestoreChoice(cache, snapshot, cache_restore_spec(snapshot, cache, identifier, execution_name))


def find_protected_cache(
    gateway: DrillCache, reference: str, policies: PolicyDocument, account: str | None
) -> SourceCache:
    """The cache the request names (identifier or a local ElastiCache ARN), if an existing policy protects it."""
    wanted: DatabaseType | None = None
    identifier = reference
    if is_arn(reference):
        arn = check_local(parse_arn(reference, field="source"), field="source", region=gateway.region, account=account)
        if arn.service != "elasticache" or arn.resource_type not in CACHE_ARN_TYPES:
            raise InvalidRequestError(
                f"source: {reference} is not an ElastiCache replication group, serverless cache or cluster ARN"
            )
        wanted = CACHE_ARN_TYPES[arn.resource_type]
        identifier = arn.resource_name
    cache = gateway.find_source(identifier, wanted)
    if is_arn(reference) and cache.arn != reference:
        raise InvalidRequestError(f"source: {reference} is not {cache.arn}, the {cache.type.value} of that name here")
    return check_cache_source(cache, policies)


def _named_snapshot(
    gateway: DrillCache, cache: SourceCache, identifier: str, stack_name: str, account: str | None
) -> CacheSnapshotInfo:
    name = identifier
    if is_arn(identifier):
        arn = check_local(
            parse_arn(identifier, field="snapshot.identifier"),
            field="snapshot.identifier",
            region=gateway.region,
            account=account,
        )
        serverless = SNAPSHOT_ARN_TYPES.get(arn.resource_type)
        if arn.service != "elasticache" or serverless is None:
            raise InvalidRequestError(f"snapshot.identifier: {identifier} is not an ElastiCache snapshot ARN")
        if serverless != (cache.type is DatabaseType.SERVERLESS_CACHE):
            raise InvalidRequestError(
                f"snapshot.identifier: {identifier} is not a snapshot of a {cache.type.value} "
                f"such as {cache.identifier}"
            )
        name = arn.resource_name
    snapshot = gateway.get_snapshot(cache.type, name)
    if is_arn(identifier) and snapshot.arn != identifier:
        raise InvalidRequestError(f"snapshot.identifier: {identifier} is not {snapshot.arn}")
    check_named_cache_snapshot(snapshot, cache, stack_name)
    return snapshot


def _check_secret(checks: CacheDrillChecks | None, cache: SourceCache, secrets: SecretStore, region: str) -> None:
    if checks is None or checks.secret_arn is None:
        return
    field = "checks.cache.secret_arn"
    arn = parse_arn(checks.secret_arn, field=field)
    check_local(arn, field=field, region=region, account=parse_arn(cache.arn, field="source").account or None)
    try:
        secrets.describe(checks.secret_arn)
    except AwsError as exc:
        raise InvalidRequestError(f"{field}: secret {checks.secret_arn} cannot be read: {exc.code}") from exc


def restore_cache(
    gateway: DrillCache, spec: CacheRestoreSpec, tags: Mapping[str, str], network: CacheNetwork, execution_id: str
) -> None:
    gateway.restore(spec, tags, network, execution_id)


def observe_cache(gateway: DrillCache, spec: CacheRestoreSpec) -> RestoredCache | None:
    """The temporary cache as a poll sees it (None: it does not exist)."""
    return gateway.describe(spec.type, spec.identifier)


def cleanup_cache(gateway: DrillCache, spec: CacheRestoreSpec, stack_name: str, execution_id: str) -> str:
    """Delete the temporary cache, tag-checked and bound to this execution: ``deleted``, ``absent`` or
    ``already deleting``."""
    return gateway.delete(spec.type, spec.identifier, stack_name, execution_id)


def delete_expired_cache(gateway: DrillCache, resource: DrillResource, stack_name: str) -> str:
    """The janitor's delete of a drill cache (any execution of this stack)."""
    cache_type: RestoredCacheType = (
        "serverless-cache" if resource.type is DatabaseType.SERVERLESS_CACHE else "replication-group"
    )
    return gateway.delete(cache_type, resource.identifier, stack_name)
