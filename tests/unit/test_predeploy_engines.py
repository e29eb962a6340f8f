"""The pre-deploy plan across engines: names by each engine's contract, targets validated all at once, the token."""

from __future__ import annotations

import base64
import dataclasses
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from restorable.dynamodb_backup_names import parse_backup_name, recovery_point_tags, table_digest
from restorable.errors import ConfigurationError
from restorable.models import Database, DatabaseType, RecoveryPoint
from restorable.policy import default_policy_text, parse_policy_document
from restorable.predeploy_plan import (
    MAX_TOKEN_LENGTH,
    PointReference,
    PredeployParameters,
    Progress,
    Slot,
    State,
    evaluate,
    new_progress,
    parse_user_parameters,
    plan_target,
    select_targets,
    target_label,
)

POLICIES = parse_policy_document(default_policy_text(), frozenset({"weekly", "monthly", "daily"}))
STACK = "restorable"
JOB = "c3b5a7e2-4f1d-4b8a-9e6c-2d7f0a1b3c4e"
NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
ACCOUNT = "123456789012"

ARN_OF = {
    DatabaseType.INSTANCE: "arn:aws:rds:us-east-1:123456789012:db:{}",
    DatabaseType.CLUSTER: "arn:aws:rds:us-east-1:123456789012:cluster:{}",
    DatabaseType.TABLE: "arn:aws:dynamodb:us-east-1:123456789012:table/{}",
    DatabaseType.CACHE_REPLICATION_GROUP: "arn:aws:elasticache:us-east-1:123456789012:replicationgroup:{}",
    DatabaseType.CACHE_CLUSTER: "arn:aws:elasticache:us-east-1:123456789012:cluster:{}",
}
READY = {
    DatabaseType.INSTANCE: "available",
    DatabaseType.CLUSTER: "available",
    DatabaseType.TABLE: "ACTIVE",
    DatabaseType.CACHE_REPLICATION_GROUP: "available",
    DatabaseType.CACHE_CLUSTER: "available",
}


def resource(
    point_type: DatabaseType, identifier: str, policy: str | None = "standard", engine: str | None = None
) -> Database:
    default_engine = {DatabaseType.TABLE: "dynamodb"}.get(
        point_type, "redis" if "cache" in point_type.value else "mysql"
    )
    return Database(
        type=point_type,
        identifier=identifier,
        arn=ARN_OF[point_type].format(identifier),
        status=READY[point_type],
        engine=engine or default_engine,
        tags={} if policy is None else {"restorable:policy": policy},
    )


def backup(table: str, name: str, status: str = "available") -> RecoveryPoint:
    """A table backup as the DynamoDB gateway reads it: its tags come from the name, never a job id."""
    parsed = parse_backup_name(name, STACK)
    table_arn = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{table}"
    tags = recovery_point_tags(parsed, table_name=table, table_arn=table_arn) if parsed is not None else {}
    return RecoveryPoint(
        DatabaseType.TABLE,
        name,
        f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{table}/backup/01763803800000-0a1b2c3d",
        table,
        status,
        "manual",
        "us-east-1",
        tags=tags,
    )


# ---- names ----

table_names = st.from_regex(r"[A-Za-z0-9_.-]{3,255}", fullmatch=True)
moments = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)).map(
    lambda m: m.replace(microsecond=0)
)


@settings(max_examples=80)
@given(table=table_names, now=moments, policy=st.sampled_from(["standard", "compliance"]))
def test_a_table_backup_is_named_by_the_dynamodb_contract_and_parses_back(
    table: str, now: datetime, policy: str
) -> None:
    target = plan_target(resource(DatabaseType.TABLE, table, policy), POLICIES, STACK, JOB, now)
    parsed = parse_backup_name(target.snapshot_id, STACK)
    assert parsed is not None
    assert parsed.kind == "predeploy"
    assert parsed.names_table(table)
    assert parsed.period == now.strftime("%Y%m%dT%H%M%SZ")
    assert parsed.expires_at == now + timedelta(days=POLICIES.policies[policy].rule_for("predeploy").retention_days)  # type: ignore[union-attr]
    assert len(target.snapshot_id) <= 255


