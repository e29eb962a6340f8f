"""The fast simulation gives exactly the figures of the plain one, on any fleet.

The fast simulation (``policy_simulator.model``) simulates each group of identical databases
once and weights its figures by the group's size, and gives the prune planner only the points
that can change its answer; the plain one (``policy_simulator.reference``) simulates every
database and plans every prune run over every point. These tests run the same fleets both ways
and compare every figure the simulator outputs: counts, peaks, identifiers and breaker trips
exactly, storage and transfer to the rounding of a float (a group's storage is summed in
another order; with whole sizes and no growth it is exact, see the default run). They are the
guard if the planners' rules change: whatever the rules, both ways must agree.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import policy_simulator  # noqa: F401 - puts the core layer on the path
from local_runtime.fleet import synthetic_fleet
from policy_simulator import model, reference
from policy_simulator.config import build_input
from policy_simulator.model import SimulatorInput, SimulatorResult, SyntheticDatabase, simulate
from policy_simulator.reference import simulate_plainly
from policy_simulator.report import summary_lines
from restorable.policy import parse_policy_document
from restorable.prune_plan import BreakerLimits
from restorable.schedule import CronSchedule

START = datetime(2026, 11, 1, tzinfo=UTC)


def counted(result: SimulatorResult) -> dict[str, Any]:
    """Every whole-number figure the simulator reports, its breaker trips and its final state."""
    return {
        "summary": summary_lines(result),
        "counts": [(s.day, s.counts) for s in result.samples],
        "created": dict(result.created),
        "copied": dict(result.copied),
        "pruned": dict(result.pruned),
        "kept": dict(result.kept),
        "breaker_trips": result.breaker_trips,
        "final_identifiers": result.final_identifiers,
        "peaks": result.peaks,
    }


def amounts(result: SimulatorResult) -> list[tuple[str, float]]:
    """Every storage, transfer and cost figure, named."""
    named = [(f"{s.day:%Y-%m-%d} {region}", gb) for s in result.samples for region, gb in sorted(s.storage_gb.items())]
    for month, gb_months, transfer, storage_cost, transfer_cost in result.monthly_cost():
        named += [(f"{month} GB-months", gb_months), (f"{month} transfer", transfer)]
        named += [(f"{month} storage $", storage_cost), (f"{month} transfer $", transfer_cost)]
    return named


def assert_same_both_ways(spec: SimulatorInput) -> SimulatorResult:
    fast = simulate(spec)
    plain = simulate_plainly(spec)
    assert counted(fast) == counted(plain)
    fast_amounts, plain_amounts = amounts(fast), amounts(plain)
    assert [name for name, _ in fast_amounts] == [name for name, _ in plain_amounts]
    for (name, value), (_, expected) in zip(fast_amounts, plain_amounts, strict=True):
        assert math.isclose(value, expected, rel_tol=1e-9, abs_tol=1e-9), name
    return fast


def test_the_template_policies_over_two_years_give_identical_figures() -> None:
    spec = build_input(fleet=synthetic_fleet(40, seed=3), start=START, days=730)
    result = assert_same_both_ways(spec)
    assert sum(result.pruned.values()) > 0  # the comparison is about pruning
    assert "OVER QUOTA" in "\n".join(summary_lines(result))  # and about quotas that bind


def test_whole_sizes_without_growth_give_the_same_storage_to_the_last_bit() -> None:
    spec = build_input(fleet=synthetic_fleet(30, seed=2), start=START, days=400)
    fast, plain = simulate(spec), simulate_plainly(spec)
    assert amounts(fast) == amounts(plain)


@pytest.mark.parametrize("seed", [1, 21])
@pytest.mark.parametrize(
    "breaker",
    [
        BreakerLimits(max_share=0.02),  # the share trips on the weekly expiries
        BreakerLimits(max_share=0.2, max_count=25),  # the count trips
        BreakerLimits(max_share=0.035),  # at the edge: some runs trip, some do not
    ],
)
def test_breaker_trips_are_the_same_whatever_the_limits(breaker: BreakerLimits, seed: int) -> None:
    spec = build_input(fleet=synthetic_fleet(30, seed=seed), start=START, days=300, breaker=breaker)
    result = assert_same_both_ways(spec)
    assert result.breaker_trips


def test_a_breaker_that_keeps_tripping_is_reported_at_every_run() -> None:
    spec = build_input(fleet=synthetic_fleet(20, seed=4), start=START, days=120, breaker=BreakerLimits(max_count=1))
    result = assert_same_both_ways(spec)
    days_tripped = {when.date() for when, region, _ in result.breaker_trips if region == "us-east-1"}
    first = min(days_tripped)
    assert days_tripped == {first + timedelta(days=d) for d in range((max(days_tripped) - first).days + 1)}
    assert sum(result.pruned.values()) == 0


def test_storage_with_growth_and_a_change_rate_is_identical() -> None:
    spec = build_input(
        fleet=synthetic_fleet(25, seed=11, growth_gb_per_month=3.7), start=START, days=500, change_rate=0.13
    )
    assert_same_both_ways(spec)


def test_the_planners_are_given_far_fewer_points(monkeypatch: pytest.MonkeyPatch) -> None:
    given_sizes: list[int] = []
    planner: Callable[..., Any] = model.plan_prune

    def recording(points: Any, **arguments: Any) -> Any:
        points = list(points)
        given_sizes.append(len(points))
        return planner(points, **arguments)

    monkeypatch.setattr(model, "plan_prune", recording)
    monkeypatch.setattr(reference, "plan_prune", recording)
    spec = build_input(fleet=synthetic_fleet(40, seed=3), start=START, days=730)
    simulate(spec)
    fast = sum(given_sizes)
    given_sizes.clear()
    simulate_plainly(spec)
    assert fast * 100 < sum(given_sizes)


def test_the_plain_run_is_the_option_that_feeds_every_point() -> None:
    spec = build_input(fleet=synthetic_fleet(6, seed=9), start=START, days=60, breaker=BreakerLimits(max_share=0.02))
    assert counted(simulate(spec, feed_only_what_can_change=False)) == counted(simulate_plainly(spec))


POLICIES = parse_policy_document(
    '{"version": 1, "policies": {'
    '"short": {"automated_backups": {"retention_days": 7}, "snapshots":'
    ' {"daily": {"retention_days": 3, "dr_copy": false},'
    ' "weekly": {"retention_days": 15, "dr_copy": true}}},'
    '"long": {"automated_backups": {"retention_days": 7}, "snapshots":'
    ' {"weekly": {"retention_days": 40, "dr_copy": false},'
    ' "monthly": {"retention_days": 100, "dr_copy": true}}}}}',
)
SCHEDULES = {
    "daily": CronSchedule.parse("cron(30 1 * * ? *)"),
    "weekly": CronSchedule.parse("cron(0 2 ? * SUN *)"),
    "monthly": CronSchedule.parse("cron(0 4 1 * ? *)"),
}
PRUNES = [CronSchedule.parse("cron(0 5 * * ? *)"), CronSchedule.parse("cron(0 3 ? * MON,THU *)")]

databases = st.lists(
    st.builds(
        SyntheticDatabase,
        identifier=st.just(""),
        cluster=st.booleans(),
        policy=st.sampled_from(["short", "long", None]),
        size_gb=st.integers(1, 500).map(float),
        growth_gb_per_month=st.sampled_from([0.0, 1.5, -2.0]),
    ),
    min_size=1,
    max_size=30,
)


@pytest.mark.parametrize("order", ["bad first", "bad last"])
def test_a_member_whose_snapshots_cannot_be_named_gets_none_and_never_stands_for_the_others(order: str) -> None:
    good = [SyntheticDatabase(f"db{i}", False, "long", 10.0) for i in range(3)]
    bad = SyntheticDatabase("bad--name", False, "long", 10.0)
    fleet = [bad, *good] if order == "bad first" else [*good, bad]
    spec = SimulatorInput(
        databases=fleet, policies=POLICIES, schedules=SCHEDULES, prune_schedule=PRUNES[0], start=START, days=40
    )
    result = assert_same_both_ways(spec)
    alone = simulate(replace(spec, databases=good))
    # the planner reports a finding for the bad one and snapshots the others as if it were absent
    assert dict(result.created) == dict(alone.created)
    assert sum(result.created.values()) > 0


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fleet=databases,
    days=st.integers(20, 260),
    start_offset_hours=st.integers(0, 24 * 40),
    share=st.sampled_from([0.01, 0.05, 0.1, 0.2, 0.5, 1.0]),
    count=st.sampled_from([0, 1, 3, 10, 40]),
    change_rate=st.sampled_from([1.0, 0.5, 0.07]),
    prune=st.sampled_from(PRUNES),
)
def test_any_fleet_and_breaker_give_identical_figures_both_ways(
    fleet: list[SyntheticDatabase],
    days: int,
    start_offset_hours: int,
    share: float,
    count: int,
    change_rate: float,
    prune: CronSchedule,
) -> None:
    named = [
        SyntheticDatabase(f"db{n}", d.cluster, d.policy, d.size_gb, d.growth_gb_per_month) for n, d in enumerate(fleet)
    ]
    spec = SimulatorInput(
        databases=named,
        policies=POLICIES,
        schedules=SCHEDULES,
        prune_schedule=prune,
        start=START + timedelta(hours=start_offset_hours),
        days=days,
        change_rate=change_rate,
        breaker=BreakerLimits(max_share=share, max_count=count),
    )
    assert_same_both_ways(spec)
