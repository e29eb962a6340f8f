"""ElastiCache snapshot names: deterministic, valid, and parsed back to their parts."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from restorable.cache_naming import (
    MAX_CACHE_ID_LENGTH,
    MAX_SNAPSHOT_NAME_LENGTH,
    ScheduledName,
    daily_snapshot_name,
    is_valid_snapshot_name,
    parse_scheduled_name,
    scheduled_snapshot_name,
)

cache_ids = st.from_regex(r"\A[A-Za-z](-?[A-Za-z0-9]){0,19}\Z").filter(lambda s: len(s) <= MAX_CACHE_ID_LENGTH)
kinds = st.sampled_from(["daily", "weekly", "monthly", "predeploy", "hourly2"])
days = st.dates(min_value=date(2000, 1, 1), max_value=date(9999, 12, 31))


@given(cache_ids, kinds, days)
def test_names_are_valid_lower_case_and_parse_back(cache_id: str, kind: str, day: date) -> None:
    name = scheduled_snapshot_name(cache_id, kind, day)
    assert is_valid_snapshot_name(name)
    assert len(name) <= MAX_SNAPSHOT_NAME_LENGTH
    assert name == name.lower()
    assert name == scheduled_snapshot_name(cache_id.lower(), kind, day)  # a rerun finds the same name
    assert parse_scheduled_name(name) == ScheduledName(cache_id.lower(), kind, day)


@given(cache_ids, days, days)
def test_different_days_give_different_names(cache_id: str, one: date, other: date) -> None:
    assert (daily_snapshot_name(cache_id, one) == daily_snapshot_name(cache_id, other)) == (one == other)


@given(st.text(max_size=300))
def test_validity_matches_the_rule(name: str) -> None:
    expected = (
        1 <= len(name) <= MAX_SNAPSHOT_NAME_LENGTH
        and name[0] in "abcdefghijklmnopqrstuvwxyz"
        and all(c in "abcdefghijklmnopqrstuvwxyz0123456789-" for c in name)
        and "--" not in name
        and not name.endswith("-")
    )
    assert is_valid_snapshot_name(name) == expected


def test_the_issue_example() -> None:
    assert daily_snapshot_name("Sessions-Prod", date(2026, 12, 8)) == "sessions-prod-daily-2026-12-08"


@pytest.mark.parametrize("cache_id", ["", "1cache", "cache-", "ca--che", "cache_1", "c" * 239])
def test_invalid_cache_ids_are_refused(cache_id: str) -> None:
    with pytest.raises(ValueError, match="not a valid ElastiCache snapshot name"):
        daily_snapshot_name(cache_id, date(2026, 12, 8))


@pytest.mark.parametrize("kind", ["", "Daily", "pre-deploy", "1st"])
def test_invalid_kinds_are_refused(kind: str) -> None:
    with pytest.raises(ValueError, match="not a snapshot kind"):
        scheduled_snapshot_name("cache", kind, date(2026, 12, 8))


@pytest.mark.parametrize(
    "name",
    [
        "automatic.sessions-2026-12-08-03-00",
        "sessions-daily-2026-13-01",
        "sessions-daily",
        "my-backup",
        "x-daily-2026-1-1",
    ],
)
def test_other_names_do_not_parse(name: str) -> None:
    assert parse_scheduled_name(name) is None
