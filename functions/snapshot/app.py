"""Scheduled snapshots (weekly, monthly, daily, the hourly catch-up) of RDS instances, Aurora clusters, DynamoDB
tables and ElastiCache caches."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from restorable.adapters import clients
from restorable.adapters.dynamodb import DynamoDbGateway
from restorable.adapters.dynamodb_backups import DynamoDbBackupGateway
from restorable.adapters.elasticache import ElastiCacheGateway
from restorable.adapters.elasticache_points import ElastiCacheSnapshotGateway
from restorable.adapters.rds import RdsGateway
from restorable.errors import RestorableError
from restorable.observability import log_event_summary, record_result
from restorable.settings import SnapshotSettings
from restorable.snapshot_job import SnapshotGateway, parse_snapshot_request, run_snapshot_job

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
        settings = SnapshotSettings.from_environ()
        request = parse_snapshot_request(event, settings, now)
    except RestorableError as exc:
        logger.error("rejected snapshot request; nothing was changed", extra={"error": str(exc)})
        raise
    gateways: list[SnapshotGateway] = [
        RdsGateway(clients.client("rds", settings.region)),
        DynamoDbBackupGateway(
            DynamoDbGateway(clients.client("dynamodb", settings.region)), stack_name=settings.stack_name
        ),
        ElastiCacheSnapshotGateway(ElastiCacheGateway(clients.client("elasticache", settings.region))),
    ]
    result = run_snapshot_job(request, settings, gateways, now=now)
    record_result(result, logger, metrics)
    return result.to_dict()
