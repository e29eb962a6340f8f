"""Lifecycle pruning: delete expired recovery points in the source and DR Regions, behind a circuit breaker."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext

from restorable.adapters import clients
from restorable.adapters.alerts import AlertPublisher
from restorable.adapters.dynamodb import DynamoDbGateway
from restorable.adapters.dynamodb_backups import DynamoDbBackupGateway, ExistingTables
from restorable.adapters.dynamodb_holds import HoldStore
from restorable.adapters.elasticache import ElastiCacheGateway
from restorable.adapters.elasticache_points import ElastiCacheSnapshotGateway, ExistingCaches
from restorable.adapters.rds import RdsGateway
from restorable.errors import AwsError, RestorableError
from restorable.models import Engine
from restorable.observability import log_event_summary, record_result
from restorable.prune_job import BreakerTrip, EngineGateways, parse_prune_request, run_prune_job
from restorable.settings import PruneSettings
from restorable.verification.checks import Severity

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
        settings = PruneSettings.from_environ()
        request = parse_prune_request(event, now)
    except RestorableError as exc:
        logger.error("rejected prune request; nothing was deleted", extra={"error": str(exc)})
        raise
    if request.override_breaker:
        logger.warning("circuit breaker override requested", extra={"override_reason": request.override_reason})
    result, trips = run_prune_job(request, settings, _engines(settings), now=now, limits=settings.breaker_limits)
    record_result(result, logger, metrics)
    for region, summary in result.details["regions"].items():
        for rule, count in summary.get("kept_by_rule", {}).items():
            with single_metric(name="Kept", unit=MetricUnit.Count, value=count, namespace=metrics.namespace) as metric:
                metric.add_dimension(name="Job", value="prune")
                metric.add_dimension(name="Rule", value=rule)
        logger.info("prune region finished", extra={"prune_region": region, **summary})
    if not request.dry_run:
        metrics.add_metric(name="CircuitBreakerTrips", unit=MetricUnit.Count, value=len(trips))
    for trip in trips:
        _alert(trip, settings, request.dry_run)
    return result.to_dict()


def _engines(settings: PruneSettings) -> list[EngineGateways]:
    """RDS in the source and DR Regions; DynamoDB and ElastiCache in the source Region (their points stay there)."""
    rds_source = RdsGateway(clients.client("rds", settings.region))
    rds_dr = RdsGateway(clients.client("rds", settings.dr_region))
    dynamodb_client = clients.client("dynamodb", settings.region)
    tables = DynamoDbGateway(dynamodb_client)
    dynamodb = DynamoDbBackupGateway(
        tables, stack_name=settings.stack_name, holds=HoldStore(dynamodb_client, settings.dynamodb_holds_table)
    )
    caches = ElastiCacheGateway(clients.client("elasticache", settings.region))
    return [
        EngineGateways(Engine.RDS, {"source": rds_source, "dr": rds_dr}, rds_source),
        EngineGateways(
            Engine.DYNAMODB, {"source": dynamodb}, ExistingTables(tables, clients.client("sts", settings.region))
        ),
        EngineGateways(Engine.ELASTICACHE, {"source": ElastiCacheSnapshotGateway(caches)}, ExistingCaches(caches)),
    ]


def _alert(trip: BreakerTrip, settings: PruneSettings, dry_run: bool) -> None:
    """Always an ERROR log line; and an SNS message when a topic is configured (not for a dry run)."""
    fields = {"prune_region": trip.region, "engine": trip.engine, "reason": trip.reason, "dry_run": dry_run}
    if dry_run:
        logger.warning("circuit breaker would trip; dry run, no alert sent", extra=fields)
        return
    logger.error("circuit breaker tripped; nothing was deleted in this Region", extra=fields)
    if not settings.alert_topic_arn:
        return
    subject, message = trip.alert(settings.stack_name)
    publisher = AlertPublisher(clients.client("sns", settings.region), settings.alert_topic_arn)
    try:
        publisher.publish(subject, message, Severity.CRITICAL.label)
    except AwsError as exc:  # the ERROR line and the metric above still report the trip
        logger.error("could not publish the circuit-breaker alert", extra={**fields, "error": str(exc)})
