"""The policy simulator's model: the real planning core over a synthetic fleet, no emulator.

Each scheduled kind fires when its cron expression says (from the template); at each firing
``restorable.snapshot_plan.plan_scheduled_snapshots`` decides what to create, exactly as the
snapshot function does, and a DR copy is added when the policy asks for one. At each prune
firing ``restorable.prune_plan.plan_prune`` decides what to delete in each Region, circuit
breaker included. Nothing else is modelled: every database is always available, every
snapshot and copy succeeds at once, and the period current at the start is taken at the
start (as the hourly catch-up does).

Databases whose recovery-point histories are identical (same policy and type) are simulated
once and their figures weighted by their number; the circuit breaker, the one thing that
couples the databases of a Region, is decided over every member's points when it may trip
(``docs/policy-simulator.md``, "Speed"). ``policy_simulator.reference`` is the plain run.

Storage model (simple, stated in every report): a snapshot of a database is billed at
``change_rate`` times the database's size at the time, except the oldest kept snapshot of each
database in each Region, which is billed in full. ``change_rate=1`` (the default) bills every
snapshot at full size: an upper bound. A DR copy transfers the same amount across Regions.
Automated backups are not counted (they are free up to the database's size).
"""

from __future__ import annotations

import calendar
import heapq
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from functools import cached_property
from types import MappingProxyType

from restorable.dynamodb_backup_names import parse_backup_name, scheduled_backup_name
from restorable.engines import ENGINES
from restorable.models import RDS_TYPES, Database, DatabaseType, Engine, RecoveryPoint
from restorable.policy import PolicyDocument
from restorable.prune_plan import BreakerLimits, PrunePlan, plan_prune
from restorable.schedule import CronSchedule
from restorable.snapshot_plan import Action, Period, plan_scheduled_snapshots

DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True)
class SyntheticDatabase:
    """A database (RDS instance or cluster), a DynamoDB table or an ElastiCache replication group
    (``resource``; by default an RDS instance, or a cluster with ``cluster``)."""

    identifier: str
    cluster: bool
    policy: str | None
    size_gb: float
    growth_gb_per_month: float = 0.0
    resource: DatabaseType | None = None

    def size_at(self, months: float) -> float:
        return max(0.0, self.size_gb + self.growth_gb_per_month * months)

    @property
    def type(self) -> DatabaseType:
        if self.resource is not None:
            return self.resource
        return DatabaseType.CLUSTER if self.cluster else DatabaseType.INSTANCE


# The engine label of a resource type in the simulated database's ``Database.engine``.
_ENGINE_NAMES = {
    DatabaseType.INSTANCE: "postgres",
    DatabaseType.CLUSTER: "aurora-postgresql",
    DatabaseType.TABLE: "dynamodb",
    DatabaseType.CACHE_REPLICATION_GROUP: "valkey",
}


@dataclass(frozen=True)
class Prices:
    """$ per GB-month of recovery-point storage per engine (us-east-1), and per GB copied across Regions."""

    storage_per_gb_month: float = 0.095  # RDS snapshots beyond the free allowance
    transfer_per_gb: float = 0.02
    table_backup_per_gb_month: float = 0.10  # DynamoDB on-demand backups
    cache_snapshot_per_gb_month: float = 0.085  # ElastiCache snapshots

    def storage(self, engine: Engine) -> float:
        if engine is Engine.DYNAMODB:
            return self.table_backup_per_gb_month
        if engine is Engine.ELASTICACHE:
            return self.cache_snapshot_per_gb_month
        return self.storage_per_gb_month


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

    @cached_property
    def engines(self) -> tuple[Engine, ...]:
        """The engines of the fleet's resources, in the order of ``Engine``."""
        present = {db.type.engine for db in self.databases}
        return tuple(engine for engine in Engine if engine in present)

    @cached_property
    def sampled_types(self) -> tuple[str, ...]:
        """The types whose counts are sampled: instances and clusters always, tables and caches when in the fleet."""
        present = {db.type for db in self.databases}
        others = [t.value for t in DatabaseType if t not in RDS_TYPES and t in present]
        return (DatabaseType.INSTANCE.value, DatabaseType.CLUSTER.value, *others)

    def __post_init__(self) -> None:
        if self.days < 1:
            raise ValueError("days must be at least 1")
        if not 0 <= self.change_rate <= 1:
            raise ValueError("change_rate must be between 0 and 1")
        if self.start.tzinfo is None:
            raise ValueError("start must be timezone-aware")


