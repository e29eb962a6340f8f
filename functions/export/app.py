"""DynamoDB exports to the DR Region: each protected table's weekly recovery point, exported into the DR bucket."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from restorable.adapters import clients
from restorable.adapters.dynamodb import DynamoDbGateway
from restorable.dynamodb_export_job import parse_export_request, run_export_job
from restorable.errors import RestorableError
from restorable.observability import log_event_summary, record_result
from restorable.settings import ExportSettings

logger = Logger()
metrics = Metrics()
tracer = Tracer()


@logger.inject_lambda_context(log_event=False)  # never the raw event: see log_event_summary
@log_event_summary(logger)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    now = datetime.now(UTC)
    try:
        settings = ExportSettings.from_environ()
        request = parse_export_request(event, now)
        result = run_export_job(
            request, settings, DynamoDbGateway(clients.client("dynamodb", settings.region)), now=now
        )
    except RestorableError as exc:
        logger.error("rejected export request; nothing was exported", extra={"error": str(exc)})
        raise
    record_result(result, logger, metrics)
    exports = result.details["exports"]
    if exports["enabled"]:
        metrics.add_metric(name="ExportsStarted", unit=MetricUnit.Count, value=exports["started"])
        metrics.add_metric(name="ExportsRetryLater", unit=MetricUnit.Count, value=exports["retry_later"])
    logger.info("export pass finished", extra={"dr_region": settings.dr_region, **exports})
    return result.to_dict()
