"""A one-line progress bar for the terminal: simulated day N of M, elapsed time, ETA.

Drawn with carriage returns on a terminal only (``ProgressBar.for_terminal()`` is None otherwise),
so the printed summary, the progress lines and the report files are the same as without it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

WIDTH = 30
# Redraw at most this often (seconds of wall time): drawing is cheap, but not free.
REDRAW_EVERY = 0.2


class ProgressBar:
    def __init__(self, total_days: float, stream: TextIO, *, clock: Callable[[], float] = time.perf_counter) -> None:
        self.total_days = total_days
        self.stream = stream
        self._clock = clock
        self._started = clock()
        self._last_drawn = float("-inf")
        self._shown = False

    @classmethod
    def for_terminal(cls, total_days: float, stream: TextIO | None = None) -> ProgressBar | None:
        """A bar on ``stream`` (stderr) when both stdout and it are terminals, else None."""
        stream = stream if stream is not None else sys.stderr
        if not (_is_terminal(sys.stdout) and _is_terminal(stream)):
            return None
        return cls(total_days, stream)

    def line(self, done_days: float) -> str:
        elapsed = self._clock() - self._started
        share = min(max(done_days / self.total_days, 0.0), 1.0) if self.total_days > 0 else 1.0
        filled = int(share * WIDTH)
        eta = elapsed / share * (1 - share) if share > 0 else None
        return (
            f"  day {done_days:>4.0f}/{self.total_days:.0f} [{'#' * filled}{'.' * (WIDTH - filled)}] "
            f"{_duration(elapsed)} elapsed, ETA {_duration(eta) if eta is not None else '?'}"
        )

    def update(self, done_days: float, *, force: bool = False) -> None:
        now = self._clock()
        if not force and now - self._last_drawn < REDRAW_EVERY:
            return
        self._last_drawn = now
        self.stream.write("\r" + self.line(done_days) + "\033[K")
        self.stream.flush()
        self._shown = True

    def clear(self) -> None:
        """Wipe the bar (before another line is printed, and at the end)."""
        if self._shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self._shown = False
            self._last_drawn = float("-inf")


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _duration(seconds: float) -> str:
    minutes, rest = divmod(max(0, round(seconds)), 60)
    return f"{minutes}m{rest:02d}s" if minutes else f"{rest}s"