# The planner reads these properties of every point many times per run; the simulator's points
# carry them as plain values computed once from the tags (same values, read the same way).
_PRECOMPUTED = (
    "managed_by",
    "kind",
    "source_arn",
    "legal_hold",
    "unrecognised_legal_holds",
    "is_automated",
    "is_available",
    "expires_at",
)
_RECOVERY_POINT_FIELDS = tuple(f.name for f in fields(RecoveryPoint))


@dataclass(frozen=True)
class _Point(RecoveryPoint):
    """A recovery point whose tag-derived properties are computed once (see ``_points``)."""

    size_gb: float = 0.0

    # Plain class attributes shadow RecoveryPoint's properties, so the instance values below win.
    managed_by = None
    kind = None
    source_arn = None
    legal_hold = False
    unrecognised_legal_holds = MappingProxyType({})
    is_automated = False
    is_available = True
    expires_at = None


@dataclass
class DaySample:
    day: datetime
    counts: dict[tuple[str, str], int]  # (Region, instance|cluster|table|replication-group) -> recovery points
    storage_gb: dict[str, float]  # Region -> billed GB
    storage_gb_by_engine: dict[tuple[str, str], float] = field(default_factory=dict)  # (Region, engine) -> GB


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
    # (engine, month) -> GB-months: what each engine's storage costs at its own price
    storage_gb_months_by_engine: defaultdict[tuple[str, str], float] = field(default_factory=lambda: defaultdict(float))
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
            storage = sum(
                self.storage_gb_months_by_engine[(engine.value, month)] * prices.storage(engine)
                for engine in Engine
                if (engine.value, month) in self.storage_gb_months_by_engine
            )
            rows.append((month, gb_months, transfer, storage, transfer * prices.transfer_per_gb))
        return rows

    def engines(self) -> list[Engine]:
        """The engines of the fleet's resources, in the order of ``Engine``."""
        return list(self.input.engines)


@dataclass(frozen=True)
class _GrowthClass:
    """The members of a group that grow alike: their billed storage is summed without visiting each."""

    growth_gb_per_month: float
    sizes_gb: tuple[float, ...]

    def billed_gb(self, months_oldest_first: Sequence[float], change_rate: float) -> float:
        """The sum over these members of ``source_storage_gb`` of their sizes at these months."""
        if not months_oldest_first:
            return 0.0
        growth = self.growth_gb_per_month
        first = months_oldest_first[0]
        smallest = min(self.sizes_gb) + growth * (months_oldest_first[-1] if growth < 0 else first)
        if smallest < 0:  # some size is clamped at 0: no closed form, each member on its own
            return sum(
                source_storage_gb([max(0.0, size + growth * months) for months in months_oldest_first], change_rate)
                for size in self.sizes_gb
            )
        members, total = len(self.sizes_gb), sum(self.sizes_gb)
        oldest = total + members * growth * first
        others = (len(months_oldest_first) - 1) * total + members * growth * (sum(months_oldest_first) - first)
        return oldest + change_rate * others


@dataclass(frozen=True)
class _Group:
    """Databases whose recovery-point histories are identical, simulated once through the first of them."""

    representative: Database
    members: tuple[SyntheticDatabase, ...]
    growth_classes: tuple[_GrowthClass, ...]

    @property
    def weight(self) -> int:
        return len(self.members)

    def billed_gb(self, months_oldest_first: Sequence[float], change_rate: float) -> float:
        return sum(c.billed_gb(months_oldest_first, change_rate) for c in self.growth_classes)

    def size_gb(self, months: float) -> float:
        """The members' sizes summed, ``months`` after the start."""
        return self.billed_gb([months], 1.0)

    def identifiers(self, representative_identifier: str, stack_name: str) -> list[str]:
        """The members' identifiers of the snapshot the representative has as ``representative_identifier``."""
        if self.representative.type is DatabaseType.TABLE:
            name = parse_backup_name(representative_identifier, stack_name)
            if name is not None:
                return [
                    scheduled_backup_name(
                        stack_name=stack_name,
                        table_name=member.identifier,
                        kind=name.kind,
                        period_date=datetime.fromisoformat(name.period).date(),
                        expires_at=name.expires_at,
                    )
                    for member in self.members
                ]
        suffix = representative_identifier.removeprefix(self.representative.identifier)
        return [member.identifier + suffix for member in self.members]


