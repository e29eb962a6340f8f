"""The demo's speed work changes nothing it reports: the same short period with and without the read cache."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from moto import mock_aws

from local_runtime.demo import Demo, run_demo
from local_runtime.fleet import SAMPLE_FLEET
from local_runtime.read_cache import ReadCache
from local_runtime.report import demo_summary_lines

START = datetime(2026, 11, 1, tzinfo=UTC)
DAYS = 8  # the monthly drills of Nov 8 run through the state machine inside the period


def _run(cache: bool | ReadCache) -> Demo:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        with mock_aws():
            return run_demo(days=DAYS, start=START, fleet=SAMPLE_FLEET, cache=cache)


def _summary(demo: Demo) -> str:
    """The run's summary, every engine's recovery points and every finding (what ``make demo`` prints)."""
    demo.result.wall_seconds = 0.0  # the one figure that is meant to differ
    return "\n".join(demo_summary_lines(demo))


@pytest.fixture(scope="module")
def runs() -> dict[str, Demo]:
    return {"cached": _run(True), "uncached": _run(False), "checked": _run(ReadCache(check=True))}


def test_the_summary_is_byte_for_byte_the_same_with_and_without_the_cache(runs: dict[str, Demo]) -> None:
    cached, uncached = runs["cached"], runs["uncached"]
    assert cached.read_cache is not None
    assert cached.read_cache.stats.hits > cached.read_cache.stats.misses  # the cache did answer most reads
    assert uncached.read_cache is None
    assert cached.result.invocations == uncached.result.invocations
    assert _summary(cached) == _summary(uncached)
    assert any(drill.status == "SUCCEEDED" for drill in cached.result.drills)
    assert ("us-east-1", "dynamodb") in cached.engine_samples[-1].points  # the tables' backups are in it


def test_every_answer_the_cache_would_give_over_the_period_equals_the_emulators(runs: dict[str, Demo]) -> None:
    checked = runs["checked"]
    assert checked.read_cache is not None
    assert checked.read_cache.stats.checked > 1000
    assert checked.read_cache.mismatches == []
    assert _summary(checked) == _summary(runs["uncached"])
