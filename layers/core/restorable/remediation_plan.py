"""Remediation: which backup settings to turn on, on which protected resources, and why (no boto3).

A policy that sets ``remediate: true`` asks the stack to turn on what verification would
otherwise only report: RDS automated backups (retention) and ``CopyTagsToSnapshot``,
cross-Region automated backup replication to the DR Region, and a DynamoDB table's
point-in-time recovery. The plan is the safety case:

- it never loosens: every change sets a value at least as strict as the one found, and a
  setting a person made stricter (a longer retention, a longer PITR period, a replication
  already running) is kept as it is;
- it never touches a resource that is not protected, or whose ``restorable:policy`` names no
  known policy, or whose policy does not opt in: those are reported, never changed;
- it is idempotent: planning again on the state the changes produce plans nothing;
- a change that causes an outage (RDS retention from 0 to n suspends the instance's I/O) is
  marked so, and is made only when the operator allowed outages; otherwise it is a
  finding with the command to run in a maintenance window.

ElastiCache is not remediated: see docs/remediation.md.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from .models import Database, DatabaseType
from .policy import Policy, PolicyDocument

# ModifyDBInstance / ModifyDBCluster and StartDBInstanceAutomatedBackupsReplication need these states.
MODIFIABLE_RDS_STATES = frozenset({"available"})
# UpdateContinuousBackups needs an ACTIVE table.
MODIFIABLE_TABLE_STATES = frozenset({"ACTIVE"})
# A DynamoDB table whose PITR is on but reports no period keeps the service default.
DEFAULT_PITR_DAYS = 35


class Setting(enum.Enum):
    """A backup setting remediation may change; the value names it in results and logs."""

    BACKUP_RETENTION = "backup-retention"
    COPY_TAGS_TO_SNAPSHOT = "copy-tags-to-snapshot"
    BACKUP_REPLICATION = "backup-replication"
    POINT_IN_TIME_RECOVERY = "point-in-time-recovery"
    # A resource that is not remediated as a whole (unprotected, unknown policy, not opted in, busy).
    RESOURCE = "resource"


class Action(enum.Enum):
    """The one call a change makes."""

    MODIFY_DB_INSTANCE = "ModifyDBInstance"
    MODIFY_DB_CLUSTER = "ModifyDBCluster"
    START_BACKUP_REPLICATION = "StartDBInstanceAutomatedBackupsReplication"
    UPDATE_CONTINUOUS_BACKUPS = "UpdateContinuousBackups"


@dataclass(frozen=True)
class RdsBackupSettings:
    """An RDS DB instance or DB cluster with its automated-backup settings as RDS reports them.

    ``replications``: DR Regions this instance's automated backups replicate to, each with the
    replicated retention in days (None when it could not be read).
    """

    database: Database
    retention_days: int
    copy_tags_to_snapshot: bool
    storage_encrypted: bool
    replications: Mapping[str, int | None] = field(default_factory=dict)


@dataclass(frozen=True)
class TablePitrSettings:
    """A DynamoDB table with its point-in-time recovery as DescribeContinuousBackups reports it."""

    name: str
    arn: str
    status: str
    tags: Mapping[str, str]
    pitr_enabled: bool
    recovery_period_days: int | None = None

    @property
    def policy_name(self) -> str | None:
        return Database(DatabaseType.TABLE, self.name, self.arn, self.status, "", self.tags).policy_name

    @property
    def effective_period_days(self) -> int:
        return (self.recovery_period_days or DEFAULT_PITR_DAYS) if self.pitr_enabled else 0


@dataclass(frozen=True)
class UnreadableResource:
    """A protected resource whose settings could not be read: reported as failed, never planned."""

    name: str
    arn: str
    error: str


@dataclass(frozen=True)
class Change:
    """One call that turns settings on. Every value is at least as strict as the one found."""

    action: Action
    resource: str
    arn: str
    resource_type: DatabaseType
    settings: tuple[Setting, ...]
    reason: str
    retention_days: int | None = None
    copy_tags_to_snapshot: bool | None = None
    # StartDBInstanceAutomatedBackupsReplication: the Region called (the DR Region) and, for an
    # encrypted instance, the KMS key there.
    region: str | None = None
    kms_key_id: str | None = None
    outage: bool = False


@dataclass(frozen=True)
class Kept:
    """A setting (or a whole resource) left as it is, with the reason; ``finding`` when a person should act."""

    resource: str
    arn: str
    setting: Setting
    reason: str
    finding: bool = False


@dataclass(frozen=True)
class RemediationPlan:
    changes: tuple[Change, ...] = ()
    kept: tuple[Kept, ...] = ()


@dataclass(frozen=True)
class PlanContext:
    policies: PolicyDocument
    dr_region: str
    dr_kms_key_id: str
    # Whether a change that causes an outage (RDS retention 0 -> n) may be applied immediately.
    allow_outage: bool = False


def _resolve(name: str | None, arn: str, resource: str, policies: PolicyDocument) -> Policy | Kept:
    """The resource's policy, or why the resource is left alone."""
    if name is None:
        return Kept(
            resource, arn, Setting.RESOURCE, "not protected (no restorable:policy tag, or 'none'): never changed"
        )
    policy = policies.get(name)
    if policy is None:
        known = ", ".join(sorted(policies.policies))
        return Kept(
            resource,
            arn,
            Setting.RESOURCE,
            f"restorable:policy names unknown policy '{name}' (known: {known}): nothing changed; fix the tag",
            finding=True,
        )
    if not policy.remediate:
        return Kept(
            resource, arn, Setting.RESOURCE, f"policy '{name}' does not opt in to remediation (remediate: false)"
        )
    return policy


