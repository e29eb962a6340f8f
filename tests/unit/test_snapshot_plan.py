from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from restorable.dynamodb_backup_names import scheduled_backup_name
from restorable.engines import ENGINES
from restorable.models import Database, DatabaseType, RecoveryPoint
from restorable.naming import parse_timestamp
from restorable.policy import default_policy_text, parse_policy_document
from restorable.schedule import CronSchedule
from restorable.snapshot_plan import SNAPSHOTTABLE_STATES, Action, Period, plan_scheduled_snapshots

POLICIES = parse_policy_document(default_policy_text(), frozenset({"weekly", "monthly", "daily"}))
STACK = "restorable"
WEEKLY = Period("weekly", datetime(2026, 11, 22, 2, tzinfo=UTC), date(2026, 11, 22))
MONTHLY = Period("monthly", datetime(2026, 11, 1, 4, tzinfo=UTC), date(2026, 11, 1))
FIRST_EXPIRY = datetime(2027, 1, 1, tzinfo=UTC)


def db(identifier: str, policy: str | None = "standard", status: str = "available", **kw: object) -> Database:
    tags = {} if policy is None else {"restorable:policy": policy}
    return Database(
        type=kw.get("type", DatabaseType.INSTANCE),  # type: ignore[arg-type]
        identifier=identifier,
        arn=f"arn:aws:rds:us-east-1:123456789012:db:{identifier}",
        status=status,
        engine="mysql",
        tags=tags,
        cluster_identifier=kw.get("cluster"),  # type: ignore[arg-type]
    )


def snap(identifier: str, managed_by: str | None = STACK) -> RecoveryPoint:
    tags = {} if managed_by is None else {"restorable:managed-by": managed_by}
    return RecoveryPoint(DatabaseType.INSTANCE, identifier, "arn", "x", "available", "manual", "us-east-1", tags=tags)


def test_protected_database_gets_the_period_snapshot_with_contract_tags() -> None:
    [decision] = plan_scheduled_snapshots([db("orders")], {}, POLICIES, [WEEKLY], STACK)
    assert decision.action is Action.CREATE
    assert decision.snapshot_id == "orders-weekly-2026-11-22"
    assert decision.tags == {
        "restorable:managed-by": STACK,
        "restorable:kind": "weekly",
        "restorable:expires-at": "2027-02-20T02:00:00Z",
        "restorable:source": "arn:aws:rds:us-east-1:123456789012:db:orders",
        "restorable:policy": "standard",
    }


def test_compliance_monthly_expires_after_seven_years() -> None:
    [decision] = plan_scheduled_snapshots([db("ledger", "compliance")], {}, POLICIES, [MONTHLY], STACK)
    assert decision.tags["restorable:expires-at"] == "2033-10-30T04:00:00Z"  # 2555 days


def test_unprotected_and_none_get_no_decision() -> None:
    assert (
        plan_scheduled_snapshots([db("a", None), db("b", "none"), db("c", "NONE")], {}, POLICIES, [WEEKLY], STACK) == []
    )


def test_existing_snapshot_of_ours_is_already_there() -> None:
    [decision] = plan_scheduled_snapshots(
        [db("orders")], {"orders-weekly-2026-11-22": snap("orders-weekly-2026-11-22")}, POLICIES, [WEEKLY], STACK
    )
    assert decision.action is Action.ALREADY_EXISTS


def test_identifier_taken_by_someone_else_is_a_finding_not_a_create() -> None:
    existing = {"orders-weekly-2026-11-22": snap("orders-weekly-2026-11-22", managed_by=None)}
    [decision] = plan_scheduled_snapshots([db("orders")], existing, POLICIES, [WEEKLY], STACK)
    assert decision.action is Action.FINDING
    assert "taken by a snapshot managed by nobody" in decision.reason


def test_unknown_policy_is_a_finding_and_nothing_is_guessed() -> None:
    [decision] = plan_scheduled_snapshots([db("orders", "gold")], {}, POLICIES, [WEEKLY, MONTHLY], STACK)
    assert decision.action is Action.FINDING
    assert "'gold' names no policy (known: compliance, standard)" in decision.reason


def test_busy_database_is_skipped_with_its_state() -> None:
    [decision] = plan_scheduled_snapshots([db("orders", status="stopped")], {}, POLICIES, [WEEKLY], STACK)
    assert decision.action is Action.SKIP
    assert "'stopped'" in decision.reason