class _RegionStore:
    """One Region's manual snapshots of the representatives, each standing for its group's members:
    counts, peaks and billed storage are the members' (kept up to date incrementally)."""

    def __init__(self, region: str, change_rate: float, groups: Mapping[str, _Group]) -> None:
        self.region = region
        self.change_rate = change_rate
        self._groups = groups  # source ARN -> group
        self.sources = frozenset(groups)
        self.points: dict[str, _Point] = {}  # in order of arrival
        self._by_source: dict[str, list[str]] = defaultdict(list)  # source -> identifiers, oldest first
        self._months_by_source: dict[str, list[float]] = defaultdict(list)  # the same points' creation months
        self._source_gb: dict[str, float] = {}
        self.storage_gb = 0.0
        self.counts: Counter[str] = Counter()
        self.peaks: Counter[str] = Counter()  # highest count at any moment, not only at the daily samples
        self.version = 0
        self.last_prune: int | None = None  # the version the planner last saw
        self.last_trip: str | None = None  # the breaker's reason, if the planner's last run tripped
        self._sequence: dict[str, int] = {}  # identifier -> order of arrival
        self._next_sequence = 0
        self._to_expire: list[tuple[datetime, int, str]] = []  # heap; entries of removed points are skipped
        self._expired: set[str] = set()  # present points whose expiry has passed
        self._newest: dict[tuple[str, str], _Point] = {}  # (source, kind) -> newest present point
        self._by_group: dict[tuple[str, str], list[_Point]] = defaultdict(list)

    def weight(self, point: RecoveryPoint) -> int:
        return self._groups[point.source_arn or ""].weight

    def managed_total(self) -> int:
        """Every member's managed points: all the simulator's points are complete managed ones."""
        return sum(self.counts.values())

    def has_source(self, source_arn: str) -> bool:
        return bool(self._by_source.get(source_arn))

    def add(self, point: _Point, months: float) -> None:
        self.points[point.identifier] = point
        snapshot_type = _TYPE_NAMES[point.type]
        self.counts[snapshot_type] += self.weight(point)
        self.peaks[snapshot_type] = max(self.peaks[snapshot_type], self.counts[snapshot_type])
        source = point.source_arn or ""
        self._by_source[source].append(point.identifier)
        self._months_by_source[source].append(months)
        self._restate(source)
        self._sequence[point.identifier] = self._next_sequence
        if point.expires_at is not None:
            heapq.heappush(self._to_expire, (point.expires_at, self._next_sequence, point.identifier))
        self._next_sequence += 1
        group = (source, point.kind or "")
        self._by_group[group].append(point)
        newest = self._newest.get(group)
        if newest is None or _age(point) > _age(newest):
            self._newest[group] = point
        self.version += 1

    def remove(self, identifier: str) -> _Point:
        point = self.points.pop(identifier)
        self.counts[_TYPE_NAMES[point.type]] -= self.weight(point)
        source = point.source_arn or ""
        index = self._by_source[source].index(identifier)
        del self._by_source[source][index]
        del self._months_by_source[source][index]
        self._restate(source)
        del self._sequence[identifier]
        self._expired.discard(identifier)
        group = (source, point.kind or "")
        members = self._by_group[group]
        _remove_same(members, point)
        if self._newest.get(group) is point:
            if members:
                self._newest[group] = max(members, key=_age)
            else:
                del self._newest[group]
        self.version += 1
        return point

    def prune_may_change_anything(self, now: datetime) -> bool:
        """False when the planner would answer exactly as at its last run: nothing has expired, or
        the same points as then and none of them expired since (its answer depends on nothing else).
        Called at every prune firing, so what expires is noticed at the first run after."""
        newly_expired = False
        while self._to_expire and self._to_expire[0][0] <= now:
            _, sequence, identifier = heapq.heappop(self._to_expire)
            if self._sequence.get(identifier) == sequence:
                self._expired.add(identifier)
                newly_expired = True
        if not self._expired:
            return False
        return newly_expired or self.last_prune != self.version

    def changing_points(self) -> list[_Point]:
        """What decides the deletions: a point can be deleted only once expired, and only the newest
        of its (source, kind) decides whether an expired one is kept. In order of arrival.
        Call after ``prune_may_change_anything`` at the same time."""
        chosen = set(self._expired)
        for identifier in self._expired:
            point = self.points[identifier]
            chosen.add(self._newest[(point.source_arn or "", point.kind or "")].identifier)
        return [self.points[identifier] for identifier in sorted(chosen, key=self._sequence.__getitem__)]

    def every_member_point(self) -> list[_Point]:
        """Each point as many times as its group has members: what the planner counts over every database."""
        return [point for point in self.points.values() for _ in range(self.weight(point))]

    def points_of_kind(self, kind: str) -> dict[str, _Point]:
        """The present points of ``kind``, by identifier."""
        return {
            point.identifier: point
            for (_, point_kind), points in self._by_group.items()
            if point_kind == kind
            for point in points
        }

    def engine_storage_gb(self, engine: Engine) -> float:
        """Billed GB of one engine's points (summed as ``storage_gb`` is, so one engine alone gives the same)."""
        return sum(
            gb for source, gb in self._source_gb.items() if self._groups[source].representative.type.engine is engine
        )

    def _restate(self, source: str) -> None:
        self._source_gb[source] = self._groups[source].billed_gb(self._months_by_source[source], self.change_rate)
        self.storage_gb = sum(self._source_gb.values())


