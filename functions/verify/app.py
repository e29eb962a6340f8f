"""Backup verification: hourly for every protected database, table and cache; for one instance on RDS events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from restorable.adapters import clients
from restorable.adapters.alerts import AlertPublisher
from restorable.adapters.backup_inventory import BackupInventory
from restorable.adapters.cache_export_store import DrExportReader, ObjectStore
from restorable.adapters.dynamodb import DynamoDbGateway
from restorable.adapters.elasticache import ElastiCacheGateway
from restorable.adapters.notification_store import DrillHistoryReader, NotificationStateStore
from restorable.errors import RestorableError
from restorable.observability import log_event_summary
from restorable.rds_events import IgnoredEvent
from restorable.verification.job import Gateways, VerificationRun, run_verification
from restorable.verification.metrics import record_verification
from restorable.verification.request import parse_verify_event
from restorable.verification.settings import VerifySettings

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context(log_event=False)  # never the raw event: see log_event_summary
@log_event_summary(logger)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        settings = VerifySettings.from_environ()
    except RestorableError as exc:
        logger.error("invalid configuration; nothing was verified", extra={"error": str(exc)})
        raise
    try:
        target = parse_verify_event(event, settings.region)
    except RestorableError as exc:
        logger.error("rejected verify request; nothing was verified", extra={"error": str(exc)})
        raise
    if isinstance(target, IgnoredEvent):
        run = VerificationRun(region=settings.region, scope="event", full_run=False, ignored=target)
        record_verification(run, logger)
        return run.to_dict()
    dynamodb = clients.client("dynamodb", settings.region)
    gateways = Gateways(
        source=BackupInventory(clients.client("rds", settings.region)),
        dr=BackupInventory(clients.client("rds", settings.dr_region)),
        state=NotificationStateStore(dynamodb, settings.notification_state_table),
        publisher=AlertPublisher(clients.client("sns", settings.region), settings.alert_topic_arn),
        drills=DrillHistoryReader(dynamodb, settings.drill_history_table) if settings.drill_history_table else None,
        tables=DynamoDbGateway(dynamodb),
        caches=ElastiCacheGateway(clients.client("elasticache", settings.region)),
        cache_exports=DrExportReader(
            ObjectStore(clients.client("s3", settings.dr_region), settings.dr_export_bucket), settings.stack_name
        )
        if settings.dr_export_bucket
        else None,
    )
    run = run_verification(target, settings, gateways, now=datetime.now(UTC))
    record_verification(run, logger)
    return run.to_dict()
