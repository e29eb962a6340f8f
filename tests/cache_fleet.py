"""Caches on moto for the handler tests: replication groups and clusters, their states and snapshots.

moto keeps no creation time on a snapshot and has no serverless caches (their listings answer empty,
see ``local_runtime/serverless_caches.py``); a cache's state is set on moto's model, since moto makes
every cache ``available`` at once.
"""

from __future__ import annotations

from typing import Any

import boto3
from moto.core import DEFAULT_ACCOUNT_ID
from moto.elasticache.models import elasticache_backends

from restorable.tags import tag_dict


class CacheFleet:
    def __init__(self, region: str) -> None:
        self.region = region
        self.client: Any = boto3.client("elasticache", region_name=region)

    @staticmethod
    def _tags(policy: str | None) -> list[dict[str, str]]:
        return [] if policy is None else [{"Key": "restorable:policy", "Value": policy}]

    def group(
        self, identifier: str, *, policy: str | None = "standard", engine: str = "valkey", shards: int = 0
    ) -> str:
        """A replication group (cluster mode enabled with ``shards`` node groups); returns its ARN."""
        options: dict[str, Any] = (
            {"NumNodeGroups": shards, "ReplicasPerNodeGroup": 1, "ClusterMode": "enabled"}
            if shards
            else {"NumCacheClusters": 2}
        )
        made = self.client.create_replication_group(
            ReplicationGroupId=identifier,
            ReplicationGroupDescription=identifier,
            Engine=engine,
            CacheNodeType="cache.t4g.small",
            Tags=self._tags(policy),
            **options,
        )
        return str(made["ReplicationGroup"]["ARN"])

    def cluster(self, identifier: str, *, policy: str | None = "standard", engine: str = "redis") -> str:
        made = self.client.create_cache_cluster(
            CacheClusterId=identifier,
            Engine=engine,
            CacheNodeType="cache.t4g.micro",
            NumCacheNodes=1,
            Tags=self._tags(policy),
        )
        return str(made["CacheCluster"]["ARN"])

    def _backend(self) -> Any:
        return elasticache_backends[DEFAULT_ACCOUNT_ID][self.region]

    def set_group_status(self, identifier: str, status: str) -> None:
        self._backend().replication_groups[identifier].status = status

    def set_cluster_status(self, identifier: str, status: str) -> None:
        self._backend().cache_clusters[identifier].cache_cluster_status = status

    def delete_group(self, identifier: str) -> None:
        self.client.delete_replication_group(ReplicationGroupId=identifier)
        self._backend().replication_groups.pop(identifier, None)  # moto keeps it 'deleting' otherwise

    def snapshots(self) -> dict[str, dict[str, str]]:
        """Every manual snapshot by name, with its tags."""
        found = {}
        for item in self.client.describe_snapshots(SnapshotSource="user")["Snapshots"]:
            tags = self.client.list_tags_for_resource(ResourceName=item["ARN"])["TagList"]
            found[item["SnapshotName"]] = tag_dict(tags)
        return found

    def snapshot_sources(self) -> dict[str, tuple[str | None, str | None]]:
        """Every manual snapshot by name: (replication group, cluster) it was taken of."""
        return {
            item["SnapshotName"]: (item.get("ReplicationGroupId"), item.get("CacheClusterId"))
            for item in self.client.describe_snapshots(SnapshotSource="user")["Snapshots"]
        }

    def snapshot(
        self,
        name: str,
        *,
        group: str | None = None,
        cluster: str | None = None,
        source_arn: str | None = None,
        created_at: str,
        expires_at: str | None,
        kind: str = "daily",
        owner: str | None = "restorable",
        extra: dict[str, str] | None = None,
    ) -> None:
        """A snapshot as the snapshot function makes it (``owner=None``: a person's, untagged), at a chosen time.

        ``source_arn`` names the source for a snapshot of a cache that no longer exists (moto needs a live one).
        """
        tags: dict[str, str] = {"restorable:created-at": created_at}
        if owner is not None:
            tags.update({"restorable:managed-by": owner, "restorable:kind": kind, "restorable:policy": "standard"})
            if source_arn is not None:
                tags["restorable:source"] = source_arn
            if expires_at is not None:
                tags["restorable:expires-at"] = expires_at
        tags.update(extra or {})
        target = {"ReplicationGroupId": group} if group else {"CacheClusterId": cluster}
        made = self.client.create_snapshot(
            SnapshotName=name, Tags=[{"Key": k, "Value": v} for k, v in tags.items()], **target
        )["Snapshot"]
        if owner is not None and source_arn is None:
            arn = self.arn_of(group=group, cluster=cluster)
            self.client.add_tags_to_resource(
                ResourceName=made["ARN"], Tags=[{"Key": "restorable:source", "Value": arn}]
            )

    def arn_of(self, *, group: str | None = None, cluster: str | None = None) -> str:
        if group:
            return str(self.client.describe_replication_groups(ReplicationGroupId=group)["ReplicationGroups"][0]["ARN"])
        return str(self.client.describe_cache_clusters(CacheClusterId=cluster)["CacheClusters"][0]["ARN"])
