"""Pruning stays safe over adversarial inventories in two Regions.

Each example builds recovery points as a source snapshot and/or its DR copy, with tag keys and
values fuzzed (case, whitespace, unicode, empty), holds on either copy, foreign owners, garbled
expiries, deleted sources and a clock that may be skewed against the creation times. The whole
prune job runs over in-memory gateways for both Regions. An oracle written here, from what the
generator meant (not by reading tags back through the core), decides what may be deleted:

- safety: every deletion is one the oracle proves deletable;
- liveness: when the circuit breaker does not trip, every point the oracle proves deletable is
  deleted, and the breaker's share counts only the oracle's complete managed points.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from hypothesis import given, settings
from hypothesis import strategies as st

from restorable.adapters.elasticache import CacheKind, CacheSnapshot, _snapshot_with_tags
from restorable.adapters.elasticache_points import cache_recovery_point
from restorable.dynamodb_backup_names import scheduled_backup_name
from restorable.dynamodb_holds import HoldBook
from restorable.dynamodb_models import TableBackup, backup_recovery_point
from restorable.errors import PermissionDeniedError
from restorable.models import Database, DatabaseType, Engine, RecoveryPoint
from restorable.policy import default_policy_text, parse_policy_document
from restorable.prune_job import EngineGateways, PruneRequest, run_prune_job
from restorable.prune_plan import BreakerLimits
from restorable.settings import CoreSettings

STACK = "restorable"
SOURCE_REGION, DR_REGION = "us-east-1", "us-west-2"
ACCOUNT = "123456789012"
EPOCH = datetime(2027, 1, 1, tzinfo=UTC)
LIVE_DATABASES = ["orders", "billing"]
DATABASES = [*LIVE_DATABASES, "retired"]  # "retired" no longer exists

# Legal-hold values and whether they release the hold (what a careful person means, not the code's reading).
HOLD_VALUES: list[tuple[str, bool]] = [
    ("true", False),
    ("TRUE", False),
    (" True ", False),
    ("", False),
    ("no", False),
    ("0", False),
    ("yes", False),
    ("off", False),
    ("false false", False),
    ("fals", False),
    ("ｆａｌｓｅ", False),  # full-width letters: not the word false
    ("falsе", False),  # Cyrillic 'е'
    ("✓", False),
    ("false", True),
    ("FALSE", True),
    (" False ", True),
    ("false\t", True),
    ("\nfalse", True),
]
HOLD_KEYS = [
    "restorable:legal-hold",
    "Restorable:Legal-Hold",
    "RESTORABLE:LEGAL-HOLD",
    " restorable:legal-hold",
    "restorable:legal-hold ",
]
# Keys that look alike but are not the hold tag: they must not stop a deletion.
DECOY_KEYS = ["restorable:legal-holds", "restorable:legalhold", "legal-hold", "restorable:hold"]
OWNERS: list[tuple[str | None, bool]] = [
    (STACK, True),
    (STACK, True),
    (STACK, True),
    ("other-stack", False),
    ("Restorable", False),
    (" restorable", False),
    ("", False),
    (None, False),
]


def iso(moment: datetime, style: int) -> str:
    if style == 0:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    if style == 1:
        return moment.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    return (moment + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S+02:00")


GARBLED_EXPIRIES = [
    "",
    "next tuesday",
    "2027-01-01",
    "2027-02-30T00:00:00Z",
    "9999-12-31T23:59:59-05:00",
    "0001-01-01T00:00:00+01:00",
    "1700000000",
    "2027-01-01T00:00:00Z trailing",
    "２０２７-01-01T00:00:00Z",
]


@dataclass
class Copy:
    """One snapshot in one Region, with what the generator meant by its tags."""

    point: RecoveryPoint
    ours: bool  # managed-by exactly this stack, manual
    complete: bool  # ours, with kind, source and a valid expiry
    expires: datetime | None
    held: bool  # carries a hold tag (any case / whitespace of the key) whose value does not release it
    kind: str | None
    source: str | None
    available: bool


@dataclass
class Group:
    """A recovery point: its source snapshot and/or its DR copy."""

    copies: dict[str, Copy] = field(default_factory=dict)

    @property
    def held(self) -> bool:
        return any(c.held for c in self.copies.values())


class Chooser(Protocol):
    """Where the generator's choices come from: Hypothesis (shrinkable) or a seeded ``random.Random`` (fast)."""

    def choice(self, options: Sequence[Any]) -> Any: ...

    def randint(self, low: int, high: int) -> int: ...


