"""Simulation speed: simulated days per second on the emulator, and the policy simulator at scale.

``python -m benchmarks.simulation`` prints JSON figures:
- ``make demo`` itself (the sample fleet with its planted problems and the restore model), over a
  shorter period: simulated days per second, measured (wall and CPU; on a shared machine compare CPU);
- the local runtime with a 20-database synthetic fleet (warm handler modules, the default, and
  cold: the handler re-imported on every invocation);
- the policy simulator with 1,000 databases over 3 years with the default circuit breaker
  (20 % share, no count limit), wall and CPU seconds (the CPU figure is the one to compare on a
  shared machine), and the same with 100 DynamoDB tables and 50 ElastiCache caches beside them;
- 100 databases x 3 years with a fixed count limit of 50 (the breaker trips at every run, so the
  planner sees every member's points), and the plain reference loop (every database, every point,
  every run: what the default must equal exactly) at 100 databases, for the speed-up.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime

from moto import mock_aws

import local_runtime  # noqa: F401 - puts the core layer on the path
from local_runtime.demo import run_demo
from local_runtime.fleet import synthetic_fleet
from local_runtime.planted import DEMO_FLEET, demo_problems
from local_runtime.restore_model import RestoreDurationModel
from policy_simulator.config import build_input
from policy_simulator.model import simulate
from restorable.prune_plan import BreakerLimits

START = datetime(2026, 11, 1, tzinfo=UTC)


def emulator_days_per_second(databases: int, days: float, warm: bool) -> dict[str, object]:
    os.environ["MOTO_RDS_SNAPSHOT_LIMIT"] = "1000000"
    with mock_aws():
        started = time.perf_counter()
        demo = run_demo(days=days, start=START, fleet=synthetic_fleet(databases), warm=warm)
        elapsed = time.perf_counter() - started
    result = demo.result
    return {
        "databases": databases,
        "simulated_days": days,
        "warm_modules": warm,
        "invocations": result.invocations,
        "wall_seconds": round(elapsed, 1),
        "simulated_days_per_second": round(days / elapsed, 2),
        "ms_per_invocation": round(1000 * elapsed / max(result.invocations, 1), 1),
        "snapshots_created": sum(result.created.values()),
    }


def demo_days_per_second(days: float = 8) -> dict[str, object]:
    """``make demo`` as ``python -m local_runtime --days N`` runs it (no report), timed."""
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    with mock_aws():
        started, started_cpu = time.perf_counter(), time.process_time()
        demo = run_demo(
            days=days,
            start=START,
            fleet=DEMO_FLEET,
            planted=demo_problems(START, days, region="us-east-1"),
            restore_model=RestoreDurationModel(),
        )
        elapsed, elapsed_cpu = time.perf_counter() - started, time.process_time() - started_cpu
    result = demo.result
    return {
        "fleet": "sample (make demo)",
        "simulated_days": days,
        "invocations": result.invocations,
        "wall_seconds": round(elapsed, 1),
        "cpu_seconds": round(elapsed_cpu, 1),
        "simulated_days_per_second": round(days / elapsed, 2),
        "simulated_days_per_cpu_second": round(days / elapsed_cpu, 2),
        "ms_per_invocation": round(1000 * elapsed / max(result.invocations, 1), 1),
    }


def simulator_seconds(
    databases: int,
    years: int,
    breaker: BreakerLimits,
    *,
    feed_only_what_can_change: bool = True,
    tables: int = 0,
    caches: int = 0,
) -> dict[str, object]:
    fleet = synthetic_fleet(databases, tables=tables, caches=caches)
    spec = build_input(fleet=fleet, start=START, days=365 * years, breaker=breaker)
    started, started_cpu = time.perf_counter(), time.process_time()
    result = simulate(spec, feed_only_what_can_change=feed_only_what_can_change)
    elapsed, elapsed_cpu = time.perf_counter() - started, time.process_time() - started_cpu
    return {
        "databases": databases,
        **({"tables": tables, "caches": caches} if tables or caches else {}),
        "years": years,
        "breaker": {"max_share": breaker.max_share, "max_count": breaker.max_count},
        "prune_planner_fed": "only what can change" if feed_only_what_can_change else "every point",
        "seconds": round(elapsed, 2),
        "cpu_seconds": round(elapsed_cpu, 2),
        "breaker_trips": len(result.breaker_trips),
        "peak_instance_snapshots_source_region": result.peak(spec.source_region, "instance"),
        "snapshots_pruned": sum(result.pruned.values()),
    }


def main() -> None:
    figures = {
        "demo": demo_days_per_second(),
        "emulator": [
            emulator_days_per_second(20, 14, warm=True),
            emulator_days_per_second(20, 3, warm=False),
        ],
        "policy_simulator": [
            simulator_seconds(1000, 3, BreakerLimits()),
            # every engine: 1,000 databases, 100 tables (weekly, 90 days), 50 caches (daily, 7 days)
            simulator_seconds(1000, 3, BreakerLimits(), tables=100, caches=50),
            simulator_seconds(100, 3, BreakerLimits(max_share=0.2, max_count=50)),
            # the plain reference loop (every database, every point, every run): slow by design
            simulator_seconds(100, 3, BreakerLimits(), feed_only_what_can_change=False),
        ],
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
