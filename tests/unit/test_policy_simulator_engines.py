"""The policy simulator over tables and caches: weekly table backups kept 90 days, daily cache snapshots
kept 7 days, neither copied to the DR Region, each engine's storage at its own price; the fast and the
plain simulation agree on a fleet of every engine; an RDS-only fleet is simulated as before."""

from __future__ import annotations

from datetime import UTC, datetime

import policy_simulator  # noqa: F401 - puts the core layer on the path
from local_runtime.fleet import FleetMember, synthetic_fleet
from local_runtime.planted import DEMO_FLEET
from policy_simulator.config import build_input
from policy_simulator.model import Prices, simulate
from policy_simulator.reference import simulate_plainly
from policy_simulator.report import summary_lines
from tests.unit.test_policy_simulator_equivalence import amounts, counted

START = datetime(2026, 11, 1, tzinfo=UTC)  # a Sunday
TABLE = FleetMember("orders-table", "dynamodb", "standard", size_gb=12)
CACHE = FleetMember("sessions-cache", "valkey", "standard", size_gb=2, members=2)


def test_a_table_keeps_its_weekly_backups_90_days_and_a_cache_its_daily_snapshots_7_days() -> None:
    result = simulate(build_input(fleet=[TABLE, CACHE], start=START, days=200))
    end = result.samples[-1].counts
    # 90 days of Sunday backups (13, plus the one made on the day that expires next), in the source Region only.
    assert end[("us-east-1", "table")] in (13, 14)
    assert end[("us-east-1", "replication-group")] in (7, 8)
    assert end[("us-west-2", "table")] == end[("us-west-2", "replication-group")] == 0
    assert result.copied == {}
    assert set(result.created) == {("us-east-1", "weekly"), ("us-east-1", "daily")}
    # One a day, and the catch-up's at the start (the period current then: Oct 31's, fired at 03:00).
    assert result.created[("us-east-1", "daily")] == 1 + 200
    assert result.pruned[("us-east-1", "daily")] == 1 + 200 - end[("us-east-1", "replication-group")]
    # Table backup names carry the contract (stack, kind, period, expiry) and the table's name.
    [name] = [n for n in result.final_identifiers["us-east-1"] if n.endswith(".orders-table")][-1:]
    assert name.startswith("restorable.restorable.weekly.")


def test_each_engine_is_stored_and_priced_on_its_own() -> None:
    prices = Prices(storage_per_gb_month=1.0, table_backup_per_gb_month=10.0, cache_snapshot_per_gb_month=100.0)
    result = simulate(build_input(fleet=[TABLE, CACHE], start=START, days=60, prices=prices))
    last = result.samples[-1]
    tables = last.storage_gb_by_engine[("us-east-1", "dynamodb")]
    caches = last.storage_gb_by_engine[("us-east-1", "elasticache")]
    assert tables == 12 * last.counts[("us-east-1", "table")]  # every backup at full size (change rate 1)
    assert caches == 2 * last.counts[("us-east-1", "replication-group")]
    assert last.storage_gb["us-east-1"] == tables + caches
    month, gb_months, _, storage_cost, _ = result.monthly_cost()[-1]
    by_engine = {e: v for (e, m), v in result.storage_gb_months_by_engine.items() if m == month}
    assert abs(storage_cost - (10 * by_engine["dynamodb"] + 100 * by_engine["elasticache"])) < 1e-6
    assert abs(gb_months - sum(by_engine.values())) < 1e-6
    text = "\n".join(summary_lines(result))
    assert "dynamodb $10.0/GB-month" in text
    assert "elasticache" in text


def test_the_fast_and_the_plain_simulation_agree_on_a_fleet_of_every_engine() -> None:
    fleet = synthetic_fleet(12, seed=5, tables=6, caches=4)
    spec = build_input(fleet=fleet, start=START, days=150)
    fast, plain = simulate(spec), simulate_plainly(spec)
    assert counted(fast) == counted(plain)
    for (name, a), (_, b) in zip(amounts(fast), amounts(plain), strict=True):
        assert abs(a - b) <= 1e-6 * max(1.0, abs(b)), name
    assert [s.storage_gb_by_engine for s in fast.samples] == [s.storage_gb_by_engine for s in plain.samples]


def test_tables_and_caches_leave_the_databases_of_a_synthetic_fleet_as_they_were() -> None:
    alone = synthetic_fleet(30, seed=7)
    assert synthetic_fleet(30, seed=7, tables=5, caches=3)[:30] == alone
    rds = simulate(build_input(fleet=alone, start=START, days=120))
    both = simulate(build_input(fleet=synthetic_fleet(30, seed=7, tables=5, caches=3), start=START, days=120))
    for region in ("us-east-1", "us-west-2"):
        for kind in ("instance", "cluster"):
            assert [s.counts[(region, kind)] for s in rds.samples] == [s.counts[(region, kind)] for s in both.samples]
            assert rds.peak(region, kind) == both.peak(region, kind)
        assert [s.storage_gb_by_engine[(region, "rds")] for s in both.samples] == [
            s.storage_gb[region] for s in rds.samples
        ]


def test_the_sample_fleet_of_the_demo_is_simulated_with_its_tables_and_cache() -> None:
    result = simulate(build_input(fleet=list(DEMO_FLEET), start=START, days=100))
    assert {"table", "replication-group"} <= {kind for (_, kind) in result.samples[-1].counts}
    assert result.samples[-1].counts[("us-east-1", "table")] > 0
    assert result.engines()[0].value == "rds"