class Drawn:
    def __init__(self, draw: st.DrawFn) -> None:
        self._draw = draw

    def choice(self, options: Sequence[Any]) -> Any:
        return self._draw(st.sampled_from(options))

    def randint(self, low: int, high: int) -> int:
        return self._draw(st.integers(low, high))


def copy_tags(pick: Chooser, database: str, created: datetime) -> dict[str, Any]:
    def odd() -> bool:  # each aspect is clean most of the time, so that deletable points are common too
        return pick.randint(0, 5) == 0

    owner, ours = pick.choice(OWNERS) if odd() else (STACK, True)
    tags: dict[str, str] = {}
    if owner is not None:
        tags["Restorable:Managed-By" if odd() else "restorable:managed-by"] = owner
        ours = ours and "restorable:managed-by" in tags
    kind = pick.choice(["predeploy", " ", "", None]) if odd() else pick.choice(["weekly", "monthly"])
    if kind is not None:
        tags["restorable:kind"] = kind
    source = pick.choice(["", " ", None]) if odd() else f"arn:aws:rds:{SOURCE_REGION}:{ACCOUNT}:db:{database}"
    if source is not None:
        tags["restorable:source"] = source
    expires: datetime | None = None
    if not odd():
        expires = created + timedelta(days=pick.randint(1, 400), seconds=pick.randint(0, 86399))
        tags["restorable:expires-at"] = iso(expires, pick.randint(0, 2))
    elif pick.randint(0, 1):
        tags["restorable:expires-at"] = pick.choice(GARBLED_EXPIRIES)
    held = False
    for _ in range(pick.randint(1, 2) if odd() else 0):
        value, releases = pick.choice(HOLD_VALUES)
        key = pick.choice(HOLD_KEYS)
        if key in tags:
            continue
        tags[key] = value
        held = held or not releases
    if pick.randint(0, 5) == 0:
        tags[pick.choice(DECOY_KEYS)] = pick.choice(["true", "yes", ""])
    kind_ok = kind is not None and kind.strip() != ""
    source_ok = source is not None and source.strip() != ""
    return {
        "tags": tags,
        "ours": ours,
        "complete": ours and kind_ok and source_ok and expires is not None,
        "expires": expires,
        "held": held,
        "kind": kind if kind_ok else None,
        "source": source if source_ok else None,
    }


def group(pick: Chooser, index: int) -> Group:
    database = pick.choice(DATABASES)
    created = EPOCH + timedelta(days=pick.randint(0, 600), hours=pick.randint(0, 23))
    identifier = f"{database}-p{index}"
    shape = pick.choice(["both", "both", "both", "source-only", "dr-only", "dr-renamed"])
    automated = pick.randint(0, 15) == 0
    group = Group()
    # DR copies usually carry the same tags (CopyTags), but a copy can be half-tagged or tagged on its own.
    base = copy_tags(pick, database, created)
    source_arn = f"arn:aws:rds:{SOURCE_REGION}:{ACCOUNT}:snapshot:{identifier}"
    for region in (SOURCE_REGION, DR_REGION):
        source_deleted = region == SOURCE_REGION and shape in ("dr-only", "dr-renamed") and pick.randint(0, 1)
        if source_deleted or (region == DR_REGION and shape == "source-only"):
            continue
        meant = base if region == SOURCE_REGION or pick.randint(0, 3) else copy_tags(pick, database, created)
        name = identifier if region == SOURCE_REGION or shape != "dr-renamed" else f"copy-of-p{index}"
        origin = None
        if region == DR_REGION:
            origin = source_arn if shape == "dr-renamed" or pick.randint(0, 1) else None
        available = pick.randint(0, 7) > 0
        when = None if pick.randint(0, 20) == 0 else created + timedelta(minutes=region == DR_REGION)
        point = RecoveryPoint(
            DatabaseType.INSTANCE,
            name,
            f"arn:aws:rds:{region}:{ACCOUNT}:snapshot:{name}",
            database,
            "available" if available else pick.choice(["creating", "failed", "copying"]),
            "automated" if automated else "manual",
            region,
            created_at=when,
            tags=dict(meant["tags"]),
            source_snapshot_arn=origin,
        )
        group.copies[region] = Copy(
            point,
            ours=meant["ours"] and not automated,
            complete=meant["complete"] and not automated,
            expires=meant["expires"],
            held=meant["held"],
            kind=meant["kind"],
            source=meant["source"],
            available=available,
        )
    return group


