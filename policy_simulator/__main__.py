"""``python -m policy_simulator`` (``make simulate``): what a policy does to a fleet over years.

Plans with Restorable's own core (snapshot planner, prune planner, schedules from
``template.yaml``) over a synthetic fleet of RDS databases, DynamoDB tables and ElastiCache caches
(or ``make demo``'s sample fleet), without an emulator, and reports peak and steady recovery-point
counts per Region against the quota, storage and estimated monthly cost per engine.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from local_runtime.fleet import FleetMember, synthetic_fleet
from local_runtime.planted import DEMO_FLEET
from restorable.errors import RestorableError
from restorable.prune_plan import BreakerLimits

from .config import DEFAULT_PRUNE_SCHEDULE, build_input
from .model import Prices, simulate
from .report import summary_lines, write_report


def _policy_mix(text: str) -> list[tuple[str | None, float]]:
    mix: list[tuple[str | None, float]] = []
    for part in text.split(","):
        name, sep, weight = part.partition("=")
        try:
            value = float(weight)
        except ValueError:
            value = -1.0
        if not sep or not name.strip() or value < 0:
            raise argparse.ArgumentTypeError(f"expected name=weight[,name=weight...], got {text!r}")
        mix.append((None if name.strip().lower() == "none" else name.strip(), value))
    if sum(weight for _, weight in mix) <= 0:
        raise argparse.ArgumentTypeError("the weights must not all be zero")
    return mix


def _parameter(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected Name=Value, got {text!r}")
    return name, value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m policy_simulator", description=__doc__)
    parser.add_argument("--databases", type=int, default=100, help="RDS databases in the fleet (default 100)")
    parser.add_argument("--tables", type=int, default=10, help="DynamoDB tables in the fleet (default 10)")
    parser.add_argument("--caches", type=int, default=5, help="ElastiCache caches in the fleet (default 5)")
    parser.add_argument(
        "--sample", action="store_true", help="the sample fleet of make demo (RDS, two tables, a cache) instead"
    )
    parser.add_argument("--years", type=float, default=3, help="horizon in years (default 3)")
    parser.add_argument("--start", default="2026-11-01T00:00:00+00:00", help="start, ISO-8601")
    parser.add_argument("--size-gb", type=int, nargs=2, default=(20, 500), metavar=("MIN", "MAX"))
    parser.add_argument("--growth-gb-per-month", type=float, default=0.0)
    parser.add_argument("--cluster-share", type=float, default=0.2, help="share of Aurora clusters (default 0.2)")
    parser.add_argument(
        "--policy-mix", type=_policy_mix, default="standard=0.8,compliance=0.1,none=0.1", help="name=weight,..."
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--policy-file", type=Path, help="policy document (default: the template's / built-in)")
    parser.add_argument("--parameter", type=_parameter, action="append", default=[], help="template Name=Value")
    parser.add_argument("--prune-schedule", help=f"cron for pruning (default: template or {DEFAULT_PRUNE_SCHEDULE})")
    parser.add_argument("--change-rate", type=float, default=1.0, help="billed share of a non-first snapshot (0-1)")
    parser.add_argument("--storage-price", type=float, default=0.095, help="$ per GB-month (default 0.095)")
    parser.add_argument("--transfer-price", type=float, default=0.02, help="$ per GB cross-Region (default 0.02)")
    parser.add_argument("--quota", type=int, default=100, help="manual snapshots per Region and type (default 100)")
    parser.add_argument("--breaker-max-share", type=float, default=BreakerLimits.max_share)
    parser.add_argument("--breaker-max-count", type=int, default=BreakerLimits.max_count)
    parser.add_argument("--output", type=Path, default=Path("reports/policy-simulator"))
    args = parser.parse_args(argv)
    mix = args.policy_mix  # argparse converts the string default with _policy_mix too
    if min(args.databases, args.tables, args.caches) < 0 or args.years <= 0:
        parser.error("--databases, --tables and --caches must not be negative and --years must be positive")
    try:
        start = datetime.fromisoformat(args.start)
        start = start.replace(tzinfo=UTC) if start.tzinfo is None else start
        fleet: list[FleetMember] = (
            list(DEMO_FLEET)
            if args.sample
            else synthetic_fleet(
                args.databases,
                seed=args.seed,
                policies=mix,
                size_gb=(args.size_gb[0], args.size_gb[1]),
                cluster_share=args.cluster_share,
                growth_gb_per_month=args.growth_gb_per_month,
                tables=args.tables,
                caches=args.caches,
            )
        )
        spec = build_input(
            fleet=fleet,
            start=start,
            days=round(args.years * 365),
            parameter_overrides=dict(args.parameter),
            policy_text=args.policy_file.read_text(encoding="utf-8") if args.policy_file else None,
            prune_schedule=args.prune_schedule,
            change_rate=args.change_rate,
            prices=Prices(args.storage_price, args.transfer_price),
            breaker=BreakerLimits(args.breaker_max_share, args.breaker_max_count),
        )
    except (RestorableError, ValueError, KeyError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    result = simulate(spec)
    elapsed = time.perf_counter() - started
    print("\n".join(summary_lines(result, args.quota, elapsed)))
    path = write_report(result, args.output, args.quota)
    print(f"\nReport: {path} (chart beside it)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
