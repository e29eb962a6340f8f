"""The drill scheduler's job through its ports: what it starts, skips, counts as already started or failed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError
from hypothesis import given
from hypothesis import strategies as st
from pydantic import JsonValue

from restorable import tags as tag_keys
from restorable.adapters.errors import translate
from restorable.drills.schedule import (
    DrillScheduleResult,
    parse_scheduled_request,
    run_drill_schedule,
)
from restorable.errors import AlreadyExistsError, InvalidRequestError, PermissionDeniedError, ThrottledError
from restorable.models import Database, DatabaseType
from restorable.policy import default_policy_text, parse_policy_document

NOW = datetime(2026, 12, 8, 6, 0, 5, tzinfo=UTC)
POLICIES = parse_policy_document(default_policy_text())


def _database(identifier: str, policy: str | None = "standard") -> Database:
    return Database(
        type=DatabaseType.INSTANCE,
        identifier=identifier,
        arn=f"arn:aws:rds:us-east-1:123456789012:db:{identifier}",
        status="available",
        engine="postgres",
        tags={tag_keys.POLICY: policy} if policy else {},
    )


@dataclass
class Inventory:
    databases: list[Database]

    def list_databases(self) -> list[Database]:
        return list(self.databases)


@dataclass
class Starter:
    """Step Functions as the adapter reports it: names already run, and errors per database."""

    ran: set[str] = field(default_factory=set)
    errors: dict[str, Exception] = field(default_factory=dict)
    started: list[tuple[str, dict[str, JsonValue]]] = field(default_factory=list)

    def start(self, name: str, document: dict[str, JsonValue]) -> str:
        for stem, error in self.errors.items():
            if name.startswith(stem):
                raise error
        if name in self.ran:
            raise AlreadyExistsError(f"start execution {name}: ExecutionAlreadyExists", code="ExecutionAlreadyExists")
        self.ran.add(name)
        self.started.append((name, document))
        return f"arn:aws:states:us-east-1:123456789012:execution:drill:{name}"


def _run(databases: list[Database], starter: Starter, event: object, per_run: int = 0) -> DrillScheduleResult:
    return run_drill_schedule(
        parse_scheduled_request(event, NOW),
        inventory=Inventory(databases),
        starter=starter,
        policies=POLICIES,
        checks={},
        per_run=per_run,
        now=NOW,
    )


def test_starts_one_drill_per_protected_database_and_a_retry_starts_none() -> None:
    starter = Starter()
    fleet = [_database("orders"), _database("billing"), _database("scratch", policy="none"), _database("bare", None)]
    first = _run(fleet, starter, {"scheduled_time": "2026-12-08T06:00:00Z"})
    assert [name.split("-2026")[0] for name in first.started] == ["billing", "orders"]
    assert [document["source"] for _, document in starter.started] == [fleet[1].arn, fleet[0].arn]
    again = _run(fleet, starter, {"scheduled_time": "2026-12-08T06:00:00Z"})
    assert (again.started, again.already_started, again.failed) == ([], first.started, [])
    assert len(starter.started) == 2


def test_an_unknown_policy_is_skipped_with_the_reason_and_never_started() -> None:
    starter = Starter()
    result = _run([_database("orders"), _database("typo", policy="wekly")], starter, {})
    assert [problem.database for problem in result.skipped] == ["typo"]
    assert "restorable:policy='wekly' names no policy (known: " in result.skipped[0].reason
    assert [name for name, _ in starter.started] == result.started
    assert not any(name.startswith("typo") for name, _ in starter.started)
    assert result.to_dict()["skipped"] == [{"database": "typo", "reason": result.skipped[0].reason}]


@given(st.lists(st.sampled_from(["standard", "wekly", "critical", "Standard"]), min_size=1, max_size=12))
def test_only_databases_of_known_policies_are_ever_started(policies: list[str]) -> None:
    starter = Starter()
    fleet = [_database(f"db{n}", policy) for n, policy in enumerate(policies)]
    result = _run(fleet, starter, {"dry_run": False})
    known = {d.identifier for d in fleet if POLICIES.get(str(d.policy_name)) is not None}
    started = {name.split("-2026")[0] for name, _ in starter.started}
    assert started == known
    assert {p.database for p in result.skipped} == {d.identifier for d in fleet} - known


def test_one_failure_never_stops_the_others_and_dry_runs_start_nothing() -> None:
    starter = Starter(errors={"billing": PermissionDeniedError("start execution: AccessDenied", code="AccessDenied")})
    result = _run([_database("orders"), _database("billing")], starter, {})
    assert [p.database for p in result.failed] == ["billing"]
    assert "AccessDenied" in result.failed[0].reason
    assert [name.split("-2026")[0] for name in result.started] == ["orders"]
    dry = _run([_database("orders"), _database("billing")], Starter(), {"dry_run": True})
    assert len(dry.started) == 2
    throttled = Starter(errors={"orders": ThrottledError("Throttling", code="Throttling")})
    assert [p.database for p in _run([_database("orders")], throttled, {}).failed] == ["orders"]


def test_the_scheduled_time_is_the_reference_and_the_result_keeps_its_keys() -> None:
    result = _run([_database("orders")], Starter(), {"scheduled_time": "2026-12-02T00:00:00Z"})
    assert set(result.to_dict()) == {
        "job",
        "dry_run",
        "scheduled_time",
        "candidates",
        "started",
        "already_started",
        "skipped",
        "failed",
    }
    assert result.to_dict()["scheduled_time"] == "2026-12-02T00:00:00+00:00"
    assert _run([_database("orders")], Starter(), {}).scheduled_time == NOW


@pytest.mark.parametrize(
    "value",
    ["2190-01-01T00:00:00Z", "1971-01-01T00:00:00Z", 1_796_716_800, (NOW - timedelta(days=8)).isoformat()],
)
def test_scheduled_times_far_from_the_clock_are_rejected_naming_the_field(value: object) -> None:
    starter = Starter()
    with pytest.raises(InvalidRequestError, match=r"invalid drill schedule event: scheduled_time: "):
        _run([_database("orders")], starter, {"scheduled_time": value})
    assert starter.started == []


def test_execution_already_exists_is_an_already_exists_error_in_the_table() -> None:
    error = ClientError(
        {"Error": {"Code": "ExecutionAlreadyExists", "Message": "Execution Already Exists: 'x'"}}, "StartExecution"
    )
    translated = translate(error, "start execution x")
    assert isinstance(translated, AlreadyExistsError)
    assert translated.code == "ExecutionAlreadyExists"