_TYPE_NAMES = {snapshot_type: snapshot_type.value for snapshot_type in DatabaseType}


def _age(point: RecoveryPoint) -> tuple[datetime, str]:
    # Every simulated point has a creation time; ties go to the identifier, as in the planner.
    return (point.created_at or datetime.max.replace(tzinfo=UTC), point.identifier)


def _remove_same(points: list[_Point], point: _Point) -> None:
    """Remove this very object (``list.remove`` would compare every field of every point)."""
    for index, candidate in enumerate(points):
        if candidate is point:
            del points[index]
            return
    raise ValueError(f"{point.identifier} is not in the list")


def source_storage_gb(sizes_oldest_first: Sequence[float], change_rate: float) -> float:
    """Billed GB of one database's snapshots in one Region: the oldest in full, the others at ``change_rate``."""
    if not sizes_oldest_first:
        return 0.0
    return sizes_oldest_first[0] + change_rate * sum(sizes_oldest_first[1:])


def _arn(account: str, region: str, database: SyntheticDatabase) -> str:
    if database.type is DatabaseType.TABLE:
        return f"arn:aws:dynamodb:{region}:{account}:table/{database.identifier}"
    if database.type is DatabaseType.CACHE_REPLICATION_GROUP:
        return f"arn:aws:elasticache:{region}:{account}:replicationgroup:{database.identifier}"
    kind = "cluster" if database.cluster else "db"
    return f"arn:aws:rds:{region}:{account}:{kind}:{database.identifier}"


def database_of(database: SyntheticDatabase, account: str, region: str) -> Database:
    """The simulated resource as the planners see it."""
    return Database(
        type=database.type,
        identifier=database.identifier,
        arn=_arn(account, region, database),
        status="ACTIVE" if database.type is DatabaseType.TABLE else "available",
        engine=_ENGINE_NAMES[database.type],
        tags={} if database.policy is None else {"restorable:policy": database.policy},
    )


def copies_across_regions(resource: DatabaseType) -> bool:
    """Whether the stack copies this type's recovery points to the DR Region (RDS snapshots only:
    DynamoDB has no backup copy, a cache's copy is an opt-in export)."""
    return resource in RDS_TYPES


def _months(start: datetime, now: datetime) -> float:
    return (now - start) / timedelta(days=DAYS_PER_MONTH)


def _firings(schedule: CronSchedule, start: datetime, end: datetime) -> Iterable[datetime]:
    moment = start
    while (moment := schedule.next_fire_after(moment)) < end:
        yield moment


