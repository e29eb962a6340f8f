"""Problems planted on purpose in the demo's world, so a person sees each one found, alerted and fixed.

The sample fleet is set up as its policies ask (``fleet.create_fleet``); every finding of the demo
should belong to one of these. Each ``PlantedProblem`` has the changes a person (or RDS) makes at
given simulated moments, and says which findings it explains (``explains``). ``PlantedWorld``
applies the changes at the daily tick, where RDS's own daily work happens in the world.

``demo_problems(start, days)`` places them in the period, scaled to its length, so a short run
shows the same story as the default 100 days:

- a database stopped before the run (the fleet's ``reporting-mysql``): found at once, RDS starts
  it again after seven days, and it recovers by itself;
- automated backups turned off on ``shop-mysql`` at 20 % of the period, turned back on three days
  later (the fix the finding names);
- a legal hold put on ``billing-postgres``'s first weekly snapshot on day 1: it outlives its
  retention and pruning keeps it (``legal-hold``) while the copies from the same week go;
- ``legacy-postgres`` deleted at 55 % of the period (without a final snapshot, its automated
  backups deleted): its last recovery points stay, pruning keeps the newest of each kind;
- point-in-time recovery of the table ``orders-table`` turned off at 35 % of the period and back on
  three days later;
- ``billing-postgres`` (100 GB) restores slower than its RTO under the restore-duration model: its
  drills fail, and verification reports that it has no successful drill.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import boto3

from restorable import tags as tag_keys

from .findings import FindingEpisode
from .fleet import SAMPLE_FLEET, FleetMember
from .world import EngineSample, RdsWorld

LEGACY = FleetMember("legacy-postgres", "postgres", "standard", size_gb=10)
PITR_TABLE = "orders-table"
SLOW_RESTORE = "billing-postgres"
# The sample fleet plus the database the "deleted database" problem deletes.
DEMO_FLEET: tuple[FleetMember, ...] = (*SAMPLE_FLEET, LEGACY)


@dataclass(frozen=True)
class Change:
    at: datetime
    what: str  # what a person reads in the timeline
    apply: Callable[[], str]  # does it on moto; returns what it did (e.g. the snapshot put on hold)


@dataclass(frozen=True)
class PlantedProblem:
    name: str
    database: str
    description: str  # announced when the run starts
    changes: tuple[Change, ...]
    checks: tuple[str, ...]  # checks (prefixes) whose findings on ``database`` this problem explains
    expect: str  # what a person should see happen

    def explains(self, episode: FindingEpisode) -> bool:
        return episode.resource == self.database and any(episode.check.startswith(c) for c in self.checks)


@dataclass(frozen=True)
class AppliedChange:
    at: datetime
    problem: str
    what: str
    detail: str


class PlantedWorld(RdsWorld):
    """The RDS world with the planted changes applied at the daily tick, once each, in order.

    At the same tick it counts every engine's recovery points per Region (``engine_samples``),
    from moto's backends (no API calls), for the report's recovery-point and storage charts.
    """

    def __init__(
        self,
        regions: Iterable[str],
        problems: Sequence[PlantedProblem] = (),
        engines: dict[str, str] | None = None,
        sizes: dict[str, float] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(regions, **kwargs)
        self.problems = list(problems)
        self.engines = dict(engines or {})
        self.sizes = dict(sizes or {})
        self.applied: list[AppliedChange] = []
        self.engine_samples: list[EngineSample] = []
        self._pending = sorted(((c, p.name) for p in self.problems for c in p.changes), key=lambda item: item[0].at)

    def restart_long_stopped(self, now: datetime) -> list[str]:
        while self._pending and self._pending[0][0].at <= now:
            change, problem = self._pending.pop(0)
            self.applied.append(AppliedChange(now, problem, change.what, change.apply()))
        self.sample_engines(now)
        return super().restart_long_stopped(now)

    def sample_engines(self, now: datetime) -> None:
        self.engine_samples.append(self.recovery_points(now, self.engines, self.sizes))

    def run_backup(self, region: str, identifier: str, now: datetime) -> list[dict[str, Any]]:
        """As RDS: an instance whose automated backups are off takes none."""
        database = self.backend(region).databases.get(identifier)
        if database is not None and not database.backup_retention_period:
            return []
        return super().run_backup(region, identifier, now)


def _rds(region: str) -> Any:
    return boto3.client("rds", region_name=region)


def _set_retention(region: str, identifier: str, days: int) -> Callable[[], str]:
    def apply() -> str:
        _rds(region).modify_db_instance(
            DBInstanceIdentifier=identifier, BackupRetentionPeriod=days, ApplyImmediately=True
        )
        return f"aws rds modify-db-instance --db-instance-identifier {identifier} --backup-retention-period {days}"

    return apply


def _hold_first_weekly(region: str, identifier: str) -> Callable[[], str]:
    def apply() -> str:
        rds = _rds(region)
        snapshots = rds.describe_db_snapshots(DBInstanceIdentifier=identifier, SnapshotType="manual")["DBSnapshots"]
        weekly = sorted(
            (
                s
                for s in snapshots
                if {t["Key"]: t["Value"] for t in s.get("TagList", [])}.get(tag_keys.KIND) == "weekly"
            ),
            key=lambda s: s["DBSnapshotIdentifier"],
        )
        if not weekly:
            return "no weekly snapshot yet: nothing put on hold"
        held = weekly[0]
        rds.add_tags_to_resource(
            ResourceName=held["DBSnapshotArn"], Tags=[{"Key": tag_keys.LEGAL_HOLD, "Value": "true"}]
        )
        return str(held["DBSnapshotIdentifier"])

    return apply


def _set_pitr(region: str, table: str, enabled: bool) -> Callable[[], str]:
    def apply() -> str:
        dynamodb = boto3.client("dynamodb", region_name=region)
        if enabled:
            dynamodb.update_continuous_backups(
                TableName=table,
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True, "RecoveryPeriodInDays": 35},
            )
        else:
            dynamodb.update_continuous_backups(
                TableName=table, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False}
            )
        state = "true,RecoveryPeriodInDays=35" if enabled else "false"
        return (
            f"aws dynamodb update-continuous-backups --table-name {table} "
            f"--point-in-time-recovery-specification PointInTimeRecoveryEnabled={state}"
        )

    return apply


def _delete(region: str, identifier: str) -> Callable[[], str]:
    def apply() -> str:
        _rds(region).delete_db_instance(
            DBInstanceIdentifier=identifier, SkipFinalSnapshot=True, DeleteAutomatedBackups=True
        )
        return f"aws rds delete-db-instance --db-instance-identifier {identifier} --skip-final-snapshot"

    return apply


def demo_problems(start: datetime, days: float, region: str = "us-east-1") -> list[PlantedProblem]:
    """The planted problems of the demo fleet (``DEMO_FLEET``), placed in ``days`` from ``start``."""

    def day(share: float, at_least: float) -> datetime:
        return start + timedelta(days=max(at_least, round(days * share)))

    backups_off, backups_on = day(0.2, 2), day(0.2, 2) + timedelta(days=3)
    pitr_off, pitr_on = day(0.35, 3), day(0.35, 3) + timedelta(days=3)
    return [
        PlantedProblem(
            name="stopped database",
            database="reporting-mysql",
            description="reporting-mysql was stopped before the run: it takes no backups or snapshots",
            changes=(),
            checks=("database-state", "recovery-point-age", "snapshot-age", "dr-copy", "restore-drill"),
            expect="found in the first hourly pass; RDS starts it again after seven days and it recovers",
        ),
        PlantedProblem(
            name="automated backups off",
            database="shop-mysql",
            description=f"automated backups of shop-mysql are turned off on {backups_off:%Y-%m-%d} "
            f"and turned back on on {backups_on:%Y-%m-%d}",
            changes=(
                Change(
                    backups_off, "automated backups turned off (retention 0)", _set_retention(region, "shop-mysql", 0)
                ),
                Change(
                    backups_on,
                    "automated backups turned back on (retention 7)",
                    _set_retention(region, "shop-mysql", 7),
                ),
            ),
            checks=("automated-backups", "recovery-point-age", "backup-replication"),
            expect="found within the hour and alerted; recovers once backups are back on",
        ),
        PlantedProblem(
            name="legal hold",
            database="billing-postgres",
            description="billing-postgres's first weekly snapshot is put on legal hold on day 1",
            changes=(
                Change(
                    start + timedelta(days=1),
                    "first weekly snapshot put on legal hold",
                    _hold_first_weekly(region, "billing-postgres"),
                ),
            ),
            checks=(),
            expect="the held snapshot outlives its retention and pruning keeps it (legal-hold)",
        ),
        PlantedProblem(
            name="deleted database",
            database=LEGACY.identifier,
            description=f"{LEGACY.identifier} is deleted on {day(0.55, 3):%Y-%m-%d} (no final snapshot)",
            changes=(Change(day(0.55, 3), "database deleted", _delete(region, LEGACY.identifier)),),
            checks=(),
            expect="no longer verified; its last recovery points stay (pruning keeps the newest of each kind)",
        ),
        PlantedProblem(
            name="table PITR off",
            database=PITR_TABLE,
            description=f"point-in-time recovery of the table {PITR_TABLE} is turned off on {pitr_off:%Y-%m-%d} "
            f"and turned back on on {pitr_on:%Y-%m-%d}",
            changes=(
                Change(pitr_off, "point-in-time recovery turned off", _set_pitr(region, PITR_TABLE, False)),
                Change(pitr_on, "point-in-time recovery turned back on (35 days)", _set_pitr(region, PITR_TABLE, True)),
            ),
            checks=("point-in-time-recovery", "recovery-point-age"),
            expect="found within the hour and alerted; recovers once PITR is back on; its weekly backups go on",
        ),
        PlantedProblem(
            name="slow restore",
            database=SLOW_RESTORE,
            description=f"{SLOW_RESTORE} (100 GB) restores slower than its 1-hour RTO under the restore-duration model",
            changes=(),
            checks=("restore-drill",),
            expect="its drills fail on RTO and alert; verification then reports no successful drill for it",
        ),
    ]
