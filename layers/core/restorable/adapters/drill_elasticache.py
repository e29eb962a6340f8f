"""ElastiCache adapter for restore drills: find the source cache and its snapshots, restore a snapshot to a
temporary cache, read its state, and delete it again (only with positive proof that it is a drill cache).

Node-based snapshots (of a replication group or a standalone Valkey / Redis OSS cluster) restore with
``CreateReplicationGroup`` and ``SnapshotName``; serverless snapshots with ``CreateServerlessCache`` and
``SnapshotArnsToRestore``. The temporary cache always has encryption in transit and at rest, no AUTH
token (see docs/drills.md, "ElastiCache"), no automatic snapshots, and the drill tags from the create
call on. Listings carry no tags: ownership is read with ``ListTagsForResource`` before every delete.

Implements ``drills.ports.DrillEngine`` (restore, poll, cleanup, janitor) and ``drills.ports.DrillCache`` (what
the cache planner reads); returns the domain types of ``drills.cache_model``; every AWS error goes through
``elasticache.translate_error``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .. import tags as tag_keys
from ..arns import is_arn
from ..drills.cache_model import (
    CACHE_TERMINAL_FAILURE_STATES,
    CacheNetwork,
    CacheRestoreSpec,
    CacheSnapshotInfo,
    RestoredCache,
    RestoredCacheType,
    SourceCache,
)
from ..drills.model import DrillResource, Network, RestoredDatabase
from ..drills.plan import is_drill_resource
from ..drills.state import DrillPlan
from ..errors import (
    AlreadyExistsError,
    CleanupPendingError,
    InvalidRequestError,
    NotOwnedError,
    ResourceBusyError,
    ResourceNotFoundError,
)
from ..models import DatabaseType, Engine
from ..naming import parse_timestamp
from ..tags import tag_list
from .elasticache import (
    CACHE_PAGE_SIZE,
    CREATED_AT,
    SERVERLESS_PAGE_SIZE,
    SNAPSHOT_PAGE_SIZE,
    ElastiCacheGateway,
    items_of_pages,
    translate_error,
)
from .errors import BOTO_ERRORS

DRILL_PREFIX = "drill-"
_SOURCE_LOOKUPS = (DatabaseType.CACHE_REPLICATION_GROUP, DatabaseType.SERVERLESS_CACHE, DatabaseType.CACHE_CLUSTER)


class DrillElastiCacheGateway:
    """One Region's ElastiCache, for drills."""

    engine = Engine.ELASTICACHE
    available_status = "available"
    failed_statuses = CACHE_TERMINAL_FAILURE_STATES

    def __init__(self, client: Any) -> None:
        self._client = client
        self._caches = ElastiCacheGateway(client)
        self.region: str = client.meta.region_name

    # ---- the source and its snapshots

    def find_source(self, identifier: str, cache_type: DatabaseType | None = None) -> SourceCache:
        """The replication group, serverless cache or standalone cluster of that identifier (of ``cache_type``
        when given; in that order otherwise); ``ResourceNotFoundError`` if there is none."""
        if is_arn(identifier):
            raise InvalidRequestError(f"source: {identifier} must be resolved to an identifier before the lookup")
        name = identifier.lower()  # ElastiCache stores identifiers in lower case
        for wanted in (cache_type,) if cache_type is not None else _SOURCE_LOOKUPS:
            found = self._source(wanted, name)
            if found is not None:
                return found
        what = cache_type.value if cache_type is not None else "replication group, serverless cache or cluster"
        raise ResourceNotFoundError(f"unknown source '{identifier}': no {what} by that name in {self.region}")

    def _source(self, cache_type: DatabaseType, name: str) -> SourceCache | None:
        try:
            if cache_type is DatabaseType.CACHE_REPLICATION_GROUP:
                items = self._client.describe_replication_groups(ReplicationGroupId=name)["ReplicationGroups"]
                source = _source_group(items[0]) if items else None
            elif cache_type is DatabaseType.SERVERLESS_CACHE:
                items = self._client.describe_serverless_caches(ServerlessCacheName=name)["ServerlessCaches"]
                source = _source_serverless(items[0]) if items else None
            elif cache_type is DatabaseType.CACHE_CLUSTER:
                items = self._client.describe_cache_clusters(CacheClusterId=name)["CacheClusters"]
                item = items[0] if items else {}
                source = _source_cluster(item) if items else None
                if item.get("ReplicationGroupId"):
                    raise InvalidRequestError(
                        f"source: cluster {name} is a member of replication group {item['ReplicationGroupId']}: "
                        "drill the replication group instead"
                    )
            else:
                raise InvalidRequestError(f"source: {cache_type.value} is not an ElastiCache resource type")
        except BOTO_ERRORS as exc:
            error = translate_error(exc, f"describe source {name}")
            if isinstance(error, ResourceNotFoundError):
                return None
            raise error from exc
        if source is None:
            return None
        return _with_source_tags(source, self._caches.tags_of(source.arn)) if source.arn else source

    def get_snapshot(self, source_type: DatabaseType, name: str) -> CacheSnapshotInfo:
        """A named snapshot (serverless for serverless sources, node-based otherwise), with its tags."""
        if is_arn(name):
            raise InvalidRequestError(f"snapshot.identifier: {name} must be resolved to a name before the lookup")
        try:
            if source_type is DatabaseType.SERVERLESS_CACHE:
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
                raise ResourceNotFoundError(
                    f"snapshot '{name}' does not exist in {self.region}", code=error.code
                ) from exc
            raise error from exc
        if not found:
            raise ResourceNotFoundError(f"snapshot '{name}' does not exist in {self.region}")
        return self._with_snapshot_tags(found[0])

    def list_snapshots(self, source: SourceCache) -> list[CacheSnapshotInfo]:
        """The manual snapshots of ``source``, tags included (one ``ListTagsForResource`` each)."""
        if source.type is DatabaseType.SERVERLESS_CACHE:
            points = [
                self._serverless_snapshot(item)
                for item in self._pages(
                    "describe_serverless_cache_snapshots",
                    SERVERLESS_PAGE_SIZE,
                    ServerlessCacheName=source.identifier,
                    SnapshotType="manual",
                )
            ]
        else:
            owner = (
                {"ReplicationGroupId": source.identifier}
                if source.type is DatabaseType.CACHE_REPLICATION_GROUP
                else {"CacheClusterId": source.identifier}
            )
            points = [
                self._snapshot(item)
                for item in self._pages("describe_snapshots", SNAPSHOT_PAGE_SIZE, SnapshotSource="user", **owner)
            ]
        return [self._with_snapshot_tags(point) for point in points]

    # ---- the engine's drill steps (ports.DrillEngine)

    def restore(self, plan: DrillPlan, network: Network) -> None:
        """Start the restore the plan's target describes, in the cache network (``DrillStepSettings.cache_network``)."""
        if not isinstance(network, CacheNetwork):
            raise TypeError("a cache restore needs a CacheNetwork (cache subnet group, subnets, user group)")
        self.create_cache(_spec(plan), plan.tags, network, plan.execution_id)

    def observe(self, plan: DrillPlan) -> RestoredDatabase | None:
        """The temporary cache as the state keeps it: a ``RestoredDatabase`` carrying the cache's fields (the state
        serialises its declared type; ``drills.elasticache.restored_cache`` reads them back)."""
        spec = _spec(plan)
        found = self.describe(spec.type, spec.identifier)
        return None if found is None else RestoredDatabase.model_validate(found.model_dump(mode="json"))

    def delete_target(self, plan: DrillPlan, stack_name: str) -> str:
        spec = _spec(plan)
        return self.delete(spec.type, spec.identifier, stack_name, plan.execution_id)

    def delete_resource(self, resource: DrillResource, stack_name: str) -> str:
        """The janitor's delete of a listed drill cache (any execution of this stack), proven again by its tags."""
        cache_type: RestoredCacheType = (
            "serverless-cache" if resource.type is DatabaseType.SERVERLESS_CACHE else "replication-group"
        )
        return self.delete(cache_type, resource.identifier, stack_name)

    # ---- create

    def create_cache(
        self, spec: CacheRestoreSpec, tags: Mapping[str, str], network: CacheNetwork, execution_id: str
    ) -> None:
        """Start the restore ``spec`` describes. A retry after a lost response finds its own cache and succeeds."""
        request_tags = tag_list(dict(tags))
        try:
            if spec.type == "serverless-cache":
                self._client.create_serverless_cache(**_serverless_arguments(spec, network), Tags=request_tags)
            else:
                self._client.create_replication_group(**_group_arguments(spec, network), Tags=request_tags)
        except BOTO_ERRORS as exc:
            error = translate_error(exc, f"restore {spec.identifier} from {spec.snapshot_name}")
            if isinstance(error, AlreadyExistsError):
                found = self.describe(spec.type, spec.identifier)
                if found is not None and found.tags.get(tag_keys.DRILL_EXECUTION) == execution_id:
                    return
            raise error from exc

    # ---- observe

    def describe(self, cache_type: RestoredCacheType, identifier: str) -> RestoredCache | None:
        """The temporary cache with its tags, or None when it does not exist."""
        try:
            if cache_type == "serverless-cache":
                items = self._client.describe_serverless_caches(ServerlessCacheName=identifier)["ServerlessCaches"]
            else:
                items = self._client.describe_replication_groups(ReplicationGroupId=identifier)["ReplicationGroups"]
        except BOTO_ERRORS as exc:
            error = translate_error(exc, f"describe {identifier}")
            if isinstance(error, ResourceNotFoundError):
                return None
            raise error from exc
        if not items:
            return None
        item = items[0]
        if cache_type == "serverless-cache":
            restored = restored_from_serverless(item)
        else:
            restored = restored_from_group(item, self._engine_version(item))
        arn = str(item.get("ARN") or "")
        tags = self._caches.tags_of(arn) if arn else {}
        return restored.model_copy(update={"tags": tags})

    def _engine_version(self, group: Mapping[str, Any]) -> str:
        """A replication group reports no engine version; its first member does (once it exists)."""
        members = group.get("MemberClusters") or []
        if group.get("Status") != "available" or not members:
            return ""
        try:
            [member] = self._client.describe_cache_clusters(CacheClusterId=members[0])["CacheClusters"]
        except BOTO_ERRORS as exc:
            error = translate_error(exc, f"describe member {members[0]}")
            if isinstance(error, ResourceNotFoundError):
                return ""
            raise error from exc
        return str(member.get("EngineVersion") or "")

    # ---- delete (tag-checked)

    def delete(
        self, cache_type: RestoredCacheType, identifier: str, stack_name: str, execution_id: str | None = None
    ) -> str:
        """Delete a drill cache without a final snapshot: ``deleted``, ``absent`` or ``already deleting``."""
        found = self.describe(cache_type, identifier)
        if found is None:
            return "absent"
        _prove_ownership(found, stack_name, execution_id)
        if found.status == "deleting":
            return "already deleting"
        try:
            if cache_type == "serverless-cache":
                self._client.delete_serverless_cache(ServerlessCacheName=identifier)
            else:
                self._client.delete_replication_group(ReplicationGroupId=identifier, RetainPrimaryCluster=False)
        except BOTO_ERRORS as exc:
            error = translate_error(exc, f"delete {identifier}")
            if isinstance(error, ResourceNotFoundError):
                return "absent"
            if isinstance(error, ResourceBusyError):
                raise CleanupPendingError(f"{identifier} cannot be deleted yet ({found.status}): {error}") from exc
            raise error from exc
        return "deleted"

    # ---- janitor inventory

    def list_drill_resources(self, stack_name: str) -> list[DrillResource]:
        """Every drill replication group and serverless cache of the stack. Only ``drill-*`` names have their
        tags read (the name narrows the reads; the tags are the proof)."""
        found: list[DrillResource] = []
        for item in self._pages("describe_replication_groups", CACHE_PAGE_SIZE):
            if str(item.get("ReplicationGroupId", "")).startswith(DRILL_PREFIX) and item.get("ARN"):
                tags = self._caches.tags_of(item["ARN"])
                if is_drill_resource(tags, stack_name):
                    found.append(
                        DrillResource(
                            DatabaseType.CACHE_REPLICATION_GROUP,
                            item["ReplicationGroupId"],
                            item.get("Status", ""),
                            tags,
                        )
                    )
        for item in self._pages("describe_serverless_caches", SERVERLESS_PAGE_SIZE):
            if str(item.get("ServerlessCacheName", "")).startswith(DRILL_PREFIX) and item.get("ARN"):
                tags = self._caches.tags_of(item["ARN"])
                if is_drill_resource(tags, stack_name):
                    found.append(
                        DrillResource(
                            DatabaseType.SERVERLESS_CACHE, item["ServerlessCacheName"], item.get("Status", ""), tags
                        )
                    )
        return found

    # ---- mapping

    def _pages(self, operation: str, page_size: int, **kwargs: Any) -> Iterator[dict[str, Any]]:
        return items_of_pages(self._client, operation, page_size, **kwargs)

    def _snapshot(self, item: Mapping[str, Any]) -> CacheSnapshotInfo:
        group = item.get("ReplicationGroupId")
        node_times = [n["SnapshotCreateTime"] for n in item.get("NodeSnapshots") or [] if n.get("SnapshotCreateTime")]
        return CacheSnapshotInfo(
            type=DatabaseType.CACHE_REPLICATION_GROUP if group else DatabaseType.CACHE_CLUSTER,
            identifier=item["SnapshotName"],
            arn=item.get("ARN", ""),
            region=self.region,
            status=item.get("SnapshotStatus", "unknown"),
            source_identifier=group or item.get("CacheClusterId", ""),
            # The earliest node: no shard's data is newer than that.
            created_at=min(node_times) if node_times else None,
            engine=item.get("Engine", ""),
            engine_version=str(item.get("EngineVersion", "")),
            node_type=item.get("CacheNodeType"),
            shard_count=int(item.get("NumNodeGroups") or 1),
            port=item.get("Port"),
            parameter_group=item.get("CacheParameterGroupName"),
            kms_key_id=item.get("KmsKeyId"),
            data_tiering=item.get("DataTiering") == "enabled",
        )

    def _serverless_snapshot(self, item: Mapping[str, Any]) -> CacheSnapshotInfo:
        configuration = item.get("ServerlessCacheConfiguration") or {}
        return CacheSnapshotInfo(
            type=DatabaseType.SERVERLESS_CACHE,
            identifier=item["ServerlessCacheSnapshotName"],
            arn=item.get("ARN", ""),
            region=self.region,
            status=item.get("Status", "unknown"),
            source_identifier=configuration.get("ServerlessCacheName", ""),
            created_at=item.get("CreateTime"),
            engine=configuration.get("Engine", ""),
            engine_version=str(configuration.get("MajorEngineVersion", "")),
            kms_key_id=item.get("KmsKeyId"),
        )

    def _with_snapshot_tags(self, point: CacheSnapshotInfo) -> CacheSnapshotInfo:
        """With its tags; without a creation time from the API, the ``restorable:created-at`` tag the snapshot
        job writes (the API's time wins when both exist)."""
        tags = self._caches.tags_of(point.arn) if point.arn else {}
        created_at = point.created_at or parse_timestamp(tags.get(CREATED_AT, ""))
        return CacheSnapshotInfo(**{**point.__dict__, "tags": tags, "created_at": created_at})


