"""``report.html``: the demo's report in one self-contained file (charts embedded as base64 PNG).

Rendered once at the end of the run from what the run collected: recovery points per engine and
Region over time, storage and its estimated cost, the findings timeline, and the drills' RTO and
RPO against their targets; with the planted problems, every finding and the drill table.
Nothing is loaded from elsewhere: the file opens offline in any browser.
"""

from __future__ import annotations

import base64
import html
import io
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from restorable.models import Engine

from .report import REGION_STYLES, STORAGE_PRICES_PER_GB_MONTH, duration, engine_rows, kept_lines, monthly_cost

if TYPE_CHECKING:
    from .demo import Demo

_SEVERITY_COLOURS = {"CRITICAL": "#c0392b", "WARNING": "#e6a700"}
_ENGINE_COLOURS = ["#4c72b0", "#55a868", "#c44e52", "#8172b2", "#ccb974", "#64b5cd", "#dd8452", "#937860"]
# Each engine's band in the stacked charts also has its own hatch, so neighbours stay apart in grey too.
_ENGINE_HATCHES = ["", "//", "..", "xx", "\\\\", "++", "oo", "--"]

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 1.6em; }
table { border-collapse: collapse; width: 100%; font-size: .85em; margin: .5em 0 1em; }
th, td { border: 1px solid #ddd; padding: .3em .5em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td code { font-size: .9em; word-break: break-all; }
.CRITICAL { color: #c0392b; font-weight: bold; } .WARNING { color: #9a6f00; font-weight: bold; }
.open { color: #c0392b; font-weight: bold; } .missed { color: #c0392b; font-weight: bold; }
.met { color: #1e7b34; } .chart { width: 100%; max-width: 1000px; display: block; margin: .5em 0 1em; }
.cards { display: flex; gap: 1em; flex-wrap: wrap; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: .6em 1em; min-width: 11em; }
.card b { font-size: 1.5em; display: block; }
"""


def write_html_report(demo: Demo, directory: Path) -> Path:
    """Write ``directory/report.html``; return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "report.html"
    path.write_text(render(demo), encoding="utf-8")
    return path


def render(demo: Demo) -> str:
    result = demo.result
    episodes = demo.findings.sorted_episodes()
    drills = [d for d in result.drills if "outcome" in d.figures]
    missed = sum(1 for d in drills if _verdict(d.figures, "rto") == "MISSED")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>Restorable demo report</title>',
        f"<style>{_CSS}</style></head><body>",
        "<h1>Restorable on the embedded emulator</h1>",
        f"<p>{result.simulated_days:.0f} simulated days, {result.start:%Y-%m-%d} to {result.end:%Y-%m-%d}; "
        f"{result.invocations} invocations, {len(result.errors)} errors. Every number was read back from the "
        "emulator.</p>",
        '<div class="cards" id="cards">',
        _card("findings", str(len(episodes))),
        _card("still open", str(sum(1 for e in episodes if e.open))),
        _card("not planted", str(sum(1 for e in episodes if not e.planted))),
        _card("alerts", str(len(result.alerts))),
        _card("drills", str(len(drills))),
        _card("RTO missed", str(missed)),
        "</div>",
        '<h2 id="planted">Planted problems</h2>',
        _planted(demo),
        '<h2 id="recovery-points">Recovery points per engine and Region</h2>',
        _img("recovery-points", _recovery_points_chart(demo)),
        _engine_table(demo),
        '<h2 id="storage">Storage and estimated cost</h2>',
        "<p>Each recovery point counted at its full size (an RDS snapshot at its database's allocated "
        "storage, a table's backup or a cache's snapshot at its data), per GB-month: "
        + ", ".join(f"{engine.value} ${price}" for engine, price in STORAGE_PRICES_PER_GB_MONTH.items())
        + " (an upper bound for RDS, which stores snapshots incrementally).</p>",
        _img("storage", _storage_chart(demo)),
        '<h2 id="findings">Findings</h2>',
        _img("findings-timeline", _findings_chart(demo)) if episodes else "",
        _findings_table(demo),
        '<h2 id="drills">Restore drills</h2>',
        _model(demo),
        _img("drills", _drills_chart(demo)) if drills else "",
        _drills_table(demo),
        "</body></html>",
    ]
    return "\n".join(p for p in parts if p)


# ---- HTML pieces


def _e(value: Any) -> str:
    return html.escape(str(value))


def _when(moment: datetime | None) -> str:
    return "" if moment is None else f"{moment:%Y-%m-%d %H:%M}"


def _card(label: str, value: str) -> str:
    return f'<div class="card" data-card="{_e(label)}"><b>{_e(value)}</b>{_e(label)}</div>'


def _img(name: str, png: bytes) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img class="chart" id="chart-{name}" alt="{_e(name)}" src="data:image/png;base64,{data}">'


def _table(headers: list[str], rows: list[list[str]], table_id: str) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _planted(demo: Demo) -> str:
    if not demo.planted:
        return "<p>None: every finding is unexpected.</p>"
    rows = []
    for problem in demo.planted:
        changes = "<br>".join(
            f"{_when(c.at)} {_e(c.what)}: <code>{_e(c.detail)}</code>"
            for c in demo.applied
            if c.problem == problem.name
        )
        found = "<br>".join(
            f"{_e(e.check)} ({_e(e.severity)}) {_when(e.first_seen)} to {_when(e.cleared) or 'still open'}"
            for e in demo.findings.sorted_episodes()
            if e.planted == problem.name
        )
        reached = not problem.changes or any(c.problem == problem.name for c in demo.applied)
        kept = "<br>".join(_e(line) for line in kept_lines(problem.name, problem.database, demo)) if reached else ""
        rows.append(
            [
                _e(problem.name),
                _e(problem.database),
                _e(problem.description),
                changes or "-",
                "<br>".join(x for x in (found, kept) if x) or "-",
                _e(problem.expect),
            ]
        )
    return _table(["problem", "database", "planted", "changes made", "seen", "expected"], rows, "planted-table")


def _engine_table(demo: Demo) -> str:
    rows = [
        [_e(region), _e(engine), _e(service), str(points), str(peak), f"{gb:.0f}", f"{cost:.2f}"]
        for region, engine, service, points, peak, gb, cost in engine_rows(demo)
    ]
    headers = ["Region", "engine", "service", "at the end", "peak", "GB at the end", "est. $/month"]
    return _table(headers, rows, "engines-table")


def _findings_table(demo: Demo) -> str:
    episodes = demo.findings.sorted_episodes()
    if not episodes:
        return "<p>No finding in the whole period.</p>"
    rows = [
        [
            _e(e.resource),
            _e(e.check),
            f'<span class="{_e(e.severity)}">{_e(e.severity)}</span>',
            _when(e.first_seen),
            _when(e.alerted) or "never",
            _when(e.cleared) if e.cleared else '<span class="open">still open</span>',
            _e(e.planted or "NOT PLANTED"),
            _e(e.first_observed),
            f"<code>{_e(e.fix)}</code>" if e.fix else "",
        ]
        for e in episodes
    ]
    headers = [
        "resource",
        "check",
        "severity",
        "first seen",
        "alerted",
        "cleared",
        "planted problem",
        "observed",
        "fix",
    ]
    return _table(headers, rows, "findings-table")


def _verdict(figures: dict[str, Any], name: str) -> str:
    value, target = figures.get(f"{name}_seconds"), figures.get(f"{name}_target_seconds")
    if value is None or target is None:
        return "no target" if target is None else "not measured"
    return "met" if float(value) <= float(target) else "MISSED"


def _model(demo: Demo) -> str:
    model = demo.restore_model
    if model is None:
        return "<p>Restores take moto's time (available at once).</p>"
    items = "".join(f"<li>{_e(line)}</li>" for line in model.describe())
    return f'<p>Restore duration model (simulated minutes until available):</p><ul id="restore-model">{items}</ul>'


def _drills_table(demo: Demo) -> str:
    drills = demo.result.drills
    if not drills:
        return "<p>No drill ran in this period.</p>"
    rows = []
    for drill in drills:
        f = drill.figures
        cells = [
            _when(drill.at),
            _e(f.get("source", drill.state_machine)),
            _e(f.get("mode", "")),
            _e(f.get("outcome", "")),
        ]
        for name in ("rto", "rpo"):
            verdict = _verdict(f, name)
            css = {"MISSED": "missed", "met": "met"}.get(verdict, "")
            cells += [
                _e(duration(f.get(f"{name}_seconds"))),
                _e(duration(f.get(f"{name}_target_seconds")) if f.get(f"{name}_target_seconds") is not None else "-"),
                f'<span class="{css}">{_e(verdict)}</span>',
            ]
        cells.append(_e("; ".join(str(r) for r in f.get("reasons") or [])))
        rows.append(cells)
    headers = [
        "started",
        "source",
        "mode",
        "outcome",
        "RTO",
        "RTO target",
        "RTO",
        "RPO",
        "RPO target",
        "RPO",
        "reasons",
    ]
    return _table(headers, rows, "drills-table")


# ---- charts (matplotlib, rendered once)


def _png(figure: Any) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=90)
    plt.close(figure)
    return buffer.getvalue()


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def engine_charts(demo: Demo) -> dict[str, tuple[str, bytes]]:
    """File name -> (title, PNG) of the charts of every engine's recovery points and storage."""
    return {
        "recovery-points": ("Recovery points per engine and Region", _recovery_points_chart(demo)),
        "storage-by-engine": ("Storage per Region and engine, and its estimated cost", _storage_chart(demo)),
    }


def _engines(demo: Demo) -> list[str]:
    """Every engine label of the samples, RDS first, then tables, then caches (the legend's order)."""
    from .report import service_of

    order = {Engine.RDS: 0, Engine.DYNAMODB: 1, Engine.ELASTICACHE: 2}
    found = {engine for sample in demo.engine_samples for (_, engine) in sample.points}
    return sorted(found, key=lambda engine: (order[service_of(engine)], engine))


def _recovery_points_chart(demo: Demo) -> bytes:
    """One panel per Region, every engine's recovery points stacked (so no series hides another)."""
    plt = _pyplot()
    regions = demo.result.regions
    samples = demo.engine_samples
    engines = _engines(demo)
    figure, axes = plt.subplots(1, len(regions), figsize=(11, 3.8), sharey=True, squeeze=False)
    days = [sample.at for sample in samples]
    for panel, region in zip(axes[0], regions, strict=True):
        series = [[sample.points.get((region, engine), 0) for sample in samples] for engine in engines]
        if days and engines:
            bands = panel.stackplot(
                days, series, labels=engines, colors=_ENGINE_COLOURS[: len(engines)], step="post", edgecolor="white"
            )
            for number, band in enumerate(bands):
                band.set_hatch(_ENGINE_HATCHES[number % len(_ENGINE_HATCHES)])
        panel.set_title(f"{region}: recovery points by engine")
        panel.set_ylabel("recovery points")
        panel.tick_params(axis="x", rotation=30)
    axes[0][-1].legend(loc="upper left", fontsize=8)
    return _png(figure)


def _storage_chart(demo: Demo) -> bytes:
    """GB per Region and engine (stacked), with the estimated monthly cost of all of it on the right axis."""
    plt = _pyplot()
    result = demo.result
    samples = demo.engine_samples
    engines = _engines(demo)
    figure, axes = plt.subplots(figsize=(11, 3.8))
    days = [sample.at for sample in samples]
    labels, series, colours, hatches = [], [], [], []
    for number, region in enumerate(result.regions):
        for index, engine in enumerate(engines):
            values = [sample.storage_gb.get((region, engine), 0.0) for sample in samples]
            if any(values):
                labels.append(f"{region} {engine} GB")
                series.append(values)
                colours.append(_ENGINE_COLOURS[index % len(_ENGINE_COLOURS)])
                hatches.append("" if number == 0 else "//")  # the DR Region's bands are hatched
    if days and series:
        bands = axes.stackplot(days, series, labels=labels, colors=colours, step="post", alpha=0.85, edgecolor="white")
        for band, hatch in zip(bands, hatches, strict=True):
            band.set_hatch(hatch)
    axes.set_ylabel("GB (full size per recovery point)")
    cost = axes.twinx()
    cost.step(
        days,
        [monthly_cost(sample.storage_gb) for sample in samples],
        where="post",
        label="$/month, all Regions and engines",
        **REGION_STYLES[0] | {"color": "black", "alpha": 0.9, "linewidth": 2.0},
    )
    cost.set_ylabel("estimated $ per month")
    lines = axes.get_legend_handles_labels()
    more = cost.get_legend_handles_labels()
    axes.legend(lines[0] + more[0], lines[1] + more[1], loc="upper left", fontsize=7, ncol=2)
    axes.tick_params(axis="x", rotation=30)
    return _png(figure)


def _findings_chart(demo: Demo) -> bytes:
    """A bar per finding from first seen to cleared (or the end), coloured by severity."""
    plt = _pyplot()
    episodes = demo.findings.sorted_episodes()
    end = demo.result.end
    figure, axes = plt.subplots(figsize=(11, 0.8 + 0.45 * len(episodes)))
    for row, episode in enumerate(episodes):
        until = episode.cleared or end
        width = max(until - episode.first_seen, timedelta(hours=2))
        colour = _SEVERITY_COLOURS.get(episode.severity, "#888")
        axes.barh(row, width, left=episode.first_seen, color=colour, height=0.6, hatch="" if episode.cleared else "//")
        if episode.alerted:
            axes.plot([episode.alerted], [row], marker="v", color="black", markersize=6)
    axes.set_yticks(range(len(episodes)))
    axes.set_yticklabels(
        [f"{e.resource} / {e.check}" + ("" if e.planted else " (NOT PLANTED)") for e in episodes], fontsize=8
    )
    axes.invert_yaxis()
    axes.set_xlim(demo.result.start, end)
    axes.set_title("Findings: bar = open (hatched: still open at the end), triangle = first alert")
    axes.tick_params(axis="x", rotation=30)
    return _png(figure)


def _drills_chart(demo: Demo) -> bytes:
    plt = _pyplot()
    drills = [d for d in demo.result.drills if "outcome" in d.figures]
    figure, axes = plt.subplots(figsize=(11, 0.8 + 0.45 * len(drills)))
    for row, drill in enumerate(drills):
        f = drill.figures
        rto = float(f.get("rto_seconds") or 0) / 60
        target = f.get("rto_target_seconds")
        missed = _verdict(f, "rto") == "MISSED"
        axes.barh(row, rto, color="#c0392b" if missed else "#4c72b0", height=0.6)
        if target is not None:
            axes.plot([float(target) / 60] * 2, [row - 0.4, row + 0.4], color="black", linewidth=2)
    axes.set_yticks(range(len(drills)))
    axes.set_yticklabels([f"{d.at:%Y-%m-%d} {d.figures.get('source')}" for d in drills], fontsize=8)
    axes.invert_yaxis()
    axes.set_xlabel("RTO, minutes (black line: target; red: missed)")
    return _png(figure)
