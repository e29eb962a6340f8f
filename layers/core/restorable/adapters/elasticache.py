"""ElastiCache adapter: caches (replication groups, standalone clusters, serverless caches) with their
tags, and their manual snapshots: list, create with tags, delete, export to S3.

Differences from RDS that the jobs must know:

- Listings carry no tags: one ``ListTagsForResource`` per cache and per snapshot (by ARN).
- Node-based Memcached cannot be snapshotted (``Cache.snapshottable`` is False; ``create_snapshot``
  refuses it before calling AWS). Serverless Memcached can.
- A snapshot's creation time is in ``NodeSnapshots[].SnapshotCreateTime`` only (the earliest node is
  taken: no shard's data is newer than that). A snapshot still being created has no node times yet,
  and the emulator never gives one, so ``create_snapshot`` also writes ``restorable:created-at`` (the
  time the snapshot was requested). The API's time wins when both exist: it is when the data was
  taken, and a tag can be edited by anyone allowed to tag. ``created_at_source`` says which was used.
- Copies stay in the Region; the cross-Region path is an export to an S3 bucket of the same Region
  (``export_snapshot``), a copy of the objects, and a new cache seeded from them.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .. import tags as tag_keys
from ..errors import (
    AlreadyExistsError,
    AwsError,
    InvalidParameterError,
    PermissionDeniedError,
    QuotaExceededError,
    ResourceBusyError,
    ResourceNotFoundError,
)
from ..naming import format_timestamp, parse_timestamp
from ..tags import tag_dict, tag_list
from . import paginators
from .errors import BOTO_ERRORS, translate

# Our own evidence of when a snapshot was requested (the contract's other keys are in tags.py).
CREATED_AT = "restorable:created-at"

SNAPSHOT_PAGE_SIZE = 50  # DescribeSnapshots: MaxRecords 20-50
CACHE_PAGE_SIZE = 100  # DescribeCacheClusters / DescribeReplicationGroups: MaxRecords 20-100
SERVERLESS_PAGE_SIZE = 50  # DescribeServerlessCaches / DescribeServerlessCacheSnapshots

SNAPSHOTTABLE_ENGINES = frozenset({"redis", "valkey"})

# ElastiCache codes missing from the shared table; everything else goes through ``translate``.
_CODES: dict[str, type[AwsError]] = {
    "SnapshotAlreadyExistsFault": AlreadyExistsError,
    "ServerlessCacheSnapshotAlreadyExistsFault": AlreadyExistsError,
    "CacheClusterNotFound": ResourceNotFoundError,
    "ReplicationGroupNotFoundFault": ResourceNotFoundError,
    "SnapshotNotFoundFault": ResourceNotFoundError,
    "ServerlessCacheNotFoundFault": ResourceNotFoundError,
    "ServerlessCacheSnapshotNotFoundFault": ResourceNotFoundError,
    "InvalidCacheClusterState": ResourceBusyError,
    "InvalidReplicationGroupState": ResourceBusyError,
    "InvalidSnapshotState": ResourceBusyError,
    "InvalidServerlessCacheStateFault": ResourceBusyError,
    "InvalidServerlessCacheSnapshotStateFault": ResourceBusyError,
    "ServerlessCacheSnapshotQuotaExceededFault": QuotaExceededError,
    "SnapshotFeatureNotSupportedFault": InvalidParameterError,
    # Waiting frees no tag slot on a resource: permanent.
    "TagQuotaPerResourceExceeded": InvalidParameterError,
    "InvalidARN": InvalidParameterError,
    "ServiceLinkedRoleNotFoundFault": PermissionDeniedError,
    # restore drills: creating and deleting temporary caches
    "ReplicationGroupAlreadyExists": AlreadyExistsError,
    "ServerlessCacheAlreadyExistsFault": AlreadyExistsError,
    "InsufficientCacheClusterCapacity": QuotaExceededError,
    "ClusterQuotaForCustomerExceeded": QuotaExceededError,
    "NodeQuotaForClusterExceeded": QuotaExceededError,
    "NodeQuotaForCustomerExceeded": QuotaExceededError,
    "NodeGroupsPerReplicationGroupQuotaExceeded": QuotaExceededError,
    "ServerlessCacheQuotaForCustomerExceededFault": QuotaExceededError,
    "CacheSubnetGroupNotFoundFault": ResourceNotFoundError,
    "CacheParameterGroupNotFound": ResourceNotFoundError,
    "CacheSecurityGroupNotFound": ResourceNotFoundError,
    "UserGroupNotFound": ResourceNotFoundError,
    "InvalidUserGroupState": ResourceBusyError,
    "InvalidCredentialsException": PermissionDeniedError,
}


def translate_error(error: Any, action: str) -> AwsError:
    """The shared table's domain error, with the ElastiCache codes it lacks classified here."""
    translated = translate(error, action)
    known = _CODES.get(translated.code)
    return known(str(translated), code=translated.code) if known is not None else translated


