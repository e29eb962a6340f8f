"""The pure drill core: identifiers, tags, backoff, rotation, verdict."""

from __future__ import annotations

import re
import string
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from restorable import tags as tag_keys
from restorable.drills.plan import (
    CLUSTER_INSTANCE_SUFFIX,
    FIRST_POLL_SECONDS,
    MAX_POLL_SECONDS,
    DrillMode,
    Targets,
    drill_identifier,
    drill_tags,
    is_drill_resource,
    is_valid_db_identifier,
    next_poll_wait,
    parse_drill_request,
    rpo_target_seconds,
    rto_target_seconds,
)
from restorable.drills.schedule import drill_candidates, execution_name, rotating_sample
from restorable.drills.state import DrillState, parse_drill_state
from restorable.drills.verdict import judge
from restorable.errors import InvalidRequestError
from restorable.models import Database, DatabaseType

EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:restorable-DrillStateMachine:{}"
source_ids = st.text(alphabet=string.ascii_letters + string.digits + "-_.", min_size=1, max_size=80)


@given(source_ids, st.text(min_size=1, max_size=80))
def test_drill_identifiers_are_valid_and_leave_room_for_the_cluster_instance(source: str, name: str) -> None:
    identifier = drill_identifier(source, EXECUTION.format(name))
    assert is_valid_db_identifier(identifier)
    assert is_valid_db_identifier(identifier + CLUSTER_INSTANCE_SUFFIX)
    assert len(identifier + CLUSTER_INSTANCE_SUFFIX) <= 63
    assert identifier.startswith("drill-")


@given(source_ids, st.text(min_size=1, max_size=80), st.text(min_size=1, max_size=80))
def test_drill_identifiers_differ_per_execution(source: str, first: str, second: str) -> None:
    same = drill_identifier(source, EXECUTION.format(first)) == drill_identifier(source, EXECUTION.format(second))
    assert same == (first == second)


def test_drill_tags_prove_ownership_and_never_protect() -> None:
    expires = datetime(2026, 12, 8, 10, tzinfo=UTC)
    tags = drill_tags("restorable", "arn:aws:rds:us-east-1:123456789012:db:a", EXECUTION.format("x"), expires)
    assert tags[tag_keys.EXPIRES_AT] == "2026-12-08T10:00:00Z"
    assert tag_keys.POLICY not in tags
    assert is_drill_resource(tags, "restorable")
    assert not is_drill_resource(tags, "other-stack")
    assert not is_drill_resource({**tags, tag_keys.POLICY: "standard"}, "restorable")
    assert not is_drill_resource({tag_keys.MANAGED_BY: "restorable", tag_keys.KIND: "weekly"}, "restorable")


@given(st.floats(min_value=0, max_value=48 * 3600), st.floats(min_value=-100, max_value=48 * 3600))
def test_poll_waits_grow_but_never_pass_the_deadline(elapsed: float, remaining: float) -> None:
    wait = next_poll_wait(elapsed, remaining)
    assert 1 <= wait <= MAX_POLL_SECONDS
    if remaining >= FIRST_POLL_SECONDS:
        assert wait >= FIRST_POLL_SECONDS
    assert wait <= max(1, remaining + 1)


def test_polls_grow_with_the_log_of_the_restore_time() -> None:
    def polls(restore_minutes: int) -> int:
        elapsed, count = 0.0, 0
        while elapsed < restore_minutes * 60:
            elapsed += next_poll_wait(elapsed, 10**9)
            count += 1
        return count

    counts = [polls(m) for m in (5, 30, 90)]
    assert counts == sorted(counts)
    assert counts[2] - counts[0] <= 10  # 18x the restore time, a handful more polls
    assert counts[2] < 90 / 5  # far below a fixed 5-minute poll


def test_targets_per_mode_follow_the_design() -> None:
    assert rto_target_seconds(DrillMode.PITR, Targets()) == 1800
    assert rto_target_seconds(DrillMode.SNAPSHOT, Targets()) == 3600
    assert rto_target_seconds(DrillMode.CROSS_REGION, Targets()) == 4 * 3600
    assert rpo_target_seconds(DrillMode.PITR, Targets()) == 3600
    assert rpo_target_seconds(DrillMode.SNAPSHOT, Targets()) is None
    assert rpo_target_seconds(DrillMode.SNAPSHOT, Targets(rpo_seconds=600)) == 600


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ("orders", "drill input must be a JSON object, got str"),
        ({"mode": "snapshot"}, "source: Field required"),
        ({"source": "a", "mode": "pitr", "snapshot": {"kind": "weekly"}}, "'snapshot' applies to the snapshot"),
        ({"source": "a", "mode": "snapshot", "snapshot": {"kind": "weekly", "identifier": "x"}}, "snapshot: "),
        ({"source": "a", "mode": "snapshot", "instance_class": "large"}, "instance_class: "),
        ({"source": "a", "mode": "snapshot", "targets": {"rto_seconds": 0}}, "targets.rto_seconds: "),
        (
            {"source": "a", "mode": "snapshot", "checks": {"sql": {"database": "d", "secret_arn": "my-secret"}}},
            "checks.sql.secret_arn: ",
        ),
    ],
)
def test_bad_requests_name_the_field(event: object, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=re.escape(message)) as error:
        parse_drill_request(event)
    assert str(error.value).startswith(("invalid drill input: ", "drill input must be"))


