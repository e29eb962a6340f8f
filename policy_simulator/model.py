"""The policy simulator's model: the real planning core over a synthetic fleet, no emulator.

Each scheduled kind fires when its cron expression says (from the template); at each firing
``restorable.snapshot_plan.plan_scheduled_snapshots`` decides what to create, exactly as the
snapshot function does, and a DR copy is added when the policy asks for one. At each prune
firing ``restorable.prune_plan.plan_prune`` decides what to delete in each Region, circuit
breaker included. Nothing else is modelled: every database is always available, every
snapshot and copy succeeds at once, and the period current at the start is taken at the
start (as the hourly catch-up does).

Storage model (simple, stated in every report): a snapshot of a database is billed at
``change_rate`` times the database's size at the time, except the oldest kept snapshot of each
database in each Region, which is billed in full. ``change_rate=1`` (the default) bills every
snapshot at full size: an upper bound. A DR copy transfers the same amount across Regions.
Automated backups are not counted (they are free up to the database's size).
"""

from __future__ import annotations

import bisect
import calendar
import heapq
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta

from restorable.models import Database, DatabaseType, RecoveryPoint
from restorable.policy import PolicyDocument
from restorable.prune_plan import BreakerLimits, plan_prune
from restorable.schedule import CronSchedule
from restorable.snapshot_plan import Action, Period, plan_scheduled_snapshots

DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True)
class SyntheticDatabase:
    identifier: str
    cluster: bool
    policy: str | None
    size_gb: float
    growth_gb_per_month: float = 0.0

    def size_at(self, months: float) -> float:
        return max(0.0, self.size_gb + self.growth_gb_per_month * months)


@dataclass(frozen=True)
class Prices:
    storage_per_gb_month: float = 0.095
    transfer_per_gb: float = 0.02


@dataclass(frozen=True)
class SimulatorInput:
    databases: Sequence[SyntheticDatabase]
    policies: PolicyDocument
    schedules: dict[str, CronSchedule]  # scheduled kind -> when it fires
    prune_schedule: CronSchedule
    start: datetime
    days: int
    source_region: str = "us-east-1"
    dr_region: str = "us-west-2"
    stack_name: str = "restorable"
    account_id: str = "123456789012"
    change_rate: float = 1.0
    prices: Prices = field(default_factory=Prices)
    breaker: BreakerLimits = field(default_factory=BreakerLimits)

    def __post_init__(self) -> None:
        if self.days < 1:
            raise ValueError("days must be at least 1")
        if not 0 <= self.change_rate <= 1:
            raise ValueError("change_rate must be between 0 and 1")
        if self.start.tzinfo is None:
            raise ValueError("start must be timezone-aware")


# The planner reads these properties of every point many times per run; the simulator's points
# carry them as plain values computed once from the tags (same values, read the same way).
_PRECOMPUTED = ("managed_by", "kind", "source_arn", "legal_hold", "is_automated", "is_available", "expires_at")


@dataclass(frozen=True)
class _Point(RecoveryPoint):
    """A recovery point whose tag-derived properties are computed once."""

    size_gb: float = 0.0

    # Plain class attributes shadow RecoveryPoint's properties, so the instance values below win.
    managed_by = None
    kind = None
    source_arn = None
    legal_hold = False
    is_automated = False
    is_available = True
    expires_at = None

    def __post_init__(self) -> None:
        plain = RecoveryPoint(**{f.name: getattr(self, f.name) for f in fields(RecoveryPoint)})
        for name in _PRECOMPUTED:
            object.__setattr__(self, name, getattr(plain, name))


@dataclass
class DaySample:
    day: datetime
    counts: dict[tuple[str, str], int]  # (Region, instance|cluster) -> manual snapshots
    storage_gb: dict[str, float]  # Region -> billed GB