def test_cluster_member_is_skipped_in_favour_of_its_cluster() -> None:
    decisions = plan_scheduled_snapshots(
        [db("ledger-1", cluster="ledger"), db("ledger", type=DatabaseType.CLUSTER)], {}, POLICIES, [WEEKLY], STACK
    )
    assert [(d.database.identifier, d.action) for d in decisions] == [
        ("ledger-1", Action.SKIP),
        ("ledger", Action.CREATE),
    ]


def test_policy_without_the_kind_gets_nothing_for_it() -> None:
    raw = default_policy_text().replace('"weekly": {"retention_days": 90, "dr_copy": true},', "", 1)
    policies = parse_policy_document(raw, frozenset({"weekly", "monthly", "daily"}))
    decisions = plan_scheduled_snapshots([db("orders")], {}, policies, [WEEKLY, MONTHLY], STACK)
    assert [d.kind for d in decisions] == ["monthly"]


def test_period_is_taken_from_the_schedule() -> None:
    period = Period.current("weekly", CronSchedule.parse("cron(0 2 ? * SUN *)"), datetime(2026, 11, 25, tzinfo=UTC))
    assert period == WEEKLY


STATES = sorted(
    {"available", "storage-optimization", "stopped", "creating", "modifying", "deleting", "storage-full", "backing-up"}
)
databases = st.builds(
    db,
    identifier=st.from_regex(r"\A[a-z][a-z0-9]{2,8}\Z"),  # a table name has at least 3 characters
    policy=st.sampled_from([None, "none", "standard", "compliance", "gold"]),
    status=st.sampled_from(STATES),
    type=st.sampled_from(list(DatabaseType)),
    cluster=st.sampled_from([None, None, "parent"]),
)


@settings(max_examples=300, deadline=None)
@given(
    fleet=st.lists(databases, max_size=12, unique_by=lambda d: d.identifier),
    existing_owner=st.sampled_from([STACK, "other-stack", None]),
    existing_share=st.floats(0, 1),
)
def test_planner_safety_rules(fleet: list[Database], existing_owner: str | None, existing_share: float) -> None:
    """Over random fleets: a snapshot is planned exactly when every rule allows it."""
    ids = [f"{d.identifier}-weekly-2026-11-22" for d in fleet]
    existing = {i: snap(i, existing_owner) for i in ids[: int(len(ids) * existing_share)]}
    decisions = plan_scheduled_snapshots(fleet, existing, POLICIES, [WEEKLY, MONTHLY], STACK)
    planned = {(d.database.identifier, d.kind) for d in decisions if d.action is Action.CREATE}
    for database in fleet:
        engine = ENGINES[database.type.engine]
        for period in (WEEKLY, MONTHLY):
            snapshot_id = f"{database.identifier}-{period.kind}-{period.local_date.isoformat()}"
            # A table's backup name carries the contract: the RDS-form identifiers never name one.
            taken = snapshot_id in existing and engine.points_take_tags
            should_create = (
                database.policy_name in POLICIES.policies
                and engine.plans(period.kind)
                and not (database.type is DatabaseType.INSTANCE and database.cluster_identifier)
                and database.status in SNAPSHOTTABLE_STATES[database.type]
                and not taken
            )
            assert ((database.identifier, period.kind) in planned) == should_create
    for decision in decisions:
        if decision.action is Action.CREATE:
            assert decision.tags["restorable:managed-by"] == STACK
            period = WEEKLY if decision.kind == "weekly" else MONTHLY
            policy = POLICIES.policies[decision.database.tags["restorable:policy"]]
            expires = parse_timestamp(decision.tags["restorable:expires-at"])
            assert expires == period.scheduled_at + timedelta(days=policy.snapshots[decision.kind].retention_days)
    # one decision per protected database and kind at most: nothing is created twice
    keys = [(d.database.identifier, d.kind) for d in decisions]
    assert len(keys) == len(set(keys))


def table(name: str, policy: str | None = "standard", status: str = "ACTIVE") -> Database:
    tags = {} if policy is None else {"restorable:policy": policy}
    arn = f"arn:aws:dynamodb:us-east-1:123456789012:table/{name}"
    return Database(type=DatabaseType.TABLE, identifier=name, arn=arn, status=status, engine="dynamodb", tags=tags)


