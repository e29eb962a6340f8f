"""RDS adapter for recovery: restore a recovery point (or a point in time) to a NEW database, read
what it became, and say whether a name is taken. It never modifies or deletes anything."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..drills.model import RestoredDatabase
from ..errors import ResourceNotFoundError
from ..models import DatabaseType
from ..tags import tag_list
from .drill_rds import restored_from_cluster, restored_from_instance
from .errors import BOTO_ERRORS, translate

if TYPE_CHECKING:
    from mypy_boto3_rds import RDSClient
else:
    RDSClient = Any


# Instance / cluster states a restore does not come back from.
FAILED_STATES = frozenset(
    {
        "failed",
        "incompatible-restore",
        "incompatible-parameters",
        "incompatible-network",
        "incompatible-option-group",
        "inaccessible-encryption-credentials",
        "inaccessible-encryption-credentials-recoverable",
        "storage-full",
        "deleting",
        "deleted",
    }
)


@dataclass(frozen=True)
class Placement:
    """Where the new database goes: a DB subnet group and security groups (empty: RDS's default)."""

    subnet_group: str = ""
    security_group_ids: tuple[str, ...] = ()

    def arguments(self) -> dict[str, Any]:
        arguments: dict[str, Any] = {}
        if self.subnet_group:
            arguments["DBSubnetGroupName"] = self.subnet_group
        if self.security_group_ids:
            arguments["VpcSecurityGroupIds"] = list(self.security_group_ids)
        return arguments


class RecoveryRdsGateway:
    """One Region's RDS, for recovery. ``ClientError`` becomes a domain error through ``adapters.errors``."""

    def __init__(self, client: RDSClient) -> None:
        self._client = client
        self.region = str(client.meta.region_name)

    def _call(self, action: str, operation: str, **kwargs: Any) -> dict[str, Any]:
        try:
            return dict(getattr(self._client, operation)(**kwargs))
        except BOTO_ERRORS as exc:
            raise translate(exc, action) from exc

    # ---- before: is the name free, where does the source live

    def taken(self, identifier: str) -> str | None:
        """``DB instance`` or ``DB cluster`` when a resource of that identifier exists here, else None."""
        if self.describe_instance(identifier) is not None:
            return "DB instance"
        if self.describe_cluster(identifier) is not None:
            return "DB cluster"
        return None

    def placement_of(self, database_type: DatabaseType, identifier: str) -> Placement:
        """The source's subnet group and security groups, so the new database lands beside it."""
        if database_type is DatabaseType.CLUSTER:
            [cluster] = self._call(f"describe {identifier}", "describe_db_clusters", DBClusterIdentifier=identifier)[
                "DBClusters"
            ]
            groups = tuple(g["VpcSecurityGroupId"] for g in cluster.get("VpcSecurityGroups", []))
            return Placement(subnet_group=str(cluster.get("DBSubnetGroup") or ""), security_group_ids=groups)
        [item] = self._call(f"describe {identifier}", "describe_db_instances", DBInstanceIdentifier=identifier)[
            "DBInstances"
        ]
        groups = tuple(g["VpcSecurityGroupId"] for g in item.get("VpcSecurityGroups", []))
        subnet_group = (item.get("DBSubnetGroup") or {}).get("DBSubnetGroupName") or ""
        return Placement(subnet_group=str(subnet_group), security_group_ids=groups)

    # ---- restore (each call creates one new resource; nothing existing is changed)

    def restore_instance_from_snapshot(
        self,
        target: str,
        snapshot: str,
        *,
        instance_class: str | None,
        tags: Mapping[str, str],
        placement: Placement,
    ) -> None:
        self._call(
            f"restore {target} from {snapshot}",
            "restore_db_instance_from_db_snapshot",
            DBInstanceIdentifier=target,
            DBSnapshotIdentifier=snapshot,
            Tags=tag_list(dict(tags)),
            PubliclyAccessible=False,
            CopyTagsToSnapshot=True,
            **({"DBInstanceClass": instance_class} if instance_class else {}),
            **placement.arguments(),
        )

    def restore_instance_to_time(
        self,
        target: str,
        source: str,
        restore_time: datetime | None,
        *,
        instance_class: str | None,
        tags: Mapping[str, str],
        placement: Placement,
    ) -> None:
        point = {"RestoreTime": restore_time} if restore_time else {"UseLatestRestorableTime": True}
        self._call(
            f"restore {target} from {source} to a point in time",
            "restore_db_instance_to_point_in_time",
            SourceDBInstanceIdentifier=source,
            TargetDBInstanceIdentifier=target,
            Tags=tag_list(dict(tags)),
            PubliclyAccessible=False,
            CopyTagsToSnapshot=True,
            **point,
            **({"DBInstanceClass": instance_class} if instance_class else {}),
            **placement.arguments(),
        )

    def restore_cluster_from_snapshot(
        self, target: str, snapshot: str, *, engine: str, tags: Mapping[str, str], placement: Placement
    ) -> None:
        self._call(
            f"restore cluster {target} from {snapshot}",
            "restore_db_cluster_from_snapshot",
            DBClusterIdentifier=target,
            SnapshotIdentifier=snapshot,
            Engine=engine,
            Tags=tag_list(dict(tags)),
            CopyTagsToSnapshot=True,
            **placement.arguments(),
        )

    def restore_cluster_to_time(
        self, target: str, source: str, restore_time: datetime | None, *, tags: Mapping[str, str], placement: Placement
    ) -> None:
        point = {"RestoreToTime": restore_time} if restore_time else {"UseLatestRestorableTime": True}
        self._call(
            f"restore cluster {target} from {source} to a point in time",
            "restore_db_cluster_to_point_in_time",
            DBClusterIdentifier=target,
            SourceDBClusterIdentifier=source,
            RestoreType="full-copy",
            Tags=tag_list(dict(tags)),
            CopyTagsToSnapshot=True,
            **point,
            **placement.arguments(),
        )

    def create_cluster_instance(
        self, cluster: str, instance: str, *, engine: str, instance_class: str, tags: Mapping[str, str]
    ) -> None:
        self._call(
            f"create instance {instance} in {cluster}",
            "create_db_instance",
            DBInstanceIdentifier=instance,
            DBClusterIdentifier=cluster,
            Engine=engine,
            DBInstanceClass=instance_class,
            PubliclyAccessible=False,
            Tags=tag_list(dict(tags)),
        )

    # ---- after: what it became

    def describe_instance(self, identifier: str) -> RestoredDatabase | None:
        try:
            [found] = self._client.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"]
        except BOTO_ERRORS as exc:
            error = translate(exc, f"describe {identifier}")
            if isinstance(error, ResourceNotFoundError):
                return None
            raise error from exc
        return restored_from_instance(identifier, dict(found))

    def describe_cluster(self, identifier: str) -> RestoredDatabase | None:
        try:
            [found] = self._client.describe_db_clusters(DBClusterIdentifier=identifier)["DBClusters"]
        except BOTO_ERRORS as exc:
            error = translate(exc, f"describe {identifier}")
            if isinstance(error, ResourceNotFoundError):
                return None
            raise error from exc
        return restored_from_cluster(identifier, dict(found))

    def observe(self, database_type: DatabaseType, identifier: str, instance: str | None) -> RestoredDatabase | None:
        """The new database as one status: a cluster is available once its instance is."""
        if database_type is DatabaseType.INSTANCE:
            return self.describe_instance(identifier)
        cluster = self.describe_cluster(identifier)
        if cluster is None or cluster.status != "available" or instance is None:
            return cluster
        member = self.describe_instance(instance)
        if member is None:
            return RestoredDatabase(identifier=identifier, status="creating-instance")
        if member.status != "available":
            return RestoredDatabase(identifier=identifier, status=f"instance {member.status}")
        return cluster
