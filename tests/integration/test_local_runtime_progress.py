"""The terminal progress bar: drawn only on a terminal, never in what the demo prints or writes."""

from __future__ import annotations

import io

import pytest

from local_runtime.progress import ProgressBar


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_bar_says_the_simulated_day_the_elapsed_time_and_the_eta() -> None:
    now = [0.0]
    bar = ProgressBar(100, _Terminal(), clock=lambda: now[0])
    now[0] = 30.0
    assert bar.line(25) == f"  day   25/100 [{'#' * 7}{'.' * 23}] 30s elapsed, ETA 1m30s"


def test_the_bar_is_redrawn_in_place_and_wiped_at_the_end() -> None:
    stream = _Terminal()
    now = [0.0]
    bar = ProgressBar(10, stream, clock=lambda: now[0])
    for moment, day in [(1.0, 1), (1.05, 2), (2.0, 5)]:  # day 2 comes too soon after the last draw
        now[0] = moment
        bar.update(day)
    bar.clear()
    drawn = stream.getvalue()
    assert drawn.count("\r  day") == 2
    assert "day    5/10" in drawn
    assert "day    2/10" not in drawn
    assert drawn.endswith("\r\033[K")


def test_no_bar_unless_stdout_and_the_stream_are_terminals(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdout", io.StringIO())
    assert ProgressBar.for_terminal(100, _Terminal()) is None
    monkeypatch.setattr("sys.stdout", _Terminal())
    assert ProgressBar.for_terminal(100, io.StringIO()) is None
    assert ProgressBar.for_terminal(100, _Terminal()) is not None