class CacheKind(enum.Enum):
    REPLICATION_GROUP = "replication-group"
    CACHE_CLUSTER = "cache-cluster"
    SERVERLESS = "serverless-cache"


@dataclass(frozen=True)
class Cache:
    """A replication group, a cluster outside any replication group, or a serverless cache."""

    kind: CacheKind
    identifier: str
    arn: str
    status: str
    engine: str
    engine_version: str = ""
    cluster_mode: str | None = None  # replication groups: enabled | disabled | compatible
    node_count: int = 0  # serverless caches: 0 (no nodes to count)
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def snapshottable(self) -> bool:
        return self.kind is CacheKind.SERVERLESS or self.engine in SNAPSHOTTABLE_ENGINES

    @property
    def policy_name(self) -> str | None:
        value = self.tags.get(tag_keys.POLICY, "").strip()
        return None if value.lower() in tag_keys.UNMANAGED_POLICY_VALUES else value

    @property
    def is_available(self) -> bool:
        return self.status == "available"


@dataclass(frozen=True)
class CacheSnapshot:
    """A snapshot of a cache, shaped like ``models.RecoveryPoint`` (its ``type`` is a ``CacheKind``)."""

    type: CacheKind
    identifier: str
    arn: str
    source_identifier: str
    status: str
    snapshot_type: str  # manual | automated
    region: str
    created_at: datetime | None = None
    created_at_source: str | None = None  # "api" (node snapshot times), "tag" (restorable:created-at) or None
    tags: Mapping[str, str] = field(default_factory=dict)
    encrypted: bool = False
    kms_key_id: str | None = None

    @property
    def managed_by(self) -> str | None:
        return self.tags.get(tag_keys.MANAGED_BY)

    @property
    def kind(self) -> str | None:
        return self.tags.get(tag_keys.KIND)

    @property
    def expires_at(self) -> datetime | None:
        return parse_timestamp(self.tags.get(tag_keys.EXPIRES_AT, ""))

    @property
    def source_arn(self) -> str | None:
        return self.tags.get(tag_keys.SOURCE)

    @property
    def legal_hold(self) -> bool:
        return tag_keys.is_held(self.tags)

    @property
    def is_automated(self) -> bool:
        return self.snapshot_type != "manual"

    @property
    def is_available(self) -> bool:
        return self.status == "available"


@dataclass(frozen=True)
class ExportStarted:
    """An export to S3 under way: ElastiCache writes ``{prefix}*.rdb`` objects (one per shard) into ``bucket``."""

    snapshot: CacheSnapshot
    bucket: str
    prefix: str