def _rds(item: RdsBackupSettings, context: PlanContext) -> tuple[list[Change], list[Kept]]:
    database = item.database
    if database.is_cluster_member:
        reason = f"member of cluster {database.cluster_identifier}: the cluster's settings are remediated"
        return [], [Kept(database.identifier, database.arn, Setting.RESOURCE, reason)]
    resolved = _resolve(database.policy_name, database.arn, database.identifier, context.policies)
    if isinstance(resolved, Kept):
        return [], [resolved]
    policy = resolved
    wanted = policy.automated_backups.retention_days
    is_cluster = database.type is DatabaseType.CLUSTER
    gaps: list[str] = []
    settings: list[Setting] = []
    retention: int | None = None
    copy_tags: bool | None = None
    outage = False
    if item.retention_days < wanted:
        retention = wanted
        settings.append(Setting.BACKUP_RETENTION)
        gaps.append(f"backup retention {item.retention_days} -> {wanted} days (policy {database.policy_name})")
        outage = item.retention_days == 0 and not is_cluster
    if not item.copy_tags_to_snapshot:
        copy_tags = True
        settings.append(Setting.COPY_TAGS_TO_SNAPSHOT)
        gaps.append("CopyTagsToSnapshot false -> true")
    wants_replication = policy.automated_backups.dr_replication and database.type is DatabaseType.INSTANCE
    replication_gap = wants_replication and context.dr_region not in item.replications
    if not settings and not replication_gap:
        return [], _replication_kept(item, context, wants_replication, wanted)
    if database.status not in MODIFIABLE_RDS_STATES:
        reason = f"status {database.status}: settings are changed only when it is available; a later run retries"
        return [], [Kept(database.identifier, database.arn, Setting.RESOURCE, reason)]
    changes: list[Change] = []
    kept: list[Kept] = []
    if settings:
        action = Action.MODIFY_DB_CLUSTER if is_cluster else Action.MODIFY_DB_INSTANCE
        reason = "; ".join(gaps)
        if outage:
            reason += (
                "; OUTAGE: turning automated backups on (retention 0 -> n) causes an outage "
                "(RDS suspends I/O for seconds to minutes, by instance size and class)"
            )
        change = Change(
            action=action,
            resource=database.identifier,
            arn=database.arn,
            resource_type=database.type,
            settings=tuple(settings),
            reason=reason,
            retention_days=retention,
            copy_tags_to_snapshot=copy_tags,
            outage=outage,
        )
        if outage and not context.allow_outage:
            kept.append(
                Kept(
                    database.identifier,
                    database.arn,
                    Setting.BACKUP_RETENTION,
                    f"{reason}; not applied because outages are not allowed (RemediationAllowOutage=false): run "
                    f"aws rds modify-db-instance --db-instance-identifier {database.identifier} "
                    f"--backup-retention-period {wanted} in a maintenance window",
                    finding=True,
                )
            )
            # CopyTagsToSnapshot alone causes no outage: it is still set.
            if copy_tags:
                changes.append(
                    Change(
                        action=action,
                        resource=database.identifier,
                        arn=database.arn,
                        resource_type=database.type,
                        settings=(Setting.COPY_TAGS_TO_SNAPSHOT,),
                        reason="CopyTagsToSnapshot false -> true",
                        copy_tags_to_snapshot=True,
                    )
                )
        else:
            changes.append(change)
    if replication_gap:
        # Replication needs automated backups: on already, or turned on by this plan.
        backups_on = item.retention_days > 0 or (retention is not None and context.allow_outage)
        if not backups_on:
            kept.append(
                Kept(
                    database.identifier,
                    database.arn,
                    Setting.BACKUP_REPLICATION,
                    f"replication to {context.dr_region} needs automated backups on first (retention is 0)",
                    finding=True,
                )
            )
        else:
            # Never less than the instance keeps itself, nor than the policy asks.
            replicated = max(wanted, item.retention_days)
            changes.append(
                Change(
                    action=Action.START_BACKUP_REPLICATION,
                    resource=database.identifier,
                    arn=database.arn,
                    resource_type=database.type,
                    settings=(Setting.BACKUP_REPLICATION,),
                    reason=(
                        f"automated backups not replicated to {context.dr_region} (policy {database.policy_name} "
                        f"sets dr_replication): start replication with {replicated} days"
                    ),
                    retention_days=replicated,
                    region=context.dr_region,
                    kms_key_id=context.dr_kms_key_id if item.storage_encrypted else None,
                )
            )
    if not replication_gap:
        kept.extend(_replication_kept(item, context, wants_replication, wanted))
    return changes, kept


