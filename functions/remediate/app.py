"""Remediation: turn on the backup settings opted-in policies ask for, daily after verification or by hand."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from restorable.adapters import clients
from restorable.adapters.alerts import AlertPublisher
from restorable.adapters.dynamodb import DynamoDbGateway
from restorable.adapters.remediation import RdsBackupSettingsGateway, TablePitrGateway
from restorable.errors import RestorableError
from restorable.observability import log_event_summary, record_result
from restorable.remediation_job import RemediationGateways, parse_remediate_request, run_remediation
from restorable.remediation_settings import RemediateSettings

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
        settings = RemediateSettings.from_environ()
        request = parse_remediate_request(event, now)
    except RestorableError as exc:
        logger.error("rejected remediate request; nothing was changed", extra={"error": str(exc)})
        raise
    dynamodb = clients.client("dynamodb", settings.region)
    gateways = RemediationGateways(
        source=RdsBackupSettingsGateway(clients.client("rds", settings.region)),
        dr=RdsBackupSettingsGateway(clients.client("rds", settings.dr_region)),
        tables=TablePitrGateway(DynamoDbGateway(dynamodb), dynamodb),
        publisher=(
            AlertPublisher(clients.client("sns", settings.region), settings.alert_topic_arn)
            if settings.alert_topic_arn and not request.dry_run
            else None
        ),
    )
    result = run_remediation(request, settings, gateways, now=now)
    record_result(result, logger, metrics)
    logger.info(
        "remediation finished",
        extra={
            "job": result.job,
            "dry_run": result.dry_run,
            "remediated": [f"{item['resource']}:{item['kind']}" for item in result.details["remediated"]],
            "outages": result.details["outages"],
        },
    )
    notification = result.details.get("notification")
    if isinstance(notification, dict) and notification.get("error"):
        logger.error("remediation notice not published", extra={"job": result.job, "error": notification["error"]})
    return result.to_dict()