@settings(max_examples=40)
@given(cache=st.from_regex(r"[a-z](?:[a-z0-9]|-(?=[a-z0-9])){0,39}", fullmatch=True), now=moments)
def test_a_cache_snapshot_is_named_id_predeploy_stamp(cache: str, now: datetime) -> None:
    target = plan_target(resource(DatabaseType.CACHE_REPLICATION_GROUP, cache), POLICIES, STACK, JOB, now)
    assert target.snapshot_id == f"{cache}-predeploy-{now:%Y%m%d%H%M%S}"
    assert target.tags["restorable:kind"] == "predeploy"
    assert target.tags["restorable:job-id"] == JOB


# ---- targets ----


def test_targets_name_tables_and_caches_by_arn_or_by_type() -> None:
    parameters = parse_user_parameters(
        '{"targets": ["orders-db", {"table": "orders"}, {"cache": "sessions"},'
        ' "arn:aws:dynamodb:us-east-1:123456789012:table/carts"]}'
    )
    assert [target_label(t) for t in parameters.targets] == [
        "orders-db",
        "table 'orders'",
        "cache 'sessions'",
        "arn:aws:dynamodb:us-east-1:123456789012:table/carts",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"targets": [{"table": "orders", "cache": "sessions"}]}', "exactly one of 'table' or 'cache'"),
        ('{"targets": [{}]}', "exactly one of 'table' or 'cache'"),
        ('{"targets": [{"table": "o"}]}', "table"),
        ('{"targets": [{"database": "orders"}]}', "database"),
    ],
)
def test_a_malformed_typed_target_names_the_field(text: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        parse_user_parameters(text)


PROBLEMS = ("fine", "missing", "unprotected", "unknown-policy", "busy", "memcached")
types = st.sampled_from(sorted(ARN_OF, key=lambda t: t.value))


@settings(max_examples=150)
@given(st.lists(st.tuples(types, st.sampled_from(PROBLEMS)), min_size=1, max_size=8))
def test_every_bad_target_of_every_engine_is_named_and_a_good_set_is_chosen_whole(
    specs: list[tuple[DatabaseType, str]],
) -> None:
    targets: list[str] = []
    named: dict[str, Database | None] = {}
    bad: list[str] = []
    for index, (point_type, problem) in enumerate(specs):
        if problem == "memcached" and point_type is not DatabaseType.CACHE_CLUSTER:
            problem = "fine"
        identifier = f"r{index}"
        reference = ARN_OF[point_type].format(identifier)
        targets.append(reference)
        database = resource(
            point_type,
            identifier,
            policy={"unprotected": None, "unknown-policy": "platinum"}.get(problem, "standard"),
            engine="memcached" if problem == "memcached" else None,
        )
        named[reference] = None if problem == "missing" else database
        if problem in ("missing", "unprotected", "unknown-policy", "memcached"):
            bad.append(identifier)
    parameters = PredeployParameters(targets=targets)
    if bad:
        with pytest.raises(ConfigurationError) as caught:
            select_targets(parameters, named, None, POLICIES, "us-east-1")
        message = str(caught.value)
        assert message.endswith("nothing was created")
        for identifier in bad:
            assert f"{identifier}'" in message or f"{identifier} " in message, (identifier, message)
    else:
        chosen = select_targets(parameters, named, None, POLICIES, "us-east-1")
        assert {d.arn for d in chosen} == set(targets)


def test_a_policy_selects_protected_resources_of_every_engine() -> None:
    inventory = [
        resource(DatabaseType.INSTANCE, "orders-db"),
        resource(DatabaseType.TABLE, "orders"),
        resource(DatabaseType.CACHE_REPLICATION_GROUP, "sessions"),
        resource(DatabaseType.TABLE, "scratch", policy=None),
        resource(DatabaseType.TABLE, "audit", policy="compliance"),
        resource(DatabaseType.CACHE_CLUSTER, "pages", engine="memcached"),  # takes no snapshots: not selected
    ]
    chosen = select_targets(PredeployParameters(policy="standard"), {}, inventory, POLICIES, "us-east-1")
    assert [(d.type, d.identifier) for d in chosen] == [
        (DatabaseType.TABLE, "orders"),
        (DatabaseType.INSTANCE, "orders-db"),
        (DatabaseType.CACHE_REPLICATION_GROUP, "sessions"),
    ]


# ---- the token ----

backup_arns = st.builds(
    lambda table, n: f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{table}/backup/{n:014d}-0a1b2c3d",
    st.from_regex(r"[A-Za-z0-9_.-]{3,40}", fullmatch=True),
    st.integers(0, 10**14 - 1),
)
rds_ids = st.from_regex(r"[a-z][a-z0-9]{0,20}-predeploy-20261122093000", fullmatch=True)


@settings(max_examples=60)
@given(
    db_ids=st.lists(rds_ids, max_size=3, unique=True),
    tables=st.lists(backup_arns, max_size=4, unique=True),
    caches=st.lists(rds_ids, max_size=3, unique=True),
)
def test_a_token_of_every_engine_round_trips(db_ids: list[str], tables: list[str], caches: list[str]) -> None:
    references = [PointReference(Slot.DB, i) for i in db_ids]
    references += [PointReference(Slot.TABLE, a) for a in tables]
    references += [PointReference(Slot.CACHE, c) for c in caches]
    if not references:
        return
    progress = new_progress(JOB, NOW, 60, references)
    token = progress.encode()
    assert len(token) <= MAX_TOKEN_LENGTH
    decoded = Progress.decode(token, job_id=JOB)
    assert decoded == progress
    assert {r.key for r in decoded.references()} == {r.key for r in references}


def test_a_token_of_rds_snapshots_reads_as_before() -> None:
    progress = new_progress(JOB, NOW, 60, [PointReference(Slot.DB, "orders-db-predeploy-20261122093000")])
    token = progress.encode()
    assert set(json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))) == {
        "v",
        "job",
        "deadline",
        "limit",
        "db",
        "cluster",
    }


