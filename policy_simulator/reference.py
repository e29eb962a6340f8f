"""The plain simulation: every database on its own, every prune run planned over every point.

Slow (it does everything the fast simulation in ``model`` avoids) and kept simple on purpose:
it is what the fast one must equal, figure for figure, whatever the planners' rules become.
"""

from __future__ import annotations

import calendar
from collections import Counter
from datetime import UTC, datetime, timedelta

from restorable.prune_plan import plan_prune
from restorable.snapshot_plan import Action, Period, plan_scheduled_snapshots

from .model import (
    _TYPE_NAMES,
    DaySample,
    SimulatorInput,
    SimulatorResult,
    _firings,
    _months,
    _Point,
    _points,
    copies_across_regions,
    database_of,
    sampled_types,
    source_storage_gb,
)


def simulate_plainly(spec: SimulatorInput) -> SimulatorResult:
    result = SimulatorResult(spec)
    start = spec.start.astimezone(UTC)
    end = start + timedelta(days=spec.days)
    by_identifier = {db.identifier: db for db in spec.databases}
    databases = [database_of(db, spec.account_id, spec.source_region) for db in spec.databases]
    sources = {database.arn for database in databases}
    engine_of = {database.arn: database.type.engine for database in databases}
    types = sampled_types(spec)
    engines = result.engines()
    points: dict[str, dict[str, _Point]] = {region: {} for region in result.regions}  # in order of arrival
    counts: dict[str, Counter[str]] = {region: Counter() for region in result.regions}
    per_source: dict[str, Counter[str]] = {region: Counter() for region in result.regions}
    peaks: Counter[tuple[str, str]] = Counter()

    timeline: list[tuple[datetime, int, str, str]] = [
        (start + timedelta(days=d), 0, "sample", "") for d in range(spec.days)
    ]
    for kind, schedule in spec.schedules.items():
        timeline.append((start, 1, "catch-up", kind))
        timeline += [(at, 1, "snapshot", kind) for at in _firings(schedule, start, end)]
    timeline += [(at, 2, "prune", "") for at in _firings(spec.prune_schedule, start, end)]
    timeline.sort()

    for now, _, what, kind in timeline:
        if what == "sample":
            days_in_month = calendar.monthrange(now.year, now.month)[1]
            day_counts = {}
            storage = {}
            by_engine = {}
            month = f"{now:%Y-%m}"
            for region in result.regions:
                for snapshot_type in types:
                    day_counts[(region, snapshot_type)] = counts[region][snapshot_type]
                sizes: dict[str, list[float]] = {}
                for point in points[region].values():
                    sizes.setdefault(point.source_arn or "", []).append(point.size_gb)
                storage[region] = sum(source_storage_gb(s, spec.change_rate) for s in sizes.values())
                result.storage_gb_months_by_month[month] += storage[region] / days_in_month
                for engine in engines:
                    gb = sum(
                        source_storage_gb(s, spec.change_rate) for arn, s in sizes.items() if engine_of[arn] is engine
                    )
                    by_engine[(region, engine.value)] = gb
                    result.storage_gb_months_by_engine[(engine.value, month)] += gb / days_in_month
            result.samples.append(DaySample(now, day_counts, storage, by_engine))
        elif what == "prune":
            for region in result.regions:
                plan = plan_prune(
                    list(points[region].values()),
                    stack_name=spec.stack_name,
                    now=now,
                    existing_sources=sources,
                    region=region,
                    limits=spec.breaker,
                )
                if plan.breaker_tripped:
                    result.breaker_trips.append((now, region, plan.breaker_reason))
                for deleted in plan.deletions:
                    del points[region][deleted.identifier]
                    per_source[region][deleted.source_arn or ""] -= 1
                    counts[region][_TYPE_NAMES[deleted.type]] -= 1
                    result.pruned[(region, deleted.kind or "")] += 1
        else:
            period = Period.current(kind, spec.schedules[kind], now)
            source_points = points[spec.source_region]
            decisions = plan_scheduled_snapshots(databases, source_points, spec.policies, [period], spec.stack_name)
            for decision in decisions:
                if decision.action is not Action.CREATE or decision.snapshot_id is None:
                    continue
                db = by_identifier[decision.database.identifier]
                size = db.size_at(_months(start, now))
                policy = spec.policies.get(db.policy or "")
                rule = policy.rule_for(kind) if policy else None
                copied = rule is not None and rule.dr_copy and copies_across_regions(decision.database.type)
                regions = result.regions if copied else [spec.source_region]
                made = _points(decision.database, decision.snapshot_id, decision.tags, regions, now, size)
                for region, point in zip(regions, made, strict=True):
                    if region != spec.source_region:
                        present = per_source[region][decision.database.arn] > 0
                        result.transfer_gb_by_month[f"{now:%Y-%m}"] += size * spec.change_rate if present else size
                        result.copied[(region, kind)] += 1
                    else:
                        result.created[(region, kind)] += 1
                    points[region][point.identifier] = point
                    per_source[region][point.source_arn or ""] += 1
                    snapshot_type = _TYPE_NAMES[point.type]
                    counts[region][snapshot_type] += 1
                    peaks[(region, snapshot_type)] = max(peaks[(region, snapshot_type)], counts[region][snapshot_type])

    for region in result.regions:
        for point in points[region].values():
            result.kept[(region, point.kind or "")] += 1
        result.final_identifiers[region] = set(points[region])
    result.peaks = {key: peak for key, peak in peaks.items()}
    return result
