from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from aws_cron_expression_validator.validator import AWSCronExpressionValidator
from hypothesis import example, given, settings
from hypothesis import strategies as st

from restorable.errors import ScheduleError
from restorable.schedule import CronSchedule

WEEKLY = "cron(0 2 ? * SUN *)"
MONTHLY = "cron(0 4 1 * ? *)"


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (at(2026, 11, 22, 2, 0), at(2026, 11, 22, 2, 0)),  # exactly the fire time
        (at(2026, 11, 22, 1, 59), at(2026, 11, 15, 2, 0)),  # a minute before: last week's
        (at(2026, 11, 28, 23, 0), at(2026, 11, 22, 2, 0)),
        (at(2027, 1, 1, 0, 0), at(2026, 12, 27, 2, 0)),  # across the year end
    ],
)
def test_weekly_last_fire(moment: datetime, expected: datetime) -> None:
    assert CronSchedule.parse(WEEKLY).last_fire_at_or_before(moment) == expected


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (at(2026, 3, 1, 3, 59), at(2026, 2, 1, 4, 0)),
        (at(2026, 3, 1, 4, 0), at(2026, 3, 1, 4, 0)),
        (at(2026, 1, 15), at(2026, 1, 1, 4, 0)),
        (at(2026, 1, 1, 0, 0), at(2025, 12, 1, 4, 0)),
    ],
)
def test_monthly_last_fire(moment: datetime, expected: datetime) -> None:
    assert CronSchedule.parse(MONTHLY).last_fire_at_or_before(moment) == expected


def test_last_day_of_month_handles_month_ends_and_leap_years() -> None:
    schedule = CronSchedule.parse("cron(0 4 L * ? *)")
    assert schedule.last_fire_at_or_before(at(2024, 3, 15)) == at(2024, 2, 29, 4, 0)
    assert schedule.last_fire_at_or_before(at(2026, 3, 15)) == at(2026, 2, 28, 4, 0)
    assert schedule.last_fire_at_or_before(at(2026, 5, 1)) == at(2026, 4, 30, 4, 0)
    assert schedule.last_fire_at_or_before(at(2026, 8, 1)) == at(2026, 7, 31, 4, 0)


def test_day_31_fires_only_in_long_months() -> None:
    schedule = CronSchedule.parse("cron(0 0 31 * ? *)")
    assert schedule.last_fire_at_or_before(at(2026, 5, 1)) == at(2026, 3, 31)


def test_leap_day_schedule_waits_four_years() -> None:
    schedule = CronSchedule.parse("cron(0 0 29 2 ? *)")
    assert schedule.last_fire_at_or_before(at(2027, 6, 1)) == at(2024, 2, 29)
    assert schedule.last_fire_at_or_before(at(2028, 3, 1)) == at(2028, 2, 29)


def test_non_utc_zone_fires_on_local_wall_clock_across_dst() -> None:
    schedule = CronSchedule.parse(WEEKLY, "America/New_York")
    # Sunday 02:00 EST (UTC-5) in November, EDT (UTC-4) in October.
    assert schedule.last_fire_at_or_before(at(2026, 11, 22, 12)) == at(2026, 11, 22, 7, 0)
    assert schedule.last_fire_at_or_before(at(2026, 10, 25, 12)) == at(2026, 10, 25, 6, 0)


def test_daylight_saving_gap_skips_the_firing_and_repeated_hour_fires_once() -> None:
    schedule = CronSchedule.parse("cron(30 2 ? * SUN *)", "Europe/Berlin")
    # 2026-03-29 02:30 does not exist in Berlin: that Sunday is skipped.
    assert schedule.last_fire_at_or_before(at(2026, 3, 29, 12)) == at(2026, 3, 22, 1, 30)
    assert schedule.next_fire_after(at(2026, 3, 23)) == at(2026, 4, 5, 0, 30)
    # 2026-10-25 02:30 happens twice: the first one (CEST, UTC+2) counts.
    assert schedule.last_fire_at_or_before(at(2026, 10, 25, 12)) == at(2026, 10, 25, 0, 30)


def test_non_utc_zone_period_date_is_the_local_date() -> None:
    schedule = CronSchedule.parse("cron(30 0 1 * ? *)", "Asia/Tokyo")  # 00:30 JST on the 1st = 15:30 UTC the day before
    fired = schedule.last_fire_at_or_before(at(2026, 12, 10))
    assert fired == at(2026, 11, 30, 15, 30)
    assert schedule.local_date(fired) == date(2026, 12, 1)


