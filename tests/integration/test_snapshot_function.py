"""SnapshotFunction invoked through the template's wiring against a mixed fleet on moto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from local_runtime.functions import Functions
from local_runtime.template import REPO_ROOT
from restorable.errors import ConfigurationError, InvalidRequestError
from tests.aws_faults import errors_by_parameter
from tests.fleet import Fleet

SUNDAY = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
FIRST = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock() -> Iterator[time_machine.Coordinates]:
    """The clock of a weekly run on Sunday morning: scheduled times are judged against it."""
    with time_machine.travel(SUNDAY + timedelta(hours=4), tick=False) as traveller:
        yield traveller


def schedule(functions: Functions, name: str) -> Any:
    [found] = [s for s in functions.schedules() if s.name == name]
    return found


def sample(name: str) -> dict[str, Any]:
    return dict(json.loads((REPO_ROOT / "events" / name).read_text()))


@pytest.fixture
def mixed_fleet(fleet: Fleet) -> Fleet:
    fleet.instance("orders-mysql")
    fleet.instance("billing-pg", engine="postgres", policy="compliance")
    fleet.instance("scratch")  # tagged standard below is absent: unprotected
    fleet.rds.remove_tags_from_resource(
        ResourceName=fleet.rds.describe_db_instances(DBInstanceIdentifier="scratch")["DBInstances"][0]["DBInstanceArn"],
        TagKeys=["restorable:policy"],
    )
    fleet.instance("opted-out", policy="none")
    fleet.instance("paused", status="stopped")
    fleet.instance("resizing", status="modifying")
    fleet.instance("full", status="storage-full")
    fleet.instance("mystery", policy="platinum")
    fleet.cluster("ledger", member_policy="standard", members=2)
    fleet.cluster("events-aurora", engine="aurora-mysql", status="modifying")
    return fleet


def outcomes(payload: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(item["resource"], item["kind"]): item["outcome"] for item in payload["items"]}


def test_weekly_run_snapshots_protected_databases_only(functions: Functions, mixed_fleet: Fleet) -> None:
    invocation = functions.invoke("SnapshotFunction", schedule(functions, "WeeklySnapshots").event_for(SUNDAY))
    payload = invocation.result()

    assert set(mixed_fleet.manual_snapshots()) == {
        "orders-mysql-weekly-2026-11-22",
        "billing-pg-weekly-2026-11-22",
        "ledger-weekly-2026-11-22",
    }
    result = outcomes(payload)
    assert result[("orders-mysql", "weekly")] == "created"
    assert result[("ledger", "weekly")] == "created"
    assert result[("ledger-1", "weekly")] == "skipped"
    for busy in ("paused", "resizing", "full", "events-aurora"):
        assert result[(busy, "weekly")] == "skipped"
    assert result[("mystery", "*")] == "finding"
    assert not any(resource in ("scratch", "opted-out") for resource, _ in result)
    assert payload["counts"] == {
        "created": 3,
        "already_exists": 0,
        "skipped": 6,
        "failed": 0,
        "finding": 1,
        "planned": 0,
    }
    reasons = {item["resource"]: item.get("reason", "") for item in payload["items"]}
    assert "'stopped'" in reasons["paused"]
    assert "'storage-full'" in reasons["full"]
    assert "platinum" in reasons["mystery"]


def test_snapshots_carry_the_contract_tags(functions: Functions, mixed_fleet: Fleet) -> None:
    functions.invoke("SnapshotFunction", schedule(functions, "WeeklySnapshots").event_for(SUNDAY)).result()
    tags = mixed_fleet.manual_snapshots()
    orders_arn = mixed_fleet.rds.describe_db_instances(DBInstanceIdentifier="orders-mysql")["DBInstances"][0][
        "DBInstanceArn"
    ]
    assert tags["orders-mysql-weekly-2026-11-22"] == {
        "restorable:managed-by": "restorable",
        "restorable:kind": "weekly",
        "restorable:expires-at": "2027-02-20T02:00:00Z",
        "restorable:source": orders_arn,
        "restorable:policy": "standard",
    }
    assert tags["ledger-weekly-2026-11-22"]["restorable:source"].endswith(":cluster:ledger")


def test_rerun_and_duplicate_invocations_create_nothing_new(functions: Functions, mixed_fleet: Fleet) -> None:
    event = schedule(functions, "WeeklySnapshots").event_for(SUNDAY)
    functions.invoke("SnapshotFunction", event).result()
    before = mixed_fleet.manual_snapshots()
    again = functions.invoke("SnapshotFunction", event).result()
    assert mixed_fleet.manual_snapshots() == before
    assert again["counts"]["created"] == 0
    assert again["counts"]["already_exists"] == 3
    # a retry delivered hours late still names the same period
    late = functions.invoke("SnapshotFunction", {**event, "scheduled_time": "2026-11-22T02:00:00Z"}).result()
    assert late["counts"]["created"] == 0


def test_catch_up_takes_the_snapshot_once_the_database_is_free(functions: Functions, mixed_fleet: Fleet) -> None:
    functions.invoke("SnapshotFunction", schedule(functions, "WeeklySnapshots").event_for(SUNDAY)).result()
    mixed_fleet.set_instance_status("resizing", "available")
    catch_up = schedule(functions, "CatchUpSnapshots").event_for(datetime(2026, 11, 22, 5, 30, tzinfo=UTC))
    payload = functions.invoke("SnapshotFunction", catch_up).result()
    created = {item["recovery_point"] for item in payload["items"] if item["outcome"] == "created"}
    # the freed instance gets this week's snapshot; every protected database gets November's monthly
    assert "resizing-weekly-2026-11-22" in created
    assert {"orders-mysql-monthly-2026-11-01", "billing-pg-monthly-2026-11-01", "ledger-monthly-2026-11-01"} <= created
    assert "paused-weekly-2026-11-22" not in created
    assert "resizing-weekly-2026-11-22" in mixed_fleet.manual_snapshots()


def test_monthly_uses_the_schedule_time_for_expiry(
    functions: Functions, mixed_fleet: Fleet, clock: time_machine.Coordinates
) -> None:
    clock.move_to(FIRST + timedelta(minutes=1))
    functions.invoke("SnapshotFunction", schedule(functions, "MonthlySnapshots").event_for(FIRST)).result()
    tags = mixed_fleet.manual_snapshots()
    assert tags["orders-mysql-monthly-2026-12-01"]["restorable:expires-at"] == "2027-12-01T04:00:00Z"
    assert tags["billing-pg-monthly-2026-12-01"]["restorable:expires-at"] == "2033-11-29T04:00:00Z"


def test_metrics_and_logs_report_the_outcomes(functions: Functions, mixed_fleet: Fleet) -> None:
    invocation = functions.invoke("SnapshotFunction", schedule(functions, "WeeklySnapshots").event_for(SUNDAY))
    invocation.result()
    values = invocation.metric_values()
    assert (values["Created"], values["Skipped"], values["Findings"]) == (3, 6, 1)
    assert invocation.metrics[0]["Job"] == "snapshot"
    actions = [log for log in invocation.logs if log.get("message") == "recovery point action"]
    assert {log["resource"] for log in actions if log["outcome"] == "created"} == {
        "orders-mysql",
        "billing-pg",
        "ledger",
    }
    assert all(log["level"] == "WARNING" for log in actions if log["outcome"] == "finding")
    assert all(log["service"] == "snapshot" for log in invocation.logs)


def test_a_rerun_logs_what_it_found_in_the_summary_not_a_line_per_unchanged_point(
    functions: Functions, mixed_fleet: Fleet
) -> None:
    event = schedule(functions, "WeeklySnapshots").event_for(SUNDAY)
    functions.invoke("SnapshotFunction", event).result()
    rerun = functions.invoke("SnapshotFunction", event)
    payload = rerun.result()
    assert payload["counts"]["already_exists"] == 3
    actions = [log for log in rerun.logs if log.get("message") == "recovery point action"]
    assert all(log["outcome"] != "already_exists" for log in actions)
    assert {log["outcome"] for log in actions} == {"skipped", "finding"}  # what still needs a reason is logged
    finished = next(log for log in rerun.logs if log.get("message") == "job finished")
    assert finished["counts"]["already_exists"] == 3


def test_dry_run_plans_without_creating(functions: Functions, mixed_fleet: Fleet) -> None:
    payload = functions.invoke("SnapshotFunction", sample("snapshot-dry-run.json")).result()
    assert payload["dry_run"] is True
    assert payload["counts"]["planned"] == 3
    assert mixed_fleet.manual_snapshots() == {}


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({}, "exactly one of 'kind'"),
        ({"kind": "hourly"}, "unknown scheduled kind(s) 'hourly'; known: daily, monthly, weekly"),
        ({"kind": "predeploy"}, "unknown scheduled kind(s) 'predeploy'"),
        ({"kind": "weekly", "kinds": ["monthly"]}, "exactly one of 'kind'"),
        ({"kinds": []}, "kinds"),
        ({"kind": "weekly", "scheduled_time": "last sunday"}, "scheduled_time"),
        ({"kind": "weekly", "scheduled_time": "2026-11-22T02:00:00"}, "must carry a time zone"),
        ({"kind": "weekly", "surprise": 1}, "surprise: Extra inputs are not permitted"),
        (sample("snapshot-replayed-weeks-late.json"), "days before the clock"),
        ({"kind": "weekly", "scheduled_time": "2190-11-24T02:00:00Z"}, "scheduled_time: Value error, 2190-11-24"),
        ({"kind": "weekly", "scheduled_time": "1971-01-03T02:00:00Z"}, "days before the clock"),
        ({"kind": "weekly", "scheduled_time": "0001-01-01T00:00:00Z"}, "days before the clock"),
        ({"kind": "weekly", "scheduled_time": "0001-01-01T00:00:00+01:00"}, "out of range"),
        ({"kind": "weekly", "scheduled_time": 1795312800}, "scheduled_time: Value error, must be an ISO-8601"),
        ({"kind": "weekly", "scheduled_time": True}, "not bool"),
        ({"kind": "weekly", "dry_run": "n"}, "dry_run: Input should be a valid boolean"),
        ({"kind": "weekly", "dry_run": "false"}, "dry_run: Input should be a valid boolean"),
        ({"kind": "weekly", "dry_run": 1}, "dry_run: Input should be a valid boolean"),
        (["weekly"], "must be a JSON object"),
    ],
)
def test_bad_events_fail_clearly_and_create_nothing(
    functions: Functions, mixed_fleet: Fleet, event: Any, message: str
) -> None:
    invocation = functions.invoke("SnapshotFunction", event)
    assert isinstance(invocation.error, InvalidRequestError)
    assert message in str(invocation.error)
    assert mixed_fleet.manual_snapshots() == {}
    assert any(log["level"] == "ERROR" and "nothing was changed" in log["message"] for log in invocation.logs)


def test_unparsable_policy_document_fails_before_any_snapshot(functions: Functions, mixed_fleet: Fleet) -> None:
    invocation = functions.invoke(
        "SnapshotFunction",
        sample("snapshot-weekly.json"),
        environment={"POLICY_DOCUMENT": '{"version": 1, "policies": '},
    )
    assert isinstance(invocation.error, ConfigurationError)
    assert "policy document is not valid JSON" in str(invocation.error)
    assert mixed_fleet.manual_snapshots() == {}


@pytest.fixture
def failing_creates() -> Iterator[dict[str, str]]:
    """Make CreateDBSnapshot fail for chosen instances with a chosen AWS error code."""
    with errors_by_parameter("CreateDBSnapshot", "DBInstanceIdentifier") as failures:
        yield failures


def test_one_failure_never_stops_the_others(
    functions: Functions, mixed_fleet: Fleet, failing_creates: dict[str, str]
) -> None:
    failing_creates["orders-mysql"] = "SnapshotQuotaExceeded"
    payload = functions.invoke("SnapshotFunction", sample("snapshot-weekly.json")).result()
    result = outcomes(payload)
    assert result[("orders-mysql", "weekly")] == "failed"
    assert result[("billing-pg", "weekly")] == "created"
    assert result[("ledger", "weekly")] == "created"
    [failed] = [i for i in payload["items"] if i["outcome"] == "failed"]
    assert "SnapshotQuotaExceeded" in failed["reason"]
    assert payload["ok"] is False


def test_state_change_between_listing_and_create_is_a_skip(
    functions: Functions, mixed_fleet: Fleet, failing_creates: dict[str, str]
) -> None:
    failing_creates["orders-mysql"] = "InvalidDBInstanceState"
    payload = functions.invoke("SnapshotFunction", sample("snapshot-weekly.json")).result()
    assert outcomes(payload)[("orders-mysql", "weekly")] == "skipped"


def test_concurrent_create_reports_already_exists(
    functions: Functions, mixed_fleet: Fleet, failing_creates: dict[str, str]
) -> None:
    failing_creates["orders-mysql"] = "DBSnapshotAlreadyExists"
    payload = functions.invoke("SnapshotFunction", sample("snapshot-weekly.json")).result()
    assert outcomes(payload)[("orders-mysql", "weekly")] == "already_exists"


def test_many_databases_page_through_the_inventory(functions: Functions, fleet: Fleet) -> None:
    for number in range(230):
        fleet.instance(f"db{number:03d}")
    payload = functions.invoke("SnapshotFunction", sample("snapshot-weekly.json")).result()
    assert payload["counts"]["created"] == 230
    assert len(fleet.manual_snapshots()) == 230
    again = functions.invoke("SnapshotFunction", sample("snapshot-weekly.json")).result()
    assert again["counts"]["already_exists"] == 230


def test_non_utc_time_zone_names_the_local_date(fleet: Fleet, clock: time_machine.Coordinates) -> None:
    clock.move_to(datetime(2026, 11, 30, 15, 31, tzinfo=UTC))
    from local_runtime.template import Template

    tokyo = Functions(
        Template.load(parameter_overrides={"ScheduleTimezone": "Asia/Tokyo", "MonthlySchedule": "cron(30 0 1 * ? *)"})
    )
    fleet.instance("orders-mysql")
    [monthly] = [s for s in tokyo.schedules() if s.name == "MonthlySnapshots"]
    assert monthly.timezone == "Asia/Tokyo"
    payload = tokyo.invoke("SnapshotFunction", monthly.event_for(datetime(2026, 11, 30, 15, 30, tzinfo=UTC))).result()
    assert payload["periods"]["monthly"]["date"] == "2026-12-01"
    assert "orders-mysql-monthly-2026-12-01" in fleet.manual_snapshots()