def _spec(plan: DrillPlan) -> CacheRestoreSpec:
    spec = plan.target.cache
    if spec is None:
        raise InvalidRequestError("plan.target.cache: a cache drill's plan needs the temporary cache's shape")
    return spec


def _group_arguments(spec: CacheRestoreSpec, network: CacheNetwork) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "ReplicationGroupId": spec.identifier,
        "ReplicationGroupDescription": spec.description or f"Restorable drill {spec.identifier}",
        "SnapshotName": spec.snapshot_name,
        "Engine": spec.engine,
        "CacheNodeType": spec.node_type,
        "TransitEncryptionEnabled": True,
        "AtRestEncryptionEnabled": True,
        "MultiAZEnabled": False,
        "SnapshotRetentionLimit": 0,
    }
    if spec.cluster_mode_enabled:
        # Cluster mode requires automatic failover; one node per shard is enough to read the data.
        arguments.update(
            ClusterMode="enabled",
            NumNodeGroups=spec.shard_count,
            ReplicasPerNodeGroup=0,
            AutomaticFailoverEnabled=True,
        )
    else:
        arguments.update(NumCacheClusters=1, AutomaticFailoverEnabled=False)
    optional = {
        "EngineVersion": spec.engine_version,
        "Port": spec.port,
        "CacheParameterGroupName": spec.parameter_group,
        "KmsKeyId": spec.kms_key_id,
        "CacheSubnetGroupName": network.subnet_group,
    }
    arguments.update({key: value for key, value in optional.items() if value})
    if spec.data_tiering:
        arguments["DataTieringEnabled"] = True
    if network.security_group_ids:
        arguments["SecurityGroupIds"] = list(network.security_group_ids)
    if network.user_group_id:
        arguments["UserGroupIds"] = [network.user_group_id]
    return arguments


