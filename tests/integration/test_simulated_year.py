"""A simulated year of the template's schedules on moto, in two Regions: exactly what the policy wants survives.

Every schedule the template declares is fired in time order (``CronSchedule.next_fire_after``,
as ``python -m local_runtime`` does) with the clock frozen at each firing (time-machine;
moto stamps snapshots with that clock). To keep the test fast the two hourly schedules are
thinned: the catch-up fires once at the start, and the copy reconcile fires at its first
firing after each weekly/monthly snapshot firing. Weekly, monthly and the daily prune fire
every time.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import time_machine

from local_runtime.functions import Functions, ScheduleSpec
from local_runtime.template import Template
from restorable.naming import parse_timestamp, scheduled_snapshot_id
from restorable.policy import default_policy_text, parse_policy_document
from restorable.schedule import CronSchedule
from tests.conftest import DR_REGION, SOURCE_REGION
from tests.fleet import Fleet

START = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
END = START + timedelta(days=365)
RETIRED_AT = START + timedelta(days=100, hours=12)
POLICIES = parse_policy_document(default_policy_text())
DATABASES = {"orders-mysql": "standard", "ledger": "compliance", "retired-pg": "standard"}
SNAPSHOT_SCHEDULES = ("WeeklySnapshots", "MonthlySnapshots")
PRUNE_TWICE_A_WEEK = "cron(0 6 ? * MON,THU *)"


def fire_times(schedule: ScheduleSpec, start: datetime, end: datetime) -> list[datetime]:
    cron = CronSchedule.parse(schedule.expression, schedule.timezone)
    times, moment = [], start
    while (moment := cron.next_fire_after(moment)) < end:
        times.append(moment)
    return times


def firings(functions: Functions) -> list[tuple[datetime, ScheduleSpec]]:
    by_name = {s.name: s for s in functions.schedules()}
    assert set(by_name) >= {"WeeklySnapshots", "MonthlySnapshots", "CatchUpSnapshots", "CopyReconcile", "DailyPrune"}
    planned: list[tuple[datetime, ScheduleSpec]] = []
    for name in (*SNAPSHOT_SCHEDULES, "DailyPrune"):
        planned += [(when, by_name[name]) for when in fire_times(by_name[name], START, END)]
    planned.append((fire_times(by_name["CatchUpSnapshots"], START, END)[0], by_name["CatchUpSnapshots"]))
    reconcile = CronSchedule.parse(by_name["CopyReconcile"].expression, by_name["CopyReconcile"].timezone)
    for when, _ in [p for p in planned if p[1].name in (*SNAPSHOT_SCHEDULES, "CatchUpSnapshots")]:
        planned.append((reconcile.next_fire_after(when), by_name["CopyReconcile"]))
    return sorted(set(planned), key=lambda p: (p[0], p[1].name))


def expected_snapshots(functions: Functions, last_prune: datetime) -> dict[str, set[str]]:
    """Per database: the identifiers the policy wants at the end, computed from the schedules alone."""
    by_name = {s.name: s for s in functions.schedules()}
    wanted: dict[str, set[str]] = {}
    for database, policy_name in DATABASES.items():
        ends = RETIRED_AT if database == "retired-pg" else END
        ids: set[str] = set()
        for kind, schedule_name in (("weekly", "WeeklySnapshots"), ("monthly", "MonthlySnapshots")):
            schedule = by_name[schedule_name]
            cron = CronSchedule.parse(schedule.expression, schedule.timezone)
            # the catch-up at the start takes the period in progress; the schedule takes the rest
            periods = [cron.last_fire_at_or_before(START), *fire_times(schedule, START, ends)]
            retention = timedelta(days=POLICIES.policies[policy_name].snapshots[kind].retention_days)
            keep = [p for p in periods if p + retention > last_prune] or []
            keep.append(periods[-1])  # the newest of its kind always stays
            ids |= {scheduled_snapshot_id(database, kind, cron.local_date(p)) for p in keep}
        wanted[database] = ids
    return wanted


@pytest.mark.slow
def test_a_year_of_schedules_leaves_exactly_what_the_policy_wants(fleet: Fleet) -> None:
    functions = Functions(Template.load(parameter_overrides={"PruneSchedule": PRUNE_TWICE_A_WEEK}))
    dr = Fleet(boto3.client("rds", region_name=DR_REGION))
    outcomes: Counter[str] = Counter()
    held = "orders-mysql-weekly-2026-10-25"
    with time_machine.travel(START - timedelta(days=30), tick=False) as clock:
        fleet.instance("orders-mysql")
        fleet.cluster("ledger", policy="compliance")
        fleet.instance("retired-pg", engine="postgres")
        fleet.instance("orders-mysql-tools", policy=None)
        fleet.rds.create_db_snapshot(DBSnapshotIdentifier="hand-made", DBInstanceIdentifier="orders-mysql-tools")
        schedule_runs = firings(functions)
        last_prune = max(when for when, s in schedule_runs if s.name == "DailyPrune")
        retired = False
        for when, schedule in schedule_runs:
            if not retired and when >= RETIRED_AT:
                clock.move_to(RETIRED_AT)
                fleet.rds.delete_db_instance(DBInstanceIdentifier="retired-pg", SkipFinalSnapshot=True)
                retired = True
            clock.move_to(when)
            invocation = functions.invoke(schedule.function, schedule.event_for(when))
            payload: dict[str, Any] = invocation.result()
            outcomes.update({f"{schedule.function}:{k}": v for k, v in payload["counts"].items() if v})
            if schedule.name == "CatchUpSnapshots":
                # a person puts a legal hold on the first weekly snapshot before it is copied
                arn = fleet.rds.describe_db_snapshots(DBSnapshotIdentifier=held)["DBSnapshots"][0]["DBSnapshotArn"]
                fleet.rds.add_tags_to_resource(
                    ResourceName=arn, Tags=[{"Key": "restorable:legal-hold", "Value": "true"}]
                )

    assert outcomes["SnapshotFunction:failed"] == 0
    assert outcomes["CopyFunction:failed"] == 0
    assert outcomes["PruneFunction:failed"] == 0
    assert outcomes["PruneFunction:deleted"] > 100

    wanted = expected_snapshots(functions, last_prune)
    expected = set().union(*wanted.values()) | {held, "hand-made"}
    for region, inventory in ((SOURCE_REGION, fleet), (DR_REGION, dr)):
        survivors = inventory.manual_snapshots()
        expected_here = expected if region == SOURCE_REGION else expected - {"hand-made"}
        assert set(survivors) == expected_here, region
        per_kind = Counter(
            (tags["restorable:source"].rsplit(":", 1)[-1], tags["restorable:kind"])
            for name, tags in survivors.items()
            if name not in (held, "hand-made")
        )
        expected_counts = Counter(
            (database, kind)
            for database, ids in wanted.items()
            for i in ids
            for kind in ("weekly", "monthly")
            if f"-{kind}-" in i
        )
        expected_counts[("orders-mysql", "weekly")] -= held in wanted["orders-mysql"]
        assert per_kind == expected_counts, region
        # ~90 days of Sundays plus the days since the last prune; a year of monthlies; the compliance
        # policy keeps every monthly; a deleted database keeps only the newest weekly
        assert 12 <= per_kind[("orders-mysql", "weekly")] <= 14
        assert 12 <= per_kind[("orders-mysql", "monthly")] <= 13
        assert per_kind[("ledger", "monthly")] == 13
        assert per_kind[("retired-pg", "weekly")] == 1
        for name, tags in survivors.items():
            if name in ("hand-made", held):
                continue
            assert tags["restorable:managed-by"] == "restorable"
            expires = parse_timestamp(tags["restorable:expires-at"])
            assert expires is not None
            newest = max(
                (
                    n
                    for n, t in survivors.items()
                    if t.get("restorable:source") == tags["restorable:source"]
                    and t.get("restorable:kind") == tags["restorable:kind"]
                    and n != held
                ),
            )
            assert expires > last_prune or name == newest, (region, name)
        assert survivors[held]["restorable:legal-hold"] == "true"
        # the DR copies carry the same tags as the originals
    source_tags = fleet.manual_snapshots()
    for name, tags in dr.manual_snapshots().items():
        assert tags == {k: v for k, v in source_tags[name].items() if k != "restorable:copy-attempts"}
