"""RDS adapter: inventory of databases and manual snapshots; snapshot creation, cross-Region copy, tagging, deletion."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import ResourceNotFoundError
from ..models import Database, DatabaseType, Engine, RecoveryPoint
from ..predeploy_plan import PointReference, Slot
from ..tags import tag_dict, tag_list
from . import paginators
from .errors import BOTO_ERRORS, translate

if TYPE_CHECKING:
    from mypy_boto3_rds import RDSClient
else:
    RDSClient = Any

PAGE_SIZE = 100


class RdsGateway:
    """One Region's RDS, through a client the caller creates (so tests can hand in another)."""

    engine = Engine.RDS

    def __init__(self, client: RDSClient) -> None:
        self._client = client
        self.region: str = client.meta.region_name

    def pages(self, operation: str, result_key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        paginator = paginators.paginator(self._client, operation)
        try:
            for page in paginator.paginate(PaginationConfig={"PageSize": PAGE_SIZE}, **kwargs):
                yield from page.get(result_key, [])
        except BOTO_ERRORS as exc:
            raise translate(exc, operation) from exc

    def list_databases(self) -> list[Database]:
        """Every DB instance and DB cluster in the Region, with tags."""
        databases = [database_from_instance(item) for item in self.pages("describe_db_instances", "DBInstances")]
        databases.extend(database_from_cluster(item) for item in self.pages("describe_db_clusters", "DBClusters"))
        return databases

    def list_manual_snapshots(self) -> list[RecoveryPoint]:
        """Every manual DB snapshot and DB cluster snapshot in the Region, tags included."""
        points = [
            self._db_snapshot(item)
            for item in self.pages("describe_db_snapshots", "DBSnapshots", SnapshotType="manual")
        ]
        points.extend(
            self._cluster_snapshot(item)
            for item in self.pages("describe_db_cluster_snapshots", "DBClusterSnapshots", SnapshotType="manual")
        )
        return points

    def create_snapshot(self, database: Database, snapshot_id: str, tags: Mapping[str, str]) -> RecoveryPoint:
        """Start a snapshot of ``database``; the tags are set atomically with the create."""
        try:
            if database.type is DatabaseType.CLUSTER:
                response = self._client.create_db_cluster_snapshot(
                    DBClusterSnapshotIdentifier=snapshot_id,
                    DBClusterIdentifier=database.identifier,
                    Tags=tag_list(dict(tags)),  # type: ignore[arg-type]
                )
                return self._cluster_snapshot(dict(response["DBClusterSnapshot"]), default_tags=tags)
            db_response = self._client.create_db_snapshot(
                DBSnapshotIdentifier=snapshot_id,
                DBInstanceIdentifier=database.identifier,
                Tags=tag_list(dict(tags)),  # type: ignore[arg-type]
            )
            return self._db_snapshot(dict(db_response["DBSnapshot"]), default_tags=tags)
        except BOTO_ERRORS as exc:
            raise translate(exc, f"snapshot {snapshot_id} of {database.identifier}") from exc

    def copy_snapshot(self, source: RecoveryPoint, *, kms_key_id: str, tags: Mapping[str, str]) -> RecoveryPoint:
        """Copy ``source`` (in another Region) into this gateway's Region under the same identifier.

        The tags are passed explicitly as well as ``CopyTags``: RDS ignores ``CopyTags`` when
        ``Tags`` is given, and explicit tags are what IAM's ``aws:RequestTag`` conditions see.
        botocore builds the pre-signed URL from ``SourceRegion``.
        """
        if source.region == self.region:
            raise ValueError(f"snapshot {source.identifier} is already in {self.region}")
        try:
            if source.type is DatabaseType.CLUSTER:
                response = self._client.copy_db_cluster_snapshot(
                    SourceDBClusterSnapshotIdentifier=source.arn,
                    TargetDBClusterSnapshotIdentifier=source.identifier,
                    SourceRegion=source.region,
                    KmsKeyId=kms_key_id,
                    CopyTags=True,
                    Tags=tag_list(dict(tags)),  # type: ignore[arg-type]
                )
                return self._cluster_snapshot(dict(response["DBClusterSnapshot"]), default_tags=tags)
            db_response = self._client.copy_db_snapshot(
                SourceDBSnapshotIdentifier=source.arn,
                TargetDBSnapshotIdentifier=source.identifier,
                SourceRegion=source.region,
                KmsKeyId=kms_key_id,
                CopyTags=True,
                Tags=tag_list(dict(tags)),  # type: ignore[arg-type]
            )
            return self._db_snapshot(dict(db_response["DBSnapshot"]), default_tags=tags)
        except BOTO_ERRORS as exc:
            raise translate(exc, f"copy {source.identifier} from {source.region} to {self.region}") from exc

    def add_tags(self, point: RecoveryPoint, tags: Mapping[str, str]) -> None:
        """Add (or overwrite) tags on a recovery point of this Region."""
        try:
            self._client.add_tags_to_resource(ResourceName=point.arn, Tags=tag_list(dict(tags)))  # type: ignore[arg-type]
        except BOTO_ERRORS as exc:
            raise translate(exc, f"tag {point.identifier}") from exc

    def delete_snapshot(self, point: RecoveryPoint) -> None:
        """Delete a manual DB snapshot or DB cluster snapshot of this Region."""
        if point.region != self.region:
            raise ValueError(f"snapshot {point.identifier} is in {point.region}, not {self.region}")
        try:
            if point.type is DatabaseType.CLUSTER:
                self._client.delete_db_cluster_snapshot(DBClusterSnapshotIdentifier=point.identifier)
            else:
                self._client.delete_db_snapshot(DBSnapshotIdentifier=point.identifier)
        except BOTO_ERRORS as exc:
            raise translate(exc, f"delete {point.identifier} in {self.region}") from exc

    def _db_snapshot(self, item: Mapping[str, Any], default_tags: Mapping[str, str] | None = None) -> RecoveryPoint:
        return RecoveryPoint(
            type=DatabaseType.INSTANCE,
            identifier=item["DBSnapshotIdentifier"],
            arn=item.get("DBSnapshotArn", ""),
            source_identifier=item.get("DBInstanceIdentifier", ""),
            status=item.get("Status", "unknown"),
            snapshot_type=item.get("SnapshotType", "manual"),
            region=self.region,
            # A copy's SnapshotCreateTime is the copy time; the original's is when the data was taken.
            created_at=item.get("OriginalSnapshotCreateTime") or item.get("SnapshotCreateTime"),
            tags=tag_dict(item.get("TagList")) or dict(default_tags or {}),
            encrypted=bool(item.get("Encrypted", False)),
            kms_key_id=item.get("KmsKeyId"),
            source_snapshot_arn=item.get("SourceDBSnapshotIdentifier"),
            percent_progress=item.get("PercentProgress"),
        )

    def _cluster_snapshot(
        self, item: Mapping[str, Any], default_tags: Mapping[str, str] | None = None
    ) -> RecoveryPoint:
        return RecoveryPoint(
            type=DatabaseType.CLUSTER,
            identifier=item["DBClusterSnapshotIdentifier"],
            arn=item.get("DBClusterSnapshotArn", ""),
            source_identifier=item.get("DBClusterIdentifier", ""),
            status=item.get("Status", "unknown"),
            snapshot_type=item.get("SnapshotType", "manual"),
            region=self.region,
            created_at=item.get("SnapshotCreateTime"),
            tags=tag_dict(item.get("TagList")) or dict(default_tags or {}),
            encrypted=bool(item.get("StorageEncrypted", False)),
            kms_key_id=item.get("KmsKeyId"),
            source_snapshot_arn=item.get("SourceDBClusterSnapshotArn"),
            percent_progress=item.get("PercentProgress"),
        )

    # ---- Pre-deploy snapshot look-ups (one database, one database's snapshots, by identifier) ----

    def find_database(self, identifier: str) -> Database | None:
        """The DB instance or DB cluster named ``identifier``, or None when neither exists.

        An instance is looked up first; when it is a member of a cluster with the same
        identifier, the cluster is meant.
        """
        try:
            instances = self._client.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"]
        except BOTO_ERRORS as exc:
            if not isinstance(translate(exc, ""), ResourceNotFoundError):
                raise translate(exc, f"describe DB instance {identifier}") from exc
            instances = []
        if instances and instances[0].get("DBClusterIdentifier", "").lower() != identifier.lower():
            return database_from_instance(dict(instances[0]))
        try:
            clusters = self._client.describe_db_clusters(DBClusterIdentifier=identifier)["DBClusters"]
        except BOTO_ERRORS as exc:
            if not isinstance(translate(exc, ""), ResourceNotFoundError):
                raise translate(exc, f"describe DB cluster {identifier}") from exc
            clusters = []
        if clusters:
            return database_from_cluster(dict(clusters[0]))
        return database_from_instance(dict(instances[0])) if instances else None

    def list_snapshots_of(self, database: Database) -> list[RecoveryPoint]:
        """The manual snapshots of one database, tags included."""
        if database.type is DatabaseType.CLUSTER:
            return [
                self._cluster_snapshot(item)
                for item in self.pages(
                    "describe_db_cluster_snapshots",
                    "DBClusterSnapshots",
                    DBClusterIdentifier=database.identifier,
                    SnapshotType="manual",
                )
            ]
        return [
            self._db_snapshot(item)
            for item in self.pages(
                "describe_db_snapshots", "DBSnapshots", DBInstanceIdentifier=database.identifier, SnapshotType="manual"
            )
        ]

    def describe_snapshots(
        self, instance_snapshot_ids: Sequence[str], cluster_snapshot_ids: Sequence[str]
    ) -> list[RecoveryPoint]:
        """The named DB snapshots and DB cluster snapshots that exist (missing ones are simply absent).

        One request per type (per ``FILTER_VALUES`` identifiers), not one per snapshot.
        """
        points: list[RecoveryPoint] = []
        for chunk in _chunks(instance_snapshot_ids):
            points.extend(
                self._db_snapshot(item)
                for item in self.pages(
                    "describe_db_snapshots", "DBSnapshots", Filters=[{"Name": "db-snapshot-id", "Values": chunk}]
                )
            )
        for chunk in _chunks(cluster_snapshot_ids):
            points.extend(
                self._cluster_snapshot(item)
                for item in self.pages(
                    "describe_db_cluster_snapshots",
                    "DBClusterSnapshots",
                    Filters=[{"Name": "db-cluster-snapshot-id", "Values": chunk}],
                )
            )
        return points

    def describe_points(self, references: Sequence[PointReference]) -> list[RecoveryPoint]:
        """The pre-deploy job's port: the token's DB and DB cluster snapshots, one request per type."""
        return self.describe_snapshots(
            [r.value for r in references if r.slot is Slot.DB],
            [r.value for r in references if r.slot is Slot.CLUSTER],
        )


def database_from_instance(item: Mapping[str, Any]) -> Database:
    return Database(
        type=DatabaseType.INSTANCE,
        identifier=item["DBInstanceIdentifier"],
        arn=item["DBInstanceArn"],
        status=item.get("DBInstanceStatus", "unknown"),
        engine=item.get("Engine", ""),
        tags=tag_dict(item.get("TagList")),
        cluster_identifier=item.get("DBClusterIdentifier"),
    )


def database_from_cluster(item: Mapping[str, Any]) -> Database:
    return Database(
        type=DatabaseType.CLUSTER,
        identifier=item["DBClusterIdentifier"],
        arn=item["DBClusterArn"],
        status=item.get("Status", "unknown"),
        engine=item.get("Engine", ""),
        tags=tag_dict(item.get("TagList")),
    )


FILTER_VALUES = 20


def _chunks(identifiers: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(identifiers), FILTER_VALUES):
        yield list(identifiers[start : start + FILTER_VALUES])