def _drill(**overrides: object) -> DrillState:
    started = datetime(2026, 12, 8, 6, tzinfo=UTC)
    drill: dict[str, object] = {
        "plan": {
            **_PLAN,
            "started_at": started.isoformat(),
            "recovery_point_time": (started - timedelta(minutes=10)).isoformat(),
            "targeted_time": started.isoformat(),
            "targets": {"rto_seconds": 1800, "rpo_seconds": 3600},
        },
        "checks": {
            "results": [{"name": "status", "kind": "api", "status": "passed"}],
            "finished_at": (started + timedelta(minutes=20)).isoformat(),
        },
        "cleanup": {"target": "drill-orders-0123456789", "result": "deleted", "remaining": []},
    }
    drill.update(overrides)
    return DrillState.model_validate(drill)


def test_verdict_passes_only_when_everything_holds() -> None:
    passed = judge(_drill())
    assert (passed.outcome, passed.rto_seconds, passed.rpo_seconds) == ("passed", 1200, 600)
    slow = judge(_drill(checks={"results": [], "finished_at": "2026-12-08T06:45:00Z"}))
    assert slow.outcome == "failed"
    assert slow.reasons == ("RTO 2700s exceeds the target 1800s",)
    failed_check = judge(
        _drill(
            checks={
                "results": [{"name": "rows", "kind": "sql", "status": "failed", "detail": "0"}],
                "finished_at": "2026-12-08T06:10:00Z",
            }
        )
    )
    assert failed_check.reasons == ("check rows failed: 0",)
    errored = judge(_drill(error={"Error": "RestoreFailedError", "Cause": '{"errorMessage": "boom"}'}))
    assert errored.reasons[0] == "RestoreFailedError: boom"
    assert errored.rto_seconds is None
    leaked = judge(_drill(cleanup_error={"Error": "PermissionDeniedError", "Cause": "denied"}))
    assert "cleanup failed: denied; the janitor retries" in leaked.reasons
    never_checked = judge(_drill(checks=None))
    assert never_checked.reasons == ("the restored database was never validated",)


def _database(number: int) -> Database:
    return Database(
        type=DatabaseType.INSTANCE,
        identifier=f"db{number:03d}",
        arn=f"arn:aws:rds:us-east-1:123456789012:db:db{number:03d}",
        status="available",
        engine="postgres",
        tags={tag_keys.POLICY: "standard"},
    )


