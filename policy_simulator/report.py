"""The simulator's table (terminal and Markdown) and chart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from restorable.models import Engine

from .model import SimulatorResult, sampled_types

STORAGE_NOTE = (
    "Storage model: the oldest kept snapshot of each database in each Region is billed at full size, "
    "every other one at change-rate x size (change rate {rate:g}; 1 = full size each, an upper bound). "
    "DR copies transfer the same amount. Automated backups are not counted."
)


def summary_lines(result: SimulatorResult, quota: int = 100, wall_seconds: float | None = None) -> list[str]:
    spec = result.input
    reached = result.steady_state_reached()
    timing = f" in {wall_seconds:.2f} s" if wall_seconds is not None else ""
    lines = [
        f"{len(spec.databases)} databases, {spec.days} days from {spec.start:%Y-%m-%d}{timing}; "
        f"prune {spec.prune_schedule.expression}; breaker {spec.breaker.describe()}.",
        "",
        f"  {'Region':<11} {'type':<9} {'peak':>6} {'quota':>6} {'steady':>8} {'end':>6}",
    ]
    for region in result.regions:
        for snapshot_type in ("instance", "cluster"):
            peak = result.peak(region, snapshot_type)
            steady = result.steady_state(region, snapshot_type)
            end = result.samples[-1].counts.get((region, snapshot_type), 0) if result.samples else 0
            flag = "  OVER QUOTA" if peak > quota else ""
            lines.append(f"  {region:<11} {snapshot_type:<9} {peak:>6} {quota:>6} {steady:>8.1f} {end:>6}{flag}")
    other_types = [name for name in sampled_types(spec) if name not in ("instance", "cluster")]
    for region in result.regions:
        for snapshot_type in other_types:  # tables' backups have no quota; a cache's is per node and day
            peak = result.peak(region, snapshot_type)
            steady = result.steady_state(region, snapshot_type)
            end = result.samples[-1].counts.get((region, snapshot_type), 0) if result.samples else 0
            label = "cache" if snapshot_type == "replication-group" else snapshot_type
            lines.append(f"  {region:<11} {label:<9} {peak:>6} {'-':>6} {steady:>8.1f} {end:>6}")
    if not reached:
        lines.append("  (steady state not reached: a retention in use is longer than the horizon; counts still grow)")
    lines += ["", f"  {'Region':<11} {'kind':<10} {'created':>8} {'copied':>7} {'pruned':>7} {'kept':>6}"]
    keys = sorted(set(result.created) | set(result.copied) | set(result.pruned) | set(result.kept))
    for region, kind in keys:
        key = (region, kind)
        lines.append(
            f"  {region:<11} {kind:<10} {result.created[key]:>8} {result.copied[key]:>7} "
            f"{result.pruned[key]:>7} {result.kept[key]:>6}"
        )
    rows = result.monthly_cost()
    if rows:
        total_gbm = sum(r[1] for r in rows)
        total_cost = sum(r[3] + r[4] for r in rows)
        last = rows[-12:]
        average = sum(r[3] + r[4] for r in last) / len(last)
        peak_month = max(rows, key=lambda r: r[3] + r[4])
        prices = spec.prices
        peak_gb = max((gb for sample in result.samples for gb in sample.storage_gb.values()), default=0.0)
        engines = result.engines()
        price_text = (
            f"${prices.storage_per_gb_month}/GB-month"
            if engines == [Engine.RDS]
            else ", ".join(f"{engine.value} ${prices.storage(engine)}/GB-month" for engine in engines)
        )
        lines += [
            "",
            f"Storage: {total_gbm:,.0f} GB-months in total; peak {peak_gb:,.0f} GB in one Region.",
            f"Cost at {price_text} and ${prices.transfer_per_gb}/GB transferred: "
            f"${total_cost:,.2f} over the horizon; last 12 months average ${average:,.2f}/month; "
            f"peak {peak_month[0]} ${peak_month[3] + peak_month[4]:,.2f}.",
        ]
        if engines != [Engine.RDS]:
            last_sample = result.samples[-1]
            lines += [
                "",
                "Per engine (each at its own price): GB at the end per Region, $/month then, GB-months in all:",
            ]
            for engine in engines:
                at_end = {r: last_sample.storage_gb_by_engine.get((r, engine.value), 0.0) for r in result.regions}
                total = sum(v for (name, _), v in result.storage_gb_months_by_engine.items() if name == engine.value)
                regions_text = ", ".join(f"{r} {gb:,.0f} GB" for r, gb in at_end.items())
                cost = sum(at_end.values()) * prices.storage(engine)
                lines.append(f"  {engine.value:<12} {regions_text}; ${cost:,.2f}/month; {total:,.0f} GB-months")
    if result.breaker_trips:
        first = result.breaker_trips[0]
        lines += [
            "",
            f"CIRCUIT BREAKER tripped {len(result.breaker_trips)} times (first {first[0]:%Y-%m-%d} in {first[1]}): "
            f"{first[2]}",
        ]
    lines += ["", STORAGE_NOTE.format(rate=spec.change_rate)]
    return lines


def write_report(result: SimulatorResult, directory: Path, quota: int = 100) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    chart = write_chart(result, directory, quota)
    lines = ["# Policy simulation", "", "```", *summary_lines(result, quota), "```", "", f"![counts]({chart.name})", ""]
    lines += [
        "## Monthly cost",
        "",
        "| month | storage GB-months | transfer GB | storage $ | transfer $ | total $ |",
        "|---|---|---|---|---|---|",
    ]
    for month, gbm, transfer, storage_cost, transfer_cost in result.monthly_cost():
        lines.append(
            f"| {month} | {gbm:,.1f} | {transfer:,.1f} | {storage_cost:,.2f} | {transfer_cost:,.2f} "
            f"| {storage_cost + transfer_cost:,.2f} |"
        )
    path = directory / "simulation.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_chart(result: SimulatorResult, directory: Path, quota: int) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    days: Any = [s.day for s in result.samples]
    figure, (counts_axes, storage_axes) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    for region in result.regions:
        for snapshot_type in sampled_types(result.input):
            values = [s.counts.get((region, snapshot_type), 0) for s in result.samples]
            if any(values):
                counts_axes.plot(days, values, label=f"{region} {snapshot_type}")
        storage_axes.plot(days, [s.storage_gb.get(region, 0) for s in result.samples], label=region)
    counts_axes.axhline(quota, color="grey", linestyle=":", label=f"quota {quota}")
    counts_axes.set_title(
        "Manual snapshots per Region and type"
        if result.engines() == [Engine.RDS]
        else "Recovery points per Region and type (snapshots, table backups, cache snapshots)"
    )
    counts_axes.legend(fontsize="small")
    storage_axes.set_title(f"Billed snapshot storage (GB, change rate {result.input.change_rate:g})")
    storage_axes.legend(fontsize="small")
    figure.autofmt_xdate()
    figure.tight_layout()
    path = directory / "simulation.png"
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