def _serverless_arguments(spec: CacheRestoreSpec, network: CacheNetwork) -> dict[str, Any]:
    if not spec.snapshot_arn:
        raise InvalidRequestError(f"serverless snapshot {spec.snapshot_name} has no ARN to restore from")
    arguments: dict[str, Any] = {
        "ServerlessCacheName": spec.identifier,
        "Description": spec.description or f"Restorable drill {spec.identifier}",
        "Engine": spec.engine,
        "SnapshotArnsToRestore": [spec.snapshot_arn],
    }
    optional = {
        "MajorEngineVersion": spec.engine_version,
        "KmsKeyId": spec.kms_key_id,
        "UserGroupId": network.user_group_id,
    }
    arguments.update({key: value for key, value in optional.items() if value})
    if network.subnet_ids:
        arguments["SubnetIds"] = list(network.subnet_ids)
    if network.security_group_ids:
        arguments["SecurityGroupIds"] = list(network.security_group_ids)
    return arguments


def _prove_ownership(found: RestoredCache, stack_name: str, execution_id: str | None) -> None:
    tags = dict(found.tags)
    if not is_drill_resource(tags, stack_name):
        raise NotOwnedError(f"{found.identifier} is not a drill cache of stack {stack_name}: left untouched")
    if execution_id is not None and tags.get(tag_keys.DRILL_EXECUTION) != execution_id:
        raise NotOwnedError(f"{found.identifier} belongs to another drill execution: left untouched")