@given(
    st.integers(min_value=1, max_value=60),
    st.integers(min_value=1, max_value=25),
    st.integers(2026, 2040),
    st.integers(1, 12),
)
def test_rotating_sample_gives_every_database_its_turn(size: int, per_run: int, year: int, month: int) -> None:
    candidates = drill_candidates([_database(n) for n in range(size)])
    months = -(-size // per_run)  # ceil
    seen: set[str] = set()
    moment = datetime(year, month, 8, 6, tzinfo=UTC)
    for _ in range(months):
        chosen = rotating_sample(candidates, moment, per_run)
        assert len(chosen) == min(per_run, size)
        assert len({d.arn for d in chosen}) == len(chosen)
        seen |= {d.arn for d in chosen}
        moment = (moment.replace(day=1) + timedelta(days=32)).replace(day=8)
    assert seen == {d.arn for d in candidates}


def test_candidates_exclude_unprotected_and_cluster_members() -> None:
    member = Database(
        DatabaseType.INSTANCE, "c-1", "arn:c-1", "available", "aurora-mysql", {tag_keys.POLICY: "standard"}, "c"
    )
    unprotected = Database(DatabaseType.INSTANCE, "u", "arn:u", "available", "mysql", {})
    assert drill_candidates([member, unprotected, _database(1)]) == [_database(1)]
    name = execution_name(_database(1), datetime(2026, 12, 8, tzinfo=UTC))
    assert re.fullmatch(r"db001-2026-12-[0-9a-f]{12}", name)
    assert execution_name(_database(1), datetime(2026, 12, 28, 23, tzinfo=UTC)) == name  # the idempotency key


_RDS_NAMES = st.from_regex(r"[a-z][a-z0-9-]{0,62}", fullmatch=True)


def _named(kind: DatabaseType, identifier: str) -> Database:
    resource = "db" if kind is DatabaseType.INSTANCE else "cluster"
    return Database(
        type=kind,
        identifier=identifier,
        arn=f"arn:aws:rds:us-east-1:123456789012:{resource}:{identifier}",
        status="available",
        engine="postgres",
        tags={tag_keys.POLICY: "standard"},
    )


@given(_RDS_NAMES, st.text(alphabet=string.ascii_lowercase + string.digits, min_size=1, max_size=20))
def test_scheduled_execution_names_of_colliding_identifiers_differ(prefix: str, tail: str) -> None:
    """Identifiers sharing a long prefix, and an instance and a cluster of one name, get their own executions."""
    moment = datetime(2026, 12, 8, 6, tzinfo=UTC)
    long_a = (prefix * 80)[:60] + "-a" + tail
    long_b = (prefix * 80)[:60] + "-b" + tail
    names = {
        execution_name(_named(DatabaseType.INSTANCE, long_a), moment),
        execution_name(_named(DatabaseType.INSTANCE, long_b), moment),
        execution_name(_named(DatabaseType.INSTANCE, prefix), moment),
        execution_name(_named(DatabaseType.CLUSTER, prefix), moment),
        execution_name(_named(DatabaseType.INSTANCE, prefix), moment, DrillMode.CROSS_REGION),
        execution_name(_named(DatabaseType.INSTANCE, prefix), moment.replace(month=11)),
    }
    assert len(names) == 6
    for name in names:
        assert re.fullmatch(r"[A-Za-z0-9_-]{1,80}", name), name
    assert execution_name(_named(DatabaseType.CLUSTER, prefix), moment).startswith(prefix[:40])


_PLAN: dict[str, object] = {
    "execution_id": EXECUTION.format("x"),
    "execution_name": "x",
    "started_at": "2026-12-08T06:00:00.000Z",
    "mode": "snapshot",
    "region": "us-east-1",
    "source": {
        "type": "instance",
        "identifier": "orders",
        "arn": "arn:aws:rds:us-east-1:123456789012:db:orders",
        "engine": "postgres",
        "engine_version": "16.4",
        "encrypted": True,
    },
    "recovery_point": {"type": "snapshot", "identifier": "s", "arn": "arn:s", "region": "us-east-1"},
    "restore_time": None,
    "recovery_point_time": "2026-12-06T02:00:00.000Z",
    "targeted_time": "2026-12-08T06:00:00.000Z",
    "target": {
        "type": "instance",
        "identifier": "drill-orders-0123456789",
        "instance_identifier": None,
        "instance_class": "db.t3.micro",
        "region": "us-east-1",
    },
    "tags": {tag_keys.MANAGED_BY: "restorable"},
    "targets": {"rto_seconds": 3600, "rpo_seconds": None},
    "deadline": "2026-12-08T08:00:00.000Z",
    "expires_at": "2026-12-08T10:00:00.000Z",
}


def test_a_complete_state_parses_and_keeps_what_it_does_not_know() -> None:
    received = {
        "request": {},
        "plan": _PLAN,
        "poll": {"attempt": 2},
        "record_start_error": {"Error": "DynamoDB.AmazonDynamoDBException", "Cause": "denied"},
    }
    state = parse_drill_state(received, "poll")
    assert state.plan.target.identifier == "drill-orders-0123456789"
    assert state.poll is not None
    assert state.poll.attempt == 2
    assert state.model_extra == {"record_start_error": received["record_start_error"]}
    assert state.to_json() == received  # written back as it came: the state machine reads the same JSON


@pytest.mark.parametrize(
    ("drill", "step", "named"),
    [
        (None, "poll", "got NoneType"),
        ({}, "restore", "plan: Field required"),
        ({"plan": {}}, "cleanup", "plan.execution_id: Field required"),
        ({"plan": {**_PLAN, "target": {}}}, "poll", "plan.target.identifier: Field required"),
        ({"plan": {k: v for k, v in _PLAN.items() if k != "deadline"}}, "poll", "plan.deadline: Field required"),
        ({"plan": {**_PLAN, "deadline": "soon"}}, "poll", "'deadline' is not an ISO-8601 time"),
        (
            {"plan": {**_PLAN, "target": {**_PLAN["target"], "type": "cluster"}}},  # type: ignore[dict-item]
            "restore",
            "instance_identifier",
        ),
        ({"plan": _PLAN}, "check", "request: "),
    ],
)
def test_an_empty_or_partial_state_names_the_missing_field(drill: object, step: str, named: str) -> None:
    with pytest.raises(InvalidRequestError, match=re.escape(named)) as caught:
        parse_drill_state(drill, step)
    assert step in str(caught.value)
