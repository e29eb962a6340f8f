"""Remediation's adapters: RDS backup settings (both Regions) and DynamoDB point-in-time recovery.

Read: every DB instance and cluster with its automated-backup settings (paged, tags included),
the automated backups replicated into the DR Region with their retention, and each protected
table's continuous backups. Write: ModifyDBInstance / ModifyDBCluster (ApplyImmediately),
StartDBInstanceAutomatedBackupsReplication (called in the DR Region) and UpdateContinuousBackups.
Codes the shared table lacks are classified here first, then ``adapters/errors.translate``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ..errors import AwsError, InvalidParameterError, QuotaExceededError, ResourceBusyError
from ..models import DatabaseType
from ..remediation_plan import RdsBackupSettings, TablePitrSettings, UnreadableResource
from .dynamodb import DynamoDbGateway, translate_dynamodb
from .errors import BOTO_ERRORS, translate
from .rds import RdsGateway, database_from_cluster, database_from_instance

if TYPE_CHECKING:
    from botocore.exceptions import BotoCoreError
    from mypy_boto3_rds import RDSClient
else:
    RDSClient = Any

# RDS codes of the remediation calls that the shared table lacks.
REMEDIATION_ERRORS: Mapping[str, type[AwsError]] = {
    "DBInstanceAutomatedBackupQuotaExceeded": QuotaExceededError,
    "DBInstanceAutomatedBackupQuotaExceededFault": QuotaExceededError,
    "StorageTypeNotSupported": InvalidParameterError,
    "StorageTypeNotSupportedFault": InvalidParameterError,
    "InvalidDBSecurityGroupState": ResourceBusyError,
    "InvalidDBSecurityGroupStateFault": ResourceBusyError,
}


def translate_remediation(error: ClientError | BotoCoreError, action: str) -> AwsError:
    general = translate(error, action)
    known = REMEDIATION_ERRORS.get(general.code) if isinstance(error, ClientError) else None
    return known(str(general), code=general.code) if known is not None else general


def _region_of(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 and parts[0] == "arn" else None


def _instance(item: Mapping[str, Any]) -> RdsBackupSettings:
    replications = item.get("DBInstanceAutomatedBackupsReplications") or []
    regions = {_region_of(str(r.get("DBInstanceAutomatedBackupsArn", ""))) for r in replications}
    return RdsBackupSettings(
        database=database_from_instance(item),
        retention_days=int(item.get("BackupRetentionPeriod", 0)),
        copy_tags_to_snapshot=bool(item.get("CopyTagsToSnapshot", False)),
        storage_encrypted=bool(item.get("StorageEncrypted", False)),
        replications={region: None for region in regions if region},
    )


def _cluster(item: Mapping[str, Any]) -> RdsBackupSettings:
    return RdsBackupSettings(
        database=database_from_cluster(item),
        retention_days=int(item.get("BackupRetentionPeriod", 0)),
        copy_tags_to_snapshot=bool(item.get("CopyTagsToSnapshot", False)),
        storage_encrypted=bool(item.get("StorageEncrypted", False)),
    )


class RdsBackupSettingsGateway:
    """One Region's RDS as remediation reads and changes it."""

    def __init__(self, client: RDSClient) -> None:
        self._client = client
        self._rds = RdsGateway(client)
        self.region: str = client.meta.region_name

    def list_backup_settings(self) -> list[RdsBackupSettings]:
        found = [_instance(item) for item in self._rds.pages("describe_db_instances", "DBInstances")]
        found.extend(_cluster(item) for item in self._rds.pages("describe_db_clusters", "DBClusters"))
        return found

    def replicated_retention(self) -> dict[str, int]:
        """Source instance ARN -> retention (days) of its automated backups replicated into this Region."""
        found: dict[str, int] = {}
        for item in self._rds.pages("describe_db_instance_automated_backups", "DBInstanceAutomatedBackups"):
            source_region = item.get("Region")
            arn = item.get("DBInstanceArn")
            if isinstance(arn, str) and source_region and source_region != self.region:
                found[arn] = int(item.get("BackupRetentionPeriod", 0))
        return found

    def modify_backup_settings(
        self, settings: RdsBackupSettings, *, retention_days: int | None, copy_tags_to_snapshot: bool | None
    ) -> None:
        """Set the retention and/or CopyTagsToSnapshot now (ApplyImmediately), on an instance or a cluster."""
        database = settings.database
        changes: dict[str, Any] = {}
        if retention_days is not None:
            changes["BackupRetentionPeriod"] = retention_days
        if copy_tags_to_snapshot is not None:
            changes["CopyTagsToSnapshot"] = copy_tags_to_snapshot
        if not changes:
            raise ValueError(f"nothing to change on {database.identifier}")
        try:
            if database.type is DatabaseType.CLUSTER:
                self._client.modify_db_cluster(
                    DBClusterIdentifier=database.identifier, ApplyImmediately=True, **changes
                )
            else:
                self._client.modify_db_instance(
                    DBInstanceIdentifier=database.identifier, ApplyImmediately=True, **changes
                )
        except BOTO_ERRORS as exc:
            raise translate_remediation(exc, f"modify backup settings of {database.identifier}") from exc

    def start_backup_replication(self, source_arn: str, *, retention_days: int, kms_key_id: str | None) -> None:
        """Replicate ``source_arn``'s automated backups into this (the DR) Region."""
        if _region_of(source_arn) == self.region:
            raise ValueError(f"{source_arn} is in {self.region}: replication is called in the DR Region")
        try:
            if kms_key_id:
                self._client.start_db_instance_automated_backups_replication(
                    SourceDBInstanceArn=source_arn, BackupRetentionPeriod=retention_days, KmsKeyId=kms_key_id
                )
            else:
                self._client.start_db_instance_automated_backups_replication(
                    SourceDBInstanceArn=source_arn, BackupRetentionPeriod=retention_days
                )
        except BOTO_ERRORS as exc:
            raise translate_remediation(exc, f"start backup replication of {source_arn} to {self.region}") from exc


class TablePitrGateway:
    """One Region's DynamoDB point-in-time recovery, through the shared DynamoDB adapter."""

    def __init__(self, tables: DynamoDbGateway, client: Any) -> None:
        self._tables = tables
        self._client = client
        self.region = tables.region

    def list_protected_tables(self) -> list[TablePitrSettings | UnreadableResource]:
        """Every table; a protected one with its PITR, or unreadable (with the error) when that cannot be read."""
        found: list[TablePitrSettings | UnreadableResource] = []
        for table in self._tables.list_tables():
            if table.policy_name is None:
                found.append(TablePitrSettings(table.name, table.arn, table.status, table.tags, False))
                continue
            try:
                pitr = self._tables.describe_continuous_backups(table.name)
            except AwsError as exc:
                found.append(UnreadableResource(table.name, table.arn, str(exc)))
                continue
            found.append(
                TablePitrSettings(
                    table.name, table.arn, table.status, table.tags, pitr.pitr_enabled, pitr.recovery_period_days
                )
            )
        return found

    def enable_point_in_time_recovery(self, table_name: str, *, recovery_period_days: int) -> None:
        try:
            self._client.update_continuous_backups(
                TableName=table_name,
                PointInTimeRecoverySpecification={
                    "PointInTimeRecoveryEnabled": True,
                    "RecoveryPeriodInDays": recovery_period_days,
                },
            )
        except BOTO_ERRORS as exc:
            raise translate_dynamodb(exc, f"turn on point-in-time recovery of {table_name}") from exc
