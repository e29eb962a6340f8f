"""Janitor: deletes drill resources (every engine's) past their restorable:expires-at, in both Regions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from restorable.adapters import clients
from restorable.adapters.drill_dynamodb import DrillTableGateway
from restorable.adapters.drill_elasticache import DrillElastiCacheGateway
from restorable.adapters.drill_rds import DrillRdsGateway
from restorable.drills.janitor import run_janitor
from restorable.drills.ports import DrillEngine
from restorable.errors import InvalidRequestError, RestorableError
from restorable.observability import log_event_summary
from restorable.settings import CoreSettings

logger = Logger()
metrics = Metrics()
tracer = Tracer()


@logger.inject_lambda_context(log_event=False)  # never the raw event: see log_event_summary
@log_event_summary(logger)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        settings = CoreSettings.from_environ()
        if not isinstance(event, dict) or set(event) - {"dry_run", "scheduled_time"}:
            raise InvalidRequestError("janitor event: only 'dry_run' (boolean) and 'scheduled_time' are allowed")
        dry_run = event.get("dry_run", False)
        if not isinstance(dry_run, bool):
            raise InvalidRequestError("janitor event: 'dry_run' must be true or false")
    except RestorableError as exc:
        logger.error("rejected janitor event; nothing was changed", extra={"error": str(exc)})
        raise
    regions = (settings.region, settings.dr_region)
    gateways: list[DrillEngine] = [DrillRdsGateway(clients.client("rds", r)) for r in regions]
    gateways += [DrillTableGateway(clients.client("dynamodb", r)) for r in regions]
    # Cache drills restore in the stack's Region only.
    gateways.append(DrillElastiCacheGateway(clients.client("elasticache", settings.region)))
    result = run_janitor(gateways, settings.stack_name, datetime.now(UTC), dry_run)
    metrics.add_dimension(name="Job", value="drill-janitor")
    metrics.add_metric(name="Deleted", unit=MetricUnit.Count, value=0 if dry_run else len(result.deleted))
    metrics.add_metric(name="Failed", unit=MetricUnit.Count, value=len(result.failed))
    metrics.add_metric(name="Findings", unit=MetricUnit.Count, value=len(result.findings))
    summary = result.to_dict()
    (logger.info if result.ok else logger.warning)("janitor finished", extra=summary)
    return summary