def test_a_table_gets_a_backup_named_by_the_contract_and_no_monthly() -> None:
    decisions = plan_scheduled_snapshots([table("orders")], {}, POLICIES, [WEEKLY, MONTHLY], STACK)
    [decision] = decisions
    assert decision.kind == "weekly"
    assert decision.action is Action.CREATE
    expires = WEEKLY.scheduled_at + timedelta(days=90)
    assert decision.snapshot_id == scheduled_backup_name(
        stack_name=STACK, table_name="orders", kind="weekly", period_date=WEEKLY.local_date, expires_at=expires
    )


def test_a_tables_backup_is_found_by_its_key_whatever_its_expiry_says() -> None:
    """A policy change moves the expiry; the rerun still finds the period's backup and creates nothing."""
    name = scheduled_backup_name(
        stack_name=STACK, table_name="orders", kind="weekly", period_date=WEEKLY.local_date, expires_at=FIRST_EXPIRY
    )
    point = RecoveryPoint(DatabaseType.TABLE, name, "arn", "orders", "available", "manual", "us-east-1")
    existing = {name: replace(point, tags={"restorable:managed-by": STACK})}  # as read from the name
    [decision] = plan_scheduled_snapshots([table("orders")], existing, POLICIES, [WEEKLY], STACK)
    assert decision.action is Action.ALREADY_EXISTS
    foreign = name.replace("restorable.restorable.", "restorable.other.")
    other_stack = {foreign: replace(point, identifier=foreign, tags={"restorable:managed-by": "other"})}
    [decision] = plan_scheduled_snapshots([table("orders")], other_stack, POLICIES, [WEEKLY], STACK)
    assert decision.action is Action.CREATE


def test_a_table_that_is_not_active_waits_for_a_later_run() -> None:
    [decision] = plan_scheduled_snapshots([table("orders", status="UPDATING")], {}, POLICIES, [WEEKLY], STACK)
    assert decision.action is Action.SKIP


def test_a_name_the_contract_cannot_write_is_a_finding_not_a_crash() -> None:
    decisions = plan_scheduled_snapshots([table("a b"), table("orders")], {}, POLICIES, [WEEKLY], STACK)
    assert [(d.database.identifier, d.action) for d in decisions] == [
        ("a b", Action.FINDING),
        ("orders", Action.CREATE),
    ]


# ---- caches: the daily kind, Memcached, busy states

DAILY = Period("daily", datetime(2026, 12, 8, 3, tzinfo=UTC), date(2026, 12, 8))
CACHE_TYPES = [DatabaseType.CACHE_REPLICATION_GROUP, DatabaseType.CACHE_CLUSTER, DatabaseType.SERVERLESS_CACHE]
CACHE_ARN_PART = {
    DatabaseType.CACHE_REPLICATION_GROUP: "replicationgroup",
    DatabaseType.CACHE_CLUSTER: "cluster",
    DatabaseType.SERVERLESS_CACHE: "serverlesscache",
}


def cache(
    identifier: str,
    policy: str | None = "standard",
    status: str = "available",
    *,
    type: DatabaseType = DatabaseType.CACHE_REPLICATION_GROUP,
    engine: str = "valkey",
) -> Database:
    tags = {} if policy is None else {"restorable:policy": policy}
    arn = f"arn:aws:elasticache:us-east-1:123456789012:{CACHE_ARN_PART[type]}:{identifier}"
    return Database(type=type, identifier=identifier, arn=arn, status=status, engine=engine, tags=tags)


def test_a_cache_gets_its_daily_snapshot_kept_seven_days_and_no_weekly_or_monthly() -> None:
    decisions = plan_scheduled_snapshots([cache("sessions")], {}, POLICIES, [WEEKLY, MONTHLY, DAILY], STACK)
    [decision] = decisions
    assert (decision.kind, decision.action, decision.snapshot_id) == (
        "daily",
        Action.CREATE,
        "sessions-daily-2026-12-08",
    )
    assert decision.tags["restorable:expires-at"] == "2026-12-15T03:00:00Z"
    assert decision.tags["restorable:source"] == "arn:aws:elasticache:us-east-1:123456789012:replicationgroup:sessions"


def test_databases_and_tables_get_no_daily_snapshot() -> None:
    assert plan_scheduled_snapshots([db("orders"), table("carts")], {}, POLICIES, [DAILY], STACK) == []


def test_a_tagged_memcached_cluster_is_a_finding_never_a_create() -> None:
    [decision] = plan_scheduled_snapshots(
        [cache("pages", type=DatabaseType.CACHE_CLUSTER, engine="memcached")], {}, POLICIES, [DAILY], STACK
    )
    assert (decision.kind, decision.action, decision.snapshot_id) == ("daily", Action.FINDING, None)
    assert "Memcached clusters cannot be snapshotted" in decision.reason


