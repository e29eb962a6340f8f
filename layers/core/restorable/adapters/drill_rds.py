"""RDS adapter for restore drills: find the source and its recovery points, restore to a temporary
database, read its state, and delete it again (only with positive proof that it is a drill resource).

Implements ``drills.ports.DrillEngine`` (restore, poll, cleanup, janitor) and ``drills.ports.RdsSources`` (what the
RDS planner reads); returns the domain types of ``drills.model``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from .. import tags as tag_keys
from ..arns import is_arn
from ..drills.model import (
    TERMINAL_FAILURE_STATES,
    DrillResource,
    Network,
    RestoredDatabase,
    SnapshotInfo,
    SourceDatabase,
)
from ..drills.plan import CLUSTER_INSTANCE_SUFFIX, DrillMode, is_drill_resource
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
from ..tags import tag_dict, tag_list
from .errors import translate
from .rds import RdsGateway

if TYPE_CHECKING:
    from mypy_boto3_rds import RDSClient
else:
    RDSClient = Any


def _network_arguments(network: Network) -> dict[str, Any]:
    arguments: dict[str, Any] = {}
    if network.subnet_group:
        arguments["DBSubnetGroupName"] = network.subnet_group
    if network.security_group_ids:
        arguments["VpcSecurityGroupIds"] = list(network.security_group_ids)
    return arguments


class DrillRdsGateway(RdsGateway):
    """One Region's RDS, for drills."""

    engine = Engine.RDS
    available_status = "available"
    failed_statuses = TERMINAL_FAILURE_STATES

    def __init__(self, client: RDSClient) -> None:
        super().__init__(client)
        self.client = client

    # ---- the source and its recovery points

    def find_source(self, identifier: str, database_type: DatabaseType | None = None) -> SourceDatabase:
        """The instance or cluster of that identifier (of ``database_type`` when given; an instance first
        otherwise); ``ResourceNotFoundError`` if there is none. ARNs are resolved by the caller (``arns``)."""
        if is_arn(identifier):
            raise InvalidRequestError(f"source: {identifier} must be resolved to an identifier before the lookup")
        if database_type is not DatabaseType.CLUSTER:
            try:
                [item] = self.client.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"]
            except ClientError as exc:
                error = translate(exc, f"describe source {identifier}")
                if not isinstance(error, ResourceNotFoundError):
                    raise error from exc
                if database_type is DatabaseType.INSTANCE:
                    raise ResourceNotFoundError(
                        f"unknown source '{identifier}': no DB instance by that name in {self.region}", code=error.code
                    ) from exc
            else:
                return self._source_instance(dict(item))
        try:
            [cluster] = self.client.describe_db_clusters(DBClusterIdentifier=identifier)["DBClusters"]
        except ClientError as exc:
            error = translate(exc, f"describe source {identifier}")
            if isinstance(error, ResourceNotFoundError):
                what = "DB cluster" if database_type is DatabaseType.CLUSTER else "DB instance or DB cluster"
                raise ResourceNotFoundError(
                    f"unknown source '{identifier}': no {what} by that name in {self.region}",
                    code=error.code,
                ) from exc
            raise error from exc
        return self._source_cluster(dict(cluster))

    def _source_instance(self, item: dict[str, Any]) -> SourceDatabase:
        return SourceDatabase(
            type=DatabaseType.INSTANCE,
            identifier=item["DBInstanceIdentifier"],
            arn=item["DBInstanceArn"],
            status=item.get("DBInstanceStatus", "unknown"),
            engine=item.get("Engine", ""),
            engine_version=str(item.get("EngineVersion", "")),
            encrypted=bool(item.get("StorageEncrypted", False)),
            allocated_storage=int(item.get("AllocatedStorage", 0) or 0),
            instance_class=item.get("DBInstanceClass"),
            backup_retention_days=int(item.get("BackupRetentionPeriod", 0) or 0),
            earliest_restorable_time=item.get("EarliestRestorableTime") or item.get("InstanceCreateTime"),
            latest_restorable_time=item.get("LatestRestorableTime"),
            tags=tag_dict(item.get("TagList")),
            cluster_identifier=item.get("DBClusterIdentifier") or None,
        )

    def _source_cluster(self, item: dict[str, Any]) -> SourceDatabase:
        instance_class = None
        members = item.get("DBClusterMembers", [])
        writers = [m for m in members if m.get("IsClusterWriter")] or members
        if writers:
            try:
                [member] = self.client.describe_db_instances(DBInstanceIdentifier=writers[0]["DBInstanceIdentifier"])[
                    "DBInstances"
                ]
                instance_class = member.get("DBInstanceClass")
            except ClientError:
                instance_class = None
        return SourceDatabase(
            type=DatabaseType.CLUSTER,
            identifier=item["DBClusterIdentifier"],
            arn=item["DBClusterArn"],
            status=item.get("Status", "unknown"),
            engine=item.get("Engine", ""),
            engine_version=str(item.get("EngineVersion", "")),
            encrypted=bool(item.get("StorageEncrypted", False)),
            allocated_storage=int(item.get("AllocatedStorage", 0) or 0),
            instance_class=instance_class or item.get("DBClusterInstanceClass"),
            backup_retention_days=int(item.get("BackupRetentionPeriod", 0) or 0),
            earliest_restorable_time=item.get("EarliestRestorableTime"),
            latest_restorable_time=item.get("LatestRestorableTime"),
            tags=tag_dict(item.get("TagList")),
        )

    def get_snapshot(self, database_type: DatabaseType, identifier: str) -> SnapshotInfo:
        """A named DB snapshot (instance sources) or DB cluster snapshot (cluster sources), by identifier."""
        if is_arn(identifier):
            raise InvalidRequestError(
                f"snapshot.identifier: {identifier} must be resolved to an identifier before the lookup"
            )
        try:
            if database_type is DatabaseType.CLUSTER:
                [item] = self.client.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=identifier)[
                    "DBClusterSnapshots"
                ]
                return self._cluster_snapshot_info(dict(item))
            [db_item] = self.client.describe_db_snapshots(DBSnapshotIdentifier=identifier)["DBSnapshots"]
            return self._snapshot_info(dict(db_item))
        except ClientError as exc:
            error = translate(exc, f"describe snapshot {identifier}")
            if isinstance(error, ResourceNotFoundError):
                raise ResourceNotFoundError(
                    f"snapshot '{identifier}' does not exist in {self.region}", code=error.code
                ) from exc
            raise error from exc

    def list_snapshots(self, database_type: DatabaseType) -> list[SnapshotInfo]:
        """Every manual snapshot of the type in the Region, tags included (one listing, no per-snapshot calls)."""
        if database_type is DatabaseType.CLUSTER:
            return [
                self._cluster_snapshot_info(item)
                for item in self.pages("describe_db_cluster_snapshots", "DBClusterSnapshots", SnapshotType="manual")
            ]
        return [
            self._snapshot_info(item)
            for item in self.pages("describe_db_snapshots", "DBSnapshots", SnapshotType="manual")
        ]

    def _snapshot_info(self, item: Mapping[str, Any]) -> SnapshotInfo:
        return SnapshotInfo(
            type=DatabaseType.INSTANCE,
            identifier=item["DBSnapshotIdentifier"],
            arn=item.get("DBSnapshotArn", ""),
            region=self.region,
            status=item.get("Status", "unknown"),
            source_identifier=item.get("DBInstanceIdentifier", ""),
            snapshot_type=item.get("SnapshotType", "manual"),
            # A copy's SnapshotCreateTime is when it was copied; the data is as of the original's.
            created_at=item.get("OriginalSnapshotCreateTime") or item.get("SnapshotCreateTime"),
            engine=item.get("Engine", ""),
            engine_version=str(item.get("EngineVersion", "")),
            encrypted=bool(item.get("Encrypted", False)),
            allocated_storage=int(item.get("AllocatedStorage", 0) or 0),
            tags=tag_dict(item.get("TagList")),
        )

    def _cluster_snapshot_info(self, item: Mapping[str, Any]) -> SnapshotInfo:
        return SnapshotInfo(
            type=DatabaseType.CLUSTER,
            identifier=item["DBClusterSnapshotIdentifier"],
            arn=item.get("DBClusterSnapshotArn", ""),
            region=self.region,
            status=item.get("Status", "unknown"),
            source_identifier=item.get("DBClusterIdentifier", ""),
            snapshot_type=item.get("SnapshotType", "manual"),
            created_at=item.get("SnapshotCreateTime"),
            engine=item.get("Engine", ""),
            engine_version=str(item.get("EngineVersion", "")),
            encrypted=bool(item.get("StorageEncrypted", False)),
            allocated_storage=int(item.get("AllocatedStorage", 0) or 0),
            tags=tag_dict(item.get("TagList")),
        )

    # ---- restore

    def restore(self, plan: DrillPlan, network: Network) -> None:
        """Start the restore the plan describes. A retry after a lost response finds its own resource."""
        target = plan.target
        tags = tag_list(dict(plan.tags))
        common = {"Tags": tags, "DeletionProtection": False, "CopyTagsToSnapshot": False, **_network_arguments(network)}
        if plan.is_cluster:
            self._restore_cluster(plan, common)
            self._create_cluster_instance(plan, tags)
            return
        instance_arguments = {
            **common,
            "DBInstanceClass": target.instance_class,
            "PubliclyAccessible": False,
            "MultiAZ": False,
            "ManageMasterUserPassword": True,
        }
        restore_to = plan.restore_to
        try:
            if plan.mode is DrillMode.PITR:
                point = {"RestoreTime": restore_to} if restore_to else {"UseLatestRestorableTime": True}
                self.client.restore_db_instance_to_point_in_time(
                    SourceDBInstanceIdentifier=plan.source.identifier,
                    TargetDBInstanceIdentifier=target.identifier,
                    **point,
                    **instance_arguments,
                )
            else:
                self.client.restore_db_instance_from_db_snapshot(
                    DBInstanceIdentifier=target.identifier,
                    DBSnapshotIdentifier=str(plan.recovery_point.identifier),
                    **instance_arguments,
                )
        except ClientError as exc:
            error = translate(exc, f"restore {target.identifier}")
            if not (isinstance(error, AlreadyExistsError) and self._owns_instance(target.identifier, plan)):
                raise error from exc

    def _restore_cluster(self, plan: DrillPlan, common: dict[str, Any]) -> None:
        target = plan.target
        restore_to = plan.restore_to
        try:
            if plan.mode is DrillMode.PITR:
                point = {"RestoreToTime": restore_to} if restore_to else {"UseLatestRestorableTime": True}
                self.client.restore_db_cluster_to_point_in_time(
                    DBClusterIdentifier=target.identifier,
                    SourceDBClusterIdentifier=plan.source.identifier,
                    RestoreType="full-copy",
                    **point,
                    **common,
                )
            else:
                self.client.restore_db_cluster_from_snapshot(
                    DBClusterIdentifier=target.identifier,
                    SnapshotIdentifier=str(plan.recovery_point.identifier),
                    Engine=plan.source.engine,
                    **common,
                )
        except ClientError as exc:
            error = translate(exc, f"restore cluster {target.identifier}")
            if not (isinstance(error, AlreadyExistsError) and self._owns_cluster(target.identifier, plan)):
                raise error from exc

    def _create_cluster_instance(self, plan: DrillPlan, tags: list[dict[str, str]]) -> None:
        target = plan.target
        instance = str(target.instance_identifier)
        try:
            self.client.create_db_instance(
                DBInstanceIdentifier=instance,
                DBClusterIdentifier=target.identifier,
                Engine=plan.source.engine,
                DBInstanceClass=str(target.instance_class),
                PubliclyAccessible=False,
                Tags=tags,  # type: ignore[arg-type]
            )
        except ClientError as exc:
            error = translate(exc, f"create instance {instance}")
            if not (isinstance(error, AlreadyExistsError) and self._owns_instance(instance, plan)):
                raise error from exc

    def _owns_instance(self, identifier: str, plan: DrillPlan) -> bool:
        found = self.describe_instance(identifier)
        return found is not None and found.tags.get(tag_keys.DRILL_EXECUTION) == plan.execution_id

    def _owns_cluster(self, identifier: str, plan: DrillPlan) -> bool:
        found = self.describe_cluster(identifier)
        return found is not None and found.tags.get(tag_keys.DRILL_EXECUTION) == plan.execution_id

    # ---- observe

    def observe(self, plan: DrillPlan) -> RestoredDatabase | None:
        """The instance; for a cluster, the cluster once it and its instance are both available."""
        target = plan.target
        if target.type != "cluster":
            return self.describe_instance(target.identifier)
        cluster = self.describe_cluster(target.identifier)
        if cluster is None or cluster.status != "available":
            return cluster
        instance = self.describe_instance(str(target.instance_identifier))
        if instance is None:
            return RestoredDatabase(identifier=target.identifier, status="creating-instance")
        if instance.status != "available":
            return RestoredDatabase(identifier=target.identifier, status=instance.status)
        return cluster

    def describe_instance(self, identifier: str) -> RestoredDatabase | None:
        try:
            [found] = self.client.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"]
        except ClientError as exc:
            error = translate(exc, f"describe {identifier}")
            if isinstance(error, ResourceNotFoundError):
                return None
            raise error from exc
        return restored_from_instance(identifier, dict(found))

    def describe_cluster(self, identifier: str) -> RestoredDatabase | None:
        try:
            [found] = self.client.describe_db_clusters(DBClusterIdentifier=identifier)["DBClusters"]
        except ClientError as exc:
            error = translate(exc, f"describe {identifier}")
            if isinstance(error, ResourceNotFoundError):
                return None
            raise error from exc
        return restored_from_cluster(identifier, dict(found))

    # ---- delete (tag-checked)

    def delete_target(self, plan: DrillPlan, stack_name: str) -> str:
        if plan.is_cluster:
            return self.delete_cluster(plan.target.identifier, stack_name, plan.execution_id)
        return self.delete_instance(plan.target.identifier, stack_name, plan.execution_id)

    def delete_resource(self, resource: DrillResource, stack_name: str) -> str:
        if resource.type is DatabaseType.CLUSTER:
            return self.delete_cluster(resource.identifier, stack_name)
        return self.delete_instance(resource.identifier, stack_name)

    def delete_instance(self, identifier: str, stack_name: str, execution_id: str | None = None) -> str:
        """Delete a drill instance without a final snapshot: ``deleted``, ``absent`` or ``already deleting``."""
        found = self.describe_instance(identifier)
        if found is None:
            return "absent"
        self._prove_ownership(found, stack_name, execution_id)
        if found.status == "deleting":
            return "already deleting"
        try:
            self.client.delete_db_instance(
                DBInstanceIdentifier=identifier, SkipFinalSnapshot=True, DeleteAutomatedBackups=True
            )
        except ClientError as exc:
            error = translate(exc, f"delete {identifier}")
            if isinstance(error, ResourceNotFoundError):
                return "absent"
            if isinstance(error, ResourceBusyError):
                raise CleanupPendingError(f"{identifier} cannot be deleted yet ({found.status}): {error}") from exc
            raise error from exc
        return "deleted"

    def delete_cluster(self, identifier: str, stack_name: str, execution_id: str | None = None) -> str:
        """Delete a drill cluster's drill instances, then the cluster, without a final snapshot."""
        found = self.describe_cluster(identifier)
        if found is None:
            return "absent"
        self._prove_ownership(found, stack_name, execution_id)
        for member in self.cluster_members(identifier) or [identifier + CLUSTER_INSTANCE_SUFFIX]:
            self.delete_instance(member, stack_name, execution_id)
        if found.status == "deleting":
            return "already deleting"
        try:
            self.client.delete_db_cluster(DBClusterIdentifier=identifier, SkipFinalSnapshot=True)
        except ClientError as exc:
            error = translate(exc, f"delete cluster {identifier}")
            if isinstance(error, ResourceNotFoundError):
                return "absent"
            if isinstance(error, ResourceBusyError):
                raise CleanupPendingError(
                    f"cluster {identifier} cannot be deleted yet ({found.status}): {error}"
                ) from exc
            raise error from exc
        return "deleted"

    def cluster_members(self, identifier: str) -> list[str]:
        try:
            [item] = self.client.describe_db_clusters(DBClusterIdentifier=identifier)["DBClusters"]
        except ClientError as exc:
            error = translate(exc, f"describe {identifier}")
            if isinstance(error, ResourceNotFoundError):
                return []
            raise error from exc
        return [member["DBInstanceIdentifier"] for member in item.get("DBClusterMembers", [])]

    @staticmethod
    def _prove_ownership(found: RestoredDatabase, stack_name: str, execution_id: str | None) -> None:
        tags = dict(found.tags)
        if not is_drill_resource(tags, stack_name):
            raise NotOwnedError(f"{found.identifier} is not a drill resource of stack {stack_name}: left untouched")
        if execution_id is not None and tags.get(tag_keys.DRILL_EXECUTION) != execution_id:
            raise NotOwnedError(f"{found.identifier} belongs to another drill execution: left untouched")

    # ---- janitor inventory

    def list_drill_resources(self, stack_name: str) -> list[DrillResource]:
        """Every drill instance (not cluster members) and cluster of the stack."""
        found: list[DrillResource] = []
        for item in self.pages("describe_db_instances", "DBInstances"):
            tags = tag_dict(item.get("TagList"))
            if is_drill_resource(tags, stack_name) and not item.get("DBClusterIdentifier"):
                found.append(
                    DrillResource(
                        DatabaseType.INSTANCE, item["DBInstanceIdentifier"], item.get("DBInstanceStatus", ""), tags
                    )
                )
        for item in self.pages("describe_db_clusters", "DBClusters"):
            tags = tag_dict(item.get("TagList"))
            if is_drill_resource(tags, stack_name):
                found.append(
                    DrillResource(DatabaseType.CLUSTER, item["DBClusterIdentifier"], item.get("Status", ""), tags)
                )
        return found


