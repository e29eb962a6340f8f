from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from restorable.errors import ConfigurationError
from restorable.models import Database, DatabaseType, Engine, RecoveryPoint
from restorable.policy import default_policy_text, parse_policy_document
from restorable.predeploy_plan import (
    MAX_TOKEN_LENGTH,
    FailureType,
    NamedTarget,
    PredeployError,
    PredeployParameters,
    Progress,
    ResolvedTarget,
    State,
    evaluate,
    parse_direct_request,
    parse_user_parameters,
    plan_target,
    resolve_target_references,
    select_targets,
)

POLICIES = parse_policy_document(default_policy_text(), frozenset({"weekly", "monthly", "daily"}))
STACK = "restorable"
JOB = "c3b5a7e2-4f1d-4b8a-9e6c-2d7f0a1b3c4e"
NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)


def db(identifier: str, policy: str | None = "standard", **kw: object) -> Database:
    return Database(
        type=kw.get("type", DatabaseType.INSTANCE),  # type: ignore[arg-type]
        identifier=identifier,
        arn=f"arn:aws:rds:us-east-1:123456789012:db:{identifier}",
        status=str(kw.get("status", "available")),
        engine="mysql",
        tags={} if policy is None else {"restorable:policy": policy},
        cluster_identifier=kw.get("cluster"),  # type: ignore[arg-type]
    )


def snap(identifier: str, status: str, job: str = JOB, stack: str = STACK) -> RecoveryPoint:
    tags = {"restorable:managed-by": stack, "restorable:job-id": job, "restorable:kind": "predeploy"}
    return RecoveryPoint(
        DatabaseType.INSTANCE, identifier, f"arn:{identifier}", "src", status, "manual", "r", tags=tags
    )


