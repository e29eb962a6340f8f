"""Which findings to send, and when not to: deduplication over runs (pure).

State is kept per (resource key, check): the severity last announced and when. A finding
is announced when it is new, when its severity changes, and again after a reminder
interval; a finding that clears is announced as recovered and its state removed. A check
that could not be evaluated (``UNKNOWN``) never changes what was announced about it. The
plan also says which state to write, so the adapter writes exactly what was announced.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .verification.checks import CheckResult, Severity, Status

# SNS limits: subject < 100 ASCII characters; a message at most 256 KB. Leave headroom.
MAX_SUBJECT_LENGTH = 99
MAX_MESSAGE_BYTES = 200_000


class Change(enum.Enum):
    NEW = "new"
    WORSE = "worse"
    BETTER = "better"  # still a finding, at a lower severity
    REMINDER = "reminder"
    RECOVERED = "recovered"
    GONE = "gone"  # the resource is no longer verified (deleted or unprotected)


@dataclass(frozen=True)
class NotificationState:
    key: str
    check: str
    resource: str
    severity: Severity
    first_seen_at: datetime
    last_notified_at: datetime

    @property
    def identity(self) -> tuple[str, str]:
        return (self.key, self.check)


@dataclass(frozen=True)
class Notice:
    change: Change
    result: CheckResult | None  # None for GONE
    previous: NotificationState | None

    @property
    def severity(self) -> Severity:
        return self.result.severity if self.result is not None else Severity.OK

    @property
    def resource(self) -> str:
        if self.result is not None:
            return self.result.resource
        assert self.previous is not None
        return self.previous.resource

    @property
    def check(self) -> str:
        if self.result is not None:
            return self.result.check
        assert self.previous is not None
        return self.previous.check


@dataclass
class NotificationPlan:
    notices: list[Notice] = field(default_factory=list)
    writes: list[NotificationState] = field(default_factory=list)
    deletes: list[tuple[str, str]] = field(default_factory=list)
    suppressed: list[CheckResult] = field(default_factory=list)  # open findings announced recently

    def counts(self) -> dict[str, int]:
        counted = {change.value: 0 for change in Change}
        for notice in self.notices:
            counted[notice.change.value] += 1
        counted["suppressed"] = len(self.suppressed)
        return counted


def plan_notifications(
    results: Iterable[CheckResult],
    states: Mapping[tuple[str, str], NotificationState],
    *,
    now: datetime,
    repeat_after: timedelta,
    verified_keys: Iterable[str],
    full_run: bool,
) -> NotificationPlan:
    """Decide what to announce for this run's ``results`` given the stored ``states``.

    ``verified_keys`` are the resources this run looked at. A state whose check this run
    did not evaluate is left alone, except in a full run where the resource itself was
    not verified any more: that is announced once as ``GONE`` and the state removed.
    """
    plan = NotificationPlan()
    seen: set[tuple[str, str]] = set()
    for result in results:
        identity = (result.key, result.check)
        seen.add(identity)
        previous = states.get(identity)
        if not result.is_finding:
            if previous is not None:
                plan.notices.append(Notice(Change.RECOVERED, result, previous))
                plan.deletes.append(identity)
            continue
        if result.severity is Severity.UNKNOWN and previous is not None and previous.severity is not Severity.UNKNOWN:
            # Could not look: what was announced stands (neither better nor recovered); nothing written.
            plan.suppressed.append(result)
            continue
        if previous is None:
            change: Change | None = Change.NEW
        elif result.severity > previous.severity:
            change = Change.WORSE
        elif result.severity < previous.severity:
            change = Change.BETTER
        elif now - previous.last_notified_at >= repeat_after:
            change = Change.REMINDER
        else:
            change = None
        if change is None:
            plan.suppressed.append(result)
            continue
        plan.notices.append(Notice(change, result, previous))
        plan.writes.append(
            NotificationState(
                key=result.key,
                check=result.check,
                resource=result.resource,
                severity=result.severity,
                first_seen_at=previous.first_seen_at if previous is not None else now,
                last_notified_at=now,
            )
        )
    if full_run:
        verified = set(verified_keys)
        for identity, state in sorted(states.items()):
            if identity not in seen and state.key not in verified:
                plan.notices.append(Notice(Change.GONE, None, state))
                plan.deletes.append(identity)
    return plan


def _ascii(text: str) -> str:
    return text.encode("ascii", "replace").decode("ascii")


def format_notification(
    plan: NotificationPlan, status: Status, *, stack_name: str, region: str, scope: str
) -> tuple[str, str]:
    """Subject and text body of the one message a run sends (worst first, recoveries last)."""
    opened = [n for n in plan.notices if n.change not in (Change.RECOVERED, Change.GONE)]
    closed = [n for n in plan.notices if n.change in (Change.RECOVERED, Change.GONE)]
    parts = []
    if opened:
        parts.append(f"{len(opened)} finding{'s' if len(opened) != 1 else ''}")
    if closed:
        parts.append(f"{len(closed)} recovered")
    subject = _ascii(f"Restorable {stack_name} {region}: {status.value} - {', '.join(parts) or 'no change'}")
    lines = [
        f"Restorable verification of {scope} in {region} (stack {stack_name}): {status.value}",
        f"{len(opened)} finding(s) to act on, {len(closed)} recovered, "
        f"{len(plan.suppressed)} still open and announced earlier.",
        "",
    ]
    for notice in sorted(opened, key=lambda n: (-n.severity, n.resource, n.check)):
        result = notice.result
        assert result is not None
        label = notice.change.value
        if notice.previous is not None and notice.change in (Change.WORSE, Change.BETTER):
            label = f"{label}, was {notice.previous.severity.label}"
        lines.append(f"[{result.severity.label}] {result.resource} / {result.check} ({label})")
        lines.append(f"  observed: {result.observed}")
        if result.expected:
            lines.append(f"  expected: {result.expected}")
        if result.fix:
            lines.append(f"  fix:      {result.fix}")
        lines.append("")
    for notice in sorted(closed, key=lambda n: (n.resource, n.check)):
        assert notice.previous is not None
        how = "no longer verified (deleted or unprotected)" if notice.change is Change.GONE else "recovered"
        lines.append(f"[RECOVERED] {notice.resource} / {notice.check}: {how} (was {notice.previous.severity.label})")
        if notice.result is not None:
            lines.append(f"  observed: {notice.result.observed}")
    body = "\n".join(lines).rstrip() + "\n"
    encoded = body.encode("utf-8")
    if len(encoded) > MAX_MESSAGE_BYTES:
        cut = encoded[:MAX_MESSAGE_BYTES].decode("utf-8", "ignore").rsplit("\n", 1)[0]
        body = cut + "\n... truncated: the function's result and logs list every finding.\n"
    return subject[:MAX_SUBJECT_LENGTH], body
