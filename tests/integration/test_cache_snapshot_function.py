"""SnapshotFunction's daily run over ElastiCache caches, through the template's wiring, on moto.

moto accepts snapshots of Memcached clusters (AWS refuses them): the finding asserted here comes from
the planner, before any call. moto makes every cache ``available``: busy states are set on its model.
moto has no serverless caches (their listings answer empty); the serverless calls are covered on
Stubber in test_elasticache_points.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from local_runtime.functions import Functions
from local_runtime.template import REPO_ROOT
from restorable.errors import InvalidRequestError
from tests.aws_faults import errors_by_parameter, recorded_calls
from tests.cache_fleet import CacheFleet
from tests.conftest import SOURCE_REGION
from tests.fleet import Fleet

DAY = datetime(2026, 12, 8, 3, 0, tzinfo=UTC)
STACK = "restorable"


def sample(name: str) -> dict[str, Any]:
    return dict(json.loads((REPO_ROOT / "events" / name).read_text()))


def schedule(functions: Functions, name: str) -> Any:
    [found] = [s for s in functions.schedules() if s.name == name]
    return found


@pytest.fixture(autouse=True)
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(DAY + timedelta(minutes=2), tick=False) as traveller:
        yield traveller


@pytest.fixture
def caches(fleet: Fleet) -> CacheFleet:
    """A database beside the caches: it has no daily kind (its automated backups are its daily recovery)."""
    fleet.instance("orders-mysql")
    caches = CacheFleet(SOURCE_REGION)
    caches.group("sessions")
    caches.group("carts", shards=2)  # cluster mode enabled: snapshotted as a group
    caches.cluster("queue")
    caches.cluster("pages", engine="memcached")
    caches.cluster("scratch", policy=None)
    caches.cluster("opted-out", policy="none")
    caches.cluster("mystery", policy="platinum")
    return caches


def outcomes(payload: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(item["resource"], item["kind"]): item["outcome"] for item in payload["items"]}


def reasons(payload: dict[str, Any]) -> dict[str, str]:
    return {item["resource"]: item.get("reason", "") for item in payload["items"]}


def test_the_daily_run_snapshots_protected_caches_with_the_contract(functions: Functions, caches: CacheFleet) -> None:
    event = sample("snapshot-daily.json")
    assert event == schedule(functions, "DailySnapshots").event_for(DAY)
    payload = functions.invoke("SnapshotFunction", event).result()

    assert set(caches.snapshots()) == {"sessions-daily-2026-12-08", "carts-daily-2026-12-08", "queue-daily-2026-12-08"}
    sources = caches.snapshot_sources()
    assert sources["carts-daily-2026-12-08"] == ("carts", None)  # at group level, not a shard's node
    assert sources["queue-daily-2026-12-08"] == (None, "queue")
    tags = caches.snapshots()["sessions-daily-2026-12-08"]
    assert tags == {
        "restorable:managed-by": STACK,
        "restorable:kind": "daily",
        "restorable:expires-at": "2026-12-15T03:00:00Z",
        "restorable:source": f"arn:aws:elasticache:{SOURCE_REGION}:123456789012:replicationgroup:sessions",
        "restorable:policy": "standard",
        "restorable:created-at": "2026-12-08T03:02:00Z",
    }
    result = outcomes(payload)
    assert result[("pages", "daily")] == "finding"
    assert "Memcached clusters cannot be snapshotted" in reasons(payload)["pages"]
    assert result[("mystery", "*")] == "finding"
    assert not any(resource in ("scratch", "opted-out", "orders-mysql") for resource, _ in result)
    assert payload["counts"] == {
        "created": 3,
        "already_exists": 0,
        "skipped": 0,
        "failed": 0,
        "finding": 2,
        "planned": 0,
    }


def test_a_memcached_cluster_is_never_sent_a_create(functions: Functions, caches: CacheFleet) -> None:
    with recorded_calls() as calls:
        functions.invoke("SnapshotFunction", sample("snapshot-daily.json")).result()
    creates = [c for c in calls if c.operation == "CreateSnapshot"]
    assert len(creates) == 3
    assert "pages-daily-2026-12-08" not in caches.snapshots()  # moto would have accepted it


def test_a_busy_cache_is_skipped_with_its_state_and_the_catch_up_run_takes_it_later(
    functions: Functions, caches: CacheFleet, clock: time_machine.Coordinates
) -> None:
    caches.set_group_status("sessions", "modifying")
    caches.set_cluster_status("queue", "snapshotting")
    payload = functions.invoke("SnapshotFunction", sample("snapshot-daily.json")).result()
    result, why = outcomes(payload), reasons(payload)
    assert (result[("sessions", "daily")], result[("queue", "daily")]) == ("skipped", "skipped")
    assert "'modifying'" in why["sessions"]
    assert "'snapshotting'" in why["queue"]
    assert set(caches.snapshots()) == {"carts-daily-2026-12-08"}

    caches.set_group_status("sessions", "available")
    caches.set_cluster_status("queue", "available")
    catch_up_at = DAY.replace(hour=5, minute=30)
    clock.move_to(catch_up_at + timedelta(minutes=1))
    again = functions.invoke("SnapshotFunction", schedule(functions, "CatchUpSnapshots").event_for(catch_up_at))
    caught = outcomes(again.result())
    assert (caught[("sessions", "daily")], caught[("queue", "daily")]) == ("created", "created")
    assert caught[("carts", "daily")] == "already_exists"
    assert set(caches.snapshots()) == {
        "sessions-daily-2026-12-08",
        "carts-daily-2026-12-08",
        "queue-daily-2026-12-08",
    }


def test_a_cache_refusing_the_snapshot_as_busy_is_skipped_and_the_others_go_on(
    functions: Functions, caches: CacheFleet
) -> None:
    with errors_by_parameter("CreateSnapshot", "SnapshotName", service="elasticache") as failures:
        failures["sessions-daily-2026-12-08"] = "InvalidReplicationGroupState"
        failures["queue-daily-2026-12-08"] = "SnapshotQuotaExceededFault"
        payload = functions.invoke("SnapshotFunction", sample("snapshot-daily.json")).result()
    result = outcomes(payload)
    assert result[("sessions", "daily")] == "skipped"
    assert "a later run takes the snapshot" in reasons(payload)["sessions"]
    assert result[("queue", "daily")] == "failed"
    assert result[("carts", "daily")] == "created"


def test_the_weekly_run_takes_no_cache_snapshot(functions: Functions, caches: CacheFleet) -> None:
    sunday = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)
    with time_machine.travel(sunday + timedelta(minutes=1), tick=False):
        payload = functions.invoke(
            "SnapshotFunction", schedule(functions, "WeeklySnapshots").event_for(sunday)
        ).result()
    assert caches.snapshots() == {}
    assert outcomes(payload)[("orders-mysql", "weekly")] == "created"


def test_an_engine_with_nothing_to_plan_is_not_read(functions: Functions, caches: CacheFleet) -> None:
    """A weekly run reads no cache (caches have no weekly kind); a daily run reads no database or table."""
    sunday = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)
    with time_machine.travel(sunday + timedelta(minutes=1), tick=False), recorded_calls() as weekly:
        functions.invoke("SnapshotFunction", schedule(functions, "WeeklySnapshots").event_for(sunday)).result()
    assert {c.service for c in weekly} == {"rds", "dynamodb"}
    with recorded_calls() as daily:
        functions.invoke("SnapshotFunction", sample("snapshot-daily.json")).result()
    assert {c.service for c in daily} == {"elasticache"}


def test_a_rerun_creates_nothing_new(functions: Functions, caches: CacheFleet) -> None:
    functions.invoke("SnapshotFunction", sample("snapshot-daily.json")).result()
    before = caches.snapshots()
    again = functions.invoke("SnapshotFunction", sample("snapshot-daily.json")).result()
    assert caches.snapshots() == before
    assert (again["counts"]["created"], again["counts"]["already_exists"]) == (0, 3)


def test_a_snapshot_name_taken_by_another_owner_is_a_finding(functions: Functions, caches: CacheFleet) -> None:
    caches.client.create_snapshot(SnapshotName="sessions-daily-2026-12-08", ReplicationGroupId="sessions")
    payload = functions.invoke("SnapshotFunction", sample("snapshot-daily.json")).result()
    assert outcomes(payload)[("sessions", "daily")] == "finding"
    assert caches.snapshots()["sessions-daily-2026-12-08"] == {}  # left alone: not tagged as ours


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"kinds": ["daily", "hourly"]}, "unknown scheduled kind(s) 'hourly'; known: daily, monthly, weekly"),
        ({"kind": "Daily"}, "unknown scheduled kind(s) 'Daily'"),
        ({"kind": "daily", "dry_run": "yes"}, "dry_run: Input should be a valid boolean"),
    ],
)
def test_a_bad_daily_request_is_rejected_and_creates_nothing(
    functions: Functions, caches: CacheFleet, event: dict[str, Any], message: str
) -> None:
    invocation = functions.invoke("SnapshotFunction", event)
    assert isinstance(invocation.error, InvalidRequestError)
    assert message in str(invocation.error)
    assert caches.snapshots() == {}


def test_a_dry_run_plans_the_cache_snapshots_without_creating(functions: Functions, caches: CacheFleet) -> None:
    payload = functions.invoke("SnapshotFunction", {**sample("snapshot-daily.json"), "dry_run": True}).result()
    assert payload["counts"]["planned"] == 3
    assert caches.snapshots() == {}