@st.composite
def drawn_inventories(draw: st.DrawFn) -> list[Group]:
    """Shrinkable: every choice is a Hypothesis draw."""
    pick = Drawn(draw)
    return [group(pick, i) for i in range(pick.randint(0, 10))]


def seeded_inventory(seed: int) -> list[Group]:
    """Fast: Hypothesis picks the seed, the inventory follows from it (the seed is shown on failure)."""
    pick = random.Random(seed)
    return [group(pick, i) for i in range(pick.randint(0, 14))]


# The bulk of the examples come from seeds (cheap to generate); the shrinkable strategy runs fewer.
inventories = st.integers(0, 2**63).map(seeded_inventory)
shrinkable_inventories = drawn_inventories()
clocks = st.integers(-30, 800).map(lambda d: EPOCH + timedelta(days=d))


class Region:
    def __init__(self, region: str, points: list[RecoveryPoint], deny_held_in_iam: bool) -> None:
        self.region = region
        self.points = points
        self.deleted: list[str] = []
        self.deny_held_in_iam = deny_held_in_iam

    def list_manual_snapshots(self) -> list[RecoveryPoint]:
        return list(self.points)

    def delete_snapshot(self, point: RecoveryPoint) -> None:
        if self.deny_held_in_iam and any(
            k.lower() == "restorable:legal-hold" and v.lower() != "false" for k, v in point.tags.items()
        ):
            raise PermissionDeniedError("delete: AccessDenied: explicit deny", code="AccessDenied")
        self.deleted.append(point.identifier)


class Databases:
    def list_databases(self) -> list[Database]:
        return [
            Database(DatabaseType.INSTANCE, d, f"arn:aws:rds:{SOURCE_REGION}:{ACCOUNT}:db:{d}", "available", "mysql")
            for d in LIVE_DATABASES
        ]


SETTINGS = CoreSettings(
    stack_name=STACK,
    region=SOURCE_REGION,
    dr_region=DR_REGION,
    dr_kms_key_id="alias/aws/rds",
    schedule_timezone="UTC",
    schedule_expressions={},
    policies=parse_policy_document(default_policy_text()),
)


def oracle(all_groups: list[Group], region: str, now: datetime) -> tuple[set[str], int]:
    """What may be deleted in ``region`` and how many complete managed points it holds, from the generator's intent."""
    here = [(g, g.copies[region]) for g in all_groups if region in g.copies]
    newest: dict[tuple[str, str], tuple[datetime, str]] = {}
    for _, c in here:
        if c.ours and c.available and c.kind and c.source:
            age = (c.point.created_at or datetime.max.replace(tzinfo=UTC), c.point.identifier)
            newest[(c.source, c.kind)] = max(newest.get((c.source, c.kind), age), age)
    deletable = {
        c.point.identifier
        for g, c in here
        if c.complete
        and c.available
        and not g.held
        and c.expires is not None
        and c.expires <= now
        and newest[(c.source or "", c.kind or "")][1] != c.point.identifier
    }
    return deletable, sum(1 for _, c in here if c.complete)


LIMITS = [BreakerLimits(max_share=1.0), BreakerLimits(), BreakerLimits(max_share=0.5, max_count=3)]
TRIED: Counter[str] = Counter()


def check(all_groups: list[Group], now: datetime, limits: BreakerLimits, only: list[str], iam: bool) -> None:
    regions = {
        r: Region(r, [g.copies[r].point for g in all_groups if r in g.copies], iam) for r in (SOURCE_REGION, DR_REGION)
    }
    request = PruneRequest.model_validate({"regions": only}, context={"now": now})
    result, _ = run_prune_job(
        request,
        SETTINGS,
        [EngineGateways(Engine.RDS, {"source": regions[SOURCE_REGION], "dr": regions[DR_REGION]}, Databases())],
        now=now,
        limits=limits,
    )
    TRIED["examples"] += 1
    TRIED["points"] += sum(len(g.copies) for g in all_groups)
    TRIED["held groups"] += sum(1 for g in all_groups if g.held)
    for role, region in (("source", SOURCE_REGION), ("dr", DR_REGION)):
        deleted = set(regions[region].deleted)
        assert len(deleted) == len(regions[region].deleted), "a point was deleted twice"
        if role not in only:
            assert deleted == set(), f"{region} was not asked for"
            continue
        deletable, complete = oracle(all_groups, region, now)
        wrong = deleted - deletable
        assert not wrong, f"wrong deletes in {region}: {sorted(wrong)}"
        summary = result.details["regions"][region]
        assert summary["managed_total"] == complete, "the breaker counted points that are not complete"
        # the breaker trips exactly when the clearly deletable points exceed the share of the complete ones:
        # a pile of half-tagged snapshots cannot raise the limit
        assert summary["breaker_tripped"] is (len(deletable) > limits.allowed(complete))
        if summary["breaker_tripped"]:
            assert deleted == set()
        else:
            assert deleted == deletable, f"left deletable points in {region}: {sorted(deletable - deleted)}"
        TRIED["deleted"] += len(deleted)
        TRIED["kept"] += sum(1 for g in all_groups if region in g.copies) - len(deleted)


