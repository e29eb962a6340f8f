"""A simulated year of the template's schedules for DynamoDB tables on moto: exactly what the policy wants survives.

The weekly and monthly snapshot schedules and the prune fire at every firing their crons give
(``CronSchedule.next_fire_after``), with the clock frozen at each (time-machine; moto stamps
backups with that clock). The hourly catch-up is thinned: it fires once at the start, once after
a table joins, and at its first firing after each weekly firing (a rerun that must find the
week's backup). Meanwhile a table joins, one is deleted, and one loses its policy tag.

Only state moto keeps honestly is asserted: which backups exist (listed without filters, which
moto ignores), their names and creation times.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine

from local_runtime.functions import Functions, ScheduleSpec
from local_runtime.template import Template
from restorable.dynamodb_backup_names import parse_backup_name, scheduled_backup_name
from restorable.policy import default_policy_text, parse_policy_document
from restorable.schedule import CronSchedule
from tests.conftest import SOURCE_REGION
from tests.integration.test_dynamodb_engine import STACK, Tables
from tests.integration.test_simulated_year import END, START, fire_times

WEEKLY_DAYS = parse_policy_document(default_policy_text()).policies["standard"].snapshots["weekly"].retention_days
JOINED_AT = START + timedelta(days=120, hours=10)  # a Thursday: the catch-up takes the week in progress
LEFT_AT = START + timedelta(days=150, hours=12)
UNTAGGED_AT = START + timedelta(days=180, hours=12)
# table -> (protected from, protected until): the times its weekly backups are taken in between
PROTECTED = {
    "orders": (START, END),
    "sessions": (JOINED_AT, END),
    "retired": (START, LEFT_AT),
    "archive": (START, UNTAGGED_AT),
}
FOREIGN = {"orders-before-migration": "orders", "scratch-by-another-tool": "scratch"}


def by_name(functions: Functions) -> dict[str, ScheduleSpec]:
    schedules = {s.name: s for s in functions.schedules()}
    assert set(schedules) >= {"WeeklySnapshots", "MonthlySnapshots", "CatchUpSnapshots", "DailyPrune"}
    return schedules


def firings(functions: Functions) -> list[tuple[datetime, ScheduleSpec]]:
    schedules = by_name(functions)
    planned: list[tuple[datetime, ScheduleSpec]] = []
    for name in ("WeeklySnapshots", "MonthlySnapshots", "DailyPrune"):
        planned += [(when, schedules[name]) for when in fire_times(schedules[name], START, END)]
    catch_up = schedules["CatchUpSnapshots"]
    cron = CronSchedule.parse(catch_up.expression, catch_up.timezone)
    after = [START, JOINED_AT] + [when for when, s in planned if s.name == "WeeklySnapshots"]
    planned += [(cron.next_fire_after(moment), catch_up) for moment in after]
    return sorted(set(planned), key=lambda p: (p[0], p[1].name))


def weekly_periods(functions: Functions, table: str) -> list[datetime]:
    """The weekly periods a table is backed up for: the one in progress when it is first seen, then every firing."""
    weekly = by_name(functions)["WeeklySnapshots"]
    cron = CronSchedule.parse(weekly.expression, weekly.timezone)
    since, until = PROTECTED[table]
    return [cron.last_fire_at_or_before(since), *fire_times(weekly, since, until)]


def backup_name(functions: Functions, table: str, period: datetime) -> str:
    weekly = by_name(functions)["WeeklySnapshots"]
    period_date = CronSchedule.parse(weekly.expression, weekly.timezone).local_date(period)
    return scheduled_backup_name(
        stack_name=STACK,
        table_name=table,
        kind="weekly",
        period_date=period_date,
        expires_at=period + timedelta(days=WEEKLY_DAYS),
    )


def expected_backups(functions: Functions, last_prune: datetime) -> set[str]:
    """What the policy wants at the end: the unexpired weekly backups of each table we ever protected,
    the newest of each whatever its age, and the foreign backups untouched."""
    wanted = set(FOREIGN)
    for table in PROTECTED:
        periods = weekly_periods(functions, table)
        keep = [p for p in periods if p + timedelta(days=WEEKLY_DAYS) > last_prune] + [periods[-1]]
        wanted |= {backup_name(functions, table, p) for p in keep}
    return wanted


@pytest.fixture
def tables(aws: None) -> Tables:
    return Tables()


@pytest.mark.slow
def test_a_year_of_schedules_leaves_exactly_the_backups_the_policy_wants(tables: Tables) -> None:
    functions = Functions(Template.load(region=SOURCE_REGION))
    outcomes: Counter[str] = Counter()
    ever_made: set[str] = set()
    early_deletions: list[tuple[datetime, str]] = []
    orphans_reported: set[str] = set()
    findings: set[str] = set()
    with time_machine.travel(START - timedelta(days=30), tick=False) as clock:
        tables.holds_table()
        for table in ("orders", "retired", "archive"):
            tables.table(table)
        tables.table("scratch", policy=None)
        for name, table in FOREIGN.items():
            tables.backup(table, name)
        archive_arn = tables.client.describe_table(TableName="archive")["Table"]["TableArn"]
        changes = [
            (JOINED_AT, lambda: tables.table("sessions")),
            (LEFT_AT, lambda: tables.client.delete_table(TableName="retired")),
            (UNTAGGED_AT, lambda: tables.client.untag_resource(ResourceArn=archive_arn, TagKeys=["restorable:policy"])),
        ]
        schedule_runs = firings(functions)
        last_prune = max(when for when, s in schedule_runs if s.function == "PruneFunction")
        for when, schedule in schedule_runs:
            while changes and changes[0][0] <= when:
                change_at, change = changes.pop(0)
                clock.move_to(change_at)
                change()
            clock.move_to(when)
            before = tables.backups()
            payload: dict[str, Any] = functions.invoke(schedule.function, schedule.event_for(when)).result()
            after = tables.backups()
            ever_made |= set(after)
            outcomes.update({f"{schedule.function}:{k}": v for k, v in payload["counts"].items() if v})
            if schedule.function != "PruneFunction":
                assert set(before) <= set(after), when
                continue
            gone = set(before) - set(after)
            reported = {i["recovery_point"] for i in payload["items"] if i["outcome"] == "deleted"}
            assert reported == gone, when
            for name in gone:
                parsed = parse_backup_name(name, STACK)
                if parsed is None or parsed.expires_at > when:
                    early_deletions.append((when, name))
            dynamodb = payload["regions"][SOURCE_REGION]["engines"]["dynamodb"]
            orphans_reported |= {arn.rsplit("/", 1)[-1] for arn in dynamodb["orphaned_sources"]}
            findings |= {i["resource"] for i in payload["items"] if i["outcome"] == "finding"}
            assert dynamodb["breaker_tripped"] is False, when

    assert outcomes["SnapshotFunction:failed"] == 0
    assert outcomes["PruneFunction:failed"] == 0
    assert early_deletions == []
    assert orphans_reported == {"retired"}
    assert findings == {"table/retired"}  # the only finding of the year: the deleted table, kept and reported

    survivors = tables.backups()
    assert set(survivors) == expected_backups(functions, last_prune)
    # every backup ever taken is one of the policy's (one per protected week, none for an untagged table)
    taken = {backup_name(functions, table, p) for table in PROTECTED for p in weekly_periods(functions, table)}
    assert ever_made == taken | set(FOREIGN)
    assert outcomes["PruneFunction:deleted"] == len(taken) - len(set(survivors) - set(FOREIGN))

    # at most one backup per table and weekly period, and none before a table joined or after it left
    parsed = {name: parse_backup_name(name, STACK) for name in ever_made - set(FOREIGN)}
    per_period = Counter((p.table_head, p.period) for p in parsed.values() if p is not None)
    assert None not in parsed.values()
    assert set(per_period.values()) == {1}
    assert not [name for name in ever_made if name.endswith(".scratch")]
    newest = {table: backup_name(functions, table, weekly_periods(functions, table)[-1]) for table in PROTECTED}
    for table in ("retired", "archive"):
        mine = {name for name, p in parsed.items() if p is not None and p.table_head == table}
        assert mine & set(survivors) == {newest[table]}, table  # expired long ago, kept as the newest
    # about 90 days of Sundays for the tables protected to the end
    for table in ("orders", "sessions"):
        kept = [name for name in survivors if name.endswith(f".{table}")]
        assert 12 <= len(kept) <= 14, table