def _nameable(db: SyntheticDatabase, spec: SimulatorInput) -> bool:
    """Whether the snapshot planner can name this database's scheduled snapshots."""
    policy = spec.policies.get(db.policy) if db.policy else None
    names = ENGINES[db.type.engine].names
    database = database_of(db, spec.account_id, spec.source_region)
    try:
        for kind in policy.snapshots if policy else ():
            if kind in spec.schedules:
                names.scheduled(
                    stack_name=spec.stack_name,
                    database=database,
                    kind=kind,
                    period_date=spec.start.date(),
                    expires_at=spec.start,
                )
    except ValueError:
        return False
    return True


def _groups(spec: SimulatorInput) -> list[_Group]:
    """The fleet in groups of databases whose recovery-point histories are identical, in fleet order.

    What a database's points are, when, and when they expire depends only on its policy and its
    type (instance or cluster); the identifiers differ only by the database's identifier, and the
    sizes only enter storage and transfer, which each group sums over its members.
    """
    members: dict[tuple[str | None, DatabaseType, str], list[SyntheticDatabase]] = defaultdict(list)
    for db in spec.databases:
        # A database whose snapshots cannot be named gets a finding from the snapshot planner and no
        # snapshots; it is simulated on its own so that it never stands for the others.
        alone = "" if _nameable(db, spec) else db.identifier
        members[(db.policy, db.type, alone)].append(db)
    groups = []
    for alike in members.values():
        first = alike[0]
        growth: dict[float, list[float]] = defaultdict(list)
        for db in alike:
            growth[db.growth_gb_per_month].append(db.size_gb)
        representative = database_of(first, spec.account_id, spec.source_region)
        classes = tuple(_GrowthClass(rate, tuple(sizes)) for rate, sizes in growth.items())
        groups.append(_Group(representative, tuple(alike), classes))
    return groups


def simulate(spec: SimulatorInput, *, feed_only_what_can_change: bool = True) -> SimulatorResult:
    """Run the simulation: each group of identical databases once, weighted by its size, the prune
    planner fed what can change its answer. ``feed_only_what_can_change=False`` runs the plain
    reference instead (``policy_simulator.reference``): every database, every point, every run."""
    if not feed_only_what_can_change:
        from .reference import simulate_plainly

        return simulate_plainly(spec)
    result = SimulatorResult(spec)
    start = spec.start.astimezone(UTC)
    end = start + timedelta(days=spec.days)
    groups = _groups(spec)
    by_source = {group.representative.arn: group for group in groups}
    representatives = [group.representative for group in groups]
    stores = {region: _RegionStore(region, spec.change_rate, by_source) for region in result.regions}
    regions_with_copy = result.regions
    regions_without_copy = [spec.source_region]

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
                    _prune(result, spec, store, now)
                    store.last_prune = store.version
                elif store.last_trip is not None:  # the same points as at a run that tripped: it trips again
                    result.breaker_trips.append((now, store.region, store.last_trip))
        else:
            schedule = spec.schedules[kind]
            period = Period.current(kind, schedule, now)
            source = stores[spec.source_region]
            # Only a point of this kind can be the one a rerun finds: the others change no decision.
            decisions = plan_scheduled_snapshots(
                representatives, source.points_of_kind(kind), spec.policies, [period], spec.stack_name
            )
            for decision in decisions:
                if decision.action is not Action.CREATE or decision.snapshot_id is None:
                    continue
                group = by_source[decision.database.arn]
                months = _months(start, now)
                policy = spec.policies.get(group.members[0].policy or "")
                rule = policy.rule_for(kind) if policy else None
                copied = rule is not None and rule.dr_copy and copies_across_regions(decision.database.type)
                regions = regions_with_copy if copied else regions_without_copy
                size = group.members[0].size_at(months)
                points = _points(decision.database, decision.snapshot_id, decision.tags, regions, now, size)
                for region, point in zip(regions, points, strict=True):
                    store = stores[region]
                    if region != spec.source_region:
                        moved = group.size_gb(months)
                        if store.has_source(decision.database.arn):
                            moved *= spec.change_rate
                        result.transfer_gb_by_month[f"{now:%Y-%m}"] += moved
                        result.copied[(region, kind)] += group.weight
                    else:
                        result.created[(region, kind)] += group.weight
                    store.add(point, months)

    for region, store in stores.items():
        identifiers: set[str] = set()
        for point in store.points.values():
            result.kept[(region, point.kind or "")] += store.weight(point)
            identifiers.update(by_source[point.source_arn or ""].identifiers(point.identifier, spec.stack_name))
        result.final_identifiers[region] = identifiers
        for snapshot_type, peak in store.peaks.items():
            result.peaks[(region, snapshot_type)] = peak
    return result


