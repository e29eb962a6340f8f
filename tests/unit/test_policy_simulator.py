"""The policy simulator's arithmetic: counts, peaks, storage, transfer and cost, worked by hand."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

import policy_simulator  # noqa: F401 - puts the core layer on the path
from policy_simulator.model import Prices, SimulatorInput, SyntheticDatabase, simulate, source_storage_gb
from restorable.policy import parse_policy_document
from restorable.prune_plan import BreakerLimits
from restorable.schedule import CronSchedule

START = datetime(2026, 11, 1, tzinfo=UTC)  # Sunday
WEEKLY = CronSchedule.parse("cron(0 2 ? * SUN *)")
DAILY_PRUNE = CronSchedule.parse("cron(0 5 * * ? *)")
TWO_WEEKS = parse_policy_document(
    '{"version": 1, "policies": {"p": {"automated_backups": {"retention_days": 7},'
    ' "snapshots": {"weekly": {"retention_days": 14, "dr_copy": true}}}}}'
)


def _input(databases: list[SyntheticDatabase], **overrides: object) -> SimulatorInput:
    arguments: dict[str, object] = {
        "databases": databases,
        "policies": TWO_WEEKS,
        "schedules": {"weekly": WEEKLY},
        "prune_schedule": DAILY_PRUNE,
        "start": START,
        "days": 21,
        **overrides,
    }
    return SimulatorInput(**arguments)  # type: ignore[arg-type]


def test_storage_of_one_database_is_the_oldest_in_full_and_the_rest_at_the_change_rate() -> None:
    assert source_storage_gb([], 0.5) == 0
    assert source_storage_gb([100, 100, 100], 1.0) == 300
    assert source_storage_gb([100, 110, 120], 0.1) == pytest.approx(123)


def test_one_database_over_three_weeks_worked_by_hand() -> None:
    result = simulate(_input([SyntheticDatabase("db1", cluster=False, policy="p", size_gb=10)], change_rate=0.5))
    # The catch-up at the start takes the weekly of Oct 25; the schedule fires Nov 1, 8 and 15.
    # Each expires 14 days after its scheduled time and is pruned at the next 05:00 run.
    assert result.created[("us-east-1", "weekly")] == 4
    assert result.copied[("us-west-2", "weekly")] == 4
    assert result.pruned[("us-east-1", "weekly")] == 2
    assert result.final_identifiers["us-east-1"] == {"db1-weekly-2026-11-08", "db1-weekly-2026-11-15"}
    assert result.final_identifiers["us-west-2"] == result.final_identifiers["us-east-1"]
    # Three exist between the Sunday 02:00 snapshot and the 05:00 prune; the midnight samples see two.
    assert result.peak("us-east-1", "instance") == 3
    assert [s.counts[("us-east-1", "instance")] for s in result.samples] == [0] + [2] * 20
    # Two kept snapshots of 10 GB at change rate 0.5: 10 + 5 = 15 GB per Region, 20 days of November.
    assert result.samples[-1].storage_gb == {"us-east-1": 15.0, "us-west-2": 15.0}
    # Copies: the first in full (10 GB), the three later ones at the change rate (5 GB each).
    [(month, gb_months, transfer, storage_cost, transfer_cost)] = result.monthly_cost()
    assert month == "2026-11"
    assert gb_months == pytest.approx(2 * 20 * 15 / 30)
    assert transfer == pytest.approx(25)
    assert storage_cost == pytest.approx(20 * 0.095)
    assert transfer_cost == pytest.approx(25 * 0.02)


def test_prices_are_parameters() -> None:
    spec = _input([SyntheticDatabase("db1", False, "p", 10)], prices=Prices(storage_per_gb_month=1, transfer_per_gb=2))
    [(_, gb_months, transfer, storage_cost, transfer_cost)] = simulate(spec).monthly_cost()
    assert storage_cost == pytest.approx(gb_months)
    assert transfer_cost == pytest.approx(2 * transfer)


def test_growth_makes_later_snapshots_bigger() -> None:
    grown = simulate(_input([SyntheticDatabase("db1", False, "p", 10, growth_gb_per_month=30)]))
    flat = simulate(_input([SyntheticDatabase("db1", False, "p", 10)]))
    assert grown.samples[-1].storage_gb["us-east-1"] > flat.samples[-1].storage_gb["us-east-1"] == 20


def test_unprotected_and_unknown_policies_get_nothing() -> None:
    result = simulate(
        _input([SyntheticDatabase("free", False, None, 10), SyntheticDatabase("odd", True, "no-such-policy", 10)])
    )
    assert sum(result.created.values()) == 0
    assert result.peaks == {}


def test_the_real_circuit_breaker_stops_pruning_when_a_run_would_delete_too_many() -> None:
    fleet = [SyntheticDatabase(f"db{n}", False, "p", 10) for n in range(60)]
    blocked = simulate(_input(fleet, breaker=BreakerLimits(max_share=1.0, max_count=50)))
    assert blocked.breaker_trips
    assert blocked.pruned[("us-east-1", "weekly")] == 0
    allowed = simulate(_input(fleet, breaker=BreakerLimits(max_share=1.0, max_count=100)))
    assert not allowed.breaker_trips
    assert allowed.pruned[("us-east-1", "weekly")] == 120


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="change_rate"):
        _input([], change_rate=1.5)
    with pytest.raises(ValueError, match="days"):
        _input([], days=0)