@settings(max_examples=7000, deadline=None)
@given(inventory=inventories, now=clocks, limits=st.sampled_from(LIMITS))
def test_two_region_prune_never_deletes_wrongly_and_deletes_what_is_clearly_deletable(
    inventory: list[Group], now: datetime, limits: BreakerLimits
) -> None:
    check(inventory, now, limits, ["source", "dr"], iam=False)


@settings(max_examples=2500, deadline=None)
@given(
    inventory=inventories,
    now=clocks,
    only=st.sampled_from([["source"], ["dr"], ["dr", "source"]]),
)
def test_a_run_limited_to_one_region_still_honours_holds_on_the_other_copy(
    inventory: list[Group], now: datetime, only: list[str]
) -> None:
    check(inventory, now, BreakerLimits(max_share=1.0), only, iam=False)


@settings(max_examples=600, deadline=None)
@given(inventory=shrinkable_inventories, now=clocks)
def test_with_the_iam_deny_in_force_nothing_held_is_deleted_and_nothing_fails(
    inventory: list[Group], now: datetime
) -> None:
    """The gateway denies deletes as the template's explicit deny does; a denial of a released-in-code hold
    (" false ") is a keep, never a failure, and nothing the oracle holds is deleted."""
    regions = {
        r: Region(r, [g.copies[r].point for g in inventory if r in g.copies], True) for r in (SOURCE_REGION, DR_REGION)
    }
    result, _ = run_prune_job(
        PruneRequest.model_validate({}, context={"now": now}),
        SETTINGS,
        [EngineGateways(Engine.RDS, {"source": regions[SOURCE_REGION], "dr": regions[DR_REGION]}, Databases())],
        now=now,
        limits=BreakerLimits(max_share=1.0),
    )
    for region in (SOURCE_REGION, DR_REGION):
        deletable, _ = oracle(inventory, region, now)
        assert set(regions[region].deleted) <= deletable
    assert not [i for i in result.items if i.outcome.value == "failed"]


# ---- DynamoDB: the same prune job, a second engine beside RDS ----

TABLES = ["orders", "billing-events", "retired-table"]
LIVE_TABLES = TABLES[:2]


@dataclass
class Backup:
    """One DynamoDB backup, with what the generator meant."""

    backup: TableBackup
    ours: bool  # a name this stack wrote for the backup's own table, USER
    expires: datetime | None
    held: bool
    available: bool


def table_arn(table: str) -> str:
    return f"arn:aws:dynamodb:{SOURCE_REGION}:{ACCOUNT}:table/{table}"


