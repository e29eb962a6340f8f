"""The simulation's collector tuning: long-lived objects frozen while it runs, everything restored after."""

from __future__ import annotations

import gc
import weakref

from local_runtime.collector import YOUNG_THRESHOLD, long_lived_frozen


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def test_what_exists_is_frozen_and_the_settings_come_back() -> None:
    before = gc.get_threshold()
    with long_lived_frozen():
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold()[0] == YOUNG_THRESHOLD
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before


def test_a_cycle_made_while_frozen_is_still_collected() -> None:
    with long_lived_frozen():
        first, second = _Node(), _Node()
        first.other, second.other = second, first
        gone = weakref.ref(first)
        del first, second
        gc.collect()
        assert gone() is None
