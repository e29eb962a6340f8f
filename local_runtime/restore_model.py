"""How long a simulated restore takes to become available: by engine and size.

moto makes a restored database ``available`` at once, so every drill would measure the same RTO
(its first status poll). The demo's world holds each drill's restored instance or cluster in
``creating`` for ``base + per_gb * size`` minutes of simulated time, then makes it ``available``;
the drill state machine's status polls (its ``Wait`` states move the simulated clock) see it
become available, and its RTO is measured against its target as it would be in AWS.

The figures are a model, not AWS's numbers: restores of instance snapshots grow with the allocated
storage (blocks are loaded lazily, but the instance is created and the volume attached first), and
PostgreSQL instances are slower to become available than MySQL ones; an Aurora restore creates
the cluster volume from the snapshot (fast, size-independent to first order) and then its first
instance (the bulk of the time).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from moto.rds.models import rds_backends

from restorable import tags as tag_keys

from .template import ACCOUNT_ID


@dataclass(frozen=True)
class EngineRate:
    base_minutes: float
    minutes_per_gb: float

    def minutes(self, size_gb: float) -> float:
        return self.base_minutes + self.minutes_per_gb * max(0.0, size_gb)


DEFAULT_RATES: Mapping[str, EngineRate] = {
    "mysql": EngineRate(8, 0.25),
    "mariadb": EngineRate(8, 0.25),
    "postgres": EngineRate(12, 0.55),
    "aurora-mysql": EngineRate(22, 0.05),
    "aurora-postgresql": EngineRate(25, 0.05),
}


@dataclass
class RestoreDurationModel:
    """Minutes a restore takes, by engine and allocated GB; ``hold`` applies it to moto's drill databases."""

    rates: Mapping[str, EngineRate] = field(default_factory=lambda: dict(DEFAULT_RATES))
    fallback: EngineRate = EngineRate(10, 0.4)
    # (Region, identifier) -> (engine, GB, restore started, ready at), for every drill database seen
    restores: dict[tuple[str, str], tuple[str, int, datetime, datetime]] = field(default_factory=dict)

    def minutes(self, engine: str, size_gb: float) -> float:
        return self.rates.get(engine, self.fallback).minutes(size_gb)

    def describe(self) -> list[str]:
        lines = [
            f"{engine}: {rate.base_minutes:g} min + {rate.minutes_per_gb:g} min/GB"
            for engine, rate in self.rates.items()
        ]
        return [*lines, f"other engines: {self.fallback.base_minutes:g} min + {self.fallback.minutes_per_gb:g} min/GB"]

    def hold(self, regions: Iterable[str], account_id: str = ACCOUNT_ID) -> None:
        """Keep every drill database ``creating`` until its modelled restore time has passed (simulated)."""
        now = datetime.now(UTC)
        for region in regions:
            backend = rds_backends[account_id][region]
            for identifier, cluster in backend.clusters.items():
                if _is_drill(cluster):
                    self._apply(region, identifier, cluster, cluster.engine, cluster.allocated_storage, now)
            for identifier, database in backend.databases.items():
                if not _is_drill(database):
                    continue
                cluster_id = getattr(database, "db_cluster_identifier", None)
                if (
                    cluster_id and (region, cluster_id) in self.restores
                ):  # an Aurora drill's instance: the cluster's time
                    ready = self.restores[(region, cluster_id)][3]
                    database.status = "available" if now >= ready else "creating"
                    continue
                self._apply(region, identifier, database, database.engine, database.allocated_storage, now)

    def _apply(self, region: str, identifier: str, resource: Any, engine: str, size: Any, now: datetime) -> None:
        key = (region, identifier)
        if key not in self.restores:
            created = getattr(resource, "created", None)
            started = _aware(created) if isinstance(created, datetime) else now
            size_gb = int(size or 0)
            self.restores[key] = (engine, size_gb, started, started + timedelta(minutes=self.minutes(engine, size_gb)))
        if resource.status in ("creating", "available"):
            resource.status = "available" if now >= self.restores[key][3] else "creating"


def _is_drill(resource: Any) -> bool:
    tags = {t["Key"]: t["Value"] for t in (resource.tags or [])}
    return tags.get(tag_keys.KIND) == tag_keys.DRILL_KIND


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
