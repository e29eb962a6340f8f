"""The recovery's plan and outcome as data, and the JSON documents the commands print."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from restorable import recovery_plan as rp
from restorable.adapters.recovery_rds import Placement
from restorable.drills.model import RestoredDatabase
from restorable.models import DatabaseType


@dataclass(frozen=True)
class Source:
    """The database to recover. ``live``: it exists now; otherwise it is known from its recovery points."""

    type: DatabaseType
    identifier: str
    arn: str
    region: str
    engine: str
    engine_version: str
    encrypted: bool
    allocated_storage: int
    instance_class: str | None
    live: bool
    earliest_restorable_time: datetime | None = None
    latest_restorable_time: datetime | None = None
    backup_retention_days: int = 0
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type.value,
            "identifier": self.identifier,
            "arn": self.arn,
            "region": self.region,
            "engine": self.engine,
            "engine_version": self.engine_version,
            "live": self.live,
            "note": self.note,
        }


@dataclass(frozen=True)
class Point:
    """What is restored: a snapshot, or a point in time of the source (``time`` None: the latest)."""

    type: Literal["snapshot", "point-in-time"]
    region: str
    time: datetime | None
    engine_version: str
    encrypted: bool
    allocated_storage: int
    identifier: str | None = None
    arn: str | None = None
    kind: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "identifier": self.identifier,
            "arn": self.arn,
            "region": self.region,
            "time": rp.iso(self.time) if self.time else None,
            "kind": self.kind,
            "encrypted": self.encrypted,
        }


@dataclass(frozen=True)
class Target:
    type: DatabaseType
    identifier: str
    region: str
    instance_class: str | None
    placement: Placement
    instance_identifier: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type.value,
            "identifier": self.identifier,
            "instance_identifier": self.instance_identifier,
            "region": self.region,
            "instance_class": self.instance_class,
            "subnet_group": self.placement.subnet_group or None,
            "security_groups": list(self.placement.security_group_ids),
        }


@dataclass(frozen=True)
class RecoveryPlan:
    mode: rp.RecoveryMode
    source: Source
    point: Point
    target: Target
    tags: Mapping[str, str]
    reason: str
    rpo_reference: datetime  # the time the RPO is measured against: the chosen time, else now
    restore_time: datetime | None = None  # pitr only; None means the latest restorable time
    choice: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode.value,
            "source": self.source.to_dict(),
            "recovery_point": self.point.to_dict(),
            "target": self.target.to_dict(),
            "tags": dict(self.tags),
            "reason": self.reason,
            "choice": self.choice,
        }


@dataclass
class Outcome:
    plan: RecoveryPlan
    started_at: datetime
    available_at: datetime | None = None
    recovered: RestoredDatabase | None = None
    checks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rto_seconds(self) -> float | None:
        return rp.seconds_between(self.started_at, self.available_at) if self.available_at else None

    @property
    def rpo_seconds(self) -> float | None:
        point_time = self.plan.point.time
        return rp.seconds_between(point_time, self.plan.rpo_reference) if point_time else None

    @property
    def checks_passed(self) -> bool:
        return all(c.get("status") == "passed" for c in self.checks)


class RecoveryError(Exception):
    """The restore started but did not finish well: the new database stays for inspection."""


def poll_command(plan: RecoveryPlan) -> str:
    target = plan.target
    if target.type is DatabaseType.CLUSTER:
        return (
            f"aws rds wait db-instance-available --db-instance-identifier {target.instance_identifier} "
            f"--region {target.region}"
        )
    return f"aws rds wait db-instance-available --db-instance-identifier {target.identifier} --region {target.region}"


def result_document(outcome: Outcome) -> dict[str, Any]:
    recovered = outcome.recovered
    return {
        **outcome.plan.to_dict(),
        "dry_run": False,
        "status": recovered.status if recovered else "restoring",
        "started_at": rp.iso(outcome.started_at),
        "available_at": rp.iso(outcome.available_at) if outcome.available_at else None,
        "endpoint": {"address": recovered.address, "port": recovered.port} if recovered else None,
        "rto_seconds": outcome.rto_seconds,
        "rpo_seconds": outcome.rpo_seconds,
        "rpo_reference": rp.iso(outcome.plan.rpo_reference),
        "checks": {"results": outcome.checks, "passed": outcome.checks_passed} if recovered else None,
        "poll": None if recovered else poll_command(outcome.plan),
    }


def dry_run_document(plan: RecoveryPlan) -> dict[str, Any]:
    return {**plan.to_dict(), "dry_run": True, "status": "planned"}


def considered_rows(plan: RecoveryPlan) -> Sequence[Sequence[Any]]:
    rows = (plan.choice or {}).get("considered") or []
    return [[c["identifier"], c["created_at"], "yes" if c["eligible"] else "no", c["reason"]] for c in rows]