class ElastiCacheGateway:
    """One Region's ElastiCache, through a client the caller creates."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.region: str = client.meta.region_name

    # ---- caches

    def list_caches(self, *, with_tags: bool = True) -> list[Cache]:
        """Every replication group, cluster outside a replication group and serverless cache, with tags.

        ``with_tags=False`` leaves out the one ``ListTagsForResource`` per cache (a reader needing only ARNs).
        """
        caches = [cache_from_group(item) for item in self._pages("describe_replication_groups", CACHE_PAGE_SIZE)]
        caches.extend(
            cache_from_cluster(item)
            for item in self._pages(
                "describe_cache_clusters", CACHE_PAGE_SIZE, ShowCacheClustersNotInReplicationGroups=True
            )
            if not item.get("ReplicationGroupId")  # members are protected through their group
        )
        caches.extend(
            cache_from_serverless(item) for item in self._pages("describe_serverless_caches", SERVERLESS_PAGE_SIZE)
        )
        if not with_tags:
            return caches
        return [_with_tags(cache, self.tags_of(cache.arn)) for cache in caches]

    def tags_of(self, arn: str) -> dict[str, str]:
        try:
            return tag_dict(self._client.list_tags_for_resource(ResourceName=arn).get("TagList"))
        except BOTO_ERRORS as exc:
            raise translate_error(exc, f"list tags of {arn}") from exc

    # ---- snapshots

    def list_manual_snapshots(self, *, with_tags: bool = True) -> list[CacheSnapshot]:
        """Every manual snapshot in the Region (node-based and serverless); tags cost one call each."""
        points = [
            self._snapshot(item)
            for item in self._pages("describe_snapshots", SNAPSHOT_PAGE_SIZE, SnapshotSource="user")
        ]
        points.extend(
            self._serverless_snapshot(item)
            for item in self._pages("describe_serverless_cache_snapshots", SERVERLESS_PAGE_SIZE, SnapshotType="manual")
        )
        if not with_tags:
            return points
        # A snapshot without an ARN cannot be tagged or read by tag: it stays listed, untagged (so never deleted).
        return [_snapshot_with_tags(point, self.tags_of(point.arn)) if point.arn else point for point in points]

    def find_cache(self, identifier: str) -> tuple[Cache, str | None] | None:
        """The cache named ``identifier`` with its tags, or None; for a member of a replication group, the group.

        A replication group first, then a cluster, then a serverless cache (one call each until found).
        """
        lookups: tuple[tuple[str, str, dict[str, Any]], ...] = (
            ("describe_replication_groups", "ReplicationGroups", {"ReplicationGroupId": identifier}),
            ("describe_cache_clusters", "CacheClusters", {"CacheClusterId": identifier}),
            ("describe_serverless_caches", "ServerlessCaches", {"ServerlessCacheName": identifier}),
        )
        mappers = (cache_from_group, cache_from_cluster, cache_from_serverless)
        for (operation, key, request), mapper in zip(lookups, mappers, strict=True):
            try:
                items = getattr(self._client, operation)(**request).get(key, [])
            except BOTO_ERRORS as exc:
                error = translate_error(exc, f"{operation} {identifier}")
                if isinstance(error, ResourceNotFoundError):
                    continue
                raise error from exc
            if items:
                cache = mapper(items[0])
                group = items[0].get("ReplicationGroupId") if cache.kind is CacheKind.CACHE_CLUSTER else None
                return _with_tags(cache, self.tags_of(cache.arn) if cache.arn else {}), group
        return None

    def find_snapshot(self, cache: Cache, name: str) -> CacheSnapshot | None:
        """The snapshot named ``name`` with its tags, or None: how a rerun finds what an earlier run made."""
        return self.snapshot_named(name, serverless=cache.kind is CacheKind.SERVERLESS)

    def snapshot_named(self, name: str, *, serverless: bool) -> CacheSnapshot | None:
        """The node-based (or serverless) snapshot named ``name`` with its tags, or None."""
        try:
            if serverless:
                items = self._client.describe_serverless_cache_snapshots(ServerlessCacheSnapshotName=name)[
                    "ServerlessCacheSnapshots"
                ]
                found = [self._serverless_snapshot(item) for item in items]
            else:
                found = [
                    self._snapshot(item) for item in self._client.describe_snapshots(SnapshotName=name)["Snapshots"]
                ]
        except BOTO_ERRORS as exc:
            error = translate_error(exc, f"describe snapshot {name}")
            if isinstance(error, ResourceNotFoundError):
                return None
            raise error from exc
        if not found:
            return None
        return _snapshot_with_tags(found[0], self.tags_of(found[0].arn)) if found[0].arn else found[0]

    def create_snapshot(
        self, cache: Cache, name: str, tags: Mapping[str, str], *, requested_at: datetime
    ) -> CacheSnapshot:
        """Start a snapshot of ``cache`` tagged with ``tags`` plus ``restorable:created-at``, atomically."""
        if not cache.snapshottable:
            raise InvalidParameterError(
                f"snapshot {name} of {cache.identifier}: {cache.engine} clusters cannot be snapshotted",
                code="SnapshotFeatureNotSupportedFault",
            )
        all_tags = {**tags, CREATED_AT: format_timestamp(requested_at)}
        request_tags = tag_list(all_tags)
        try:
            if cache.kind is CacheKind.SERVERLESS:
                response = self._client.create_serverless_cache_snapshot(
                    ServerlessCacheSnapshotName=name, ServerlessCacheName=cache.identifier, Tags=request_tags
                )
                point = self._serverless_snapshot(response["ServerlessCacheSnapshot"], source=cache.identifier)
            elif cache.kind is CacheKind.REPLICATION_GROUP:
                response = self._client.create_snapshot(
                    SnapshotName=name, ReplicationGroupId=cache.identifier, Tags=request_tags
                )
                point = self._snapshot(response["Snapshot"])
            else:
                response = self._client.create_snapshot(
                    SnapshotName=name, CacheClusterId=cache.identifier, Tags=request_tags
                )
                point = self._snapshot(response["Snapshot"])
        except BOTO_ERRORS as exc:
            raise translate_error(exc, f"snapshot {name} of {cache.identifier}") from exc
        return _snapshot_with_tags(point, all_tags)

    def add_tags(self, point: CacheSnapshot, tags: Mapping[str, str]) -> None:
        try:
            self._client.add_tags_to_resource(ResourceName=point.arn, Tags=tag_list(dict(tags)))
        except BOTO_ERRORS as exc:
            raise translate_error(exc, f"tag {point.identifier}") from exc

    def delete_snapshot(self, point: CacheSnapshot) -> None:
        if point.region != self.region:
            raise ValueError(f"snapshot {point.identifier} is in {point.region}, not {self.region}")
        try:
            if point.type is CacheKind.SERVERLESS:
                self._client.delete_serverless_cache_snapshot(ServerlessCacheSnapshotName=point.identifier)
            else:
                self._client.delete_snapshot(SnapshotName=point.identifier)
        except BOTO_ERRORS as exc:
            raise translate_error(exc, f"delete {point.identifier} in {self.region}") from exc

    def export_snapshot(self, point: CacheSnapshot, bucket: str) -> ExportStarted:
        """Export ``point`` to ``bucket`` (same Region), under the snapshot's own name.

        The bucket must grant ElastiCache write access; the name must be unused in the bucket.
        """
        try:
            if point.type is CacheKind.SERVERLESS:
                response = self._client.export_serverless_cache_snapshot(
                    ServerlessCacheSnapshotName=point.identifier, S3BucketName=bucket
                )
                exported = self._serverless_snapshot(
                    response["ServerlessCacheSnapshot"], source=point.source_identifier
                )
            else:
                response = self._client.copy_snapshot(
                    SourceSnapshotName=point.identifier, TargetSnapshotName=point.identifier, TargetBucket=bucket
                )
                exported = self._snapshot(response["Snapshot"])
        except BOTO_ERRORS as exc:
            raise translate_error(exc, f"export {point.identifier} to s3://{bucket}") from exc
        return ExportStarted(snapshot=_snapshot_with_tags(exported, point.tags), bucket=bucket, prefix=point.identifier)

    # ---- mapping

    def _pages(self, operation: str, page_size: int, **kwargs: Any) -> Iterator[dict[str, Any]]:
        return items_of_pages(self._client, operation, page_size, **kwargs)

    def _snapshot(self, item: Mapping[str, Any]) -> CacheSnapshot:
        group = item.get("ReplicationGroupId")
        node_times = [n["SnapshotCreateTime"] for n in item.get("NodeSnapshots") or [] if n.get("SnapshotCreateTime")]
        return CacheSnapshot(
            type=CacheKind.REPLICATION_GROUP if group else CacheKind.CACHE_CLUSTER,
            identifier=item["SnapshotName"],
            arn=item.get("ARN", ""),
            source_identifier=group or item.get("CacheClusterId", ""),
            status=item.get("SnapshotStatus", "unknown"),
            snapshot_type="automated" if item.get("SnapshotSource") == "automated" else "manual",
            region=self.region,
            created_at=min(node_times) if node_times else None,
            created_at_source="api" if node_times else None,
            encrypted=bool(item.get("KmsKeyId")),
            kms_key_id=item.get("KmsKeyId"),
        )

    def _serverless_snapshot(self, item: Mapping[str, Any], source: str | None = None) -> CacheSnapshot:
        created = item.get("CreateTime")
        return CacheSnapshot(
            type=CacheKind.SERVERLESS,
            identifier=item["ServerlessCacheSnapshotName"],
            arn=item.get("ARN", ""),
            source_identifier=item.get("ServerlessCacheConfiguration", {}).get("ServerlessCacheName") or source or "",
            status=item.get("Status", "unknown"),
            snapshot_type=item.get("SnapshotType", "manual"),
            region=self.region,
            created_at=created,
            created_at_source="api" if created else None,
            encrypted=bool(item.get("KmsKeyId")),
            kms_key_id=item.get("KmsKeyId"),
        )

    # ---- verification reads

    def list_caches_with_backup_settings(self) -> list[CacheBackupSettings]:
        """As ``list_caches``, with each cache's ``SnapshotRetentionLimit`` and creation time."""
        found: list[tuple[Cache, Mapping[str, Any], str]] = [
            (cache_from_group(item), item, "ReplicationGroupCreateTime")
            for item in self._pages("describe_replication_groups", CACHE_PAGE_SIZE)
        ]
        found.extend(
            (cache_from_cluster(item), item, "CacheClusterCreateTime")
            for item in self._pages(
                "describe_cache_clusters", CACHE_PAGE_SIZE, ShowCacheClustersNotInReplicationGroups=True
            )
            if not item.get("ReplicationGroupId")
        )
        found.extend(
            (cache_from_serverless(item), item, "CreateTime")
            for item in self._pages("describe_serverless_caches", SERVERLESS_PAGE_SIZE)
        )
        settings = []
        for cache, item, created_key in found:
            limit = item.get("SnapshotRetentionLimit")
            created = item.get(created_key)
            settings.append(
                CacheBackupSettings(
                    cache=_with_tags(cache, self.tags_of(cache.arn)),
                    snapshot_retention_limit=int(limit) if isinstance(limit, int) else None,
                    created_at=created if isinstance(created, datetime) and created.tzinfo is not None else None,
                )
            )
        return settings


