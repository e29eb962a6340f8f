"""Monthly drills: start a restore drill for every protected database and table (or this month's rotating
sample); the schedule's ``snapshot`` mode is a table's ``backup`` drill."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from restorable.adapters import clients
from restorable.adapters.dynamodb import DynamoDbGateway
from restorable.adapters.dynamodb_backups import DynamoDbBackupGateway
from restorable.adapters.elasticache import ElastiCacheGateway
from restorable.adapters.elasticache_points import ElastiCacheSnapshotGateway
from restorable.adapters.rds import RdsGateway
from restorable.adapters.stepfunctions import StateMachineStarter
from restorable.drills.schedule import (
    DrillScheduleResult,
    EngineInventories,
    parse_scheduled_request,
    run_drill_schedule,
)
from restorable.drills.settings import DrillSchedulerSettings
from restorable.errors import RestorableError
from restorable.observability import log_event_summary

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
        settings = DrillSchedulerSettings.from_environ()
        request = parse_scheduled_request(event, now)
    except RestorableError as exc:
        logger.error("rejected drill schedule event; nothing was started", extra={"error": str(exc)})
        raise
    result = run_drill_schedule(
        request,
        inventory=EngineInventories(
            [
                RdsGateway(clients.client("rds", settings.region)),
                DynamoDbBackupGateway(
                    DynamoDbGateway(clients.client("dynamodb", settings.region)), stack_name=settings.stack_name
                ),
                ElastiCacheSnapshotGateway(ElastiCacheGateway(clients.client("elasticache", settings.region))),
            ]
        ),
        starter=StateMachineStarter(clients.client("stepfunctions", settings.region), settings.state_machine_arn),
        policies=settings.policies,
        checks=settings.checks,
        per_run=settings.drills_per_run,
        exports_enabled=bool(settings.dr_export_bucket),
        now=now,
    )
    _record(result)
    return result.to_dict()


def _record(result: DrillScheduleResult) -> None:
    metrics.add_dimension(name="Job", value="drill-scheduler")
    metrics.add_metric(name="DrillsStarted", unit=MetricUnit.Count, value=len(result.started))
    metrics.add_metric(name="Skipped", unit=MetricUnit.Count, value=len(result.skipped))
    metrics.add_metric(name="Failed", unit=MetricUnit.Count, value=len(result.failed))
    for problem in result.skipped:
        logger.warning("drill not started", extra={"database": problem.database, "reason": problem.reason})
    (logger.warning if result.failed else logger.info)("drills scheduled", extra=result.to_dict())
