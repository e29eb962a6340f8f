"""The simulation's summary (terminal), report (Markdown) and charts (PNG)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from restorable.models import Engine

from .fleet import CACHE_ENGINES, TABLE_ENGINE
from .simulation import DailySample, DrillRun, SimulationResult

if TYPE_CHECKING:
    from .demo import Demo
    from .findings import FindingEpisode
    from .planted import PlantedProblem

# How an explanation that is not a planted problem starts (see ``demo.NO_DR_EXPORTS``).
KNOWN_GAP = "known gap:"
MANUAL_SNAPSHOT_QUOTA = 100  # per Region, DB snapshots and cluster snapshots each (adjustable in AWS)
# Recovery-point storage, $ per GB-month in us-east-1, charged on each point's full size: RDS snapshot
# storage beyond the free allowance (an upper bound: RDS stores snapshots incrementally), DynamoDB
# on-demand backups (full copies), ElastiCache snapshots.
STORAGE_PRICES_PER_GB_MONTH = {Engine.RDS: 0.095, Engine.DYNAMODB: 0.10, Engine.ELASTICACHE: 0.085}
# One style per Region, so series that coincide (source and DR copies) both stay visible.
REGION_STYLES: list[dict[str, Any]] = [
    {"color": "tab:blue", "linestyle": "-", "linewidth": 3.5, "alpha": 0.6},
    {"color": "tab:orange", "linestyle": "--", "linewidth": 1.6, "marker": "o", "markersize": 3, "markevery": 7},
    {"color": "tab:green", "linestyle": ":", "linewidth": 1.6, "marker": "s", "markersize": 3, "markevery": 7},
]


def _kinds(result: SimulationResult) -> list[str]:
    keys = set(result.created) | set(result.copied) | set(result.pruned) | set(result.kept)
    return sorted({kind for _, kind in keys})


def snapshot_table(result: SimulationResult) -> list[tuple[str, str, int, int, int, int]]:
    """(Region, kind, created, copied in, pruned, kept at the end)."""
    rows = []
    for region in result.regions:
        for kind in _kinds(result):
            key = (region, kind)
            numbers = (result.created[key], result.copied[key], result.pruned[key], result.kept[key])
            if any(numbers):
                rows.append((region, kind, *numbers))
    return rows


def job_weeks(result: SimulationResult) -> dict[str, list[tuple[str, int, int, Counter[str]]]]:
    """Per job: (week starting, runs, runs not ok, outcome counts) for every simulated week."""
    weeks: dict[str, dict[int, tuple[int, int, Counter[str]]]] = defaultdict(dict)
    for run in result.jobs:
        week = int((run.at - result.start) / timedelta(days=7))
        runs, not_ok, counts = weeks[run.job].get(week, (0, 0, Counter()))
        counts.update({k: v for k, v in run.counts.items() if v})
        weeks[run.job][week] = (runs + 1, not_ok + (0 if run.ok else 1), counts)
    table: dict[str, list[tuple[str, int, int, Counter[str]]]] = {}
    for job, by_week in sorted(weeks.items()):
        table[job] = [
            (f"{result.start + timedelta(days=7 * week):%Y-%m-%d}", *by_week[week]) for week in sorted(by_week)
        ]
    return table


def service_of(engine: str) -> Engine:
    """The service whose recovery points an engine label of the report counts."""
    if engine == TABLE_ENGINE:
        return Engine.DYNAMODB
    if engine in CACHE_ENGINES or engine == "elasticache":
        return Engine.ELASTICACHE
    return Engine.RDS


def monthly_cost(storage_gb: dict[tuple[str, str], float]) -> float:
    """Estimated $ per month of recovery-point storage, per (Region, engine) GB at the service's price."""
    return sum(gb * STORAGE_PRICES_PER_GB_MONTH[service_of(engine)] for (_, engine), gb in storage_gb.items())


def engine_rows(demo: Demo) -> list[tuple[str, str, str, int, int, float, float]]:
    """(Region, engine, service, recovery points at the end, peak, GB at the end, $/month at the end)."""
    samples = demo.engine_samples
    if not samples:
        return []
    last = samples[-1]
    order = {Engine.RDS: 0, Engine.DYNAMODB: 1, Engine.ELASTICACHE: 2}
    found = {key for sample in samples for key in sample.points}
    keys = sorted(found, key=lambda key: (key[0], order[service_of(key[1])], key[1]))
    rows = []
    for region, engine in keys:
        gb = last.storage_gb.get((region, engine), 0.0)
        rows.append(
            (
                region,
                engine,
                service_of(engine).value,
                last.points.get((region, engine), 0),
                max(sample.points.get((region, engine), 0) for sample in samples),
                gb,
                gb * STORAGE_PRICES_PER_GB_MONTH[service_of(engine)],
            )
        )
    return rows


