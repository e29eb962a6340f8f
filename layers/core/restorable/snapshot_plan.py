"""Plan scheduled snapshots: which protected database needs which period's snapshot.

Pure: takes the inventory (databases, existing manual snapshots) and returns one decision
per database and kind. Applying the plan is the job module's work.

Engine-neutral: what differs per engine (the kinds it supports, the states it snapshots in, how it
names a point and finds the one a rerun made) comes from its profile in ``engines.ENGINES``.
"""

from __future__ import annotations

import enum
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from . import tags as tag_keys
from .engines import ENGINES
from .models import Database, DatabaseType, Engine, RecoveryPoint
from .naming import format_timestamp
from .policy import PolicyDocument
from .schedule import CronSchedule

# The states each resource type is snapshotted in, from the engine profiles.
SNAPSHOTTABLE_STATES: Mapping[DatabaseType, frozenset[str]] = {
    resource_type: states
    for engine_profile in ENGINES.values()
    for resource_type, states in engine_profile.snapshottable_states.items()
}


# Resources the service can never snapshot, by type and engine: a tagged one is a finding, never a create.
UNSNAPSHOTTABLE_ENGINES: Mapping[DatabaseType, Mapping[str, str]] = {
    DatabaseType.CACHE_CLUSTER: {
        "memcached": "node-based Memcached clusters cannot be snapshotted; no snapshot taken "
        f"(protect the data another way, or set {tag_keys.POLICY}=none)",
    },
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

    ``existing`` maps identifiers to the manual recovery points of the Region (of every engine
    given). Unprotected databases get no decision at all; a kind the database's engine does not
    support (``monthly`` for a table) is not planned for it.
    """
    period_list = list(periods)
    decisions: list[SnapshotDecision] = []
    indexes: dict[Engine, Mapping[Hashable, RecoveryPoint]] = {}
    for database in databases:
        engine_profile = ENGINES[database.type.engine]
        if engine_profile.engine not in indexes:
            indexes[engine_profile.engine] = engine_profile.names.index(existing, stack_name)
        found_by_key = indexes[engine_profile.engine]
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
        unsnapshottable = UNSNAPSHOTTABLE_ENGINES.get(database.type, {}).get(database.engine.lower())
        for period in period_list:
            rule = policy.rule_for(period.kind)
            if rule is None or not engine_profile.plans(period.kind):
                continue
            if unsnapshottable is not None:
                decisions.append(SnapshotDecision(database, period.kind, Action.FINDING, reason=unsnapshottable))
                continue
            expires_at = period.scheduled_at + timedelta(days=rule.retention_days)
            try:
                snapshot_id = engine_profile.names.scheduled(
                    stack_name=stack_name,
                    database=database,
                    kind=period.kind,
                    period_date=period.local_date,
                    expires_at=expires_at,
                )
            except ValueError as exc:
                decisions.append(
                    SnapshotDecision(database, period.kind, Action.FINDING, reason=f"cannot name its snapshot: {exc}")
                )
                continue
            found = found_by_key.get(engine_profile.names.key(snapshot_id, stack_name))
            if found is not None:
                decisions.append(_existing_decision(database, period.kind, found, stack_name))
                continue
            if database.status not in engine_profile.snapshottable_states[database.type]:
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
