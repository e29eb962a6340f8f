"""EventBridge cron expressions: parse them and find when they last fired.

EventBridge cron has six fields: minutes hours day-of-month month day-of-week year.
Day-of-week runs 1-7 = SUN-SAT (not Unix's 0-6), exactly one of day-of-month and
day-of-week is ``?``, and day fields accept ``L``, ``W`` and ``#``. Times are wall-clock
times in the schedule's time zone; like EventBridge Scheduler, a time that falls in a
daylight-saving gap is skipped and a repeated time fires once.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .errors import ScheduleError

_MONTHS = {name: i for i, name in enumerate(calendar.month_abbr) if name}
_MONTHS = {k.upper(): v for k, v in _MONTHS.items()}
_WEEKDAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_CRON = re.compile(r"^cron\((?P<body>[^()]*)\)$")
# How far back a search for the last fire time goes before the schedule counts as never firing.
_SEARCH_DAYS = 366 * 8


def validate_timezone(name: str) -> ZoneInfo:
    """Return the zone, or raise ``ScheduleError`` for a name that is not an IANA zone."""
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError, OSError) as exc:
        raise ScheduleError(f"unknown time zone '{name}'") from exc


def _exists(local: datetime) -> bool:
    """False for a wall-clock time in a daylight-saving gap.

    EventBridge Scheduler skips a firing whose local time does not exist (spring forward)
    and fires once, at the first occurrence, for a time that happens twice (fall back).
    """
    utc = local.astimezone(ZoneInfo("UTC"))
    return utc.astimezone(local.tzinfo).replace(tzinfo=None) == local.replace(tzinfo=None)


def _aws_weekday(day: date) -> int:
    """EventBridge numbering: Sunday 1 ... Saturday 7."""
    return (day.weekday() + 1) % 7 + 1


def _expand(field: str, low: int, high: int, names: dict[str, int], what: str) -> frozenset[int]:
    values: set[int] = set()
    for part in field.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            if not step_text.isdigit() or int(step_text) == 0:
                raise ScheduleError(f"invalid step '{step_text}' in {what} field")
            step = int(step_text)
        if part == "*":
            start, end = low, high
        elif "-" in part:
            first, last = part.split("-", 1)
            start, end = _value(first, names, what), _value(last, names, what)
        else:
            start = _value(part, names, what)
            end = high if step != 1 else start
        if not (low <= start <= high and low <= end <= high):
            raise ScheduleError(f"{what} value out of range {low}-{high} in '{field}'")
        if start > end:
            raise ScheduleError(f"{what} range '{part}' runs backwards")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def _value(text: str, names: dict[str, int], what: str) -> int:
    if text.isdigit():
        return int(text)
    if text.upper() in names:
        return names[text.upper()]
    raise ScheduleError(f"invalid {what} value '{text}'")


@dataclass(frozen=True)
class _DayOfMonth:
    any: bool
    values: frozenset[int]
    last: bool = False
    last_weekday: bool = False
    nearest_weekday: int | None = None

    def matches(self, day: date) -> bool:
        if self.any:
            return True
        last_day = calendar.monthrange(day.year, day.month)[1]
        if self.last:
            return day.day == last_day
        if self.last_weekday:
            return day == _nearest_weekday(day.year, day.month, last_day)
        if self.nearest_weekday is not None:
            return day == _nearest_weekday(day.year, day.month, min(self.nearest_weekday, last_day))
        return day.day in self.values


def _nearest_weekday(year: int, month: int, day_number: int) -> date:
    target = date(year, month, day_number)
    last_day = calendar.monthrange(year, month)[1]
    if target.weekday() == 5:  # Saturday: Friday before, or Monday after on the 1st
        return target - timedelta(days=1) if day_number > 1 else target + timedelta(days=2)
    if target.weekday() == 6:  # Sunday: Monday after, or Friday before on the last day
        return target + timedelta(days=1) if day_number < last_day else target - timedelta(days=2)
    return target


@dataclass(frozen=True)
class _DayOfWeek:
    any: bool
    values: frozenset[int]
    last_of_month: int | None = None
    nth: tuple[int, int] | None = None

    def matches(self, day: date) -> bool:
        if self.any:
            return True
        weekday = _aws_weekday(day)
        if self.last_of_month is not None:
            last_day = calendar.monthrange(day.year, day.month)[1]
            return weekday == self.last_of_month and day.day + 7 > last_day
        if self.nth is not None:
            wanted, occurrence = self.nth
            return weekday == wanted and (day.day - 1) // 7 + 1 == occurrence
        return weekday in self.values


def _parse_day_of_month(field: str) -> _DayOfMonth:
    if field in ("?", "*"):
        return _DayOfMonth(any=True, values=frozenset())
    if field == "L":
        return _DayOfMonth(any=False, values=frozenset(), last=True)
    if field == "LW":
        return _DayOfMonth(any=False, values=frozenset(), last_weekday=True)
    match = re.fullmatch(r"(\d{1,2})W", field)
    if match:
        number = int(match.group(1))
        if not 1 <= number <= 31:
            raise ScheduleError(f"day-of-month value out of range 1-31 in '{field}'")
        return _DayOfMonth(any=False, values=frozenset(), nearest_weekday=number)
    return _DayOfMonth(any=False, values=_expand(field, 1, 31, {}, "day-of-month"))


def _parse_day_of_week(field: str) -> _DayOfWeek:
    if field in ("?", "*"):
        return _DayOfWeek(any=True, values=frozenset())
    match = re.fullmatch(r"(\w+)L", field)
    if match:
        return _DayOfWeek(any=False, values=frozenset(), last_of_month=_weekday(match.group(1), field))
    match = re.fullmatch(r"(\w+)#(\d)", field)
    if match:
        occurrence = int(match.group(2))
        if not 1 <= occurrence <= 5:
            raise ScheduleError(f"day-of-week occurrence must be 1-5 in '{field}'")
        return _DayOfWeek(any=False, values=frozenset(), nth=(_weekday(match.group(1), field), occurrence))
    return _DayOfWeek(any=False, values=_expand(field, 1, 7, _WEEKDAYS, "day-of-week"))


def _weekday(text: str, field: str) -> int:
    value = _value(text, _WEEKDAYS, "day-of-week")
    if not 1 <= value <= 7:
        raise ScheduleError(f"day-of-week value out of range 1-7 in '{field}'")
    return value


@dataclass(frozen=True)
class CronSchedule:
    """A parsed EventBridge ``cron(...)`` expression evaluated in an IANA time zone."""

    expression: str
    timezone: str
    minutes: frozenset[int]
    hours: frozenset[int]
    day_of_month: _DayOfMonth
    months: frozenset[int]
    day_of_week: _DayOfWeek
    years: frozenset[int]

    @classmethod
    def parse(cls, expression: str, timezone: str = "UTC") -> CronSchedule:
        match = _CRON.match(expression.strip())
        if not match:
            raise ScheduleError(f"'{expression}' is not a cron(...) expression")
        fields = match.group("body").split()
        if len(fields) != 6:
            raise ScheduleError(
                f"'{expression}' has {len(fields)} fields; EventBridge cron needs 6 "
                "(minutes hours day-of-month month day-of-week year)"
            )
        minute, hour, dom, month, dow, year = fields
        if (dom == "?") == (dow == "?"):
            raise ScheduleError(f"'{expression}': exactly one of day-of-month and day-of-week must be '?'")
        validate_timezone(timezone)
        return cls(
            expression=expression.strip(),
            timezone=timezone,
            minutes=_expand(minute, 0, 59, {}, "minutes"),
            hours=_expand(hour, 0, 23, {}, "hours"),
            day_of_month=_parse_day_of_month(dom),
            months=_expand(month, 1, 12, _MONTHS, "month"),
            day_of_week=_parse_day_of_week(dow),
            years=_expand(year, 1970, 2199, {}, "year"),
        )

    def _day_matches(self, day: date) -> bool:
        return (
            day.year in self.years
            and day.month in self.months
            and self.day_of_month.matches(day)
            and self.day_of_week.matches(day)
        )

    def last_fire_at_or_before(self, moment: datetime) -> datetime:
        """The latest time at or before ``moment`` when the schedule fires, in UTC.

        ``moment`` must be timezone-aware. Raises ``ScheduleError`` when the schedule has
        not fired within the last eight years (e.g. a year field entirely in the future).
        """
        if moment.tzinfo is None:
            raise ValueError("moment must be timezone-aware")
        zone = ZoneInfo(self.timezone)
        local = moment.astimezone(zone)
        times = sorted((time(h, m) for h in self.hours for m in self.minutes), reverse=True)
        day = local.date()
        for _ in range(_SEARCH_DAYS):
            if self._day_matches(day):
                for wall in times:
                    candidate = datetime.combine(day, wall, tzinfo=zone)
                    if _exists(candidate) and candidate <= moment:
                        return candidate.astimezone(ZoneInfo("UTC"))
            day -= timedelta(days=1)
        raise ScheduleError(f"'{self.expression}' did not fire in the {_SEARCH_DAYS} days before {moment.isoformat()}")

    def next_fire_after(self, moment: datetime) -> datetime:
        """The earliest fire time strictly after ``moment``, in UTC (for simulations)."""
        if moment.tzinfo is None:
            raise ValueError("moment must be timezone-aware")
        zone = ZoneInfo(self.timezone)
        times = sorted(time(h, m) for h in self.hours for m in self.minutes)
        day = moment.astimezone(zone).date()
        for _ in range(_SEARCH_DAYS):
            if self._day_matches(day):
                for wall in times:
                    candidate = datetime.combine(day, wall, tzinfo=zone)
                    if _exists(candidate) and candidate > moment:
                        return candidate.astimezone(ZoneInfo("UTC"))
            day += timedelta(days=1)
        raise ScheduleError(f"'{self.expression}' does not fire in the {_SEARCH_DAYS} days after {moment.isoformat()}")

    def local_date(self, fire_time: datetime) -> date:
        """The calendar date of a fire time in the schedule's own time zone."""
        return fire_time.astimezone(ZoneInfo(self.timezone)).date()
