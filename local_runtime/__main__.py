"""``python -m local_runtime`` (``make demo``): run Restorable on the embedded emulator (moto).

Deploys what ``template.yaml`` declares on moto (functions, the resources they use, schedules,
EventBridge rules, state machines), creates a sample fleet in the source and DR Regions, then
runs a simulated period in accelerated time: schedules fire when their expressions say, RDS
events are dispatched to the rules whose patterns match, and the real handlers do the work.
Prints progress (stderr) and a summary, and writes a report with charts.
"""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from datetime import UTC, datetime
from pathlib import Path

from moto import mock_aws

from .demo import DEFAULT_START, run_demo
from .fleet import FleetMember, synthetic_fleet
from .html_report import write_html_report
from .planted import DEMO_FLEET, PlantedProblem, demo_problems
from .report import demo_summary_lines, planted_lines, write_report
from .restore_model import RestoreDurationModel


def _parameter(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected Name=Value, got {text!r}")
    return name, value


# The emulator's Step Functions interpreter logs every Fail state at ERROR (a drill that fails on
# purpose is one); the demo reports drills itself, so its terminal shows only what the report explains.
_EMULATOR_STATE_LOGGER = "moto.stepfunctions.parser"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_runtime", description=__doc__)
    parser.add_argument("--days", type=float, default=100, help="simulated days (default 100)")
    parser.add_argument("--start", default=DEFAULT_START, help=f"simulated start, ISO-8601 (default {DEFAULT_START})")
    parser.add_argument("--region", default="us-east-1", help="Region the stack is deployed in (default us-east-1)")
    parser.add_argument(
        "--databases", type=int, default=0, help="use a synthetic fleet of this many databases instead of the sample"
    )
    parser.add_argument(
        "--parameter", type=_parameter, action="append", default=[], help="template parameter override, Name=Value"
    )
    parser.add_argument("--output", type=Path, default=Path("demo-output"), help="report folder (default demo-output)")
    parser.add_argument("--cold", action="store_true", help="re-import each handler on every invocation (slower)")
    parser.add_argument(
        "--no-cache", action="store_true", help="answer every read call from the emulator afresh (slower, same summary)"
    )
    parser.add_argument(
        "--quiet", action="store_true", help="no progress lines (nor the progress bar shown on a terminal)"
    )
    parser.add_argument(
        "--no-planted", action="store_true", help="no planted problems in the sample fleet (they are on by default)"
    )
    args = parser.parse_args(argv)
    logging.getLogger(_EMULATOR_STATE_LOGGER).setLevel(logging.CRITICAL)
    # Powertools warns on the terminal when a run publishes no metric (a dry run, a pass with nothing to do);
    # on AWS that line goes to the function's log, not to the person watching the demo.
    warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)
    if args.days <= 0:
        parser.error("--days must be positive")
    try:
        start = datetime.fromisoformat(args.start)
    except ValueError:
        parser.error(f"--start: {args.start!r} is not an ISO-8601 date-time")
    start = start.replace(tzinfo=UTC) if start.tzinfo is None else start.astimezone(UTC)
    if args.databases < 0:
        parser.error("--databases must not be negative")
    fleet: tuple[FleetMember, ...] | list[FleetMember] = DEMO_FLEET
    planted: list[PlantedProblem] = []
    if args.databases:
        fleet = synthetic_fleet(args.databases, region=args.region)
    elif not args.no_planted:
        planted = demo_problems(start, args.days, region=args.region)

    print(
        f"Restorable on the embedded emulator: {len(fleet)} databases, stack in {args.region}, "
        f"{args.days:g} simulated days from {start:%Y-%m-%d}",
        file=sys.stderr,
    )
    print("\n".join(planted_lines(planted)), file=sys.stderr)
    with mock_aws():
        demo = run_demo(
            days=args.days,
            start=start,
            fleet=fleet,
            region=args.region,
            parameter_overrides=dict(args.parameter),
            warm=not args.cold,
            cache=not args.no_cache,
            progress=None if args.quiet else sys.stderr,
            progress_bar=not args.quiet,
            planted=planted,
            restore_model=RestoreDurationModel(),
        )
    print("\n".join(demo_summary_lines(demo)))
    report = write_report(demo.result, args.output, demo.runner_connected, demo)
    page = write_html_report(demo, args.output)
    print(f"\nReport: {report} (charts beside it); the same with charts in one page: {page}")
    return 1 if demo.result.errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