def _source_group(item: Mapping[str, Any]) -> SourceCache:
    mode = item.get("ClusterMode") or ("enabled" if item.get("ClusterEnabled") else "disabled")
    return SourceCache(
        type=DatabaseType.CACHE_REPLICATION_GROUP,
        identifier=item["ReplicationGroupId"],
        arn=item.get("ARN", ""),
        status=item.get("Status", "unknown"),
        # Replication groups are Valkey or Redis OSS only; older responses carry no Engine.
        engine=item.get("Engine") or "redis",
        cluster_mode=mode,
        node_type=item.get("CacheNodeType"),
        at_rest_encryption=bool(item.get("AtRestEncryptionEnabled", False)),
    )


def _source_serverless(item: Mapping[str, Any]) -> SourceCache:
    return SourceCache(
        type=DatabaseType.SERVERLESS_CACHE,
        identifier=item["ServerlessCacheName"],
        arn=item.get("ARN", ""),
        status=item.get("Status", "unknown"),
        engine=item.get("Engine", ""),
        engine_version=str(item.get("FullEngineVersion") or item.get("MajorEngineVersion") or ""),
        at_rest_encryption=True,  # serverless caches always encrypt at rest
    )


def _source_cluster(item: Mapping[str, Any]) -> SourceCache:
    return SourceCache(
        type=DatabaseType.CACHE_CLUSTER,
        identifier=item["CacheClusterId"],
        arn=item.get("ARN", ""),
        status=item.get("CacheClusterStatus", "unknown"),
        engine=item.get("Engine", ""),
        engine_version=str(item.get("EngineVersion", "")),
        node_type=item.get("CacheNodeType"),
        at_rest_encryption=bool(item.get("AtRestEncryptionEnabled", False)),
    )


