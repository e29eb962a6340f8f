"""The fleet at a glance, the pure part: rows of protected databases from what the inventory,
the drill history and a verification pass returned. No boto3 here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from restorable.drills.plan import is_drill_resource
from restorable.models import RecoveryPoint
from restorable.naming import format_timestamp
from restorable.verification.checks import MonitoredDatabase, Severity

NOT_VERIFIED = "not verified"
VERDICTS = tuple(s.label for s in Severity)


def _time(moment: datetime | None) -> str | None:
    return format_timestamp(moment) if moment is not None else None


def _age_hours(moment: datetime | None, now: datetime) -> float | None:
    return None if moment is None else round((now - moment).total_seconds() / 3600, 1)


def _newest(points: Sequence[RecoveryPoint]) -> RecoveryPoint | None:
    dated = [p for p in points if p.created_at is not None]
    if dated:
        return max(dated, key=lambda p: p.created_at or datetime.min.replace(tzinfo=UTC))
    return points[0] if points else None


def _point(point: RecoveryPoint, now: datetime) -> dict[str, Any]:
    return {
        "identifier": point.identifier,
        "kind": point.kind,
        "status": point.status,
        "created_at": _time(point.created_at),
        "age_hours": _age_hours(point.created_at, now),
        "region": point.region,
    }


def _belongs(point: RecoveryPoint, monitored: MonitoredDatabase, stack_name: str) -> bool:
    database = monitored.database
    if point.managed_by != stack_name or point.type is not database.type:
        return False
    return point.source_arn == database.arn if point.source_arn else point.source_identifier == database.identifier


def _drill(item: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not item:
        return None
    keys = (
        "outcome",
        "mode",
        "started_at",
        "finished_at",
        "rto_seconds",
        "rto_target_seconds",
        "rpo_seconds",
        "rpo_target_seconds",
        "report_uri",
        "execution_id",
    )
    return {key: item.get(key) for key in keys}


def verdicts_by_resource(findings: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Worst severity and the findings of each resource key, from a verification result's ``findings``."""
    by_key: dict[str, dict[str, Any]] = {}
    order = {label: rank for rank, label in enumerate(VERDICTS)}
    for finding in findings:
        key = str(finding.get("resource_key", ""))
        entry = by_key.setdefault(key, {"verdict": Severity.OK.label, "findings": []})
        severity = str(finding.get("severity", Severity.OK.label))
        if order.get(severity, 0) > order.get(entry["verdict"], 0):
            entry["verdict"] = severity
        entry["findings"].append(f"{finding.get('check')}: {finding.get('observed')}")
    return by_key


@dataclass(frozen=True)
class Filters:
    engine: str | None = None
    tags: Mapping[str, str | None] = field(default_factory=dict)  # None: the key is present, any value
    verdict: str | None = None

    def match(self, row: Mapping[str, Any]) -> bool:
        if self.engine and self.engine.lower() not in str(row["engine"]).lower():
            return False
        tags: Mapping[str, str] = row["tags"]
        for key, value in self.tags.items():
            if key not in tags or (value is not None and tags[key] != value):
                return False
        return not (self.verdict and str(row["verification"]["verdict"]).lower() != self.verdict.lower())


def fleet_status(
    databases: Sequence[MonitoredDatabase],
    source_points: Sequence[RecoveryPoint],
    dr_points: Sequence[RecoveryPoint],
    last_drills: Mapping[str, Mapping[str, Any] | None],
    verification: Mapping[str, Any] | None,
    *,
    stack_name: str,
    now: datetime,
    filters: Filters | None = None,
) -> dict[str, Any]:
    """``protected``: one row per protected database (filtered); ``unprotected``: the others, counted.

    Cluster members are covered by their cluster; drill databases are temporary and not counted.
    """
    filters = filters or Filters()
    verdicts = verdicts_by_resource((verification or {}).get("findings", []))
    rows, unprotected = [], []
    for monitored in databases:
        database = monitored.database
        if database.is_cluster_member or is_drill_resource(dict(database.tags), stack_name):
            continue
        if database.policy_name is None:
            unprotected.append(database.identifier)
            continue
        mine = [p for p in source_points if _belongs(p, monitored, stack_name)]
        kinds: dict[str, Any] = {}
        for kind in sorted({p.kind or "unknown" for p in mine}):
            newest = _newest([p for p in mine if (p.kind or "unknown") == kind])
            if newest is not None:
                kinds[kind] = _point(newest, now)
        dr_copy = _newest([p for p in dr_points if _belongs(p, monitored, stack_name)])
        if verification is None:
            verdict: dict[str, Any] = {"verdict": NOT_VERIFIED, "findings": []}
        else:
            verdict = verdicts.get(database.arn, {"verdict": Severity.OK.label, "findings": []})
        row = {
            "identifier": database.identifier,
            "arn": database.arn,
            "type": database.type.value,
            "engine": database.engine,
            "status": database.status,
            "policy": database.policy_name,
            "recovery_points": kinds,
            "dr_copy": _point(dr_copy, now) if dr_copy else None,
            "pitr": {
                "retention_days": monitored.backup.retention_days,
                "latest_restorable_time": _time(monitored.backup.latest_restorable_time),
                "lag_minutes": None
                if monitored.backup.latest_restorable_time is None
                else round((now - monitored.backup.latest_restorable_time).total_seconds() / 60, 1),
            },
            "last_drill": _drill(last_drills.get(database.arn)),
            "verification": verdict,
            "tags": dict(database.tags),
        }
        if filters.match(row):
            rows.append(row)
    database_arns = {m.database.arn for m in databases}
    summary: dict[str, Any] = {
        "protected": rows,
        "protected_count": len(rows),
        "unprotected": {"count": len(unprotected), "identifiers": sorted(unprotected)},
    }
    if verification is not None:
        summary["verification"] = {
            "status": verification.get("status"),
            "counts": verification.get("counts", {}),
            "region_findings": [
                f for f in verification.get("findings", []) if f.get("resource_key") not in database_arns
            ],
        }
    return summary