def engine_lines(demo: Demo) -> list[str]:
    """Recovery points of every engine per Region at the end: the summary's part beside the snapshots."""
    rows = engine_rows(demo)
    if not rows:
        return []
    lines = [
        "Recovery points of every engine per Region (RDS snapshots, DynamoDB backups, ElastiCache snapshots):",
        f"  {'Region':<11} {'engine':<18} {'service':<12} {'at end':>6} {'peak':>5} {'GB':>7} {'$/month':>8}",
    ]
    for region, engine, service, points, peak, gb, cost in rows:
        lines.append(f"  {region:<11} {engine:<18} {service:<12} {points:>6} {peak:>5} {gb:>7.0f} {cost:>8.2f}")
    total = sum(row[6] for row in rows)
    lines.append(f"  estimated storage cost at the end: ${total:.2f} per month (each point at its full size)")
    return lines


def planted_lines(planted: Sequence[PlantedProblem]) -> list[str]:
    """What is planted on purpose (announced when the run starts)."""
    if not planted:
        return ["Planted problems: none (every finding below is unexpected)."]
    lines = [f"Planted problems ({len(planted)}), on purpose; everything else should stay healthy:"]
    for problem in planted:
        lines.append(f"  - {problem.name}: {problem.description}")
        lines.append(f"    expect: {problem.expect}")
    return lines


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else f"{moment:%Y-%m-%d %H:%M}"


def episode_origin(episode: FindingEpisode) -> str:
    """What explains a finding: the planted problem, a known gap of the stack, or nothing (NOT PLANTED)."""
    if not episode.planted:
        return "NOT PLANTED"
    return episode.planted if episode.planted.startswith(KNOWN_GAP) else f"planted: {episode.planted}"


def finding_line(episode: FindingEpisode) -> str:
    state = f"cleared {_when(episode.cleared)}" if episode.cleared else "STILL OPEN"
    origin = episode_origin(episode)
    alerted = f"alerted {_when(episode.alerted)}" if episode.alerted else "never alerted"
    return (
        f"[{episode.severity}] {episode.resource} / {episode.check}: first seen {_when(episode.first_seen)}, "
        f"{alerted}, {state} ({origin})"
    )


def findings_lines(demo: Demo) -> list[str]:
    """Every distinct finding with its resource, check, severity, first seen, cleared or open, and fix."""
    episodes = demo.findings.sorted_episodes()
    runs = len(demo.findings.full_runs)
    if not episodes:
        return [f"Findings: none in {runs} full verification passes."]
    still_open = sum(1 for e in episodes if e.open)
    unexpected = sum(1 for e in episodes if not e.planted)
    lines = [
        f"Findings ({len(episodes)} distinct in {runs} full verification passes; {still_open} still open at the end; "
        f"{unexpected} not explained by a planted problem):"
    ]
    for episode in episodes:
        lines.append(f"  {finding_line(episode)}")
        lines.append(f"      observed: {episode.first_observed}")
        if episode.fix:
            lines.append(f"      fix:      {episode.fix}")
    return lines


def planted_outcome_lines(demo: Demo) -> list[str]:
    """What became of each planted problem: the changes made, the findings it explains, what was kept."""
    if not demo.planted:
        return []
    lines = ["What became of the planted problems:"]
    for problem in demo.planted:
        lines.append(f"  {problem.name} ({problem.database}):")
        for change in [c for c in demo.applied if c.problem == problem.name]:
            lines.append(f"    {change.at:%Y-%m-%d %H:%M} {change.what}: {change.detail}")
        if not any(c.problem == problem.name for c in demo.applied) and problem.changes:
            lines.append("    not reached in this period")
            continue
        for episode in [e for e in demo.findings.sorted_episodes() if e.planted == problem.name]:
            lines.append(f"    {finding_line(episode)}")
        lines += [f"    {line}" for line in kept_lines(problem.name, problem.database, demo)]
    return lines


