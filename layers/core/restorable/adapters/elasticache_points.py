"""ElastiCache behind the snapshot and prune jobs' ports: caches as databases, manual snapshots as recovery points.

``ElastiCacheSnapshotGateway`` wraps ``ElastiCacheGateway`` (the boto3 calls). The mapping between the
adapter's ``Cache`` / ``CacheSnapshot`` and the core's ``Database`` / ``RecoveryPoint`` lives here, in
one place (``cache_database``, ``cache_of``, ``cache_recovery_point``, ``cache_snapshot_of``), for every
job that handles caches.

Snapshots carry the same tag contract as RDS snapshots (``restorable:managed-by``, ``kind``,
``expires-at``, ``source``, ``policy``; a legal hold is a tag too). Automatic snapshots are never listed
(the listings ask for manual ones only); one that still reached the mapping would read as automated and
be kept. ElastiCache manual snapshots stay in the source Region: there is no DR-Region gateway.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from ..models import Database, DatabaseType, Engine, RecoveryPoint
from ..predeploy_plan import PointReference, Slot
from .elasticache import Cache, CacheKind, CacheSnapshot, ElastiCacheGateway

# The one translation between the adapter's cache kinds and the core's resource types.
DATABASE_TYPE_OF_KIND: Mapping[CacheKind, DatabaseType] = {
    CacheKind.REPLICATION_GROUP: DatabaseType.CACHE_REPLICATION_GROUP,
    CacheKind.CACHE_CLUSTER: DatabaseType.CACHE_CLUSTER,
    CacheKind.SERVERLESS: DatabaseType.SERVERLESS_CACHE,
}
KIND_OF_DATABASE_TYPE: Mapping[DatabaseType, CacheKind] = {value: key for key, value in DATABASE_TYPE_OF_KIND.items()}


def _utc_now() -> datetime:
    return datetime.now(UTC)


class ElastiCacheSnapshotGateway:
    """One Region's caches and manual snapshots, as the snapshot, prune and pre-deploy jobs see them.

    ``clock`` gives the time written as ``restorable:created-at`` on a new snapshot (ElastiCache
    reports a creation time only once the nodes are snapshotted).
    """

    engine = Engine.ELASTICACHE

    def __init__(self, gateway: ElastiCacheGateway, *, clock: Callable[[], datetime] = _utc_now) -> None:
        self._gateway = gateway
        self._clock = clock
        self.region = gateway.region

    def list_databases(self) -> list[Database]:
        """Every replication group, standalone cluster and serverless cache, with its tags."""
        return [cache_database(cache) for cache in self._gateway.list_caches()]

    def list_manual_snapshots(self) -> list[RecoveryPoint]:
        """Every manual snapshot of the Region (node-based and serverless), with its tags."""
        return [cache_recovery_point(snapshot) for snapshot in self._gateway.list_manual_snapshots()]

    def create_snapshot(self, database: Database, snapshot_id: str, tags: dict[str, str]) -> RecoveryPoint:
        """Start a snapshot of the cache (a replication group at group level, a serverless cache by its own call)."""
        snapshot = self._gateway.create_snapshot(cache_of(database), snapshot_id, tags, requested_at=self._clock())
        return cache_recovery_point(snapshot)

    def delete_snapshot(self, point: RecoveryPoint) -> None:
        self._gateway.delete_snapshot(cache_snapshot_of(point))

    # ---- the pre-deploy job's port (PredeployGateway)

    def find_database(self, identifier: str) -> Database | None:
        """The cache named ``identifier`` with its tags, or None; a group's member names its group."""
        found = self._gateway.find_cache(identifier)
        if found is None:
            return None
        cache, group = found
        return replace(cache_database(cache), cluster_identifier=group)

    def list_snapshots_of(self, database: Database) -> list[RecoveryPoint]:
        """The cache's manual snapshots, with tags (one tag read per snapshot of this cache only)."""
        own = [
            point
            for point in self._gateway.list_manual_snapshots(with_tags=False)
            if point.source_identifier == database.identifier and point.type is KIND_OF_DATABASE_TYPE[database.type]
        ]
        return [
            cache_recovery_point(replace(point, tags=self._gateway.tags_of(point.arn)) if point.arn else point)
            for point in own
        ]

    def describe_points(self, references: Sequence[PointReference]) -> list[RecoveryPoint]:
        """The token's snapshots by name, with tags; a snapshot that is gone is simply absent."""
        found: list[RecoveryPoint] = []
        for reference in references:
            if reference.slot not in (Slot.CACHE, Slot.SERVERLESS):
                continue
            snapshot = self._gateway.snapshot_named(reference.value, serverless=reference.slot is Slot.SERVERLESS)
            if snapshot is not None:
                found.append(cache_recovery_point(snapshot))
        return found


class ExistingCaches:
    """The prune's inventory of ElastiCache: which caches exist, by ARN, from the listings alone (no tag reads).

    The prune checks its snapshots' sources against these ARNs; it needs neither policy tags nor states.
    """

    def __init__(self, gateway: ElastiCacheGateway) -> None:
        self._gateway = gateway

    def list_databases(self) -> list[Database]:
        return [cache_database(cache) for cache in self._gateway.list_caches(with_tags=False)]


def cache_database(cache: Cache) -> Database:
    """A cache as a ``Database``: its engine is the cache engine (``valkey``, ``redis``, ``memcached``)."""
    return Database(
        type=DATABASE_TYPE_OF_KIND[cache.kind],
        identifier=cache.identifier,
        arn=cache.arn,
        status=cache.status,
        engine=cache.engine,
        tags=dict(cache.tags),
    )


def cache_of(database: Database) -> Cache:
    """The ``Cache`` the adapter acts on for a cache ``Database`` (a ``ValueError`` for any other resource)."""
    kind = KIND_OF_DATABASE_TYPE.get(database.type)
    if kind is None:
        raise ValueError(f"{database.identifier} is a {database.type.value}, not a cache")
    return Cache(
        kind=kind,
        identifier=database.identifier,
        arn=database.arn,
        status=database.status,
        engine=database.engine,
        tags=dict(database.tags),
    )


def cache_recovery_point(snapshot: CacheSnapshot) -> RecoveryPoint:
    """A cache snapshot as a ``RecoveryPoint`` of its cache's type; its tags carry the contract."""
    return RecoveryPoint(
        type=DATABASE_TYPE_OF_KIND[snapshot.type],
        identifier=snapshot.identifier,
        arn=snapshot.arn,
        source_identifier=snapshot.source_identifier,
        status=snapshot.status,
        snapshot_type=snapshot.snapshot_type,
        region=snapshot.region,
        created_at=snapshot.created_at,
        tags=dict(snapshot.tags),
        encrypted=snapshot.encrypted,
        kms_key_id=snapshot.kms_key_id,
    )


def cache_snapshot_of(point: RecoveryPoint) -> CacheSnapshot:
    """The ``CacheSnapshot`` the adapter acts on for a cache ``RecoveryPoint`` (a ``ValueError`` for any other)."""
    kind = KIND_OF_DATABASE_TYPE.get(point.type)
    if kind is None:
        raise ValueError(f"{point.identifier} is a snapshot of a {point.type.value}, not of a cache")
    return CacheSnapshot(
        type=kind,
        identifier=point.identifier,
        arn=point.arn,
        source_identifier=point.source_identifier,
        status=point.status,
        snapshot_type=point.snapshot_type,
        region=point.region,
        created_at=point.created_at,
        tags=dict(point.tags),
        encrypted=point.encrypted,
        kms_key_id=point.kms_key_id,
    )