def dynamodb_backup(pick: Chooser, index: int) -> tuple[Backup, dict[str, Any] | None]:
    table = pick.choice(TABLES)
    created = EPOCH + timedelta(days=pick.randint(0, 600), hours=pick.randint(0, 23))
    expires = created + timedelta(days=pick.randint(1, 400))
    period = created.date() + timedelta(days=index)  # one period per backup: no two share a key
    name = scheduled_backup_name(
        stack_name=STACK, table_name=table, kind="weekly", period_date=period, expires_at=expires
    )
    ours = True
    shape = pick.choice(["ours"] * 6 + ["other-stack", "person", "other-table", "system", "aws-backup", "edited"])
    backup_type = "USER"
    if shape == "other-stack":
        name = name.replace(f"restorable.{STACK}.", "restorable.other-stack.", 1)
    elif shape == "person":
        name = f"{table}-before-migration-{index}"
    elif shape == "other-table":  # a name made for another table, on this table's backup
        other = next(t for t in TABLES if t != table)
        name = scheduled_backup_name(
            stack_name=STACK, table_name=other, kind="weekly", period_date=period, expires_at=expires
        )
    elif shape == "edited":
        name = name.replace("weekly", "Weekly", 1)
    elif shape == "system":
        backup_type = "SYSTEM"
    elif shape == "aws-backup":
        backup_type = "AWS_BACKUP"
    ours = shape == "ours"
    available = pick.randint(0, 7) > 0
    arn = f"{table_arn(table)}/backup/{index:017d}-{pick.randint(0, 2**31):08x}"
    backup = TableBackup(
        arn=arn,
        name=name,
        table_name=table,
        table_arn=table_arn(table),
        status="AVAILABLE" if available else pick.choice(["CREATING", "DELETED"]),
        backup_type=backup_type,
        region=SOURCE_REGION,
        created_at=None if pick.randint(0, 20) == 0 else created,
    )
    record: dict[str, Any] | None = None
    held = False
    if pick.randint(0, 5) == 0:
        clear_release = pick.randint(0, 2) == 0
        record = {
            "backup_arn": arn if pick.randint(0, 3) else f"  {arn.upper()} ",
            "state": pick.choice(["released", "RELEASED"])
            if pick.randint(0, 1)
            else pick.choice(["held", "HELD", "?"]),
            "reason": "litigation",
            "held_by": "legal@example.com",
            "held_at": "2027-01-01T00:00:00Z",
        }
        if clear_release and record["state"].lower() == "released":
            record.update(released_by="legal@example.com", released_at="2027-02-01T00:00:00Z")
        held = not (record["state"].lower() == "released" and "released_by" in record)
        if pick.randint(0, 10) == 0:
            del record["reason"]  # malformed: still holds
            held = True
    return Backup(backup, ours, expires if ours else None, held, available), record


class DynamoDbRegion:
    """The DynamoDB gateway's side of the ports, over in-memory backups and holds records."""

    engine = Engine.DYNAMODB

    def __init__(self, backups: list[Backup], records: list[dict[str, Any]], readable: bool) -> None:
        self.region = SOURCE_REGION
        book = HoldBook.from_items(records) if readable else HoldBook.unreadable("injected")
        self.points = [
            backup_recovery_point(b.backup, stack_name=STACK, point_type=DatabaseType.TABLE, holds=book)
            for b in backups
        ]
        self.deleted: list[str] = []

    def list_databases(self) -> list[Database]:
        return [Database(DatabaseType.TABLE, t, table_arn(t), "ACTIVE", "dynamodb") for t in LIVE_TABLES]

    def list_manual_snapshots(self) -> list[RecoveryPoint]:
        return list(self.points)

    def delete_snapshot(self, point: RecoveryPoint) -> None:
        self.deleted.append(point.arn)


def dynamodb_oracle(backups: list[Backup], now: datetime, readable: bool) -> tuple[set[str], int]:
    newest: dict[str, tuple[datetime, str]] = {}
    for b in backups:
        if b.ours and b.available:
            age = (b.backup.created_at or datetime.max.replace(tzinfo=UTC), b.backup.name)
            newest[b.backup.table_arn] = max(newest.get(b.backup.table_arn, age), age)
    deletable = {
        b.backup.arn
        for b in backups
        if b.ours
        and b.available
        and readable
        and not b.held
        and b.expires is not None
        and b.expires <= now
        and newest[b.backup.table_arn][1] != b.backup.name
    }
    return deletable, sum(1 for b in backups if b.ours)