@dataclass
class SimulatorResult:
    input: SimulatorInput
    samples: list[DaySample] = field(default_factory=list)
    created: Counter[tuple[str, str]] = field(default_factory=Counter)  # (Region, kind)
    copied: Counter[tuple[str, str]] = field(default_factory=Counter)
    pruned: Counter[tuple[str, str]] = field(default_factory=Counter)
    kept: Counter[tuple[str, str]] = field(default_factory=Counter)
    transfer_gb_by_month: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    storage_gb_months_by_month: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    breaker_trips: list[tuple[datetime, str, str]] = field(default_factory=list)  # (when, Region, reason)
    final_identifiers: dict[str, set[str]] = field(default_factory=dict)  # Region -> snapshot ids
    peaks: dict[tuple[str, str], int] = field(default_factory=dict)  # (Region, type) -> highest count at any time

    @property
    def regions(self) -> list[str]:
        return [self.input.source_region, self.input.dr_region]

    def peak(self, region: str, snapshot_type: str) -> int:
        """The highest count at any moment (a snapshot created at 02:00 and one pruned at 05:00 overlap)."""
        return self.peaks.get((region, snapshot_type), 0)

    def steady_state(self, region: str, snapshot_type: str, window_days: int = 90) -> float:
        """Mean count over the last ``window_days`` of the horizon."""
        tail = self.samples[-window_days:]
        return sum(s.counts.get((region, snapshot_type), 0) for s in tail) / max(len(tail), 1)

    def steady_state_reached(self, window_days: int = 90) -> bool:
        """True when every retention in use ends within the horizon before the averaging window."""
        used = {db.policy for db in self.input.databases if db.policy}
        longest = max(
            (
                rule.retention_days
                for name in used
                if (policy := self.input.policies.get(name)) is not None
                for kind, rule in policy.snapshots.items()
                if kind in self.input.schedules
            ),
            default=0,
        )
        return longest + window_days <= self.input.days

    def monthly_cost(self) -> list[tuple[str, float, float, float, float]]:
        """(month, storage GB-months, transfer GB, storage cost, transfer cost) per calendar month."""
        prices = self.input.prices
        rows: list[tuple[str, float, float, float, float]] = []
        for month in sorted(set(self.storage_gb_months_by_month) | set(self.transfer_gb_by_month)):
            gb_months = self.storage_gb_months_by_month[month]
            transfer = self.transfer_gb_by_month[month]
            rows.append(
                (month, gb_months, transfer, gb_months * prices.storage_per_gb_month, transfer * prices.transfer_per_gb)
            )
        return rows


class _RegionStore:
    """One Region's manual snapshots, with billed storage kept up to date incrementally."""

    def __init__(self, region: str, change_rate: float) -> None:
        self.region = region
        self.change_rate = change_rate
        self.points: dict[str, _Point] = {}
        self._by_source: dict[str, list[_Point]] = defaultdict(list)
        self._source_gb: dict[str, float] = {}
        self.storage_gb = 0.0
        self.counts: Counter[str] = Counter()
        self.peaks: Counter[str] = Counter()  # highest count at any moment, not only at the daily samples
        self.earliest_expiry: list[tuple[datetime, str]] = []  # heap
        self.expiries: list[datetime] = []  # sorted, removed points included (only ever causes an extra run)
        self.version = 0
        self.last_prune: tuple[int, datetime] | None = None

    def has_source(self, source_arn: str) -> bool:
        return bool(self._by_source.get(source_arn))

    def add(self, point: _Point) -> None:
        self.points[point.identifier] = point
        self.counts[point.type.value] += 1
        self.peaks[point.type.value] = max(self.peaks[point.type.value], self.counts[point.type.value])
        source = point.source_arn or ""
        self._by_source[source].append(point)
        self._restate(source)
        if point.expires_at is not None:
            heapq.heappush(self.earliest_expiry, (point.expires_at, point.identifier))
            bisect.insort(self.expiries, point.expires_at)
        self.version += 1

    def remove(self, identifier: str) -> _Point:
        point = self.points.pop(identifier)
        self.counts[point.type.value] -= 1
        source = point.source_arn or ""
        self._by_source[source].remove(point)
        self._restate(source)
        self.version += 1
        return point

    def prune_may_change_anything(self, now: datetime) -> bool:
        """False when the planner would answer exactly as last time: nothing expired yet, or the same
        points as at the last run and none of them expired since (its answer depends on nothing else)."""
        if not self.anything_expired(now):
            return False
        if self.last_prune is None or self.last_prune[0] != self.version:
            return True
        since = self.last_prune[1]
        return bisect.bisect_right(self.expiries, now) > bisect.bisect_right(self.expiries, since)

    def anything_expired(self, now: datetime) -> bool:
        while self.earliest_expiry and self.earliest_expiry[0][1] not in self.points:
            heapq.heappop(self.earliest_expiry)
        return bool(self.earliest_expiry) and self.earliest_expiry[0][0] <= now

    def _restate(self, source: str) -> None:
        self.storage_gb -= self._source_gb.get(source, 0.0)
        billed = source_storage_gb([p.size_gb for p in self._by_source[source]], self.change_rate)
        self._source_gb[source] = billed
        self.storage_gb += billed


def source_storage_gb(sizes_oldest_first: Sequence[float], change_rate: float) -> float:
    """Billed GB of one database's snapshots in one Region: the oldest in full, the others at ``change_rate``."""
    if not sizes_oldest_first:
        return 0.0
    return sizes_oldest_first[0] + change_rate * sum(sizes_oldest_first[1:])


def _arn(account: str, region: str, database: SyntheticDatabase) -> str:
    kind = "cluster" if database.cluster else "db"
    return f"arn:aws:rds:{region}:{account}:{kind}:{database.identifier}"


def _months(start: datetime, now: datetime) -> float:
    return (now - start) / timedelta(days=DAYS_PER_MONTH)