def kept_lines(problem: str, database: str, demo: Demo) -> list[str]:
    """For the legal hold and the deleted database: which of its recovery points were still there at the end."""
    from restorable import tags as tag_keys
    from restorable.naming import parse_timestamp

    result = demo.result
    mine = [s for s in result.final_snapshots if s.source_identifier == database]
    if problem == "legal hold":
        held = [s for s in mine if s.tag_map.get(tag_keys.LEGAL_HOLD, "").lower() == "true"]
        lines = []
        for snapshot in held:
            expires = parse_timestamp(snapshot.tag_map.get(tag_keys.EXPIRES_AT, ""))
            if expires is not None and expires <= result.end:
                verdict = f"expired {expires:%Y-%m-%d}, KEPT at the end (pruning's legal-hold rule)"
            else:
                verdict = f"on hold, within its retention until {_when(expires)}"
            lines.append(f"{snapshot.region} {snapshot.identifier}: {verdict}")
        siblings = [
            s
            for s in result.final_snapshots
            if s.source_identifier == database and s not in held and s.kind == "weekly"
        ]
        return [*lines, f"{len(siblings)} other weekly snapshots of {database} at the end"] if held else lines
    if problem == "deleted database":
        if not mine:
            return ["no recovery point left at the end"]
        by_place = Counter((s.region, s.kind) for s in mine)
        kept = ", ".join(f"{region} {kind} {n}" for (region, kind), n in sorted(by_place.items()))
        return [f"recovery points still kept at the end: {kept}"]
    return []


