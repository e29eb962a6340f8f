"""Python's cyclic garbage collector tuned for a long simulation in one process.

Most objects of a demo exist before the simulated period starts (botocore's service models, moto's
backends, the fleet) and live to its end; the collector's full passes walk all of them again and
again (a tenth of a simulated day's time, growing with the period). ``long_lived_frozen()`` moves
what exists when the period starts out of the collector's sight (``gc.freeze``) and lets more
allocations pass between collections; on leaving, both are undone. Nothing a handler sees changes:
reference counting frees objects as before, and cycles are still collected.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

# Allocations between young collections (CPython's default is 700): the simulation allocates in
# bursts (a parsed answer, a handler's result) that are mostly freed by reference counting.
YOUNG_THRESHOLD = 50_000


@contextlib.contextmanager
def long_lived_frozen() -> Iterator[None]:
    thresholds = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, thresholds[1] * 2, thresholds[2] * 2)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