@settings(max_examples=1500, deadline=None)
@given(
    seed=st.integers(0, 2**63),
    now=clocks,
    limits=st.sampled_from(LIMITS),
    readable=st.sampled_from([True, True, False]),
)
def test_dynamodb_backups_are_pruned_by_the_same_rules_beside_rds(
    seed: int, now: datetime, limits: BreakerLimits, readable: bool
) -> None:
    pick = random.Random(seed)
    drawn = [dynamodb_backup(pick, i) for i in range(pick.randint(0, 14))]
    backups = [b for b, _ in drawn]
    records = [r for _, r in drawn if r is not None]
    rds_groups = seeded_inventory(seed)
    rds = {
        r: Region(r, [g.copies[r].point for g in rds_groups if r in g.copies], False)
        for r in (SOURCE_REGION, DR_REGION)
    }
    dynamodb = DynamoDbRegion(backups, records, readable)
    result, _ = run_prune_job(
        PruneRequest.model_validate({}, context={"now": now}),
        SETTINGS,
        [
            EngineGateways(Engine.RDS, {"source": rds[SOURCE_REGION], "dr": rds[DR_REGION]}, Databases()),
            EngineGateways(Engine.DYNAMODB, {"source": dynamodb}, dynamodb),
        ],
        now=now,
        limits=limits,
    )
    deletable, complete = dynamodb_oracle(backups, now, readable)
    deleted = set(dynamodb.deleted)
    assert len(deleted) == len(dynamodb.deleted), "a backup was deleted twice"
    assert not deleted - deletable, f"wrong deletes: {sorted(deleted - deletable)}"
    summary = result.details["regions"][SOURCE_REGION]["engines"]["dynamodb"]
    assert summary["managed_total"] == complete
    assert summary["breaker_tripped"] is (len(deletable) > limits.allowed(complete))
    assert deleted == (set() if summary["breaker_tripped"] else deletable)
    TRIED["dynamodb deleted"] += len(deleted)
    TRIED["dynamodb kept"] += len(backups) - len(deleted)
    # The RDS engine beside it is judged on its own, as if DynamoDB were not there.
    for region in (SOURCE_REGION, DR_REGION):
        rds_deletable, rds_complete = oracle(rds_groups, region, now)
        rds_summary = result.details["regions"][region]["engines"]["rds"]
        assert rds_summary["managed_total"] == rds_complete
        assert set(rds[region].deleted) <= rds_deletable
        if not rds_summary["breaker_tripped"]:
            assert set(rds[region].deleted) == rds_deletable


# ---- ElastiCache: the third engine, its snapshots mapped by the real adapter mapping ----

CACHES = ["sessions", "carts", "retired-cache"]  # "retired-cache" no longer exists
LIVE_CACHES = CACHES[:2]
CACHE_KINDS = {
    CacheKind.REPLICATION_GROUP: "replicationgroup",
    CacheKind.CACHE_CLUSTER: "cluster",
    CacheKind.SERVERLESS: "serverlesscache",
}


def cache_arn(cache: str, kind: CacheKind) -> str:
    return f"arn:aws:elasticache:{SOURCE_REGION}:{ACCOUNT}:{CACHE_KINDS[kind]}:{cache}"


def cache_kind_of(cache: str) -> CacheKind:
    return list(CacheKind)[CACHES.index(cache) % len(CacheKind)]


def cache_group(pick: Chooser, index: int) -> Group:
    """One cache snapshot in the source Region, tags fuzzed as for RDS, read through ``cache_recovery_point``."""
    cache = pick.choice(CACHES)
    kind = cache_kind_of(cache)
    created = EPOCH + timedelta(days=pick.randint(0, 600), hours=pick.randint(0, 23))
    meant = copy_tags(pick, cache, created)
    tags = dict(meant["tags"])
    rds_source = f"arn:aws:rds:{SOURCE_REGION}:{ACCOUNT}:db:{cache}"
    source = meant["source"]
    if tags.get("restorable:source") == rds_source:
        source = tags["restorable:source"] = cache_arn(cache, kind)
    if tags.get("restorable:kind") in ("weekly", "monthly"):
        tags["restorable:kind"] = {"weekly": "daily", "monthly": "predeploy"}[tags["restorable:kind"]]
    automated = pick.randint(0, 10) == 0
    available = pick.randint(0, 7) > 0
    when_source = pick.choice(["api", "tag", "tag", None])
    if when_source == "tag":
        tags["restorable:created-at"] = iso(created, 0)
    name = f"{cache}-daily-p{index}"
    snapshot = CacheSnapshot(
        type=kind,
        identifier=name,
        arn=f"arn:aws:elasticache:{SOURCE_REGION}:{ACCOUNT}:snapshot:{name}",
        source_identifier=cache,
        status="available" if available else pick.choice(["creating", "failed", "exporting"]),
        snapshot_type=pick.choice(["automated", "automatic"]) if automated else "manual",
        region=SOURCE_REGION,
        created_at=created if when_source == "api" else None,
    )
    # The gateway reads the creation time from the tag when the API gives none, as it does for listed snapshots.
    point = cache_recovery_point(_snapshot_with_tags(snapshot, tags))
    kind_tag = tags.get("restorable:kind")
    group = Group()
    group.copies[SOURCE_REGION] = Copy(
        point,
        ours=meant["ours"] and not automated,
        complete=meant["complete"] and not automated,
        expires=meant["expires"],
        held=meant["held"],
        kind=kind_tag if meant["kind"] else None,
        source=source,
        available=available,
    )
    return group