def progress(*identifiers: str, minutes: int = 60) -> Progress:
    return Progress(
        v=1, job=JOB, deadline=(NOW + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ"), limit=minutes,
        db=list(identifiers),
    )  # fmt: skip


def test_user_parameters_defaults() -> None:
    parameters = parse_user_parameters('{"targets": ["orders-db"]}')
    assert (parameters.wait, parameters.time_limit_minutes, parameters.policy) == (True, 60, None)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "UserParameters is empty"),
        ("{", "not valid JSON"),
        ('{"targets": "orders-db"}', "targets: Input should be a valid list"),
        ('{"targets": ["orders-db"], "time_limit_minutes": 1441}', "time_limit_minutes"),
        ('{"policy": ""}', "policy"),
    ],
)
def test_bad_user_parameters(text: str | None, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        parse_user_parameters(text)


def test_direct_request_with_a_token_takes_nothing_else() -> None:
    with pytest.raises(ConfigurationError, match="targets: Extra inputs"):
        parse_direct_request({"continuation_token": "x", "targets": ["a"]})


def test_snapshot_is_named_after_now_and_expires_after_the_policy_retention() -> None:
    target = plan_target(db("orders-db", "compliance"), POLICIES, STACK, JOB, NOW)
    assert target.snapshot_id == "orders-db-predeploy-20261122093000"
    assert target.tags["restorable:expires-at"] == "2026-12-22T09:30:00Z"
    assert target.tags["restorable:job-id"] == JOB
    assert target.tags["restorable:policy"] == "compliance"


def test_targets_and_policy_are_merged_without_duplicates() -> None:
    inventory = [db("a"), db("b"), db("c", "compliance"), db("m", cluster="k")]
    chosen = select_targets(
        PredeployParameters(targets=["a"], policy="standard"), {"a": inventory[0]}, inventory, POLICIES, "r"
    )
    assert [d.identifier for d in chosen] == ["a", "b"]


def test_every_problem_is_reported_at_once() -> None:
    named = {"gone": None, "plain": db("plain", None), "odd": db("odd", "platinum")}
    with pytest.raises(ConfigurationError) as error:
        select_targets(PredeployParameters(targets=list(named)), named, None, POLICIES, "us-east-1")
    message = str(error.value)
    assert "'gone' not found" in message
    assert "'plain' is not protected" in message
    assert "'platinum' names no policy" in message
    assert message.endswith("nothing was created")


def test_wrong_job_token_is_refused() -> None:
    token = progress("orders-db-predeploy-20261122093000").encode()
    with pytest.raises(PredeployError, match="belongs to job") as error:
        Progress.decode(token, job_id="00000000-0000-0000-0000-000000000000")
    assert error.value.failure_type is FailureType.JOB_FAILED


def test_token_naming_a_snapshot_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        Progress(v=1, job=JOB, deadline="2026-11-22T10:30:00Z", limit=60, db=["a-predeploy-1", "A-predeploy-1"])


identifiers = st.from_regex(r"[a-z][a-z0-9]{0,20}-predeploy-20261122093000", fullmatch=True)


@settings(max_examples=60)
@given(
    db_ids=st.lists(identifiers, max_size=5, unique=True),
    cluster_ids=st.lists(identifiers, max_size=5, unique=True),
    limit=st.integers(1, 23 * 60),
)
def test_token_round_trips_and_fits_codepipeline(db_ids: list[str], cluster_ids: list[str], limit: int) -> None:
    cluster_ids = [c for c in cluster_ids if c not in db_ids]
    if not db_ids and not cluster_ids:
        return
    original = Progress(v=1, job=JOB, deadline="2026-11-22T10:30:00Z", limit=limit, db=db_ids, cluster=cluster_ids)
    token = original.encode()
    assert len(token) <= MAX_TOKEN_LENGTH
    assert Progress.decode(token, job_id=JOB) == original


@settings(max_examples=100)
@given(
    statuses=st.lists(
        st.sampled_from(["available", "creating", "failed", "deleting", "missing", "foreign"]), min_size=1, max_size=4
    ),
    minutes_later=st.integers(0, 120),
)
def test_success_only_when_every_snapshot_is_ours_and_available(statuses: list[str], minutes_later: int) -> None:
    ids = [f"db{n}-predeploy-20261122093000" for n in range(len(statuses))]
    found = []
    for identifier, status in zip(ids, statuses, strict=True):
        if status == "missing":
            continue
        found.append(
            snap(identifier, "available", job="someone-else") if status == "foreign" else snap(identifier, status)
        )
    token = progress(*ids, minutes=60)
    status = evaluate(JOB, token.snapshot_ids(), found, token, STACK, NOW + timedelta(minutes=minutes_later))
    if status.state is State.SUCCEEDED:
        assert set(statuses) == {"available"}
    if status.state is State.IN_PROGRESS:
        assert minutes_later < 60
        assert status.continuation_token is not None
    if set(statuses) <= {"available", "creating"} and "creating" in statuses and minutes_later >= 60:
        assert status.state is State.FAILED
        assert "time limit of 60 minutes passed" in status.message
    if status.state is State.FAILED:
        assert status.failure_type is FailureType.JOB_FAILED
        assert status.continuation_token is None


def test_target_references_resolve_local_arns_and_list_every_foreign_one() -> None:
    local = "arn:aws:rds:us-east-1:123456789012:cluster:ledger"
    table = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"
    cache = "arn:aws:elasticache:us-east-1:123456789012:replicationgroup:sessions"
    assert resolve_target_references(
        ["orders-db", local, table, cache, NamedTarget(table="carts")], "us-east-1", "123456789012"
    ) == {
        "orders-db": ResolvedTarget(Engine.RDS, "orders-db"),
        local: ResolvedTarget(Engine.RDS, "ledger", DatabaseType.CLUSTER),
        table: ResolvedTarget(Engine.DYNAMODB, "orders", DatabaseType.TABLE),
        cache: ResolvedTarget(Engine.ELASTICACHE, "sessions", DatabaseType.CACHE_REPLICATION_GROUP),
        "table 'carts'": ResolvedTarget(Engine.DYNAMODB, "carts"),
    }
    with pytest.raises(ConfigurationError) as caught:
        resolve_target_references(
            [
                "orders-db",
                "arn:aws:rds:us-east-1:999999999999:db:orders-db",
                "arn:aws:rds:us-west-2:123456789012:db:orders-db",
                "arn:aws:s3:::release-artifacts",
                "arn:aws:dynamodb:us-east-1:999999999999:table/orders",
                "arn:aws:dynamodb:us-east-1:123456789012:table/orders/backup/01700000000000-abcdef12",
            ],
            "us-east-1",
            "123456789012",
        )
    message = str(caught.value)
    assert "targets[1]: arn:aws:rds:us-east-1:999999999999:db:orders-db belongs to account 999999999999" in message
    assert "targets[2]: arn:aws:rds:us-west-2:123456789012:db:orders-db is in Region us-west-2" in message
    assert "targets[3]: arn:aws:s3:::release-artifacts is an ARN of service 's3'" in message
    assert "targets[4]: arn:aws:dynamodb:us-east-1:999999999999:table/orders belongs to account 999999999999" in message
    assert "targets[5]: arn:aws:dynamodb:us-east-1:123456789012:table/orders/backup/" in message
    assert "is not a DynamoDB table ARN" in message
    assert message.endswith("nothing was created")