def findings_table(demo: Demo) -> list[str]:
    """Markdown: one row per distinct finding."""
    episodes = demo.findings.sorted_episodes()
    if not episodes:
        return ["No finding in the whole period."]
    rows = [
        "| resource | check | severity | first seen | alerted | cleared | planted problem | observed | fix |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for e in episodes:
        cells = [
            e.resource,
            e.check,
            e.severity,
            _when(e.first_seen),
            _when(e.alerted),
            _when(e.cleared) if e.cleared else "still open",
            e.planted or "NOT PLANTED",
            e.first_observed,
            f"`{e.fix}`" if e.fix else "",
        ]
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return rows


def restore_model_lines(demo: Demo) -> list[str]:
    model = demo.restore_model
    if model is None:
        return ["Restore duration: moto's (restored databases are available at once)."]
    return (
        ["Restore duration model (simulated minutes until the restored RDS database is available):"]
        + [f"  {line}" for line in model.describe()]
        + ["  DynamoDB tables and caches: not modelled; the emulator has them available at the drill's first poll"]
    )


def demo_summary_lines(demo: Demo) -> list[str]:
    """The whole summary: the run, the findings named one by one, the planted problems, the drills."""
    return [
        *summary_lines(demo.result, demo.runner_connected),
        "",
        *([*engine_lines(demo), ""] if demo.engine_samples else []),
        *findings_lines(demo),
        "",
        *planted_outcome_lines(demo),
        "",
        *restore_model_lines(demo),
    ]


def summary_lines(result: SimulationResult, runner_connected: bool) -> list[str]:
    lines = [
        f"Simulated {result.simulated_days:.0f} days ({result.start:%Y-%m-%d} to {result.end:%Y-%m-%d}) "
        f"in {result.wall_seconds:.1f} s ({result.simulated_days / max(result.wall_seconds, 1e-9):.1f} days/s), "
        f"{result.invocations} invocations, {len(result.errors)} errors.",
        "",
        "Snapshots (manual) per Region and kind:",
        f"  {'Region':<11} {'kind':<10} {'created':>8} {'copied in':>10} {'pruned':>7} {'kept':>6}",
    ]
    for region, kind, created, copied, pruned, kept in snapshot_table(result):
        lines.append(f"  {region:<11} {kind:<10} {created:>8} {copied:>10} {pruned:>7} {kept:>6}")
    peak = {r: max((s.snapshots.get(r, 0) for s in result.samples), default=0) for r in result.regions}
    lines.append(
        "  peak per Region: " + ", ".join(f"{r} {n} (quota {MANUAL_SNAPSHOT_QUOTA} per type)" for r, n in peak.items())
    )
    lines += ["", "Jobs (runs; runs not ok; outcome totals):"]
    for job, weeks in job_weeks(result).items():
        runs = sum(w[1] for w in weeks)
        not_ok = sum(w[2] for w in weeks)
        totals: Counter[str] = Counter()
        for week in weeks:
            totals.update(week[3])
        status = " ".join("ok" if w[2] == 0 else "!" for w in weeks)
        lines.append(f"  {job:<12} {runs:>5} runs, {not_ok} not ok; {dict(totals)}")
        lines.append(f"  {'':<12} by week: {status}")
    lines += ["", "RDS events emitted (Region, EventID) and delivered to functions:"]
    for (region, event_id), count in sorted(result.events_emitted.items()):
        lines.append(f"  {region} {event_id}: {count}")
    for (event_id, function), count in sorted(result.events_delivered.items()):
        lines.append(f"  {event_id} -> {function}: {count} invocations")
    if not result.events_delivered:
        lines.append("  (no rule in the template matched any of them)")
    lines += ["", "Restore drills (through the real state machine; RTO/RPO in simulated time):"]
    if result.drills:
        lines += [f"  {drill_line(drill)}" for drill in result.drills]
    elif result.drills_not_run:
        hint = "" if runner_connected else " (no runner connected: see local_runtime/statemachine_hook.py)"
        lines.append(f"  scheduled but not run: {dict(result.drills_not_run)}{hint}")
    else:
        lines.append("  none scheduled in the template")
    lines += ["", f"Alerts sent (SNS messages): {len(result.alerts)}"]
    for alert in result.alerts[:10]:
        lines.append(f"  {alert.at:%Y-%m-%d %H:%M} {alert.topic}: {alert.subject or alert.message[:80]}")
    if len(result.alerts) > 10:
        lines.append(f"  ... and {len(result.alerts) - 10} more (see the report)")
    lines += ["", "Databases the stack must leave alone:"]
    for database, untouched in result.untouched.items():
        lines.append(f"  {database}: {'untouched' if untouched else 'TOUCHED'}")
    for when, database in result.restarts:
        lines.append(f"RDS restarted {database} on {when:%Y-%m-%d} after seven days stopped.")
    for error in result.errors[:5]:
        lines.append(f"ERROR {error.at:%Y-%m-%d %H:%M} {error.function} ({error.trigger}): {error.error}")
    return lines


def duration(seconds: Any) -> str:
    """``95`` -> ``1m35s``; ``90000`` -> ``1d1h``; None -> ``not measured``."""
    if seconds is None:
        return "not measured"
    total = round(float(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _against(figures: dict[str, Any], name: str) -> str:
    value, target = figures.get(f"{name}_seconds"), figures.get(f"{name}_target_seconds")
    if target is None:  # e.g. RPO of a snapshot drill: reported, judged only when the request sets a target
        return f"{name.upper()} {duration(value)} (no target for this mode)"
    verdict = "" if value is None else (" met" if float(value) <= float(target) else " MISSED")
    return f"{name.upper()} {duration(value)} (target {duration(target)}){verdict}"


def drill_line(drill: DrillRun) -> str:
    """One line per drill: when, what, the execution's status, the drill's outcome, RTO/RPO against targets."""
    figures = drill.figures
    if "outcome" not in figures:  # not a drill's output (or none): the execution's own result
        shown = ", ".join(f"{k}={v}" for k, v in figures.items()) or str(drill.detail.get("error") or "no output")
        return f"{drill.at:%Y-%m-%d %H:%M} {drill.state_machine}: {drill.status}; {shown}"
    line = (
        f"{drill.at:%Y-%m-%d %H:%M} {figures['source']} ({figures['mode']}, {figures['region']}): "
        f"{str(figures['outcome']).upper()} [{drill.status}]; {_against(figures, 'rto')}, {_against(figures, 'rpo')}; "
        f"cleanup {figures.get('cleanup') or 'not run'}"
    )
    if figures.get("reasons"):
        line += "; " + "; ".join(str(r) for r in figures["reasons"])
    return line


def write_report(result: SimulationResult, directory: Path, runner_connected: bool, demo: Demo | None = None) -> Path:
    """Write ``report.md`` and the PNG charts into ``directory``; return the Markdown path.

    With ``demo``: the planted problems, every finding and what became of each planted problem too.
    """
    directory.mkdir(parents=True, exist_ok=True)
    charts = write_charts(result, directory)
    if demo is not None and demo.engine_samples:
        charts.update(write_engine_charts(demo, directory))
    summary = demo_summary_lines(demo) if demo is not None else summary_lines(result, runner_connected)
    lines = [
        "# Restorable on the embedded emulator",
        "",
        "Every schedule and rule below comes from `template.yaml`; every number was read back from the emulator.",
        "",
        *(["The same, with charts, in [report.html](report.html) (one self-contained file).", ""] if demo else []),
        "```",
        *([*planted_lines(demo.planted), ""] if demo is not None else []),
        *summary,
        "```",
        "",
        "## Charts",
        "",
        *[f"![{name}]({path.name})" for name, path in charts.items()],
        "",
        "## Verification and other jobs, week by week",
        "",
    ]
    for job, weeks in job_weeks(result).items():
        lines += [f"### {job}", "", "| week of | runs | not ok | outcomes |", "|---|---|---|---|"]
        for week, runs, not_ok, counts in weeks:
            lines.append(f"| {week} | {runs} | {not_ok} | {', '.join(f'{k} {v}' for k, v in sorted(counts.items()))} |")
        lines.append("")
    if demo is not None and demo.engine_samples:
        lines += [
            "## Recovery points per engine and Region",
            "",
            "| Region | engine | service | at the end | peak | GB at the end | est. $/month |",
            "|---|---|---|---|---|---|---|",
        ]
        for region, engine, service, points, peak, gb, cost in engine_rows(demo):
            lines.append(f"| {region} | {engine} | {service} | {points} | {peak} | {gb:.0f} | {cost:.2f} |")
        lines.append("")
    if demo is not None:
        lines += ["## Findings", "", *findings_table(demo), ""]
    lines += ["## Restore drills", ""]
    if result.drills:
        lines += [
            "| started | source | mode | outcome | execution | RTO | RTO target | RPO | RPO target | cleanup "
            "| report |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for drill in result.drills:
            f = drill.figures
            lines.append(
                f"| {drill.at:%Y-%m-%d %H:%M} | {f.get('source', drill.state_machine)} | {f.get('mode', '')} "
                f"| {f.get('outcome', '')} | {drill.status} | {duration(f.get('rto_seconds'))} "
                f"| {duration(f.get('rto_target_seconds'))} | {duration(f.get('rpo_seconds'))} "
                f"| {duration(f.get('rpo_target_seconds'))} | {f.get('cleanup') or ''} | {f.get('report') or ''} |"
            )
    else:
        lines.append("No drill ran in this period.")
    lines += ["", "## Alerts", ""]
    if result.alerts:
        lines += ["| when | topic | subject / message |", "|---|---|---|"]
        for alert in result.alerts:
            text = (alert.subject or alert.message).replace("|", "\\|").replace("\n", " ")[:200]
            lines.append(f"| {alert.at:%Y-%m-%d %H:%M} | {alert.topic} | {text} |")
    else:
        lines.append("No SNS message was published.")
    lines += ["", "## Snapshots at the end", "", "| Region | snapshot | kind | source | GB |", "|---|---|---|---|---|"]
    for snapshot in result.final_snapshots:
        lines.append(
            f"| {snapshot.region} | {snapshot.identifier} | {snapshot.kind} | {snapshot.source_identifier} "
            f"| {snapshot.size_gb} |"
        )
    lines += ["", "## What was wired", "", "Schedules:", ""]
    lines += [f"- `{s}`" for s in result.schedules]
    lines += ["", "EventBridge rules:", ""]
    lines += [f"- `{r}`" for r in result.rules] or ["- none"]
    path = directory / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_engine_charts(demo: Demo, directory: Path) -> dict[str, Path]:
    """The HTML report's charts of every engine's recovery points and their storage, as PNG files."""
    from .html_report import engine_charts

    charts = {}
    for name, (title, png) in engine_charts(demo).items():
        path = directory / f"{name}.png"
        path.write_bytes(png)
        charts[title] = path
    return charts


def write_charts(result: SimulationResult, directory: Path) -> dict[str, Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    days: Any = [sample.day for sample in result.samples]
    charts = {}
    series: list[tuple[str, str, str, Callable[[DailySample], dict[str, int]]]] = [
        ("snapshots", "Manual snapshots per Region", "snapshots", lambda s: s.snapshots),
        ("storage", "Snapshot storage per Region (full size per snapshot)", "GB", lambda s: s.storage_gb),
    ]
    for name, title, unit, pick in series:
        figure, axes = plt.subplots(figsize=(8, 3.5))
        # The DR Region holds a copy of every snapshot, so its line would hide the source's: distinct styles.
        for number, region in enumerate(result.regions):
            style = REGION_STYLES[number % len(REGION_STYLES)]
            axes.step(
                days, [pick(sample).get(region, 0) for sample in result.samples], where="post", label=region, **style
            )
        if name == "snapshots":
            axes.axhline(MANUAL_SNAPSHOT_QUOTA, color="grey", linestyle=":", label="default quota (per type)")
        axes.set_title(title)
        axes.set_ylabel(unit)
        axes.legend()
        figure.autofmt_xdate()
        figure.tight_layout()
        path = directory / f"{name}.png"
        figure.savefig(path, dpi=100)
        plt.close(figure)
        charts[title] = path
    return charts