def _firings(schedule: CronSchedule, start: datetime, end: datetime) -> Iterable[datetime]:
    moment = start
    while (moment := schedule.next_fire_after(moment)) < end:
        yield moment


def simulate(spec: SimulatorInput) -> SimulatorResult:
    result = SimulatorResult(spec)
    start = spec.start.astimezone(UTC)
    end = start + timedelta(days=spec.days)
    source_arns = {db.identifier: _arn(spec.account_id, spec.source_region, db) for db in spec.databases}
    databases = [
        Database(
            type=DatabaseType.CLUSTER if db.cluster else DatabaseType.INSTANCE,
            identifier=db.identifier,
            arn=source_arns[db.identifier],
            status="available",
            engine="aurora-postgresql" if db.cluster else "postgres",
            tags={} if db.policy is None else {"restorable:policy": db.policy},
        )
        for db in spec.databases
    ]
    by_identifier = {db.identifier: db for db in spec.databases}
    stores = {region: _RegionStore(region, spec.change_rate) for region in result.regions}

    # (time, order, what, kind): order puts snapshots before the prune at the same minute, samples first.
    timeline: list[tuple[datetime, int, str, str]] = [
        (start + timedelta(days=d), 0, "sample", "") for d in range(spec.days)
    ]
    for kind, schedule in spec.schedules.items():
        timeline.append((start, 1, "catch-up", kind))
        timeline += [(at, 1, "snapshot", kind) for at in _firings(schedule, start, end)]
    timeline += [(at, 2, "prune", "") for at in _firings(spec.prune_schedule, start, end)]
    timeline.sort()

    for now, _, what, kind in timeline:
        if what == "sample":
            _sample(result, stores, now)
        elif what == "prune":
            for store in stores.values():
                if store.prune_may_change_anything(now):
                    _prune(result, spec, store, now, set(source_arns.values()))
                    store.last_prune = (store.version, now)
        else:
            schedule = spec.schedules[kind]
            period = Period.current(kind, schedule, now)
            source = stores[spec.source_region]
            decisions = plan_scheduled_snapshots(databases, source.points, spec.policies, [period], spec.stack_name)
            for decision in decisions:
                if decision.action is not Action.CREATE or decision.snapshot_id is None:
                    continue
                db = by_identifier[decision.database.identifier]
                size = db.size_at(_months(start, now))
                policy = spec.policies.get(db.policy or "")
                rule = policy.rule_for(kind) if policy else None
                for region in result.regions:
                    if region != spec.source_region and not (rule and rule.dr_copy):
                        continue
                    store = stores[region]
                    if region != spec.source_region:
                        moved = size if not store.has_source(decision.database.arn) else size * spec.change_rate
                        result.transfer_gb_by_month[f"{now:%Y-%m}"] += moved
                        result.copied[(region, kind)] += 1
                    else:
                        result.created[(region, kind)] += 1
                    store.add(_point(decision.database, decision.snapshot_id, dict(decision.tags), region, now, size))

    for region, store in stores.items():
        for point in store.points.values():
            result.kept[(region, point.kind or "")] += 1
        result.final_identifiers[region] = set(store.points)
        for snapshot_type, peak in store.peaks.items():
            result.peaks[(region, snapshot_type)] = peak
    return result


def _point(
    database: Database, identifier: str, tags: dict[str, str], region: str, now: datetime, size: float
) -> _Point:
    return _Point(
        type=database.type,
        identifier=identifier,
        arn=f"arn:aws:rds:{region}:snapshot:{identifier}",
        source_identifier=database.identifier,
        status="available",
        snapshot_type="manual",
        region=region,
        created_at=now,
        tags=tags,
        size_gb=size,
    )


def _prune(
    result: SimulatorResult, spec: SimulatorInput, store: _RegionStore, now: datetime, sources: set[str]
) -> None:
    plan = plan_prune(
        store.points.values(),
        stack_name=spec.stack_name,
        now=now,
        existing_sources=sources,
        region=store.region,
        limits=spec.breaker,
    )
    if plan.breaker_tripped:
        result.breaker_trips.append((now, store.region, plan.breaker_reason))
    for point in plan.deletions:
        store.remove(point.identifier)
        result.pruned[(store.region, point.kind or "")] += 1


def _sample(result: SimulatorResult, stores: dict[str, _RegionStore], now: datetime) -> None:
    counts = {}
    storage = {}
    days_in_month = calendar.monthrange(now.year, now.month)[1]
    for region, store in stores.items():
        for snapshot_type in (DatabaseType.INSTANCE.value, DatabaseType.CLUSTER.value):
            counts[(region, snapshot_type)] = store.counts[snapshot_type]
        storage[region] = store.storage_gb
        result.storage_gb_months_by_month[f"{now:%Y-%m}"] += store.storage_gb / days_in_month
    result.samples.append(DaySample(now, counts, storage))
