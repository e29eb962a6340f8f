"""Output: JSON for scripts (``--output json``), rich tables for people."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import IO, Any

import click
from rich.console import Console
from rich.table import Table

JSON = "json"
TABLE = "table"


_stream: list[IO[str]] = []


def bind(stream: IO[str]) -> None:
    """Write to ``stream`` (the stdout the command started with), whatever else replaces ``sys.stdout`` later."""
    _stream[:] = [stream]


def stdout() -> IO[str]:
    return _stream[0] if _stream else sys.stdout


def console() -> Console:
    return Console(file=stdout(), highlight=False, soft_wrap=False)


def echo(message: str) -> None:
    click.echo(message, file=stdout())


def emit_json(data: Any) -> None:
    echo(json.dumps(data, indent=2, sort_keys=True, default=str))


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Table:
    grid = Table(title=title, title_justify="left", show_lines=False)
    for column in columns:
        grid.add_column(column, overflow="fold")
    for row in rows:
        grid.add_row(*(text(cell) for cell in row))
    return grid


def text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return "\n".join(text(v) for v in value) or "-"
    return str(value)


def seconds(value: Any) -> str:
    if value is None:
        return "-"
    total = round(float(value))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def against(measured: Any, target: Any) -> str:
    """``12m05s / 1h00m`` and whether it is within target."""
    if measured is None:
        return "not measured" + (f" (target {seconds(target)})" if target is not None else "")
    if target is None:
        return f"{seconds(measured)} (not judged)"
    verdict = "within" if float(measured) <= float(target) else "OVER"
    return f"{seconds(measured)} / {seconds(target)} {verdict}"


def key_values(title: str, pairs: Mapping[str, Any]) -> Table:
    grid = Table(title=title, title_justify="left", show_header=False)
    grid.add_column("field", style="bold")
    grid.add_column("value", overflow="fold")
    for key, value in pairs.items():
        grid.add_row(key, text(value))
    return grid
