"""The engines Restorable protects, and the recovery points each one supports, as data.

The jobs iterate ``ENGINES``: for each engine the policy names, one gateway behind the same ports,
asked only for the kinds that engine supports. A kind an engine lacks is never planned for it
(a policy naming ``monthly`` gives a DynamoDB table no monthly backup); a continuous-backup window
(RDS automated backups, DynamoDB PITR) is a setting the engine's resources are checked against,
not a recovery point the jobs create or prune.

Adding a fourth engine:

1. add a member to ``Engine`` and an ``EngineProfile`` to ``ENGINES`` (its kinds, its continuous
   backups, whether its recovery points carry tags);
2. write its adapter under ``adapters/`` satisfying the jobs' ports, with its error codes mapped
   through ``adapters/errors.translate``;
3. if its recovery points cannot carry tags, give it a name codec like ``dynamodb_backup_names``
   so the planners still read ownership, kind and expiry with positive proof.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from .models import Engine

__all__ = ["ENGINES", "ContinuousBackup", "Engine", "EngineProfile", "engines_supporting", "profile"]


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

    @property
    def kinds(self) -> frozenset[str]:
        """Every recovery-point kind the jobs may create and prune for this engine."""
        return self.scheduled_kinds | self.on_demand_kinds

    def supports(self, kind: str) -> bool:
        return kind in self.kinds


ENGINES: Mapping[Engine, EngineProfile] = MappingProxyType(
    {
        Engine.RDS: EngineProfile(
            engine=Engine.RDS,
            resource="DB instance or DB cluster",
            scheduled_kinds=frozenset({"weekly", "monthly"}),
            on_demand_kinds=frozenset({"predeploy"}),
            continuous=ContinuousBackup("automated-backups", min_days=1, max_days=35),
            points_take_tags=True,
        ),
        Engine.DYNAMODB: EngineProfile(
            engine=Engine.DYNAMODB,
            resource="table",
            scheduled_kinds=frozenset({"weekly"}),
            on_demand_kinds=frozenset({"predeploy"}),
            continuous=ContinuousBackup("point-in-time-recovery", min_days=1, max_days=35),
            points_take_tags=False,
        ),
        Engine.ELASTICACHE: EngineProfile(
            engine=Engine.ELASTICACHE,
            resource="cache",
            scheduled_kinds=frozenset({"daily"}),
            on_demand_kinds=frozenset({"predeploy"}),
            continuous=None,
            points_take_tags=True,
        ),
    }
)


def profile(engine: Engine) -> EngineProfile:
    return ENGINES[engine]


def engines_supporting(kind: str) -> frozenset[Engine]:
    """The engines for which a policy's ``kind`` means something (the others ignore it)."""
    return frozenset(engine for engine, item in ENGINES.items() if item.supports(kind))
