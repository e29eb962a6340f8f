"""Plan scheduled snapshots: which protected database needs which period's snapshot.

Pure: takes the inventory (databases, existing manual snapshots) and returns one decision
per database and kind. Applying the plan is the job module's work.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from . import tags as tag_keys
from .models import Database, DatabaseType, RecoveryPoint
from .naming import format_timestamp, scheduled_snapshot_id
from .policy import PolicyDocument
from .schedule import CronSchedule

# CreateDBSnapshot accepts these instance states only; clusters must be available.
SNAPSHOTTABLE_STATES = {
    DatabaseType.INSTANCE: frozenset({"available", "storage-optimization"}),
    DatabaseType.CLUSTER: frozenset({"available"}),
    DatabaseType.TABLE: frozenset({"ACTIVE"}),
    DatabaseType.CACHE_REPLICATION_GROUP: frozenset({"available"}),
    DatabaseType.CACHE_CLUSTER: frozenset({"available"}),
    DatabaseType.SERVERLESS_CACHE: frozenset({"available"}),
}


class Action(enum.Enum):
    CREATE = "create"
    ALREADY_EXISTS = "already_exists"
    SKIP = "skip"
    FINDING = "finding"


@dataclass(frozen=True)
class Period:
    """One firing of a kind's schedule: the snapshot it asks for is named after ``local_date``."""

    kind: str
    scheduled_at: datetime
    local_date: date

    @classmethod
    def current(cls, kind: str, schedule: CronSchedule, reference: datetime) -> Period:
        fired = schedule.last_fire_at_or_before(reference)
        return cls(kind=kind, scheduled_at=fired, local_date=schedule.local_date(fired))


@dataclass(frozen=True)
class SnapshotDecision:
    database: Database
    kind: str
    action: Action
    snapshot_id: str | None = None
    reason: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)


def snapshot_tags(
    *, stack_name: str, kind: str, policy_name: str, source_arn: str, expires_at: datetime
) -> dict[str, str]:
    """The contract's tags for a recovery point this stack creates."""
    return {
        tag_keys.MANAGED_BY: stack_name,
        tag_keys.KIND: kind,
        tag_keys.EXPIRES_AT: format_timestamp(expires_at),
        tag_keys.SOURCE: source_arn,
        tag_keys.POLICY: policy_name,
    }


def plan_scheduled_snapshots(
    databases: Iterable[Database],
    existing: Mapping[str, RecoveryPoint],
    policies: PolicyDocument,
    periods: Iterable[Period],
    stack_name: str,
) -> list[SnapshotDecision]:
    """Decide, for every protected database and every period, what to do.

    ``existing`` maps snapshot identifiers to the manual snapshots of the Region (DB and
    cluster snapshots). Unprotected databases get no decision at all.
    """
    period_list = list(periods)
    decisions: list[SnapshotDecision] = []
    for database in databases:
        policy_name = database.policy_name
        if policy_name is None:
            continue
        if database.is_cluster_member:
            for period in period_list:
                decisions.append(
                    SnapshotDecision(
                        database,
                        period.kind,
                        Action.SKIP,
                        reason=f"member of cluster {database.cluster_identifier}; the cluster is snapshotted instead",
                    )
                )
            continue
        policy = policies.get(policy_name)
        if policy is None:
            known = ", ".join(sorted(policies.policies))
            decisions.append(
                SnapshotDecision(
                    database,
                    "*",
                    Action.FINDING,
                    reason=f"tag {tag_keys.POLICY}={policy_name!r} names no policy (known: {known}); no snapshot taken",
                )
            )
            continue
        for period in period_list:
            rule = policy.rule_for(period.kind)
            if rule is None:
                continue
            snapshot_id = scheduled_snapshot_id(database.identifier, period.kind, period.local_date)
            found = existing.get(snapshot_id)
            if found is not None:
                decisions.append(_existing_decision(database, period.kind, found, stack_name))
                continue
            if database.status not in SNAPSHOTTABLE_STATES[database.type]:
                decisions.append(
                    SnapshotDecision(
                        database,
                        period.kind,
                        Action.SKIP,
                        snapshot_id=snapshot_id,
                        reason=f"{database.type.value} is '{database.status}'; a later run takes the snapshot",
                    )
                )
                continue
            expires_at = period.scheduled_at + timedelta(days=rule.retention_days)
            decisions.append(
                SnapshotDecision(
                    database,
                    period.kind,
                    Action.CREATE,
                    snapshot_id=snapshot_id,
                    tags=snapshot_tags(
                        stack_name=stack_name,
                        kind=period.kind,
                        policy_name=policy_name,
                        source_arn=database.arn,
                        expires_at=expires_at,
                    ),
                )
            )
    return decisions


def _existing_decision(database: Database, kind: str, found: RecoveryPoint, stack_name: str) -> SnapshotDecision:
    if found.managed_by == stack_name:
        return SnapshotDecision(
            database,
            kind,
            Action.ALREADY_EXISTS,
            snapshot_id=found.identifier,
            reason=f"already exists ({found.status})",
        )
    owner = found.managed_by or "nobody (no restorable:managed-by tag)"
    return SnapshotDecision(
        database,
        kind,
        Action.FINDING,
        snapshot_id=found.identifier,
        reason=f"identifier {found.identifier} is taken by a snapshot managed by {owner}; left alone",
    )
