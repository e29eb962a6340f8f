"""The demo's finding episodes: opened by any verify run, cleared only by a full pass, linked to alerts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from local_runtime.findings import FULL_SCOPE, FindingsTracker
from local_runtime.restore_model import RestoreDurationModel
from local_runtime.simulation import Alert

T0 = datetime(2026, 11, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _finding(resource: str, check: str, severity: str = "WARNING") -> dict[str, str]:
    return {
        "resource": resource,
        "resource_key": f"arn:{resource}",
        "check": check,
        "severity": severity,
        "observed": f"{check} is wrong",
        "fix": f"fix {resource}",
    }


def _run(*findings: dict[str, str], scope: str = FULL_SCOPE) -> dict[str, object]:
    return {"job": "verify", "scope": scope, "findings": list(findings)}


def test_a_finding_is_open_until_the_first_full_pass_that_no_longer_reports_it() -> None:
    tracker = FindingsTracker()
    tracker.observe(T0, _run(_finding("db", "automated-backups")))
    tracker.observe(T0 + HOUR, _run(_finding("db", "automated-backups", "CRITICAL")))
    # An event-triggered run verifies one instance: it does not clear what it does not report.
    tracker.observe(T0 + 2 * HOUR, _run(scope="instance other"))
    [episode] = tracker.episodes
    assert episode.open
    tracker.observe(T0 + 3 * HOUR, _run())
    assert (episode.first_seen, episode.last_seen, episode.cleared) == (T0, T0 + HOUR, T0 + 3 * HOUR)
    assert episode.severity == "CRITICAL"  # the worst it reached
    assert episode.runs == 2
    # It comes back: a new episode, the old one stays cleared.
    tracker.observe(T0 + 4 * HOUR, _run(_finding("db", "automated-backups")))
    assert [e.cleared for e in tracker.sorted_episodes()] == [T0 + 3 * HOUR, None]


def test_an_event_run_can_open_a_finding() -> None:
    tracker = FindingsTracker()
    tracker.observe(T0, _run(_finding("db", "recovery-point-age"), scope="instance db"))
    assert [e.check for e in tracker.episodes if e.open] == ["recovery-point-age"]
    assert tracker.full_runs == []


@pytest.mark.parametrize("payload", [{"job": "snapshot"}, {"job": "verify", "ignored": "not protected"}, None])
def test_other_results_are_not_findings(payload: object) -> None:
    tracker = FindingsTracker()
    tracker.observe(T0, payload)
    assert tracker.episodes == []


def test_alerts_are_linked_by_their_severity_resource_check_lines() -> None:
    tracker = FindingsTracker()
    tracker.observe(T0, _run(_finding("db", "database-state"), _finding("other", "database-state")))
    tracker.observe(T0 + HOUR, _run(_finding("other", "database-state")))
    opened = "[WARNING] db / database-state (new)\n  observed: x\n[WARNING] other / database-state (new)\n"
    tracker.link_alerts(
        [
            Alert(T0, "topic", "s", opened),
            Alert(T0 + HOUR, "topic", "s", "[RECOVERED] db / database-state: recovered (was WARNING)\n"),
        ]
    )
    db, other = sorted(tracker.episodes, key=lambda e: e.resource)
    assert (db.alerted, db.recovery_alerted) == (T0, T0 + HOUR)
    assert (other.alerted, other.recovery_alerted) == (T0, None)


def test_restore_model_grows_with_size_and_differs_by_engine() -> None:
    model = RestoreDurationModel()
    assert model.minutes("postgres", 100) > model.minutes("postgres", 10)
    assert model.minutes("postgres", 100) > model.minutes("mysql", 100)
    assert model.minutes("no-such-engine", 10) == model.fallback.minutes(10)
    assert any(line.startswith("postgres: ") for line in model.describe())