def _with_source_tags(source: SourceCache, tags: Mapping[str, str]) -> SourceCache:
    return SourceCache(**{**source.__dict__, "tags": dict(tags)})


def restored_from_group(item: Mapping[str, Any], engine_version: str = "") -> RestoredCache:
    """A temporary replication group as ``DescribeReplicationGroups`` reports it (tags added by the caller)."""
    groups = item.get("NodeGroups") or []
    cluster_enabled = bool(item.get("ClusterEnabled"))
    if cluster_enabled:
        endpoint = item.get("ConfigurationEndpoint") or {}
    else:
        endpoint = (groups[0].get("PrimaryEndpoint") if groups else None) or {}
    return RestoredCache(
        identifier=item["ReplicationGroupId"],
        type="replication-group",
        status=item.get("Status", "unknown"),
        engine=item.get("Engine") or "redis",
        engine_version=engine_version,
        address=endpoint.get("Address"),
        port=endpoint.get("Port"),
        transit_encryption=bool(item.get("TransitEncryptionEnabled", False)),
        at_rest_encryption=bool(item.get("AtRestEncryptionEnabled", False)),
        encrypted=bool(item.get("AtRestEncryptionEnabled", False)),
        cluster_mode_enabled=cluster_enabled,
        shard_count=len(groups),
        node_type=item.get("CacheNodeType"),
        user_group_ids=tuple(item.get("UserGroupIds") or ()),
    )


def restored_from_serverless(item: Mapping[str, Any]) -> RestoredCache:
    """A temporary serverless cache as ``DescribeServerlessCaches`` reports it (tags added by the caller)."""
    endpoint = item.get("Endpoint") or {}
    return RestoredCache(
        identifier=item["ServerlessCacheName"],
        type="serverless-cache",
        status=item.get("Status", "unknown"),
        engine=item.get("Engine", ""),
        engine_version=str(item.get("FullEngineVersion") or item.get("MajorEngineVersion") or ""),
        address=endpoint.get("Address"),
        port=endpoint.get("Port"),
        # Serverless caches always encrypt in transit and at rest; the API has no flag to report.
        transit_encryption=True,
        at_rest_encryption=True,
        encrypted=True,
        cluster_mode_enabled=False,
        shard_count=1,
        user_group_ids=(item["UserGroupId"],) if item.get("UserGroupId") else (),
    )