def restored_from_instance(identifier: str, item: Mapping[str, Any]) -> RestoredDatabase:
    """A restored (drill or recovered) DB instance as ``DescribeDBInstances`` reports it."""
    endpoint = item.get("Endpoint") or {}
    return RestoredDatabase(
        identifier=identifier,
        status=item.get("DBInstanceStatus", "unknown"),
        engine=item.get("Engine", ""),
        engine_version=str(item.get("EngineVersion", "")),
        encrypted=bool(item.get("StorageEncrypted", False)),
        allocated_storage=int(item.get("AllocatedStorage", 0) or 0),
        address=endpoint.get("Address"),
        port=endpoint.get("Port"),
        master_user_secret_arn=(item.get("MasterUserSecret") or {}).get("SecretArn"),
        publicly_accessible=bool(item.get("PubliclyAccessible", False)),
        deletion_protection=bool(item.get("DeletionProtection", False)),
        tags=tag_dict(item.get("TagList")),
    )


def restored_from_cluster(identifier: str, item: Mapping[str, Any]) -> RestoredDatabase:
    """A restored DB cluster as ``DescribeDBClusters`` reports it."""
    return RestoredDatabase(
        identifier=identifier,
        status=item.get("Status", "unknown"),
        engine=item.get("Engine", ""),
        engine_version=str(item.get("EngineVersion", "")),
        encrypted=bool(item.get("StorageEncrypted", False)),
        allocated_storage=int(item.get("AllocatedStorage", 0) or 0),
        address=item.get("Endpoint"),
        port=item.get("Port"),
        master_user_secret_arn=(item.get("MasterUserSecret") or {}).get("SecretArn"),
        publicly_accessible=False,  # a cluster's endpoint is as public as its instances
        deletion_protection=bool(item.get("DeletionProtection", False)),
        tags=tag_dict(item.get("TagList")),
    )
