"""Choosing what to recover: never a point at or after the time, only drilled clean points unless allowed,
every point considered with a reason; by example and at random."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from restorable import recovery_plan as rp
from restorable.errors import InvalidRequestError
from restorable.models import DatabaseType, RecoveryPoint

STACK = "restorable"
SOURCE = "arn:aws:rds:us-east-1:123456789012:db:orders"
OTHER = "arn:aws:rds:us-east-1:123456789012:db:billing"
BASE = datetime(2026, 11, 1, 2, tzinfo=UTC)
BEFORE = BASE + timedelta(days=20)


def point(
    day: int,
    *,
    status: str = "available",
    owner: str | None = STACK,
    source: str = SOURCE,
    created: bool = True,
    hour: int = 0,
) -> RecoveryPoint:
    identifier = f"orders-weekly-{day:02d}-{hour:02d}"
    tags = {"restorable:source": source, "restorable:kind": "weekly"}
    if owner is not None:
        tags["restorable:managed-by"] = owner
    return RecoveryPoint(
        type=DatabaseType.INSTANCE,
        identifier=identifier,
        arn=f"arn:aws:rds:us-east-1:123456789012:snapshot:{identifier}",
        source_identifier="orders",
        status=status,
        snapshot_type="manual",
        region="us-east-1",
        created_at=BASE + timedelta(days=day, hours=hour) if created else None,
        tags=tags,
    )


def drill(
    p: RecoveryPoint, outcome: str, started: str = "2026-11-25T00:00:00Z", region: str = "us-east-1"
) -> rp.DrillOutcome:
    arn = p.arn.replace("us-east-1", region)
    return rp.DrillOutcome(recovery_point=arn, outcome=outcome, started_at=started)


def choose(
    points: list[RecoveryPoint], drills: list[rp.DrillOutcome], allow: bool = False
) -> rp.PointChoice[RecoveryPoint]:
    return rp.choose_before(points, drills, source_arn=SOURCE, stack_name=STACK, before=BEFORE, allow_undrilled=allow)


# ---------------------------------------------------------------- by example


def test_the_newest_drilled_point_before_the_time_wins_over_a_newer_undrilled_one() -> None:
    old, new = point(5), point(12)

    choice = choose([old, new], [drill(old, "passed")])

    assert choice.chosen == old
    reasons = {c.identifier: c.reason for c in choice.considered}
    assert reasons[new.identifier] == f"created before {rp.iso(BEFORE)}; never drilled (refused)"
    assert reasons[old.identifier].startswith("chosen: ")


def test_a_point_created_exactly_at_the_time_is_not_before_it() -> None:
    at = point(20)
    assert at.created_at == BEFORE

    choice = choose([at], [drill(at, "passed")])

    assert choice.chosen is None
    assert "not before" in choice.considered[0].reason


def test_the_last_drill_decides_and_a_failed_one_is_never_overridden() -> None:
    p = point(5)
    failed_last = [drill(p, "passed", "2026-11-10T00:00:00Z"), drill(p, "failed", "2026-11-12T00:00:00Z")]
    passed_last = [drill(p, "failed", "2026-11-10T00:00:00Z"), drill(p, "passed", "2026-11-12T00:00:00Z")]

    assert choose([p], failed_last, allow=True).chosen is None
    assert choose([p], passed_last).chosen == p


def test_a_drill_of_the_dr_copy_counts_for_its_original() -> None:
    p = point(5)

    assert choose([p], [drill(p, "passed", region="us-west-2")]).chosen == p


def test_a_refusal_names_every_point_and_why() -> None:
    points = [point(3), point(4, status="creating"), point(6, owner="someone-else"), point(7, source=OTHER)]

    choice = choose(points, [])

    assert choice.chosen is None
    assert choice.refusal is not None
    assert "--allow-undrilled" in choice.refusal
    for p in points:
        assert p.identifier in choice.refusal
    assert "not complete (status creating)" in choice.refusal
    assert "managed by 'someone-else'" in choice.refusal
    assert f"a recovery point of {OTHER}" in choice.refusal


def test_allow_undrilled_takes_the_newest_undrilled_point() -> None:
    old, new = point(3), point(9)

    assert choose([old, new], [], allow=True).chosen == new


def test_choose_newest_skips_incomplete_and_foreign_points() -> None:
    points = [point(3), point(9, status="copying"), point(10, owner=None)]

    choice = rp.choose_newest(points, source_arn=SOURCE, stack_name=STACK, where="in us-west-2")

    assert choice.chosen == points[0]
    none = rp.choose_newest(points[1:], source_arn=SOURCE, stack_name=STACK, where="in us-west-2")
    assert none.chosen is None
    assert none.refusal is not None
    assert none.refusal.startswith(f"no complete managed recovery point of {SOURCE} in us-west-2")


@pytest.mark.parametrize(
    ("value", "message"),
    [("2026-12-08T01:00:00", "give a time zone"), ("soon", "not an ISO-8601 time"), ("2026-12-08", "give a time zone")],
)
def test_times_need_a_zone(value: str, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        rp.parse_time(value, option="--before")


def test_times_are_read_in_utc_and_latest_is_a_word() -> None:
    assert rp.parse_time("2026-12-08T03:00:00+02:00", option="--to") == datetime(2026, 12, 8, 1, tzinfo=UTC)
    assert rp.parse_restore_time("LATEST") == "latest"


def test_the_window_is_inclusive_and_needs_a_latest_time() -> None:
    earliest, latest = BASE, BASE + timedelta(days=7)
    rp.check_restore_time(earliest, earliest=earliest, latest=latest, source_identifier="orders")
    rp.check_restore_time(latest, earliest=earliest, latest=latest, source_identifier="orders")
    for outside in (earliest - timedelta(seconds=1), latest + timedelta(seconds=1)):
        with pytest.raises(InvalidRequestError, match="outside the restorable window of orders"):
            rp.check_restore_time(outside, earliest=earliest, latest=latest, source_identifier="orders")
    with pytest.raises(InvalidRequestError, match="no latest restorable time"):
        rp.check_restore_time(latest, earliest=None, latest=None, source_identifier="orders")


def test_recovery_tags_never_carry_the_drill_kind_or_a_policy() -> None:
    tags = rp.recovery_tags(SOURCE, BASE)

    assert tags == {"restorable:recovered-from": SOURCE, "restorable:recovered-at": "2026-11-01T02:00:00Z"}


# ---------------------------------------------------------------- at random

points_strategy = st.lists(
    st.builds(
        point,
        day=st.integers(min_value=0, max_value=40),
        status=st.sampled_from(["available", "available", "creating", "failed"]),
        owner=st.sampled_from([STACK, STACK, None, "other-stack"]),
        source=st.sampled_from([SOURCE, SOURCE, OTHER]),
        created=st.booleans() | st.just(True),
        hour=st.integers(min_value=0, max_value=23),
    ),
    max_size=12,
    unique_by=lambda p: p.identifier,
)


@settings(max_examples=300, deadline=None)
@given(points=points_strategy, data=st.data(), allow=st.booleans())
def test_choice_properties(points: list[RecoveryPoint], data: st.DataObject, allow: bool) -> None:
    drills = [
        drill(
            p,
            data.draw(st.sampled_from(["passed", "failed"])),
            f"2026-12-{data.draw(st.integers(1, 28)):02d}T00:00:00Z",
        )
        for p in points
        if data.draw(st.booleans())
    ]
    last = rp.last_drills(drills)

    choice = choose(points, drills, allow)

    assert sorted(c.identifier for c in choice.considered) == sorted(p.identifier for p in points)
    assert all(c.reason for c in choice.considered)
    assert (choice.chosen is None) == (choice.refusal is not None)

    def clean(p: RecoveryPoint) -> bool:
        return (
            p.status == "available"
            and p.tags.get("restorable:managed-by") == STACK
            and p.tags.get("restorable:source") == SOURCE
            and p.created_at is not None
            and p.created_at < BEFORE
        )

    passed = [p for p in points if clean(p) and p.identifier in last and last[p.identifier].outcome == "passed"]
    undrilled = [p for p in points if clean(p) and p.identifier not in last]
    if choice.chosen is None:
        assert not passed
        assert not (allow and undrilled)
        return
    chosen = choice.chosen
    assert chosen.created_at is not None
    assert chosen.created_at < BEFORE  # never at or after the time
    assert clean(chosen)
    assert chosen.identifier not in last or last[chosen.identifier].outcome == "passed"  # never a failed drill
    pool = passed or undrilled
    assert allow or chosen in passed
    newest = max(pool, key=lambda p: (p.created_at or BASE, p.identifier))
    assert chosen == newest
    [marked] = [c for c in choice.considered if c.reason.startswith("chosen: ")]
    assert marked.identifier == chosen.identifier


@settings(max_examples=200, deadline=None)
@given(source=st.text(alphabet="abcXYZ-_.09", min_size=0, max_size=80), minutes=st.integers(0, 10**6))
def test_default_targets_are_valid_identifiers(source: str, minutes: int) -> None:
    name = rp.default_target(source, BASE + timedelta(minutes=minutes))

    assert rp.check_target_name(name) == name
    assert len(name + rp.CLUSTER_INSTANCE_SUFFIX) <= rp.MAX_DB_IDENTIFIER_LENGTH
