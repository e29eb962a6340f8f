"""Feeding the prune planner only what can change gives exactly the figures of feeding it everything.

The simulator's speed comes from giving the real prune planner, at each run, only the expired
points, the newest of their groups and enough other points for the circuit breaker's share.
These tests run the same fleets both ways and compare every figure the simulator outputs,
exactly (floats included: the same snapshots are added and removed in the same order). They
are the guard if the planner's rules change: whatever the rules, both ways must agree.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import policy_simulator  # noqa: F401 - puts the core layer on the path
from local_runtime.fleet import synthetic_fleet
from policy_simulator import model
from policy_simulator.config import build_input
from policy_simulator.model import SimulatorInput, SimulatorResult, SyntheticDatabase, simulate
from policy_simulator.report import summary_lines
from restorable.policy import parse_policy_document
from restorable.prune_plan import BreakerLimits
from restorable.schedule import CronSchedule

START = datetime(2026, 11, 1, tzinfo=UTC)


def figures(result: SimulatorResult) -> dict[str, Any]:
    """Everything the simulator reports (the table, the cost rows, the chart's series) and its final state."""
    return {
        "summary": summary_lines(result),
        "samples": [(s.day, s.counts, s.storage_gb) for s in result.samples],
        "created": dict(result.created),
        "copied": dict(result.copied),
        "pruned": dict(result.pruned),
        "kept": dict(result.kept),
        "transfer_gb_by_month": dict(result.transfer_gb_by_month),
        "storage_gb_months_by_month": dict(result.storage_gb_months_by_month),
        "monthly_cost": result.monthly_cost(),
        "breaker_trips": result.breaker_trips,
        "final_identifiers": result.final_identifiers,
        "peaks": result.peaks,
    }


def assert_same_both_ways(spec: SimulatorInput) -> SimulatorResult:
    fast = simulate(spec)
    reference = simulate(spec, feed_only_what_can_change=False)
    assert figures(fast) == figures(reference)
    return fast


def test_the_template_policies_over_two_years_give_identical_figures() -> None:
    spec = build_input(fleet=synthetic_fleet(40, seed=3), start=START, days=730)
    result = assert_same_both_ways(spec)
    assert sum(result.pruned.values()) > 0  # the comparison is about pruning


@pytest.mark.parametrize(
    "breaker",
    [
        BreakerLimits(max_share=0.02),  # the share trips on the weekly expiries
        BreakerLimits(max_share=0.2, max_count=25),  # the count trips
        BreakerLimits(max_share=0.035),  # at the edge: some runs trip, some do not
    ],
)
def test_breaker_trips_are_the_same_whatever_the_limits(breaker: BreakerLimits) -> None:
    spec = build_input(fleet=synthetic_fleet(30, seed=5), start=START, days=400, breaker=breaker)
    result = assert_same_both_ways(spec)
    assert result.breaker_trips


def test_storage_with_growth_and_a_change_rate_is_identical_to_the_last_bit() -> None:
    spec = build_input(
        fleet=synthetic_fleet(25, seed=11, growth_gb_per_month=3.7), start=START, days=500, change_rate=0.13
    )
    assert_same_both_ways(spec)


def test_the_planner_is_given_fewer_points_than_the_region_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    given_sizes: list[int] = []
    planner: Callable[..., Any] = model.plan_prune

    def recording(points: Any, **arguments: Any) -> Any:
        points = list(points)
        given_sizes.append(len(points))
        return planner(points, **arguments)

    monkeypatch.setattr(model, "plan_prune", recording)
    spec = build_input(fleet=synthetic_fleet(40, seed=3), start=START, days=730)
    simulate(spec)
    fast = sum(given_sizes)
    given_sizes.clear()
    simulate(spec, feed_only_what_can_change=False)
    assert fast * 3 < sum(given_sizes)


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
    max_size=25,
)


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
