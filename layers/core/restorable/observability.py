"""Turn a handler's result into structured log lines and EMF metrics."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from .results import JobResult, Outcome

METRIC_NAMES = {
    Outcome.CREATED: "Created",
    Outcome.ALREADY_EXISTS: "AlreadyExisted",
    Outcome.SKIPPED: "Skipped",
    Outcome.FAILED: "Failed",
    Outcome.FINDING: "Findings",
    Outcome.PLANNED: "Planned",
    Outcome.DELETED: "Deleted",
}


def record_result(result: JobResult, logger: Logger, metrics: Metrics) -> None:
    """Log each item (warnings for failures and findings) and emit one count per outcome."""
    for item in result.items:
        fields = {"job": result.job, "region": result.region, "dry_run": result.dry_run, **item.to_dict()}
        if item.outcome in (Outcome.FAILED, Outcome.FINDING):
            logger.warning("recovery point action", extra=fields)
        else:
            logger.info("recovery point action", extra=fields)
    metrics.add_dimension(name="Job", value=result.job)
    for outcome, count in result.counts().items():
        metrics.add_metric(name=METRIC_NAMES[Outcome(outcome)], unit=MetricUnit.Count, value=count)
    logger.info(
        "job finished", extra={"job": result.job, "region": result.region, "counts": result.counts(), "ok": result.ok}
    )
