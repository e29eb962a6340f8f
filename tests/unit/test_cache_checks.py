"""The cache checks' verdict over hand-made observations (the real server is in tests/drills)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from restorable.cache_checks import CacheChecks, CacheObservation, evaluate, parse_write_time

POINT = datetime(2026, 12, 8, 6, 0, tzinfo=UTC)
keys = st.lists(st.text(min_size=1, max_size=8), unique=True, max_size=30)


@given(st.integers(0, 10**6), st.integers(0, 10**6))
def test_min_keys_passes_exactly_when_there_are_enough(count: int, minimum: int) -> None:
    result = evaluate(CacheChecks(min_keys=minimum), CacheObservation(key_count=count), POINT)
    assert result.ok == (count >= minimum)


@given(keys, st.data())
def test_required_keys_fail_exactly_on_the_missing_ones(wanted: list[str], data: st.DataObject) -> None:
    if not wanted:
        return
    missing = data.draw(st.lists(st.sampled_from(wanted), unique=True))
    result = evaluate(
        CacheChecks(required_keys=tuple(wanted)),
        CacheObservation(key_count=len(wanted), missing_keys=tuple(missing)),
        POINT,
    )
    assert result.ok == (not missing)
    assert result.results[0].detail.startswith(f"{len(missing)} of {len(wanted)} missing" if missing else "all")


@given(st.integers(0, 10 * 365 * 86400), st.sampled_from(["iso", "seconds", "milliseconds"]))
def test_freshness_measures_the_age_in_every_format(age: int, form: str) -> None:
    written = POINT - timedelta(seconds=age)
    value = {
        "iso": written.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "seconds": str(int(written.timestamp())),
        "milliseconds": str(int(written.timestamp()) * 1000),
    }[form]
    checks = CacheChecks.model_validate({"freshness": {"key": "k", "max_age_seconds": 3600}})
    result = evaluate(checks, CacheObservation(key_count=1, freshness_value=value), POINT)
    assert result.data_rpo_seconds == age
    assert result.ok == (age <= 3600)


def test_a_write_after_the_recovery_point_fails() -> None:
    checks = CacheChecks.model_validate({"freshness": {"key": "k"}})
    result = evaluate(checks, CacheObservation(key_count=1, freshness_value="2026-12-08T07:00:00Z"), POINT)
    assert not result.ok
    assert result.data_rpo_seconds is None
    assert "after the recovery point" in result.results[0].detail


@pytest.mark.parametrize("value", ["", "yesterday", "2026-12-08", "-5", "nan", "inf", "1e400"])
def test_values_that_are_not_times(value: str) -> None:
    assert parse_write_time(value) is None


def test_an_offset_is_honoured() -> None:
    assert parse_write_time("2026-12-08T07:00:00+02:00") == datetime(2026, 12, 8, 5, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({}, "at least one"),
        ({"min_keys": -1}, "min_keys"),
        ({"required_keys": ["a", "a"]}, "must not repeat"),
        ({"required_keys": [""]}, "must not be empty"),
        ({"freshness": {"key": "k", "max_age_seconds": 0}}, "freshness.max_age_seconds"),
        ({"min_keys": 1, "keys": ["a"]}, "keys"),
    ],
)
def test_bad_checks_are_refused_naming_the_field(document: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        CacheChecks.model_validate(document)
    text = str(raised.value)
    assert field in text or field.replace(".", "\n  ") in text