@pytest.mark.parametrize(
    ("expression", "moment", "expected"),
    [
        ("cron(0 9 ? * 2#1 *)", at(2026, 11, 22), at(2026, 11, 2, 9)),  # first Monday
        ("cron(0 9 ? * 6L *)", at(2026, 11, 22), at(2026, 10, 30, 9)),  # last Friday
        ("cron(0 9 15W * ? *)", at(2026, 11, 22), at(2026, 11, 16, 9)),  # 15th is a Sunday
        ("cron(0 9 LW * ? *)", at(2026, 6, 1), at(2026, 5, 29, 9)),  # May 31 2026 is a Sunday
        ("cron(0/15 8-10 ? * MON-FRI *)", at(2026, 11, 21, 12), at(2026, 11, 20, 10, 45)),
        ("cron(0 4 1 JAN,JUL ? *)", at(2026, 11, 22), at(2026, 7, 1, 4)),
    ],
)
def test_extended_fields(expression: str, moment: datetime, expected: datetime) -> None:
    assert CronSchedule.parse(expression).last_fire_at_or_before(moment) == expected


@pytest.mark.parametrize(
    "expression",
    [
        "0 2 ? * SUN *",  # not wrapped in cron()
        "cron(0 2 * * SUN *)",  # both day fields set
        "cron(0 2 ? * ? *)",  # neither day field set
        "cron(0 2 ? * SUN)",  # five fields
        "cron(61 2 ? * SUN *)",
        "cron(0 24 ? * SUN *)",
        "cron(0 2 ? * 8 *)",
        "cron(0 2 ? * FUNDAY *)",
        "cron(0 2 32 * ? *)",
        "cron(0 2 1 13 ? *)",
        "cron(0 2 1 * ? 1969)",
        "cron(0/0 2 1 * ? *)",
        "rate(1 day)",
    ],
)
def test_invalid_expressions_are_rejected(expression: str) -> None:
    with pytest.raises(ScheduleError):
        CronSchedule.parse(expression)


def test_unknown_time_zone_is_rejected() -> None:
    with pytest.raises(ScheduleError, match="unknown time zone 'Mars/Olympus'"):
        CronSchedule.parse(WEEKLY, "Mars/Olympus")


def test_schedule_that_never_fired_is_an_error() -> None:
    with pytest.raises(ScheduleError, match="did not fire"):
        CronSchedule.parse("cron(0 0 1 1 ? 2199)").last_fire_at_or_before(at(2026, 1, 1))


def test_naive_moment_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        CronSchedule.parse(WEEKLY).last_fire_at_or_before(datetime(2026, 1, 1))


@pytest.mark.parametrize(
    "expression",
    [
        WEEKLY,
        MONTHLY,
        "cron(30 * * * ? *)",
        "cron(0 4 L * ? *)",
        "cron(0 9 ? * 2#1 *)",
        "cron(0/15 8-10 ? * MON-FRI *)",
    ],
)
def test_accepted_expressions_are_valid_for_eventbridge(expression: str) -> None:
    """Our parser and an independent EventBridge validator agree on what we accept."""
    CronSchedule.parse(expression)
    AWSCronExpressionValidator.validate(expression[5:-1])


_INDEPENDENT_CHECKS = {
    WEEKLY: lambda t: t.weekday() == 6 and (t.hour, t.minute) == (2, 0),
    MONTHLY: lambda t: t.day == 1 and (t.hour, t.minute) == (4, 0),
    "cron(0 4 L * ? *)": lambda t: (t + timedelta(days=1)).day == 1 and (t.hour, t.minute) == (4, 0),
    "cron(15 3 ? * 2#1 *)": lambda t: t.weekday() == 0 and t.day <= 7 and (t.hour, t.minute) == (3, 15),
}


@settings(max_examples=150, deadline=None)
@example(moment=datetime(2000, 10, 29, 3, tzinfo=UTC), zone="Europe/Berlin", expression=WEEKLY)  # fall back
@example(moment=datetime(2000, 3, 26, 3, tzinfo=UTC), zone="Europe/Berlin", expression=WEEKLY)  # spring forward
@given(
    moment=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
    zone=st.sampled_from(["UTC", "Europe/Berlin", "America/Los_Angeles", "Asia/Kolkata"]),
    expression=st.sampled_from(sorted(_INDEPENDENT_CHECKS)),
)
def test_last_fire_is_a_fire_time_and_none_lies_between_it_and_the_moment(
    moment: datetime, zone: str, expression: str
) -> None:
    """Checked against plain predicates, walking every quarter hour from the fire time to the moment."""
    is_fire_time = _INDEPENDENT_CHECKS[expression]
    local_zone = ZoneInfo(zone)
    fired = CronSchedule.parse(expression, zone).last_fire_at_or_before(moment)
    assert fired <= moment
    assert is_fire_time(fired.astimezone(local_zone))
    following = CronSchedule.parse(expression, zone).next_fire_after(fired)
    assert following > moment  # no fire time lies in (fired, moment]
    assert is_fire_time(following.astimezone(local_zone))
    step = fired.replace(second=0, microsecond=0) + timedelta(minutes=15)
    while step <= moment:
        local = step.astimezone(local_zone)
        # a repeated wall-clock time (fall back) fires once, at its first occurrence (fold 0)
        assert local.fold == 1 or not is_fire_time(local), f"{step} fires but {fired} was returned"
        step += timedelta(minutes=15)