class CacheRegion:
    """The ElastiCache gateway's side of the prune's ports, over in-memory snapshots."""

    engine = Engine.ELASTICACHE

    def __init__(self, groups: list[Group]) -> None:
        self.region = SOURCE_REGION
        self.points = [g.copies[SOURCE_REGION].point for g in groups]
        self.deleted: list[str] = []

    def list_databases(self) -> list[Database]:
        return [
            Database(DatabaseType(cache_kind_of(c).value), c, cache_arn(c, cache_kind_of(c)), "available", "valkey")
            for c in LIVE_CACHES
        ]

    def list_manual_snapshots(self) -> list[RecoveryPoint]:
        return list(self.points)

    def delete_snapshot(self, point: RecoveryPoint) -> None:
        self.deleted.append(point.identifier)


@settings(max_examples=1500, deadline=None)
@given(seed=st.integers(0, 2**63), now=clocks, limits=st.sampled_from(LIMITS))
def test_cache_snapshots_are_pruned_by_the_same_rules_beside_rds_and_dynamodb(
    seed: int, now: datetime, limits: BreakerLimits
) -> None:
    """Across the three engines: a cache snapshot is deleted only when ours, manual, complete, expired, not
    held and not the newest of its kind for its cache (a deleted cache keeps its newest); each engine has
    its own breaker, and the others are judged as if caches were not there."""
    pick = random.Random(seed)
    cache_groups = [cache_group(pick, i) for i in range(pick.randint(0, 14))]
    caches = CacheRegion(cache_groups)
    drawn = [dynamodb_backup(pick, i) for i in range(pick.randint(0, 6))]
    dynamodb = DynamoDbRegion([b for b, _ in drawn], [r for _, r in drawn if r is not None], True)
    rds_groups = seeded_inventory(seed)
    rds = {
        r: Region(r, [g.copies[r].point for g in rds_groups if r in g.copies], False)
        for r in (SOURCE_REGION, DR_REGION)
    }
    result, _ = run_prune_job(
        PruneRequest.model_validate({}, context={"now": now}),
        SETTINGS,
        [
            EngineGateways(Engine.RDS, {"source": rds[SOURCE_REGION], "dr": rds[DR_REGION]}, Databases()),
            EngineGateways(Engine.DYNAMODB, {"source": dynamodb}, dynamodb),
            EngineGateways(Engine.ELASTICACHE, {"source": caches}, caches),
        ],
        now=now,
        limits=limits,
    )
    deletable, complete = oracle(cache_groups, SOURCE_REGION, now)
    deleted = set(caches.deleted)
    assert len(deleted) == len(caches.deleted), "a snapshot was deleted twice"
    assert not deleted - deletable, f"wrong deletes: {sorted(deleted - deletable)}"
    by_name = {g.copies[SOURCE_REGION].point.identifier: g.copies[SOURCE_REGION] for g in cache_groups}
    for name in deleted:
        point = by_name[name].point
        assert not point.is_automated
        assert not point.legal_hold
    summary = result.details["regions"][SOURCE_REGION]["engines"]["elasticache"]
    assert summary["managed_total"] == complete
    assert summary["breaker_tripped"] is (len(deletable) > limits.allowed(complete))
    assert deleted == (set() if summary["breaker_tripped"] else deletable)
    assert "elasticache" not in result.details["regions"][DR_REGION]["engines"]
    # every cache (deleted or not) keeps its newest complete snapshot of each kind
    kept = [c for c in by_name.values() if c.point.identifier not in deleted]
    for c in by_name.values():
        if c.point.identifier in deleted:
            assert any(k.source == c.source and k.kind == c.kind and k.ours and k.available for k in kept)
    TRIED["cache deleted"] += len(deleted)
    TRIED["cache kept"] += len(cache_groups) - len(deleted)
    for region in (SOURCE_REGION, DR_REGION):
        rds_deletable, rds_complete = oracle(rds_groups, region, now)
        rds_summary = result.details["regions"][region]["engines"]["rds"]
        assert rds_summary["managed_total"] == rds_complete
        assert set(rds[region].deleted) <= rds_deletable
