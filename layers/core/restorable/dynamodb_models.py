"""DynamoDB domain objects (no boto3): tables, their PITR window, on-demand backups and exports.

``backup_recovery_point`` turns a backup into the core's ``RecoveryPoint``, with the tags an RDS
snapshot of ours would carry read from the backup's name and the holds store, so the prune rules
(``prune_plan``) read DynamoDB backups unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from . import tags as tag_keys
from .dynamodb_backup_names import BackupName, parse_backup_name, recovery_point_tags
from .dynamodb_holds import HoldBook
from .models import DatabaseType, RecoveryPoint

# DescribeTable ReplicaStatus values of a replica that serves reads and writes.
HEALTHY_REPLICA_STATUSES = frozenset({"ACTIVE"})
# CreateBackup needs an ACTIVE table (TableInUseException otherwise).
BACKUP_TABLE_STATUSES = frozenset({"ACTIVE"})


@dataclass(frozen=True)
class Replica:
    """One Region of a global table (version 2019.11.21): replication, not a backup."""

    region: str
    status: str

    @property
    def is_healthy(self) -> bool:
        return self.status in HEALTHY_REPLICA_STATUSES


@dataclass(frozen=True)
class Table:
    name: str
    arn: str
    status: str
    table_id: str = ""
    size_bytes: int | None = None
    item_count: int | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    replicas: tuple[Replica, ...] = ()
    created_at: datetime | None = None

    @property
    def policy_name(self) -> str | None:
        """The policy the owner asked for, or None when the table is unmanaged (as for databases)."""
        value = self.tags.get(tag_keys.POLICY, "").strip()
        return None if value.lower() in tag_keys.UNMANAGED_POLICY_VALUES else value

    @property
    def can_back_up(self) -> bool:
        return self.status in BACKUP_TABLE_STATUSES


@dataclass(frozen=True)
class ContinuousBackups:
    """DescribeContinuousBackups: whether PITR is on, for how many days, and the restorable window."""

    continuous_backups_enabled: bool
    pitr_status: str
    recovery_period_days: int | None = None
    earliest_restorable: datetime | None = None
    latest_restorable: datetime | None = None

    @property
    def pitr_enabled(self) -> bool:
        return self.pitr_status == "ENABLED"

    def keeps(self, days: int) -> bool:
        """Whether PITR is on with at least ``days`` of recovery period (the policy's setting)."""
        return self.pitr_enabled and (self.recovery_period_days or 0) >= days

    def can_restore_to(self, moment: datetime) -> bool:
        """Whether ``moment`` is inside the restorable window (a restore or export outside it fails)."""
        if not self.pitr_enabled or self.earliest_restorable is None or self.latest_restorable is None:
            return False
        return self.earliest_restorable <= moment <= self.latest_restorable


@dataclass(frozen=True)
class TableBackup:
    """A native on-demand backup (ListBackups summary or DescribeBackup)."""

    arn: str
    name: str
    table_name: str
    table_arn: str
    status: str
    backup_type: str
    region: str
    table_id: str = ""
    created_at: datetime | None = None
    size_bytes: int | None = None

    @property
    def is_user_backup(self) -> bool:
        """USER backups only: SYSTEM ones (left when a PITR table is deleted) and AWS Backup's are not ours."""
        return self.backup_type == "USER"

    def parsed_name(self, stack_name: str) -> BackupName | None:
        return parse_backup_name(self.name, stack_name) if self.is_user_backup else None


@dataclass(frozen=True)
class TableExport:
    """An ExportTableToPointInTime task: the weekly recovery point's DR copy, in a bucket of the DR Region."""

    arn: str
    status: str
    table_arn: str = ""
    export_time: datetime | None = None
    s3_bucket: str = ""
    s3_bucket_owner: str = ""
    s3_prefix: str = ""
    sse_algorithm: str = ""
    kms_key_id: str = ""
    client_token: str = ""
    failure: str = ""


# RecoveryPoint.status and snapshot_type in the words the prune rules read.
_STATUS = {"AVAILABLE": "available", "CREATING": "creating", "DELETED": "deleted"}
_BACKUP_TYPE = {"USER": "manual", "SYSTEM": "system", "AWS_BACKUP": "aws-backup"}


def backup_recovery_point(
    backup: TableBackup, *, stack_name: str, point_type: DatabaseType, holds: HoldBook
) -> RecoveryPoint:
    """The backup as the prune sees it: tags from its name (only when ours) and from the holds store.

    ``point_type`` is the table member of ``DatabaseType`` once models.py has one.
    """
    name = backup.parsed_name(stack_name)
    found = (
        recovery_point_tags(name, table_name=backup.table_name, table_arn=backup.table_arn) if name is not None else {}
    )
    found.update(holds.hold_tags(backup.arn, name))
    return RecoveryPoint(
        type=point_type,
        identifier=backup.name,
        arn=backup.arn,
        source_identifier=backup.table_name,
        status=_STATUS.get(backup.status, backup.status.lower() or "unknown"),
        snapshot_type=_BACKUP_TYPE.get(backup.backup_type, backup.backup_type.lower() or "unknown"),
        region=backup.region,
        created_at=backup.created_at,
        tags=found,
        encrypted=True,  # DynamoDB encrypts every backup at rest
    )
