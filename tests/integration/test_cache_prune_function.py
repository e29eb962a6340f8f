"""PruneFunction over ElastiCache snapshots, through the template's wiring, on moto (source Region only).

moto keeps no snapshot creation time: each snapshot carries ``restorable:created-at`` as the snapshot
function writes it, and the adapter reads the time from there. The last test simulates a month: the
template's daily snapshot and prune schedules fire every day over caches created and deleted meanwhile.
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
from restorable.naming import format_timestamp
from tests.aws_faults import errors_by_parameter, failing_operation
from tests.cache_fleet import CacheFleet
from tests.conftest import DR_REGION, SOURCE_REGION
from tests.fleet import Fleet

NOW = datetime(2027, 3, 1, 6, 0, tzinfo=UTC)
STACK = "restorable"
GONE_ARN = f"arn:aws:elasticache:{SOURCE_REGION}:123456789012:replicationgroup:retired"


def sample(name: str) -> dict[str, Any]:
    return dict(json.loads((REPO_ROOT / "events" / name).read_text()))


def days_ago(days: float) -> str:
    return format_timestamp(NOW - timedelta(days=days))


def cache_items(payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        i["recovery_point"]: i
        for i in payload["items"]
        if "recovery_point" in i and str(i.get("resource_arn", "")).startswith("arn:aws:elasticache")
    }


@pytest.fixture
def caches(aws: None) -> Iterator[CacheFleet]:
    """The caches and their snapshots; the clock stays at NOW for the test."""
    with time_machine.travel(NOW, tick=False):
        fleet = CacheFleet(SOURCE_REGION)
        fleet.group("sessions")
        fleet.cluster("queue")
        fleet.cluster("carts")
        # sessions: 9 days of daily snapshots: the three oldest expired (days 7 and 8 this morning), one held
        for day in range(9, 0, -1):
            fleet.snapshot(
                f"sessions-daily-{day:02d}",
                group="sessions",
                created_at=days_ago(day),
                expires_at=days_ago(day - 7),
                extra={"restorable:legal-hold": "true"} if day == 9 else None,
            )
        # carts: a week of snapshots, none expired
        for day in range(6, -1, -1):
            fleet.snapshot(
                f"carts-daily-{day:02d}", cluster="carts", created_at=days_ago(day), expires_at=days_ago(day - 7)
            )
        # queue: only expired snapshots: the newest stays
        for day in (12, 11):
            fleet.snapshot(
                f"queue-daily-{day}", cluster="queue", created_at=days_ago(day), expires_at=days_ago(day - 7)
            )
        # a deleted cache's expired snapshots: the newest stays, the cache is reported
        for day in (20, 19):
            fleet.snapshot(
                f"retired-daily-{day}",
                group="sessions",
                source_arn=GONE_ARN,
                created_at=days_ago(day),
                expires_at=days_ago(day - 7),
            )
        fleet.snapshot("hand-made", group="sessions", created_at=days_ago(40), expires_at=None, owner=None)
        fleet.snapshot(
            "other-stack-daily", group="sessions", created_at=days_ago(40), expires_at=days_ago(33), owner="other"
        )
        yield fleet


EXPECTED_DELETED = {"sessions-daily-08", "sessions-daily-07", "queue-daily-12", "retired-daily-20"}


def test_the_prune_deletes_only_expired_unheld_not_newest_snapshots_of_ours(
    functions: Functions, caches: CacheFleet
) -> None:
    before = set(caches.snapshots())
    payload = functions.invoke("PruneFunction", sample("prune-daily.json")).result()
    assert set(caches.snapshots()) == before - EXPECTED_DELETED
    items = cache_items(payload)
    assert {name for name, item in items.items() if item["outcome"] == "deleted"} == EXPECTED_DELETED
    assert items["sessions-daily-09"]["reason"] == "kept: legal-hold"
    summary = payload["regions"][SOURCE_REGION]["engines"]["elasticache"]
    assert summary["deleted"] == 4
    assert summary["kept_by_rule"] == {
        "legal-hold": 1,
        "not-expired": 13,
        "newest-of-its-kind-for-its-source": 2,
        "not-managed-by-this-stack": 2,
    }
    assert summary["orphaned_sources"] == [GONE_ARN]
    [orphan] = [i for i in payload["items"] if i.get("resource_arn") == GONE_ARN and i["outcome"] == "finding"]
    assert "no longer exists" in orphan["reason"]
    # cache snapshots stay in the source Region: the DR Region has no ElastiCache engine
    assert "elasticache" not in payload["regions"][DR_REGION]["engines"]

    again = functions.invoke("PruneFunction", sample("prune-daily.json")).result()
    assert again["counts"]["deleted"] == 0


def test_a_dry_run_plans_the_cache_deletions_and_deletes_nothing(functions: Functions, caches: CacheFleet) -> None:
    before = caches.snapshots()
    payload = functions.invoke("PruneFunction", sample("prune-dry-run.json")).result()
    assert caches.snapshots() == before
    items = cache_items(payload)
    assert {name for name, item in items.items() if item["outcome"] == "planned"} == EXPECTED_DELETED
    assert items["queue-daily-11"]["reason"] == "kept: newest-of-its-kind-for-its-source"


def test_the_circuit_breaker_counts_cache_snapshots_on_their_own(functions: Functions, caches: CacheFleet) -> None:
    """Four of 20 managed cache snapshots is within the default 20% share, over 15% (3): nothing of the engine
    is deleted, and the other engines prune on their own."""
    payload = functions.invoke("PruneFunction", sample("prune-daily.json"), {"PRUNE_MAX_SHARE_PERCENT": "15"}).result()
    summary = payload["regions"][SOURCE_REGION]["engines"]["elasticache"]
    assert summary["breaker_tripped"] is True
    assert summary["managed_total"] == 20
    assert "would delete 4 of 20" in summary["breaker_reason"]
    assert not any(item["outcome"] == "deleted" for item in cache_items(payload).values())
    assert set(caches.snapshots()) >= EXPECTED_DELETED
    assert payload["regions"][SOURCE_REGION]["engines"]["rds"]["breaker_tripped"] is False


def test_a_refused_delete_is_reported_and_the_others_go_on(functions: Functions, caches: CacheFleet) -> None:
    with errors_by_parameter("DeleteSnapshot", "SnapshotName", service="elasticache") as failures:
        failures["queue-daily-12"] = "InvalidSnapshotState"
        payload = functions.invoke("PruneFunction", sample("prune-daily.json")).result()
    items = cache_items(payload)
    assert items["queue-daily-12"]["outcome"] == "failed"
    assert "queue-daily-12" in caches.snapshots()
    assert {name for name, item in items.items() if item["outcome"] == "deleted"} == EXPECTED_DELETED - {
        "queue-daily-12"
    }


def test_an_unreadable_cache_inventory_deletes_nothing_anywhere(functions: Functions, caches: CacheFleet) -> None:
    """Fail closed: without knowing which caches exist, no engine prunes (a cache would look deleted)."""
    before = caches.snapshots()
    with failing_operation("elasticache", "DescribeReplicationGroups", "AccessDenied"):
        invocation = functions.invoke("PruneFunction", sample("prune-daily.json"))
    assert invocation.error is not None
    assert caches.snapshots() == before


# ---- a simulated month


def test_a_month_of_daily_snapshots_and_prunes(functions: Functions, fleet: Fleet) -> None:
    """sessions lives all month, late is created on the 10th, short-lived is deleted on the 20th. Every
    day the template's schedules fire: the daily snapshot at 03:00, the prune at 06:00."""
    start = datetime(2027, 1, 1, tzinfo=UTC)
    [daily] = [s for s in functions.schedules() if s.name == "DailySnapshots"]
    [prune] = [s for s in functions.schedules() if s.name == "DailyPrune"]
    with time_machine.travel(start, tick=False) as clock:
        caches = CacheFleet(SOURCE_REGION)
        caches.group("sessions")
        caches.group("short-lived")
        counts: dict[int, int] = {}
        for day in range(1, 32):
            if day == 10:
                caches.group("late")
            if day == 20:
                caches.delete_group("short-lived")
            snapshot_at = datetime(2027, 1, day, 3, 0, tzinfo=UTC)
            clock.move_to(snapshot_at + timedelta(minutes=1))
            made = functions.invoke("SnapshotFunction", daily.event_for(snapshot_at)).result()
            assert made["counts"]["failed"] == 0, made
            prune_at = datetime(2027, 1, day, 6, 0, tzinfo=UTC)
            clock.move_to(prune_at + timedelta(minutes=1))
            pruned = functions.invoke("PruneFunction", prune.event_for(prune_at)).result()
            assert pruned["counts"]["failed"] == 0, pruned
            elasticache = pruned["regions"][SOURCE_REGION]["engines"]["elasticache"]
            assert elasticache["breaker_tripped"] is False, elasticache
            counts[day] = elasticache["deleted"]
        names = set(caches.snapshots())

    def days_of(cache: str) -> set[int]:
        return {int(n.rsplit("-", 1)[1]) for n in names if n.startswith(f"{cache}-daily-2027-01-")}

    # a snapshot expires 7 days after its 03:00: the prune at 06:00 that day deletes it
    assert days_of("sessions") == set(range(25, 32))
    assert days_of("late") == set(range(25, 32))
    assert days_of("short-lived") == {19}  # deleted on the 20th before 03:00: its newest is kept
    assert sum(counts.values()) == (31 - 7) + (31 - 9 - 7) + (19 - 1)
    assert counts[7] == 0
    assert counts[8] == 2