def _with_tags(cache: Cache, tags: Mapping[str, str]) -> Cache:
    return Cache(**{**cache.__dict__, "tags": dict(tags)})


def _snapshot_with_tags(point: CacheSnapshot, tags: Mapping[str, str]) -> CacheSnapshot:
    """``point`` with its tags; without a creation time from the API, the ``restorable:created-at`` tag is used."""
    created_at, source = point.created_at, point.created_at_source
    if created_at is None:
        created_at = parse_timestamp(tags.get(CREATED_AT, ""))
        source = "tag" if created_at is not None else None
    return CacheSnapshot(
        **{**point.__dict__, "tags": dict(tags), "created_at": created_at, "created_at_source": source}
    )


def cache_from_group(item: Mapping[str, Any]) -> Cache:
    mode = item.get("ClusterMode") or ("enabled" if item.get("ClusterEnabled") else "disabled")
    return Cache(
        kind=CacheKind.REPLICATION_GROUP,
        identifier=item["ReplicationGroupId"],
        arn=item.get("ARN", ""),
        status=item.get("Status", "unknown"),
        # Replication groups are Valkey or Redis OSS only; older responses carry no Engine.
        engine=item.get("Engine") or "redis",
        cluster_mode=mode,
        node_count=len(item.get("MemberClusters") or []),
    )


