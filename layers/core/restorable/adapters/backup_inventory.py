"""RDS inventory for verification: databases with their automated-backup facts, snapshots, quotas.

Everything comes from paginated list calls (tags included in each listing): a pass costs a
few calls per 100 resources, never one call per snapshot or per database.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..errors import ResourceNotFoundError
from ..models import RecoveryPoint
from ..verification.checks import SNAPSHOT_QUOTAS, BackupFacts, MonitoredDatabase, QuotaUsage
from .errors import BOTO_ERRORS, translate
from .rds import RdsGateway, database_from_cluster, database_from_instance

if TYPE_CHECKING:
    from mypy_boto3_rds import RDSClient
else:
    RDSClient = Any


def _arn_region(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 and parts[0] == "arn" else None


def _instance(item: Mapping[str, Any]) -> MonitoredDatabase:
    replications = item.get("DBInstanceAutomatedBackupsReplications") or []
    regions = {_arn_region(r.get("DBInstanceAutomatedBackupsArn", "")) for r in replications}
    return MonitoredDatabase(
        database=database_from_instance(item),
        backup=BackupFacts(
            retention_days=int(item.get("BackupRetentionPeriod", 0)),
            backup_window=item.get("PreferredBackupWindow") or None,
            copy_tags_to_snapshot=bool(item.get("CopyTagsToSnapshot", False)),
            storage_encrypted=bool(item.get("StorageEncrypted", False)),
            latest_restorable_time=_aware(item.get("LatestRestorableTime")),
            created_at=_aware(item.get("InstanceCreateTime")),
            replication_regions=frozenset(r for r in regions if r),
        ),
    )


def _cluster(item: Mapping[str, Any]) -> MonitoredDatabase:
    return MonitoredDatabase(
        database=database_from_cluster(item),
        backup=BackupFacts(
            retention_days=int(item.get("BackupRetentionPeriod", 0)),
            backup_window=item.get("PreferredBackupWindow") or None,
            copy_tags_to_snapshot=bool(item.get("CopyTagsToSnapshot", False)),
            storage_encrypted=bool(item.get("StorageEncrypted", False)),
            latest_restorable_time=_aware(item.get("LatestRestorableTime")),
            created_at=_aware(item.get("ClusterCreateTime")),
        ),
    )


def _aware(value: Any) -> datetime | None:
    return value if isinstance(value, datetime) and value.tzinfo is not None else None


class BackupInventory:
    """One Region's RDS as verification reads it."""

    def __init__(self, client: RDSClient) -> None:
        self._client = client
        self._snapshots = RdsGateway(client)
        self.region: str = client.meta.region_name

    def list_databases(self) -> list[MonitoredDatabase]:
        found = [_instance(item) for item in self._snapshots.pages("describe_db_instances", "DBInstances")]
        found.extend(_cluster(item) for item in self._snapshots.pages("describe_db_clusters", "DBClusters"))
        return found

    def get_instance(self, identifier: str) -> MonitoredDatabase | None:
        """The named DB instance, or None when it does not exist."""
        try:
            items = list(self._snapshots.pages("describe_db_instances", "DBInstances", DBInstanceIdentifier=identifier))
        except ResourceNotFoundError:
            return None
        return _instance(items[0]) if items else None

    def list_manual_snapshots(self, instance_identifier: str | None = None) -> list[RecoveryPoint]:
        """Manual DB and cluster snapshots of the Region, or the manual DB snapshots of one instance."""
        if instance_identifier is None:
            return self._snapshots.list_manual_snapshots()
        return [
            self._snapshots._db_snapshot(item)
            for item in self._snapshots.pages(
                "describe_db_snapshots", "DBSnapshots", SnapshotType="manual", DBInstanceIdentifier=instance_identifier
            )
        ]

    def snapshot_quotas(self) -> list[QuotaUsage]:
        """Manual DB and cluster snapshot quotas (``DescribeAccountAttributes``, one call)."""
        try:
            response = self._client.describe_account_attributes()
        except BOTO_ERRORS as exc:
            raise translate(exc, "describe_account_attributes") from exc
        return [
            QuotaUsage(
                region=self.region, name=quota["AccountQuotaName"], used=int(quota["Used"]), maximum=int(quota["Max"])
            )
            for quota in response.get("AccountQuotas", [])
            if quota.get("AccountQuotaName") in SNAPSHOT_QUOTAS
        ]
