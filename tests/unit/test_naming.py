from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from restorable.naming import (
    format_timestamp,
    is_valid_snapshot_identifier,
    parse_timestamp,
    predeploy_snapshot_id,
    scheduled_snapshot_id,
)


def test_scheduled_identifier_follows_the_contract() -> None:
    assert scheduled_snapshot_id("orders-db", "weekly", date(2026, 11, 22)) == "orders-db-weekly-2026-11-22"
    assert scheduled_snapshot_id("ledger", "monthly", date(2027, 2, 1)) == "ledger-monthly-2027-02-01"


def test_predeploy_identifier_uses_utc_seconds() -> None:
    moment = datetime(2026, 11, 22, 3, 4, 5, tzinfo=timezone(timedelta(hours=2)))
    assert predeploy_snapshot_id("orders-db", moment) == "orders-db-predeploy-20261122010405"


@pytest.mark.parametrize("bad", ["1db", "db--x", "db-", "", "db_x", "a" * 256])
def test_invalid_identifiers(bad: str) -> None:
    assert not is_valid_snapshot_identifier(bad)
    with pytest.raises(ValueError, match="not a valid RDS snapshot identifier"):
        scheduled_snapshot_id(bad, "weekly", date(2026, 1, 1)) if bad else scheduled_snapshot_id(
            "x-", "weekly", date(2026, 1, 1)
        )


@given(
    source=st.from_regex(r"\A[a-z](?:[a-z0-9]|-(?=[a-z0-9])){0,62}\Z"),
    kind=st.sampled_from(["weekly", "monthly", "quarterly"]),
    day=st.dates(min_value=date(2000, 1, 1), max_value=date(2199, 12, 31)),
)
def test_identifiers_from_valid_db_identifiers_are_valid(source: str, kind: str, day: date) -> None:
    assert is_valid_snapshot_identifier(scheduled_snapshot_id(source, kind, day))


def test_timestamp_round_trip_and_format() -> None:
    moment = datetime(2027, 2, 20, 2, 0, tzinfo=UTC)
    assert format_timestamp(moment) == "2027-02-20T02:00:00Z"
    assert parse_timestamp("2027-02-20T02:00:00Z") == moment
    assert parse_timestamp("2027-02-20T03:00:00+01:00") == moment
    assert parse_timestamp("2027-02-20T02:00:00") == moment  # no offset: UTC


@pytest.mark.parametrize("bad", ["", "   ", "soon", "2027-13-01T00:00:00Z", "20270220"])
def test_unparsable_timestamps_are_none(bad: str) -> None:
    assert parse_timestamp(bad) is None


def test_naive_timestamp_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        format_timestamp(datetime(2027, 1, 1))