def cache_from_cluster(item: Mapping[str, Any]) -> Cache:
    return Cache(
        kind=CacheKind.CACHE_CLUSTER,
        identifier=item["CacheClusterId"],
        arn=item.get("ARN", ""),
        status=item.get("CacheClusterStatus", "unknown"),
        engine=item.get("Engine", ""),
        engine_version=item.get("EngineVersion", ""),
        node_count=int(item.get("NumCacheNodes") or 0),
    )


def cache_from_serverless(item: Mapping[str, Any]) -> Cache:
    return Cache(
        kind=CacheKind.SERVERLESS,
        identifier=item["ServerlessCacheName"],
        arn=item.get("ARN", ""),
        status=item.get("Status", "unknown"),
        engine=item.get("Engine", ""),
        engine_version=item.get("FullEngineVersion") or item.get("MajorEngineVersion", ""),
    )


@dataclass(frozen=True)
class CacheBackupSettings:
    """A cache with its own automatic backups (``SnapshotRetentionLimit``; None when not reported)."""

    cache: Cache
    snapshot_retention_limit: int | None
    created_at: datetime | None = None


def items_of_pages(client: Any, operation: str, page_size: int, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item of ``operation``'s pages (its result key), errors translated through the ElastiCache table."""
    paginator = paginators.paginator(client, operation)
    result_key = paginator.result_keys[0].expression
    try:
        for page in paginator.paginate(PaginationConfig={"PageSize": page_size}, **kwargs):
            yield from page.get(result_key, [])
    except BOTO_ERRORS as exc:
        raise translate_error(exc, operation) from exc
