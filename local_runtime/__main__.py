"""``python -m local_runtime``: run Restorable's schedules on the embedded emulator (moto).

Reads ``template.yaml``, creates a sample fleet, then fires every schedule the template
declares, in time order, over a simulated period, invoking the real handlers through the
template's wiring, and prints what happened.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta

import boto3
from moto import mock_aws

from restorable.schedule import CronSchedule

from .fleet import create_sample_fleet
from .functions import Functions, ScheduleSpec
from .template import Template


def fire_times(schedule: ScheduleSpec, start: datetime, end: datetime) -> list[datetime]:
    cron = CronSchedule.parse(schedule.expression, schedule.timezone)
    times, moment = [], start
    while (moment := cron.next_fire_after(moment)) < end:
        times.append(moment)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_runtime", description=__doc__)
    parser.add_argument("--days", type=int, default=35, help="simulated days (default 35)")
    parser.add_argument("--start", default="2026-11-01T00:00:00+00:00", help="simulated start (ISO-8601)")
    parser.add_argument("--region", default="us-east-1")
    args = parser.parse_args(argv)
    if args.days < 1:
        parser.error("--days must be at least 1")
    start = datetime.fromisoformat(args.start).astimezone(UTC)
    end = start + timedelta(days=args.days)

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "demo")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "demo")
    with mock_aws():
        template = Template.load(region=args.region)
        functions = Functions(template)
        rds = boto3.client("rds", region_name=args.region)
        fleet = create_sample_fleet(rds)
        print(
            f"Restorable on the embedded emulator: {len(fleet)} databases in {args.region}, "
            f"{args.days} days from {start:%Y-%m-%d}"
        )
        firings = sorted(
            (when, schedule)
            for schedule in functions.schedules()
            if schedule.enabled
            for when in fire_times(schedule, start, end)
        )
        totals: Counter[str] = Counter()
        last_skip: dict[str, str] = {}
        for number, (when, schedule) in enumerate(firings, 1):
            invocation = functions.invoke(schedule.function, schedule.event_for(when))
            if invocation.error is not None:
                print(f"  {when:%Y-%m-%d %H:%M} {schedule.name}: ERROR {invocation.error}")
                totals["errors"] += 1
                continue
            counts = invocation.payload["counts"]
            for item in invocation.payload["items"]:
                if item["outcome"] in ("skipped", "finding"):
                    last_skip[item["resource"]] = item.get("reason", "")
            totals.update({k: v for k, v in counts.items() if v})
            created = [i["recovery_point"] for i in invocation.payload["items"] if i["outcome"] == "created"]
            if created or counts["failed"]:
                failed = f"; {counts['failed']} failed" if counts["failed"] else ""
                print(f"  {when:%Y-%m-%d %H:%M} {schedule.name}: created {', '.join(created) or 'nothing'}{failed}")
            if number % 200 == 0:
                print(
                    f"  ... {number}/{len(firings)} scheduled invocations, simulated {when:%Y-%m-%d}", file=sys.stderr
                )

        print(f"\n{len(firings)} scheduled invocations; outcomes: {dict(totals)}")
        print("\nSnapshots now in the Region:")
        snapshots = rds.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]
        clusters = rds.describe_db_cluster_snapshots(SnapshotType="manual")["DBClusterSnapshots"]
        rows = [(s["DBSnapshotIdentifier"], {t["Key"]: t["Value"] for t in s.get("TagList", [])}) for s in snapshots]
        rows += [
            (s["DBClusterSnapshotIdentifier"], {t["Key"]: t["Value"] for t in s.get("TagList", [])}) for s in clusters
        ]
        for identifier, tags in sorted(rows):
            kind, expires = tags.get("restorable:kind", "-"), tags.get("restorable:expires-at", "-")
            print(f"  {identifier:<42} kind={kind:<8} expires={expires}")
        sources = {tags.get("restorable:source", "").rsplit(":", 1)[-1] for _, tags in rows}
        untouched = [d for d in fleet if d not in sources and d not in last_skip]
        print(f"\nNot protected, never touched: {', '.join(untouched) or 'none'}")
        for resource, reason in sorted(last_skip.items()):
            print(f"Skipped at the last run: {resource}: {reason}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
