"""make bench's ElastiCache figures: the floor and the tag reads are counted as the benchmark says."""

from __future__ import annotations

import pytest

from benchmarks.elasticache import KEPT_PER_CACHE, daily_run, prune_pass


@pytest.fixture(autouse=True)
def _credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


def test_a_daily_run_reads_one_tag_set_per_cache_and_per_snapshot_above_the_floor() -> None:
    figures = daily_run(3, history_days=2)
    assert (figures["created"], figures["existing_snapshots"]) == (3, 6)
    assert figures["tag_reads"] == 3 + 6
    assert figures["by_operation"]["elasticache:CreateSnapshot"] == 3
    # five listings of one page each, and one create per cache
    assert figures["floor"] == 5 + 3
    assert figures["api_calls"] == figures["floor"] + figures["tag_reads"]


def test_a_prune_pass_reads_no_cache_tags_and_deletes_the_expired_one_per_cache() -> None:
    figures = prune_pass(3)
    assert figures["snapshots"] == 3 * (KEPT_PER_CACHE + 1)
    assert figures["deleted"] == 3
    assert figures["tag_reads"] == figures["snapshots"]
    assert figures["api_calls"] == figures["floor"] + figures["tag_reads"]