def _points(
    database: Database, identifier: str, tags: Mapping[str, str], regions: Sequence[str], now: datetime, size: float
) -> list[_Point]:
    """The snapshot in the source Region and its copies: the same tags, status and type, so the values
    derived from them are read once, through ``RecoveryPoint``'s own properties, and shared."""
    points = [
        _Point(
            type=database.type,
            identifier=identifier,
            arn=_point_arn(database.type, region, identifier),
            source_identifier=database.identifier,
            status="available",
            snapshot_type="manual",
            region=region,
            created_at=now,
            tags=dict(tags),
            size_gb=size,
        )
        for region in regions
    ]
    plain = RecoveryPoint(**{name: getattr(points[0], name) for name in _RECOVERY_POINT_FIELDS})
    derived = [(name, getattr(plain, name)) for name in _PRECOMPUTED]
    for point in points:
        for name, value in derived:
            object.__setattr__(point, name, value)
    return points


def _point_arn(resource: DatabaseType, region: str, identifier: str) -> str:
    if resource is DatabaseType.TABLE:
        return f"arn:aws:dynamodb:{region}:backup:{identifier}"
    if resource is DatabaseType.CACHE_REPLICATION_GROUP:
        return f"arn:aws:elasticache:{region}:snapshot:{identifier}"
    return f"arn:aws:rds:{region}:snapshot:{identifier}"


def sampled_types(spec: SimulatorInput) -> tuple[str, ...]:
    """The types whose counts are sampled: instances and clusters always, tables and caches when in the fleet."""
    return spec.sampled_types


# Candidates are complete managed points, so a share of 1 allows them all: this never trips.
_NEVER_TRIPS = BreakerLimits(max_share=1.0)


def _prune(result: SimulatorResult, spec: SimulatorInput, store: _RegionStore, now: datetime) -> None:
    def plan_over(points: Sequence[_Point], limits: BreakerLimits) -> PrunePlan:
        return plan_prune(
            points,
            stack_name=spec.stack_name,
            now=now,
            existing_sources=store.sources,
            region=store.region,
            limits=limits,
        )

    plan = plan_over(store.changing_points(), _NEVER_TRIPS)
    deletions = sum(store.weight(point) for point in plan.deletions)
    if deletions > spec.breaker.allowed(store.managed_total()):
        # The breaker couples the databases of the Region: the planner decides it over every member's points.
        plan = plan_over(store.every_member_point(), spec.breaker)
        if not plan.breaker_tripped:
            raise RuntimeError(f"the circuit breaker's count and the planner disagree in {store.region} at {now}")
    store.last_trip = plan.breaker_reason if plan.breaker_tripped else None
    if plan.breaker_tripped:
        result.breaker_trips.append((now, store.region, plan.breaker_reason))
    for point in plan.deletions:
        store.remove(point.identifier)
        result.pruned[(store.region, point.kind or "")] += store.weight(point)


def _sample(result: SimulatorResult, stores: dict[str, _RegionStore], now: datetime) -> None:
    counts = {}
    storage = {}
    by_engine = {}
    days_in_month = calendar.monthrange(now.year, now.month)[1]
    month = f"{now:%Y-%m}"
    types = sampled_types(result.input)
    for region, store in stores.items():
        for snapshot_type in types:
            counts[(region, snapshot_type)] = store.counts[snapshot_type]
        storage[region] = store.storage_gb
        result.storage_gb_months_by_month[month] += store.storage_gb / days_in_month
        for engine in result.input.engines:
            gb = store.engine_storage_gb(engine)
            by_engine[(region, engine.value)] = gb
            result.storage_gb_months_by_engine[(engine.value, month)] += gb / days_in_month
    result.samples.append(DaySample(now, counts, storage, by_engine))
