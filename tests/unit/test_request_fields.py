"""Every request model reads booleans strictly and bounds its times against the injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from restorable.copy_job import CopyRequest
from restorable.drills.schedule import ScheduledDrillRequest
from restorable.predeploy_plan import DirectRequest, PredeployParameters
from restorable.prune_job import PruneRequest
from restorable.request_fields import MAX_EVENT_EARLINESS, MAX_EVENT_LATENESS, parse_event_time
from restorable.snapshot_job import SnapshotRequest
from restorable.verification.request import VerifyRequest

NOW = datetime(2027, 3, 7, 2, 30, tzinfo=UTC)
# (model, a valid body without the field, the boolean fields it has, whether it takes scheduled_time)
MODELS: list[tuple[type[BaseModel], dict[str, Any], list[str], bool]] = [
    (SnapshotRequest, {"kind": "weekly"}, ["dry_run"], True),
    (PruneRequest, {}, ["dry_run", "override_breaker"], True),
    (CopyRequest, {}, ["dry_run"], True),
    (VerifyRequest, {}, ["notify"], True),
    (ScheduledDrillRequest, {}, ["dry_run"], True),
    (PredeployParameters, {"targets": ["orders"]}, ["wait"], False),
    (DirectRequest, {"targets": ["orders"]}, ["wait"], False),
]
NOT_BOOLEANS = ["n", "y", "yes", "no", "true", "false", "", 0, 1, 1.0, None, [], {}]
BAD_TIMES = [
    ("2190-01-01T00:00:00Z", "in the future"),
    ("1971-01-01T00:00:00Z", "days before the clock"),
    ("0001-01-01T00:00:00Z", "days before the clock"),
    ("0001-01-01T00:00:00+01:00", "out of range"),
    ("9999-12-31T23:59:59-05:00", "out of range"),
    ("2027-03-07T02:00:00", "must carry a time zone"),
    ("2027-02-30T02:00:00Z", "not a valid time"),
    ("last sunday", "not an ISO-8601 time"),
    (1_804_000_000, "not int"),
    (True, "not bool"),
    (1.5e9, "not float"),
    (["2027-03-07T02:00:00Z"], "not list"),
]


def body(base: dict[str, Any], extra: dict[str, Any], model: type[BaseModel]) -> dict[str, Any]:
    data = {**base, **extra}
    if model is PruneRequest and data.get("override_breaker") is True:
        data["override_reason"] = "CHG-1 reviewed"
    return data


@pytest.mark.parametrize(("model", "base", "fields", "timed"), MODELS)
def test_booleans_are_json_booleans_only(
    model: type[BaseModel], base: dict[str, Any], fields: list[str], timed: bool
) -> None:
    for name in fields:
        for value in NOT_BOOLEANS:
            with pytest.raises(ValidationError) as caught:
                model.model_validate(body(base, {name: value}, model))
            assert caught.value.errors()[0]["loc"] == (name,), (name, value)
        for value in (True, False):
            assert getattr(model.model_validate(body(base, {name: value}, model)), name) is value


@pytest.mark.parametrize(("model", "base"), [(m, b) for m, b, _, timed in MODELS if timed])
@pytest.mark.parametrize(("value", "message"), BAD_TIMES)
def test_times_far_from_the_clock_or_of_the_wrong_type_are_rejected_naming_the_field(
    model: type[BaseModel], base: dict[str, Any], value: object, message: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        model.model_validate({**base, "scheduled_time": value}, context={"now": NOW})
    [error] = caught.value.errors()
    assert error["loc"] == ("scheduled_time",)
    assert message in error["msg"]


@pytest.mark.parametrize(("model", "base"), [(m, b) for m, b, _, timed in MODELS if timed])
def test_times_within_the_window_are_accepted_in_utc(model: type[BaseModel], base: dict[str, Any]) -> None:
    for moment in (NOW, NOW - MAX_EVENT_LATENESS, NOW + MAX_EVENT_EARLINESS, NOW - timedelta(hours=1)):
        parsed = model.model_validate({**base, "scheduled_time": moment.isoformat()}, context={"now": NOW})
        assert parsed.scheduled_time == moment  # type: ignore[attr-defined]
    local = model.model_validate({**base, "scheduled_time": "2027-03-07T11:00:00+09:00"}, context={"now": NOW})
    assert local.scheduled_time == datetime(2027, 3, 7, 2, tzinfo=UTC)  # type: ignore[attr-defined]
    for outside in (NOW - MAX_EVENT_LATENESS - timedelta(seconds=1), NOW + MAX_EVENT_EARLINESS + timedelta(seconds=1)):
        with pytest.raises(ValidationError):
            model.model_validate({**base, "scheduled_time": outside.isoformat()}, context={"now": NOW})


def test_no_raw_exception_escapes_for_extreme_times() -> None:
    for text in ("9999-12-31T23:59:59.999999-23:59", "0001-01-01T00:00:00+23:59", "0000-01-01T00:00:00Z"):
        with pytest.raises(ValueError, match=r"out of range|not a valid time"):
            parse_event_time(text, NOW)
