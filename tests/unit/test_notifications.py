"""Notification dedupe: what is announced over a sequence of runs, as properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from restorable.notifications import (
    MAX_SUBJECT_LENGTH,
    Change,
    NotificationPlan,
    NotificationState,
    format_notification,
    plan_notifications,
)
from restorable.verification.checks import CheckResult, Severity, Status

NOW = datetime(2026, 11, 22, 3, 5, tzinfo=UTC)
REPEAT = timedelta(hours=24)

keys = st.sampled_from(["arn:db:a", "arn:db:b", "rds:us-east-1"])
checks = st.sampled_from(["recovery-point-age", "snapshot-age:weekly", "dr-copy:weekly"])
severities = st.sampled_from(list(Severity))


@st.composite
def results(draw: st.DrawFn) -> list[CheckResult]:
    drawn = draw(st.dictionaries(st.tuples(keys, checks), severities, max_size=9))
    return [
        CheckResult(key=k, resource=k.rsplit(":", 1)[-1], check=c, severity=s, observed=f"observed {s.name}")
        for (k, c), s in drawn.items()
    ]


@st.composite
def states(draw: st.DrawFn) -> dict[tuple[str, str], NotificationState]:
    drawn = draw(
        st.dictionaries(
            st.tuples(keys, checks),
            st.tuples(st.sampled_from([Severity.WARNING, Severity.CRITICAL]), st.integers(0, 72)),
            max_size=9,
        )
    )
    return {
        (k, c): NotificationState(k, c, k, sev, NOW - timedelta(days=3), NOW - timedelta(hours=hours_ago))
        for (k, c), (sev, hours_ago) in drawn.items()
    }


def apply(states: dict[tuple[str, str], NotificationState], plan: NotificationPlan) -> dict:
    updated = dict(states)
    for identity in plan.deletes:
        updated.pop(identity, None)
    for state in plan.writes:
        updated[state.identity] = state
    return updated


@given(results(), states())
def test_a_finding_is_never_silently_dropped(run: list[CheckResult], stored: dict) -> None:
    plan = plan_notifications(run, stored, now=NOW, repeat_after=REPEAT, verified_keys=[], full_run=False)
    announced = {(n.result.key, n.result.check) for n in plan.notices if n.result is not None}
    for result in run:
        if not result.is_finding:
            continue
        identity = (result.key, result.check)
        previous = stored.get(identity)
        if identity in announced:
            continue
        assert previous is not None
        assert result in plan.suppressed
        if result.severity is Severity.UNKNOWN:
            continue  # could not look: what was announced before stands
        # otherwise only suppressed when the same severity was announced within the interval
        assert previous.severity == result.severity
        assert NOW - previous.last_notified_at < REPEAT


@given(results(), states())
def test_an_unknown_never_reads_as_better_or_recovered(run: list[CheckResult], stored: dict) -> None:
    plan = plan_notifications(run, stored, now=NOW, repeat_after=REPEAT, verified_keys=[], full_run=False)
    after = apply(stored, plan)
    for result in run:
        identity = (result.key, result.check)
        if result.severity is not Severity.UNKNOWN:
            continue
        previous = stored.get(identity)
        if previous is not None:
            assert after[identity] == previous  # kept as announced, not overwritten
            assert all(n.result is not result for n in plan.notices)
        else:
            assert after[identity].severity is Severity.UNKNOWN  # announced once as unknown


@given(results(), states())
def test_running_twice_announces_nothing_new(run: list[CheckResult], stored: dict) -> None:
    first = plan_notifications(run, stored, now=NOW, repeat_after=REPEAT, verified_keys=[], full_run=False)
    second = plan_notifications(
        run, apply(stored, first), now=NOW + timedelta(minutes=5), repeat_after=REPEAT, verified_keys=[], full_run=False
    )
    assert second.notices == []
    assert second.writes == []


@given(results(), states())
def test_state_after_a_run_is_exactly_the_open_findings(run: list[CheckResult], stored: dict) -> None:
    plan = plan_notifications(run, stored, now=NOW, repeat_after=REPEAT, verified_keys=[], full_run=False)
    after = apply(stored, plan)
    evaluated = {(r.key, r.check): r for r in run}
    for identity, result in evaluated.items():
        if result.is_finding:
            assert identity in after
        else:
            assert identity not in after
    # a check this run did not evaluate keeps its state in a scoped run
    for identity in set(stored) - set(evaluated):
        assert after[identity] == stored[identity]


@given(results(), states())
def test_full_run_forgets_only_resources_it_no_longer_verifies(run: list[CheckResult], stored: dict) -> None:
    verified = {r.key for r in run}
    plan = plan_notifications(run, stored, now=NOW, repeat_after=REPEAT, verified_keys=verified, full_run=True)
    gone = {(n.previous.key, n.previous.check) for n in plan.notices if n.change is Change.GONE and n.previous}
    assert all(key not in verified for key, _ in gone)
    assert gone == {i for i in stored if i[0] not in verified}


def test_sequence_new_suppressed_worse_reminder_recovered() -> None:
    def result(severity: Severity) -> list[CheckResult]:
        return [CheckResult("arn:db:a", "a", "recovery-point-age", severity, "x")]

    stored: dict = {}
    changes = []
    for hour, severity in [
        (0, Severity.WARNING),
        (1, Severity.WARNING),
        (2, Severity.CRITICAL),
        (3, Severity.CRITICAL),
        (27, Severity.CRITICAL),
        (28, Severity.WARNING),
        (29, Severity.OK),
        (30, Severity.OK),
    ]:
        plan = plan_notifications(
            result(severity),
            stored,
            now=NOW + timedelta(hours=hour),
            repeat_after=REPEAT,
            verified_keys=[],
            full_run=False,
        )
        changes.append([n.change for n in plan.notices])
        stored = apply(stored, plan)
    assert changes == [[Change.NEW], [], [Change.WORSE], [], [Change.REMINDER], [Change.BETTER], [Change.RECOVERED], []]


@given(results(), states())
def test_message_lists_every_notice_and_fits_sns(run: list[CheckResult], stored: dict) -> None:
    plan = plan_notifications(run, stored, now=NOW, repeat_after=REPEAT, verified_keys=[], full_run=True)
    subject, body = format_notification(
        plan, Status.of(r.severity for r in run), stack_name="restorable", region="us-east-1", scope="all"
    )
    assert len(subject) <= MAX_SUBJECT_LENGTH
    assert subject.isascii()
    assert "\n" not in subject
    for notice in plan.notices:
        assert f"{notice.resource} / {notice.check}" in body


def test_huge_message_is_truncated_with_a_pointer() -> None:
    run = [
        CheckResult(f"arn:db:{i}", f"db{i}", "recovery-point-age", Severity.CRITICAL, "x" * 500) for i in range(2000)
    ]
    plan = plan_notifications(run, {}, now=NOW, repeat_after=REPEAT, verified_keys=[], full_run=False)
    _, body = format_notification(plan, Status.CRITICAL, stack_name="s", region="us-east-1", scope="all")
    assert len(body.encode()) < 256 * 1024
    assert body.rstrip().endswith("list every finding.")
