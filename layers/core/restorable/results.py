"""What a handler did, item by item: the return value, the log lines and the metrics."""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


class Outcome(enum.Enum):
    CREATED = "created"
    ALREADY_EXISTS = "already_exists"
    SKIPPED = "skipped"
    FAILED = "failed"
    FINDING = "finding"
    PLANNED = "planned"
    DELETED = "deleted"
    # A backup setting the stack turned on (remediation).
    REMEDIATED = "remediated"


# Every job reports these counts (zeros included); a job adds its own with ``JobResult.extra_outcomes``.
STANDARD_OUTCOMES = (
    Outcome.CREATED,
    Outcome.ALREADY_EXISTS,
    Outcome.SKIPPED,
    Outcome.FAILED,
    Outcome.FINDING,
    Outcome.PLANNED,
)


@dataclass(frozen=True)
class ItemResult:
    resource: str
    kind: str
    outcome: Outcome
    reason: str = ""
    recovery_point: str | None = None
    resource_arn: str | None = None
    region: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"resource": self.resource, "kind": self.kind, "outcome": self.outcome.value}
        if self.recovery_point:
            data["recovery_point"] = self.recovery_point
        if self.reason:
            data["reason"] = self.reason
        if self.resource_arn:
            data["resource_arn"] = self.resource_arn
        if self.region:
            data["region"] = self.region
        return data


@dataclass
class JobResult:
    job: str
    region: str
    dry_run: bool = False
    items: list[ItemResult] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    extra_outcomes: tuple[Outcome, ...] = ()

    def add(self, item: ItemResult) -> None:
        self.items.append(item)

    def counts(self) -> dict[str, int]:
        counter = Counter(item.outcome for item in self.items)
        reported = [*STANDARD_OUTCOMES, *self.extra_outcomes]
        reported += [outcome for outcome in Outcome if counter[outcome] and outcome not in reported]
        return {outcome.value: counter.get(outcome, 0) for outcome in reported}

    @property
    def ok(self) -> bool:
        return not any(item.outcome in (Outcome.FAILED, Outcome.FINDING) for item in self.items)

    def to_dict(self) -> dict[str, Any]:
        return {
            "job": self.job,
            "region": self.region,
            "dry_run": self.dry_run,
            "ok": self.ok,
            "counts": self.counts(),
            "items": [item.to_dict() for item in self.items],
            **self.details,
        }