def test_a_serverless_memcached_cache_can_be_snapshotted() -> None:
    [decision] = plan_scheduled_snapshots(
        [cache("carts", type=DatabaseType.SERVERLESS_CACHE, engine="memcached")], {}, POLICIES, [DAILY], STACK
    )
    assert decision.action is Action.CREATE


def test_a_busy_cache_waits_for_the_catch_up_run_with_its_state() -> None:
    for state in ("modifying", "snapshotting", "creating"):
        [decision] = plan_scheduled_snapshots([cache("sessions", status=state)], {}, POLICIES, [DAILY], STACK)
        assert (decision.action, decision.snapshot_id) == (Action.SKIP, "sessions-daily-2026-12-08")
        assert f"'{state}'" in decision.reason


def test_a_cache_id_in_upper_case_is_named_in_lower_case_as_elasticache_stores_it() -> None:
    [decision] = plan_scheduled_snapshots([cache("Sessions")], {}, POLICIES, [DAILY], STACK)
    assert decision.snapshot_id == "sessions-daily-2026-12-08"


def any_resource(data: st.DataObject, identifier: str) -> Database:
    """One resource of any engine, in any state its engine has (or a state no engine snapshots in)."""
    resource_type = data.draw(st.sampled_from(list(DatabaseType)))
    policy = data.draw(st.sampled_from([None, "none", "standard", "compliance", "gold"]))
    states = sorted({s for states in SNAPSHOTTABLE_STATES.values() for s in states} | {"modifying", "snapshotting"})
    status = data.draw(st.sampled_from(states))
    if resource_type in CACHE_TYPES:
        engine = data.draw(st.sampled_from(["valkey", "redis", "memcached", "Memcached"]))
        return cache(identifier, policy, status, type=resource_type, engine=engine)
    if resource_type is DatabaseType.TABLE:
        return table(identifier, policy, status)
    return db(identifier, policy, status, type=resource_type)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), names=st.lists(st.from_regex(r"\A[a-z][a-z0-9]{2,8}\Z"), max_size=10, unique=True))
def test_every_engine_is_planned_only_its_kinds_and_memcached_clusters_never(
    data: st.DataObject, names: list[str]
) -> None:
    """Over fleets of all three engines and the weekly, monthly and daily periods: a snapshot is planned
    exactly when the engine supports the kind, the resource is protected, snapshottable and in a state its
    service accepts; an existing point of the name (ours, another's or an automatic one) is never re-created."""
    fleet = [any_resource(data, name) for name in names]
    taken = {d.identifier for d in fleet if d.type in CACHE_TYPES and data.draw(st.booleans())}
    existing = {
        f"{name}-daily-2026-12-08": replace(
            snap(f"{name}-daily-2026-12-08", data.draw(st.sampled_from([STACK, "other", None]))),
            snapshot_type=data.draw(st.sampled_from(["manual", "automated"])),
        )
        for name in taken
    }
    periods = [WEEKLY, MONTHLY, DAILY]
    decisions = plan_scheduled_snapshots(fleet, existing, POLICIES, periods, STACK)
    planned = {(d.database.identifier, d.kind) for d in decisions if d.action is Action.CREATE}
    for database in fleet:
        engine = ENGINES[database.type.engine]
        memcached = database.type is DatabaseType.CACHE_CLUSTER and database.engine.lower() == "memcached"
        for period in periods:
            should_create = (
                database.policy_name in POLICIES.policies
                and engine.plans(period.kind)
                and not memcached
                and database.status in SNAPSHOTTABLE_STATES[database.type]
                and not (period.kind == "daily" and database.identifier in taken)
            )
            assert ((database.identifier, period.kind) in planned) == should_create
            if memcached and database.policy_name in POLICIES.policies and engine.plans(period.kind):
                [finding] = [
                    d for d in decisions if (d.database.identifier, d.kind) == (database.identifier, period.kind)
                ]
                assert finding.action is Action.FINDING
    for decision in decisions:
        assert ENGINES[decision.database.type.engine].plans(decision.kind) or decision.kind == "*"
        if decision.action is Action.CREATE and decision.kind == "daily":
            assert decision.snapshot_id == f"{decision.database.identifier}-daily-2026-12-08"
            assert decision.tags["restorable:expires-at"] == "2026-12-15T03:00:00Z"
