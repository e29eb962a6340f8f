"""Every distinct finding of the simulated period: what, where, how bad, when found, alerted, cleared.

Verification returns its findings in its result (resource, check, severity, observed, expected,
fix). The demo's functions hand every verify result to a ``FindingsTracker`` (``observe``), which
turns the hourly stream into episodes: a finding is *open* from the first run that reports it until
the first full pass (every protected database, both Regions) that no longer does. A run triggered by
an RDS event verifies one instance; it can open a finding but never clears one.

The alerts are read from SNS (what a person receives), and each episode is linked to the first
message that announced it and the first that announced its recovery, by the ``[SEVERITY]
resource / check`` lines verification writes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .functions import Functions, Invocation

FULL_SCOPE = "all protected databases"
_SEVERITY_ORDER = {"OK": 0, "WARNING": 1, "CRITICAL": 2}
_ALERT_LINE = re.compile(r"^\[(?P<label>[A-Z]+)\] (?P<resource>\S.*?) / (?P<check>\S+)(?: \(|:|$)")


@dataclass
class FindingEpisode:
    """One finding from when it was first reported until it cleared (``cleared`` None: still open)."""

    key: str  # resource key (ARN or Region pseudo-ARN)
    resource: str
    check: str
    severity: str  # the worst it reached
    first_seen: datetime
    last_seen: datetime
    observed: str
    expected: str = ""
    fix: str = ""
    first_observed: str = ""
    cleared: datetime | None = None
    alerted: datetime | None = None
    recovery_alerted: datetime | None = None
    runs: int = 0  # verification runs that reported it
    planted: str = ""  # the planted problem it belongs to, if any

    @property
    def open(self) -> bool:
        return self.cleared is None

    @property
    def identity(self) -> tuple[str, str]:
        return (self.key, self.check)


@dataclass
class FindingsTracker:
    """Collects verification results (``observe``) into finding episodes."""

    episodes: list[FindingEpisode] = field(default_factory=list)
    full_runs: list[tuple[datetime, int]] = field(default_factory=list)  # (when, findings reported)
    _open: dict[tuple[str, str], FindingEpisode] = field(default_factory=dict)

    def observe(self, at: datetime, payload: Any) -> None:
        """One verify result (the handler's return value) at simulated time ``at``."""
        if not isinstance(payload, Mapping) or payload.get("job") != "verify" or "ignored" in payload:
            return
        reported: set[tuple[str, str]] = set()
        for finding in payload.get("findings") or []:
            identity = (str(finding.get("resource_key") or finding.get("resource")), str(finding.get("check")))
            reported.add(identity)
            episode = self._open.get(identity)
            severity = str(finding.get("severity", "WARNING"))
            if episode is None:
                episode = FindingEpisode(
                    key=identity[0],
                    resource=str(finding.get("resource", identity[0])),
                    check=identity[1],
                    severity=severity,
                    first_seen=at,
                    last_seen=at,
                    observed=str(finding.get("observed", "")),
                    first_observed=str(finding.get("observed", "")),
                )
                self._open[identity] = episode
                self.episodes.append(episode)
            if _SEVERITY_ORDER.get(severity, 1) > _SEVERITY_ORDER.get(episode.severity, 1):
                episode.severity = severity
            episode.last_seen = at
            episode.observed = str(finding.get("observed", episode.observed))
            episode.expected = str(finding.get("expected", episode.expected))
            episode.fix = str(finding.get("fix", episode.fix))
            episode.runs += 1
        if payload.get("scope") == FULL_SCOPE:
            self.full_runs.append((at, len(reported)))
            for identity in [i for i in self._open if i not in reported]:
                self._open.pop(identity).cleared = at

    def link_alerts(self, alerts: Iterable[Any]) -> None:
        """Mark each episode with the first alert that announced it, and the first announcing its recovery."""
        for alert in sorted(alerts, key=lambda a: a.at):
            for line in str(alert.message).splitlines():
                match = _ALERT_LINE.match(line)
                if match is None:
                    continue
                recovered = match["label"] == "RECOVERED"
                for episode in self.episodes:
                    if episode.resource != match["resource"] or episode.check != match["check"]:
                        continue
                    if episode.first_seen > alert.at or (episode.cleared is not None and alert.at > episode.cleared):
                        continue
                    if recovered:
                        episode.recovery_alerted = episode.recovery_alerted or alert.at
                    else:
                        episode.alerted = episode.alerted or alert.at

    def sorted_episodes(self) -> list[FindingEpisode]:
        return sorted(self.episodes, key=lambda e: (e.first_seen, e.resource, e.check))

    def attribute(self, matchers: Sequence[tuple[str, Callable[[FindingEpisode], bool]]]) -> None:
        """Name the planted problem each episode belongs to (the first matcher that claims it)."""
        for episode in self.episodes:
            for name, claims in matchers:
                if claims(episode):
                    episode.planted = name
                    break


class ObservedFunctions(Functions):
    """The template's functions, with every invocation's result handed to ``observer`` (simulated time)."""

    def __init__(self, *args: Any, observer: Callable[[str, Invocation], None], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._observer = observer

    def invoke(self, logical_id: str, event: Any, environment: Mapping[str, str] | None = None) -> Invocation:
        invocation = super().invoke(logical_id, event, environment)
        self._observer(logical_id, invocation)
        return invocation
