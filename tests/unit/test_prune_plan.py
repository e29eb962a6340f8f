"""The prune planner's safety rules, by example and over random inventories and clocks."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from restorable.models import DatabaseType, RecoveryPoint
from restorable.naming import format_timestamp
from restorable.prune_plan import BreakerLimits, KeepRule, PrunePlan, copy_links, held_links, plan_prune

STACK = "restorable"
NOW = datetime(2027, 6, 1, 12, tzinfo=UTC)
SOURCE = "arn:aws:rds:us-east-1:123456789012:db:orders"
GONE = "arn:aws:rds:us-east-1:123456789012:db:retired"


def point(
    identifier: str,
    *,
    created: datetime,
    expires: datetime | str | None,
    kind: str | None = "weekly",
    source: str | None = SOURCE,
    managed_by: str | None = STACK,
    hold: str | None = None,
    status: str = "available",
    snapshot_type: str = "manual",
) -> RecoveryPoint:
    tags: dict[str, str] = {}
    if managed_by is not None:
        tags["restorable:managed-by"] = managed_by
    if kind is not None:
        tags["restorable:kind"] = kind
    if source is not None:
        tags["restorable:source"] = source
    if expires is not None:
        tags["restorable:expires-at"] = expires if isinstance(expires, str) else format_timestamp(expires)
    if hold is not None:
        tags["restorable:legal-hold"] = hold
    return RecoveryPoint(
        DatabaseType.INSTANCE,
        identifier,
        f"arn:{identifier}",
        "orders",
        status,
        snapshot_type,
        "us-east-1",
        created_at=created,
        tags=tags,
    )


def plan(points: list[RecoveryPoint], **kwargs: object) -> PrunePlan:
    options: dict[str, object] = {"stack_name": STACK, "now": NOW, "existing_sources": [SOURCE], "region": "us-east-1"}
    options.update(kwargs)
    return plan_prune(points, **options)  # type: ignore[arg-type]


def weeks_ago(n: int) -> datetime:
    return NOW - timedelta(weeks=n)


def test_expired_point_is_deleted_and_newest_is_kept() -> None:
    old = point("orders-weekly-1", created=weeks_ago(20), expires=weeks_ago(7))
    older = point("orders-weekly-0", created=weeks_ago(21), expires=weeks_ago(8))
    newest = point("orders-weekly-2", created=weeks_ago(1), expires=NOW + timedelta(days=80))
    result = plan(
        [old, older, newest] + [point(f"f{i}", created=weeks_ago(2), expires=NOW + timedelta(days=9)) for i in range(8)]
    )
    assert {p.identifier for p in result.deletions} == {"orders-weekly-1", "orders-weekly-0"}
    assert {k.point.identifier: k.rule for k in result.kept}["orders-weekly-2"] is KeepRule.NOT_EXPIRED


@pytest.mark.parametrize(
    ("overrides", "rule"),
    [
        ({"managed_by": "other-stack"}, KeepRule.NOT_MANAGED),
        ({"managed_by": None}, KeepRule.NOT_MANAGED),
        ({"snapshot_type": "automated"}, KeepRule.AUTOMATED),
        ({"hold": "true"}, KeepRule.LEGAL_HOLD),
        ({"hold": "TRUE "}, KeepRule.LEGAL_HOLD),
        ({"kind": None}, KeepRule.INCOMPLETE_TAGS),
        ({"source": None}, KeepRule.INCOMPLETE_TAGS),
        ({"expires": None}, KeepRule.NO_VALID_EXPIRY),
        ({"expires": "next tuesday"}, KeepRule.NO_VALID_EXPIRY),
        ({"expires": "2027-01-01"}, KeepRule.NO_VALID_EXPIRY),
        ({"expires": NOW + timedelta(seconds=1)}, KeepRule.NOT_EXPIRED),
        ({"status": "creating"}, KeepRule.NOT_AVAILABLE),
    ],
)
def test_each_rule_keeps_an_otherwise_deletable_point(overrides: dict[str, object], rule: KeepRule) -> None:
    newer = point("orders-weekly-new", created=weeks_ago(1), expires=NOW + timedelta(days=80))
    candidate = point("orders-weekly-old", **{"created": weeks_ago(30), "expires": weeks_ago(10), **overrides})  # type: ignore[arg-type]
    result = plan([candidate, newer])
    assert result.deletions == []
    assert {k.point.identifier: k.rule for k in result.kept}["orders-weekly-old"] is rule


def test_newest_available_of_each_kind_survives_even_when_expired() -> None:
    weekly = point("w", created=weeks_ago(20), expires=weeks_ago(5))
    monthly = point("m", created=weeks_ago(60), expires=weeks_ago(2), kind="monthly")
    failed_newer = point("w-failed", created=weeks_ago(1), expires=weeks_ago(0), status="failed")
    result = plan([weekly, monthly, failed_newer])
    rules = {k.point.identifier: k.rule for k in result.kept}
    assert rules == {"w": KeepRule.NEWEST_OF_KIND, "m": KeepRule.NEWEST_OF_KIND, "w-failed": KeepRule.NOT_AVAILABLE}


def test_deleted_source_keeps_its_last_backups_and_is_reported() -> None:
    points = [point(f"r{i}", created=weeks_ago(40 - i), expires=weeks_ago(20 - i), source=GONE) for i in range(3)]
    result = plan(points, existing_sources=[SOURCE], override_breaker=True)
    assert result.orphaned_sources == [GONE]
    assert [k.point.identifier for k in result.kept if k.rule is KeepRule.NEWEST_OF_KIND] == ["r2"]
    assert {p.identifier for p in result.deletions} == {"r0", "r1"}


def test_circuit_breaker_deletes_nothing_and_says_why() -> None:
    expired = [point(f"e{i}", created=weeks_ago(30 + i), expires=weeks_ago(10)) for i in range(5)]
    fresh = [point(f"f{i}", created=weeks_ago(i), expires=NOW + timedelta(days=30)) for i in range(5)]
    result = plan(expired + fresh)
    assert result.breaker_tripped
    assert result.deletions == []
    assert "would delete 5 of 10 managed recovery points" in result.breaker_reason
    assert sum(1 for k in result.kept if k.rule is KeepRule.CIRCUIT_BREAKER) == 5
    overridden = plan(expired + fresh, override_breaker=True)
    assert len(overridden.deletions) == 5
    assert not overridden.breaker_tripped


def test_breaker_limits() -> None:
    assert BreakerLimits().allowed(100) == 20
    assert BreakerLimits().allowed(3) == 1  # one deletion is always allowed
    assert BreakerLimits(max_share=1.0, max_count=7).allowed(100) == 7
    # no count limit by default: a large fleet's normal expiries (one weekly per database) pass
    assert BreakerLimits().allowed(25_000) == 5_000
    assert BreakerLimits(max_count=50).allowed(25_000) == 50
    with pytest.raises(ValueError, match="max_share"):
        BreakerLimits(max_share=0)
    with pytest.raises(ValueError, match="max_count"):
        BreakerLimits(max_count=-1)


def test_naive_clock_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        plan([], now=datetime(2027, 1, 1))


# ---- property-based: random inventories and clocks -------------------------------------------------

SOURCES = [SOURCE, GONE, "arn:aws:rds:us-east-1:123456789012:cluster:ledger"]
instants = st.integers(min_value=0, max_value=800).map(lambda d: datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=d))


@st.composite
def recovery_points(draw: st.DrawFn, index: int) -> RecoveryPoint:
    created = draw(instants)
    return point(
        f"p{index}",
        created=created,
        expires=draw(
            st.one_of(st.none(), st.just("garbage"), st.integers(1, 400).map(lambda d: created + timedelta(days=d)))
        ),
        kind=draw(st.sampled_from(["weekly", "monthly", "predeploy", None])),
        source=draw(st.sampled_from([*SOURCES, None])),
        managed_by=draw(st.sampled_from([STACK, STACK, STACK, "someone-else", None])),
        hold=draw(st.sampled_from([None, None, None, "true", "false"])),
        status=draw(st.sampled_from(["available", "available", "available", "creating", "failed"])),
        snapshot_type=draw(st.sampled_from(["manual", "manual", "manual", "automated"])),
    )


inventories = st.integers(0, 40).flatmap(lambda n: st.tuples(*(recovery_points(i) for i in range(n))).map(list))


def deletable(p: RecoveryPoint, now: datetime, newest: dict[tuple[str, str], str]) -> bool:
    """The pruning rules, stated independently of the planner."""
    return (
        p.managed_by == STACK
        and p.snapshot_type == "manual"
        and p.expires_at is not None
        and p.expires_at <= now
        and not p.legal_hold
        and p.status == "available"
        and p.kind is not None
        and p.source_arn is not None
        and newest.get((p.source_arn, p.kind)) != p.identifier
    )


def newest_available(points: list[RecoveryPoint]) -> dict[tuple[str, str], str]:
    groups: dict[tuple[str, str], list[RecoveryPoint]] = defaultdict(list)
    for p in points:
        if (
            p.managed_by == STACK
            and p.snapshot_type == "manual"
            and p.status == "available"
            and p.kind
            and p.source_arn
        ):
            groups[(p.source_arn, p.kind)].append(p)
    return {key: max(group, key=lambda p: (p.created_at, p.identifier)).identifier for key, group in groups.items()}


@settings(max_examples=400, deadline=None)
@given(points=inventories, now=instants, share=st.sampled_from([0.2, 0.5, 1.0]), override=st.booleans())
def test_no_rule_is_ever_violated_and_nothing_deletable_is_left(
    points: list[RecoveryPoint], now: datetime, share: float, override: bool
) -> None:
    result = plan(points, now=now, limits=BreakerLimits(max_share=share, max_count=1000), override_breaker=override)
    newest = newest_available(points)
    deleted = {p.identifier for p in result.deletions}
    should = {p.identifier for p in points if deletable(p, now, newest)}

    # safety: everything deleted satisfies every rule
    assert deleted <= should
    # the newest available point of each kind per source always survives
    assert not deleted & set(newest.values())
    # not merely conservative: without a breaker trip, everything deletable is deleted
    if result.breaker_tripped:
        assert deleted == set()
        assert not override
        # the share counts only complete managed points: ours, manual, with kind, source and a valid expiry
        managed = sum(
            1
            for p in points
            if p.managed_by == STACK and p.snapshot_type == "manual" and p.kind and p.source_arn and p.expires_at
        )
        assert len(should) > BreakerLimits(max_share=share, max_count=1000).allowed(managed)
    else:
        assert deleted == should
    # every point is accounted for exactly once
    assert sorted(p.identifier for p in points) == sorted([*deleted, *(k.point.identifier for k in result.kept)])


# ---- legal holds fail safe, cover every copy; the breaker cannot be diluted ---------------------------


def _expired(identifier: str, **overrides: object) -> RecoveryPoint:
    return point(identifier, **{"created": weeks_ago(30), "expires": weeks_ago(10), **overrides})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("tags", "held"),
    [
        ({"restorable:legal-hold": "false"}, False),
        ({"restorable:legal-hold": " FALSE\t"}, False),
        ({"Restorable:Legal-Hold": "False"}, False),
        ({"restorable:legal-hold": ""}, True),
        ({"restorable:legal-hold": "no"}, True),
        ({"restorable:legal-hold": "0"}, True),
        ({"restorable:legal-hold": "yes"}, True),
        ({"restorable:legal-hold": "ｆａｌｓｅ"}, True),
        ({"Restorable:Legal-Hold": "true"}, True),
        ({" restorable:legal-hold ": "true"}, True),
        ({"restorable:legal-hold": "false", "RESTORABLE:LEGAL-HOLD": "true"}, True),
        ({"restorable:legal-holds": "true"}, False),
    ],
)
def test_a_hold_is_kept_unless_clearly_false(tags: dict[str, str], held: bool) -> None:
    newer = point("orders-weekly-new", created=weeks_ago(1), expires=NOW + timedelta(days=80))
    candidate = _expired("orders-weekly-old")
    candidate = RecoveryPoint(**{**candidate.__dict__, "tags": {**candidate.tags, **tags}})
    result = plan([candidate, newer])
    assert ([p.identifier for p in result.deletions] == []) is held
    unrecognised = {p.identifier for p, _ in result.unrecognised_holds}
    documented = tags in ({"restorable:legal-hold": "false"}, {"restorable:legal-holds": "true"})
    assert ("orders-weekly-old" in unrecognised) is (not documented and " FALSE\t" not in tags.values())


def test_a_hold_on_another_copy_keeps_this_one_linked_by_identifier_or_source_snapshot_arn() -> None:
    newer = point("orders-weekly-new", created=weeks_ago(1), expires=NOW + timedelta(days=80))
    same_name = _expired("orders-weekly-a")
    renamed = RecoveryPoint(**{**_expired("copy-b").__dict__, "source_snapshot_arn": "arn:aws:rds:x:1:snapshot:b"})
    unrelated = _expired("orders-weekly-c")
    dr_holds = held_links(
        [
            RecoveryPoint(**{**_expired("orders-weekly-a").__dict__, "tags": {"restorable:legal-hold": "true"}}),
            RecoveryPoint(**{**_expired("b").__dict__, "tags": {"restorable:legal-hold": "?"}}),
        ]
    )
    result = plan([same_name, renamed, unrelated, newer], held_elsewhere=dr_holds, override_breaker=True)
    rules = {k.point.identifier: k.rule for k in result.kept}
    assert rules["orders-weekly-a"] is KeepRule.LEGAL_HOLD_ON_COPY
    assert rules["copy-b"] is KeepRule.LEGAL_HOLD_ON_COPY
    assert [p.identifier for p in result.deletions] == ["orders-weekly-c"]
    assert copy_links(renamed) >= {("id", "instance", "b")}


def test_half_tagged_snapshots_do_not_raise_the_breaker_limit() -> None:
    expired = [_expired(f"e{i}", created=weeks_ago(30 + i)) for i in range(3)]
    fresh = [point(f"f{i}", created=weeks_ago(i), expires=NOW + timedelta(days=30)) for i in range(7)]
    assert plan(expired + fresh).breaker_tripped  # 3 of 10 complete points > 20 %
    pile = [point(f"junk{i}", created=weeks_ago(1), expires="garbage") for i in range(40)]
    pile += [point(f"nokind{i}", created=weeks_ago(1), expires=weeks_ago(0), kind=None) for i in range(40)]
    diluted = plan(expired + fresh + pile)
    assert diluted.breaker_tripped
    assert diluted.managed_total == 10
    assert diluted.deletions == []
