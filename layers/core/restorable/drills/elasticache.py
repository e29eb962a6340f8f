"""ElastiCache drills: the planner (the validate step's cache part) and the checker (API checks on what
ElastiCache reports, then the key checks through the real client). The I/O goes through ``ports``:
``DrillCache`` to read, ``adapters.drill_elasticache.DrillElastiCacheGateway`` behind ``DrillEngine`` to
restore, poll and delete.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .. import tags as tag_keys
from ..adapters.cache_client import SecretSource
from ..arns import check_local, is_arn, parse_arn
from ..errors import AwsError, InvalidRequestError
from ..models import DatabaseType, Engine
from ..policy import PolicyDocument
from .cache_check import cache_checks, compare_restored_cache
from .cache_model import CacheRestoreSpec, CacheSnapshotInfo, RestoredCache, SourceCache
from .cache_plan import (
    CacheDrillChecks,
    cache_drill_identifier,
    cache_restore_spec,
    check_cache_checks,
    check_cache_source,
    check_named_cache_snapshot,
    newest_cache_snapshot,
)
from .model import RestoredDatabase
from .plan import Checks, DrillRequest, iso
from .ports import DrillCache, SecretStore
from .state import CheckResult, DrillPlan, PlannedRestore, PlanRecoveryPoint, PlanSource, PlanTarget

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


class CacheDrillPlanner:
    """The validate step for ElastiCache caches (mode ``snapshot``): a protected Valkey / Redis OSS cache, this
    stack's snapshot of that very cache (the newest ``daily`` one unless the request names a kind or a
    snapshot), and the temporary cache's name and shape. ARNs naming another partition, Region or account
    (``account``: the stack's, when known) are rejected; nothing is created before all of it holds."""

    engine = Engine.ELASTICACHE

    def __init__(
        self,
        *,
        caches: DrillCache,
        secrets: SecretStore,
        policies: PolicyDocument,
        stack_name: str,
        account: str | None,
    ) -> None:
        self.caches = caches
        self.secrets = secrets
        self.policies = policies
        self.stack_name = stack_name
        self.account = account

    def locate(
        self, request: DrillRequest, *, execution_id: str, started_at: datetime, expires_at: datetime, now: datetime
    ) -> PlannedRestore:
        choice = self.choose(request, execution_id=execution_id, execution_name=_execution_name(execution_id))
        source, snapshot, spec = choice.source, choice.snapshot, choice.spec
        region = self.caches.region
        return PlannedRestore(
            region=region,
            source=PlanSource(
                type=source.type.value,
                identifier=source.identifier,
                arn=source.arn,
                engine=source.engine,
                engine_version=source.engine_version,
                encrypted=source.at_rest_encryption,
            ),
            recovery_point=PlanRecoveryPoint(
                type="snapshot",
                identifier=snapshot.identifier,
                arn=snapshot.arn,
                region=snapshot.region,
                created_at=iso(snapshot.created_at) if snapshot.created_at else None,
                encrypted=bool(snapshot.kms_key_id) or source.at_rest_encryption,
                engine_version=snapshot.engine_version or source.engine_version,
                kind=snapshot.tags.get(tag_keys.KIND),
            ),
            restore_time=None,
            recovery_point_time=snapshot.created_at or started_at,
            targeted_time=started_at,
            target=PlanTarget(type=spec.type, identifier=spec.identifier, region=region, cache=spec),
            # Key checks connect to the cache (the check function, in the VPC); API checks alone need no network.
            checks_via="network" if request.checks.cache is not None else "api",
        )

    def choose(self, request: DrillRequest, *, execution_id: str, execution_name: str) -> CacheRestoreChoice:
        """What to restore, checked against what exists; ``InvalidRequestError`` (naming the field) or
        ``ResourceNotFoundError`` before anything is created."""
        checks = request.checks.cache
        cache = find_protected_cache(self.caches, request.source, self.policies, self.account)
        check_cache_checks(cache, checks)
        _check_secret(checks, cache, self.secrets, self.caches.region)
        selector = request.selector
        if selector.identifier is not None:
            snapshot = _named_snapshot(self.caches, cache, selector.identifier, self.stack_name, self.account)
        else:
            snapshot = newest_cache_snapshot(
                self.caches.list_snapshots(cache), cache, self.stack_name, selector.kind, self.caches.region
            )
        identifier = cache_drill_identifier(cache.identifier, execution_id)
        return CacheRestoreChoice(cache, snapshot, cache_restore_spec(snapshot, cache, identifier, execution_name))


class CacheDrillChecker:
    """API checks on what ElastiCache reports of the temporary cache, then the key checks of ``checks.cache``
    through redis-py (TLS, the secret's credentials), in the check-result shape of the SQL checks."""

    def __init__(self, secrets: SecretSource) -> None:
        self.secrets = secrets

    def run(
        self, plan: DrillPlan, restored: RestoredDatabase, checks: Checks
    ) -> tuple[list[CheckResult], float | None]:
        spec = plan.target.cache
        if spec is None:
            raise InvalidRequestError("plan.target.cache: a cache drill's plan needs the temporary cache's shape")
        cache = restored_cache(restored, spec.type)
        results = compare_restored_cache(spec, cache)
        if checks.cache is None:
            return results, None
        key_results, data_rpo = cache_checks(cache, checks.cache, plan.recovery_point_moment, self.secrets)
        return results + key_results, data_rpo


def restored_cache(restored: RestoredDatabase, cache_type: str) -> RestoredCache:
    """The state's ``restored`` part read back as a cache (the state keeps the cache's fields as it wrote them)."""
    if isinstance(restored, RestoredCache):
        return restored
    return RestoredCache.model_validate({"type": cache_type, **restored.model_dump(mode="json")})


def _execution_name(execution_id: str) -> str:
    return execution_id.rsplit(":", 1)[-1]


def find_protected_cache(
    caches: DrillCache, reference: str, policies: PolicyDocument, account: str | None
) -> SourceCache:
    """The cache the request names (identifier or a local ElastiCache ARN), if an existing policy protects it."""
    wanted: DatabaseType | None = None
    identifier = reference
    if is_arn(reference):
        arn = check_local(parse_arn(reference, field="source"), field="source", region=caches.region, account=account)
        if arn.service != "elasticache" or arn.resource_type not in CACHE_ARN_TYPES:
            raise InvalidRequestError(
                f"source: {reference} is not an ElastiCache replication group, serverless cache or cluster ARN"
            )
        wanted = CACHE_ARN_TYPES[arn.resource_type]
        identifier = arn.resource_name
    cache = caches.find_source(identifier, wanted)
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