def _replication_kept(item: RdsBackupSettings, context: PlanContext, wanted_on: bool, wanted: int) -> list[Kept]:
    """An existing replication is never restarted: its retention changes only by stopping it (losing its backups)."""
    if not wanted_on or context.dr_region not in item.replications:
        return []
    replicated = item.replications[context.dr_region]
    database = item.database
    if replicated is not None and replicated < wanted:
        return [
            Kept(
                database.identifier,
                database.arn,
                Setting.BACKUP_REPLICATION,
                f"replication to {context.dr_region} keeps {replicated} days, policy asks {wanted}: changing it means "
                "stopping the replication, which deletes the replicated backups; left to a person",
                finding=True,
            )
        ]
    return []


def _table(item: TablePitrSettings, context: PlanContext) -> tuple[list[Change], list[Kept]]:
    resolved = _resolve(item.policy_name, item.arn, item.name, context.policies)
    if isinstance(resolved, Kept):
        return [], [resolved]
    wanted = resolved.point_in_time_recovery.recovery_period_days
    current = item.effective_period_days
    if current >= wanted:
        return [], []
    if item.status not in MODIFIABLE_TABLE_STATES:
        reason = f"table status {item.status}: PITR is changed only on an ACTIVE table; a later run retries"
        return [], [Kept(item.name, item.arn, Setting.RESOURCE, reason)]
    found = f"on with {current} days" if item.pitr_enabled else "off"
    change = Change(
        action=Action.UPDATE_CONTINUOUS_BACKUPS,
        resource=item.name,
        arn=item.arn,
        resource_type=DatabaseType.TABLE,
        settings=(Setting.POINT_IN_TIME_RECOVERY,),
        reason=f"point-in-time recovery {found} -> on with {wanted} days (policy {item.policy_name})",
        retention_days=wanted,
    )
    return [change], []


def plan_remediation(
    databases: Iterable[RdsBackupSettings],
    tables: Iterable[TablePitrSettings],
    context: PlanContext,
) -> RemediationPlan:
    """Changes for every protected, opted-in resource short of its policy; everything else kept, with why."""
    changes: list[Change] = []
    kept: list[Kept] = []
    for database in databases:
        made, left = _rds(database, context)
        changes += made
        kept += left
    for table in tables:
        made, left = _table(table, context)
        changes += made
        kept += left
    return RemediationPlan(changes=tuple(changes), kept=tuple(kept))


def apply_to_settings(
    databases: Sequence[RdsBackupSettings], tables: Sequence[TablePitrSettings], plan: RemediationPlan
) -> tuple[list[RdsBackupSettings], list[TablePitrSettings]]:
    """The settings as they are once every change of ``plan`` succeeded (what a rerun would read)."""
    by_arn: dict[str, list[Change]] = {}
    for change in plan.changes:
        by_arn.setdefault(change.arn, []).append(change)
    new_databases = []
    for item in databases:
        retention, copy_tags, replications = item.retention_days, item.copy_tags_to_snapshot, dict(item.replications)
        for change in by_arn.get(item.database.arn, []):
            if change.action is Action.START_BACKUP_REPLICATION and change.region:
                replications[change.region] = change.retention_days
            else:
                retention = change.retention_days if change.retention_days is not None else retention
                copy_tags = change.copy_tags_to_snapshot if change.copy_tags_to_snapshot is not None else copy_tags
        new_databases.append(
            RdsBackupSettings(item.database, retention, copy_tags, item.storage_encrypted, replications)
        )
    new_tables = []
    for table in tables:
        period, enabled = table.recovery_period_days, table.pitr_enabled
        for change in by_arn.get(table.arn, []):
            period, enabled = change.retention_days, True
        new_tables.append(TablePitrSettings(table.name, table.arn, table.status, table.tags, enabled, period))
    return new_databases, new_tables