def test_a_token_refuses_what_is_not_a_backup_arn() -> None:
    with pytest.raises(ValueError, match="not a DynamoDB backup ARN"):
        Progress(v=1, job=JOB, deadline="2026-11-22T10:30:00Z", limit=60, table=["orders-predeploy-20261122093000"])


@settings(max_examples=120)
@given(
    statuses=st.lists(
        st.sampled_from(["available", "creating", "deleted", "missing", "other-stack", "weekly", "other-table"]),
        min_size=1,
        max_size=4,
    ),
    minutes_later=st.integers(0, 120),
)
def test_a_table_backup_counts_only_when_the_name_proves_it_is_this_stacks_predeploy_backup(
    statuses: list[str], minutes_later: int
) -> None:
    found: list[RecoveryPoint] = []
    references: list[PointReference] = []
    for index, status in enumerate(statuses):
        table = f"table{index}"
        stack = "other" if status == "other-stack" else STACK
        kind = "weekly" if status == "weekly" else "predeploy"
        period = "2026-11-22" if kind == "weekly" else "20261122T093000Z"
        named = "someone-else" if status == "other-table" else table
        name = f"restorable.{stack}.{kind}.{period}.expires-20261222T093000Z.{table_digest(named)}.{named}"
        point = backup(table, name, status if status in ("available", "creating", "deleted") else "available")
        references.append(PointReference.of(point))
        if status != "missing":
            found.append(point)
    progress = new_progress(JOB, NOW, 60, references)
    verdict = evaluate(JOB, progress.references(), found, progress, STACK, NOW + timedelta(minutes=minutes_later))
    if verdict.state is State.SUCCEEDED:
        assert set(statuses) == {"available"}
    if set(statuses) - {"available", "creating"}:
        assert verdict.state is State.FAILED
    if set(statuses) == {"available"}:
        assert verdict.state is State.SUCCEEDED
        assert verdict.output_variables()["SnapshotArns"].count("/backup/") == len(statuses)
    if "creating" in statuses and set(statuses) <= {"available", "creating"}:
        assert verdict.state is (State.IN_PROGRESS if minutes_later < 60 else State.FAILED)


def test_a_member_of_a_replication_group_names_its_group() -> None:
    member = dataclasses.replace(resource(DatabaseType.CACHE_CLUSTER, "sessions-001"), cluster_identifier="sessions")
    reference = ARN_OF[DatabaseType.CACHE_CLUSTER].format("sessions-001")
    with pytest.raises(ConfigurationError, match="member of replication group 'sessions': name the group instead"):
        select_targets(PredeployParameters(targets=[reference]), {reference: member}, None, POLICIES, "us-east-1")
