"""The engines Restorable protects, and the recovery points each one supports, as data.

The jobs iterate ``ENGINES``: for each engine the policy names, one gateway behind the same ports,
asked only for the kinds that engine supports. A kind an engine lacks is never planned for it
(a policy naming ``monthly`` gives a DynamoDB table no monthly backup); a continuous-backup window
(RDS automated backups, DynamoDB PITR) is a setting the engine's resources are checked against,
not a recovery point the jobs create or prune.

Adding a fourth engine:

1. add a member to ``Engine`` and an ``EngineProfile`` to ``ENGINES`` (its kinds, its continuous
   backups, whether its recovery points carry tags, the states it snapshots in, how it names points);
2. write its adapter under ``adapters/`` satisfying the jobs' ports, with its error codes mapped
   through ``adapters/errors.translate``;
3. if its recovery points cannot carry tags, give it a name codec like ``dynamodb_backup_names``
   so the planners still read ownership, kind and expiry with positive proof.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType
from typing import Protocol

from .cache_naming import predeploy_snapshot_name, scheduled_snapshot_name
from .dynamodb_backup_names import parse_backup_name, predeploy_backup_name, scheduled_backup_name
from .models import Database, DatabaseType, Engine, RecoveryPoint
from .naming import predeploy_snapshot_id, scheduled_snapshot_id
from .policy import ON_DEMAND_KINDS

__all__ = [
    "ENGINES",
    "ContinuousBackup",
    "Engine",
    "EngineProfile",
    "PointNames",
    "engines_supporting",
    "profile",
]


class PointNames(Protocol):
    """How an engine names a scheduled recovery point, and how a rerun finds the one it made."""

    def scheduled(
        self, *, stack_name: str, database: Database, kind: str, period_date: date, expires_at: datetime
    ) -> str: ...

    def predeploy(self, *, stack_name: str, database: Database, at: datetime, expires_at: datetime) -> str:
        """The pre-deploy point of ``database`` asked for at ``at`` (UTC, to the second)."""
        ...

    def key(self, name: str, stack_name: str) -> Hashable | None:
        """What identifies the point a rerun looks for (None: not a name this stack plans)."""
        ...

    def index(self, points: Mapping[str, RecoveryPoint], stack_name: str) -> Mapping[Hashable, RecoveryPoint]:
        """``points`` (by identifier) by ``key``, for the lookups of one plan."""
        ...


class IdentifierNames:
    """RDS: the identifier is ``{source}-{kind}-{date}``; it is the key (RDS makes it unique)."""

    def scheduled(
        self, *, stack_name: str, database: Database, kind: str, period_date: date, expires_at: datetime
    ) -> str:
        return scheduled_snapshot_id(database.identifier, kind, period_date)

    def predeploy(self, *, stack_name: str, database: Database, at: datetime, expires_at: datetime) -> str:
        return predeploy_snapshot_id(database.identifier, at)

    def key(self, name: str, stack_name: str) -> Hashable | None:
        return name

    def index(self, points: Mapping[str, RecoveryPoint], stack_name: str) -> Mapping[Hashable, RecoveryPoint]:
        return points  # type: ignore[return-value]  # already keyed by identifier


class CacheSnapshotNames(IdentifierNames):
    """ElastiCache: ``{cache-id}-{kind}-{date}``, lower case, as ElastiCache stores identifiers."""

    def scheduled(
        self, *, stack_name: str, database: Database, kind: str, period_date: date, expires_at: datetime
    ) -> str:
        return scheduled_snapshot_name(database.identifier, kind, period_date)

    def predeploy(self, *, stack_name: str, database: Database, at: datetime, expires_at: datetime) -> str:
        return predeploy_snapshot_name(database.identifier, at)


class BackupNames:
    """DynamoDB: the name carries the contract (``dynamodb_backup_names``); the key leaves out the expiry."""

    def scheduled(
        self, *, stack_name: str, database: Database, kind: str, period_date: date, expires_at: datetime
    ) -> str:
        return scheduled_backup_name(
            stack_name=stack_name,
            table_name=database.identifier,
            kind=kind,
            period_date=period_date,
            expires_at=expires_at,
        )

    def predeploy(self, *, stack_name: str, database: Database, at: datetime, expires_at: datetime) -> str:
        return predeploy_backup_name(
            stack_name=stack_name, table_name=database.identifier, at=at, expires_at=expires_at
        )

    def key(self, name: str, stack_name: str) -> Hashable | None:
        parsed = parse_backup_name(name, stack_name)
        return parsed.key if parsed is not None else None

    def index(self, points: Mapping[str, RecoveryPoint], stack_name: str) -> Mapping[Hashable, RecoveryPoint]:
        found: dict[Hashable, RecoveryPoint] = {}
        for point in points.values():
            if point.type is DatabaseType.TABLE and (key := self.key(point.identifier, stack_name)) is not None:
                found.setdefault(key, point)
        return found


@dataclass(frozen=True)
class ContinuousBackup:
    """A window the service keeps by itself (point-in-time recovery), checked against the policy."""

    name: str
    min_days: int
    max_days: int


@dataclass(frozen=True)
class EngineProfile:
    """What one engine offers the jobs."""

    engine: Engine
    resource: str
    scheduled_kinds: frozenset[str]
    on_demand_kinds: frozenset[str]
    continuous: ContinuousBackup | None
    # False: the name (or a record written with the point) carries what tags carry elsewhere.
    points_take_tags: bool
    # The states in which the service accepts a snapshot of a resource, per resource type.
    snapshottable_states: Mapping[DatabaseType, frozenset[str]]
    names: PointNames
    # True: besides its own kinds, every scheduled kind the stack declares (a stack may add "quarterly"),
    # except ``foreign_kinds``: kinds that belong to another engine.
    any_scheduled_kind: bool = False
    foreign_kinds: frozenset[str] = frozenset()

    @property
    def kinds(self) -> frozenset[str]:
        """Every recovery-point kind the jobs may create and prune for this engine."""
        return self.scheduled_kinds | self.on_demand_kinds

    def supports(self, kind: str) -> bool:
        """Whether ``kind`` means something for this engine (its own kinds, or a stack's added kind)."""
        return kind in self.on_demand_kinds or self.plans(kind)

    def plans(self, kind: str) -> bool:
        """Whether the snapshot job plans a scheduled ``kind`` (a schedule of the stack) for this engine."""
        if kind in self.scheduled_kinds:
            return True
        return self.any_scheduled_kind and kind not in ON_DEMAND_KINDS and kind not in self.foreign_kinds


ENGINES: Mapping[Engine, EngineProfile] = MappingProxyType(
    {
        Engine.RDS: EngineProfile(
            engine=Engine.RDS,
            resource="DB instance or DB cluster",
            scheduled_kinds=frozenset({"weekly", "monthly"}),
            on_demand_kinds=frozenset({"predeploy"}),
            continuous=ContinuousBackup("automated-backups", min_days=1, max_days=35),
            points_take_tags=True,
            # CreateDBSnapshot accepts these instance states only; clusters must be available.
            snapshottable_states={
                DatabaseType.INSTANCE: frozenset({"available", "storage-optimization"}),
                DatabaseType.CLUSTER: frozenset({"available"}),
            },
            names=IdentifierNames(),
            any_scheduled_kind=True,
            # A cache's daily snapshot; a database's daily recovery is its automated backups.
            foreign_kinds=frozenset({"daily"}),
        ),
        Engine.DYNAMODB: EngineProfile(
            engine=Engine.DYNAMODB,
            resource="table",
            scheduled_kinds=frozenset({"weekly"}),
            on_demand_kinds=frozenset({"predeploy"}),
            continuous=ContinuousBackup("point-in-time-recovery", min_days=1, max_days=35),
            points_take_tags=False,
            # CreateBackup needs an ACTIVE table (TableInUseException otherwise).
            snapshottable_states={DatabaseType.TABLE: frozenset({"ACTIVE"})},
            names=BackupNames(),
        ),
        Engine.ELASTICACHE: EngineProfile(
            engine=Engine.ELASTICACHE,
            resource="cache",
            scheduled_kinds=frozenset({"daily"}),
            on_demand_kinds=frozenset({"predeploy"}),
            continuous=None,
            points_take_tags=True,
            snapshottable_states={
                DatabaseType.CACHE_REPLICATION_GROUP: frozenset({"available"}),
                DatabaseType.CACHE_CLUSTER: frozenset({"available"}),
                DatabaseType.SERVERLESS_CACHE: frozenset({"available"}),
            },
            names=CacheSnapshotNames(),
        ),
    }
)


def profile(engine: Engine) -> EngineProfile:
    return ENGINES[engine]


def engines_supporting(kind: str) -> frozenset[Engine]:
    """The engines for which a policy's ``kind`` means something (the others ignore it)."""
    return frozenset(engine for engine, item in ENGINES.items() if item.supports(kind))
