"""DR copies: copy managed snapshots to the DR Region, on RDS snapshot events and a periodic reconcile."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from restorable.adapters import clients
from restorable.adapters.rds import RdsGateway
from restorable.copy_job import parse_copy_event, run_copy_job
from restorable.errors import RestorableError
from restorable.observability import log_event_summary, record_ignored_event, record_result
from restorable.rds_events import IgnoredEvent
from restorable.results import JobResult
from restorable.settings import CopySettings

logger = Logger()
metrics = Metrics()
tracer = Tracer()


@logger.inject_lambda_context(log_event=False)  # never the raw event: see log_event_summary
@log_event_summary(logger)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        settings = CopySettings.from_environ()
        parsed = parse_copy_event(event, settings)
    except RestorableError as exc:
        logger.error("rejected copy request; nothing was copied", extra={"error": str(exc)})
        raise
    if isinstance(parsed, IgnoredEvent):
        record_ignored_event("copy", settings.region, parsed, logger)
        return JobResult(job="copy", region=settings.region, details=parsed.to_dict()).to_dict()
    request, scope = parsed
    source = RdsGateway(clients.client("rds", settings.region))
    dr = RdsGateway(clients.client("rds", settings.dr_region))
    result = run_copy_job(
        request, scope, settings, source, dr, now=datetime.now(UTC), max_attempts=settings.copy_max_attempts
    )
    record_result(result, logger, metrics)
    copies = result.details["copies"]
    metrics.add_metric(name="CopiesStarted", unit=MetricUnit.Count, value=copies["started"])
    metrics.add_metric(name="CopiesInFlight", unit=MetricUnit.Count, value=copies["in_flight"])
    metrics.add_metric(name="CopiesWaiting", unit=MetricUnit.Count, value=copies["waiting"])
    metrics.add_metric(name="DrLagSeconds", unit=MetricUnit.Seconds, value=copies["dr_lag_seconds"])
    logger.info("copy pass finished", extra={"dr_region": settings.dr_region, **copies})
    return result.to_dict()
