"""EMF metrics of a verification run. The template's alarms and dashboard use these names.

``ALARM_METRICS`` maps each metric an alarm may watch to the dimension names it is
emitted with (besides Powertools' ``service``); tests hold the template to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from ..observability import record_ignored_event
from .checks import (
    MEASURE_DR_LAG_HOURS,
    MEASURE_RECOVERY_POINT_AGE_MINUTES,
    MEASURE_SNAPSHOT_AGE_DAYS,
    Severity,
)
from .job import VerificationRun

# Per database (dashboard)
RECOVERY_POINT_AGE = "RecoveryPointAgeMinutes"
SNAPSHOT_AGE = "SnapshotAgeDays"
DR_LAG = "DrLagHours"
SNAPSHOT_QUOTA_USED = "SnapshotQuotaUsedPercent"
MANAGED_SNAPSHOTS = "ManagedSnapshots"
# Summaries (alarms)
MAX_RECOVERY_POINT_AGE = "MaxRecoveryPointAgeMinutes"
MAX_SNAPSHOT_AGE = "MaxSnapshotAgeDays"
MAX_DR_LAG = "MaxDrLagHours"
MAX_SNAPSHOT_QUOTA_USED = "MaxSnapshotQuotaUsedPercent"
FINDINGS = "Findings"
DATABASES_VERIFIED = "DatabasesVerified"
VERIFICATION_RUNS = "VerificationRuns"
NOTIFICATIONS_SENT = "NotificationsSent"
NOTIFICATION_FAILURES = "NotificationFailures"

PER_DATABASE = {
    MEASURE_RECOVERY_POINT_AGE_MINUTES: (RECOVERY_POINT_AGE, MetricUnit.Count, MAX_RECOVERY_POINT_AGE),
    MEASURE_SNAPSHOT_AGE_DAYS: (SNAPSHOT_AGE, MetricUnit.Count, MAX_SNAPSHOT_AGE),
    MEASURE_DR_LAG_HOURS: (DR_LAG, MetricUnit.Count, MAX_DR_LAG),
}

# Dimension names (besides "service") each summary metric is emitted with.
ALARM_METRICS: Mapping[str, tuple[str, ...]] = {
    MAX_RECOVERY_POINT_AGE: (),
    MAX_SNAPSHOT_AGE: ("Kind",),
    MAX_DR_LAG: (),
    MAX_SNAPSHOT_QUOTA_USED: (),
    FINDINGS: ("Severity",),
    DATABASES_VERIFIED: (),
    VERIFICATION_RUNS: ("Scope",),
    NOTIFICATIONS_SENT: (),
    NOTIFICATION_FAILURES: (),
}
DASHBOARD_METRICS: Mapping[str, tuple[str, ...]] = {
    RECOVERY_POINT_AGE: ("Database",),
    SNAPSHOT_AGE: ("Database", "Kind"),
    DR_LAG: ("Database",),
    SNAPSHOT_QUOTA_USED: ("Region", "Quota"),
    MANAGED_SNAPSHOTS: ("Region",),
}
SCOPE_ALL = "all"
SCOPE_EVENT = "event"


class _Batch:
    """The run's metrics, printed as one EMF document per dimension set (not one per metric)."""

    def __init__(self) -> None:
        self._sets: dict[tuple[tuple[str, str], ...], list[tuple[str, MetricUnit, float]]] = {}

    def add(self, name: str, value: float, dimensions: Mapping[str, str], unit: MetricUnit = MetricUnit.Count) -> None:
        self._sets.setdefault(tuple(dimensions.items()), []).append((name, unit, value))

    def flush(self) -> None:
        for dimensions, values in self._sets.items():
            document = EphemeralMetrics()
            for dimension, dimension_value in dimensions:
                document.add_dimension(name=dimension, value=dimension_value)
            for name, unit, value in values:
                document.add_metric(name=name, unit=unit, value=value)
            document.flush_metrics()
        self._sets.clear()


def record_verification(run: VerificationRun, logger: Logger) -> None:
    """Log each finding and the summary; emit per-database figures and summary metrics."""
    base: dict[str, Any] = {"job": "verify", "region": run.region, "scope": run.scope}
    if run.ignored is not None:
        record_ignored_event("verify", run.region, run.ignored, logger)
        return
    verification = run.verification
    for finding in verification.findings:
        logger.warning("backup finding", extra={**base, **finding.to_dict()})
    for note in run.notes:
        logger.warning("verification note", extra={**base, "note": note})

    batch = _Batch()
    maxima: dict[tuple[str, str | None], float] = {}
    for measurement in verification.measurements:
        metric_name, unit, summary = PER_DATABASE[measurement.name]
        dimensions = {"Database": measurement.database}
        if measurement.kind is not None:
            dimensions["Kind"] = measurement.kind
        batch.add(metric_name, measurement.value, dimensions, unit)
        key = (summary, measurement.kind)
        maxima[key] = max(maxima.get(key, 0.0), measurement.value)
    for (summary, kind), value in sorted(maxima.items(), key=lambda item: (item[0][0], item[0][1] or "")):
        batch.add(summary, value, {"Kind": kind} if kind is not None else {})
    if verification.quota_usage:
        for usage in verification.quota_usage:
            batch.add(SNAPSHOT_QUOTA_USED, round(usage.percent, 2), {"Region": usage.region, "Quota": usage.name})
        batch.add(MAX_SNAPSHOT_QUOTA_USED, round(max(u.percent for u in verification.quota_usage), 2), {})

    for region, count in sorted(verification.managed_snapshots.items()):
        batch.add(MANAGED_SNAPSHOTS, count, {"Region": region})

    counts = verification.counts()
    for severity in (Severity.UNKNOWN, Severity.WARNING, Severity.CRITICAL):
        batch.add(FINDINGS, counts[severity.label], {"Severity": severity.label})
    batch.add(DATABASES_VERIFIED, len(verification.databases), {})
    batch.add(VERIFICATION_RUNS, 1, {"Scope": SCOPE_ALL if run.full_run else SCOPE_EVENT})
    if run.plan is not None:
        batch.add(NOTIFICATIONS_SENT, 1 if run.message_id else 0, {})
    if run.notification_error:
        batch.add(NOTIFICATION_FAILURES, 1, {})
        logger.error("notification failed", extra={**base, "error": run.notification_error})
    batch.flush()
    logger.info(
        "verification finished",
        extra={
            **base,
            "status": verification.status.value,
            "counts": counts,
            "databases_verified": len(verification.databases),
            "notifications": run.plan.counts() if run.plan is not None else None,
        },
    )
