"""Backup verification: hourly for every protected database, and for one instance on RDS events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from restorable.adapters import clients
from restorable.adapters.backup_inventory import BackupInventory
from restorable.adapters.notification_store import AlertPublisher, DrillHistoryReader, NotificationStateStore
from restorable.errors import RestorableError
from restorable.observability import log_event_summary
from restorable.settings import load_settings
from restorable.verification.job import Gateways, VerificationRun, run_verification
from restorable.verification.metrics import record_verification
from restorable.verification.request import (
    IgnoredEvent,
    InstanceEvent,
    VerifyRequest,
    is_eventbridge_event,
    parse_rds_event,
    parse_verify_request,
)
from restorable.verification.settings import load_verification_settings

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context(log_event=False)  # never the raw event: see log_event_summary
@log_event_summary(logger)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        settings = load_settings()
        verification_settings = load_verification_settings(settings)
    except RestorableError as exc:
        logger.error("invalid configuration; nothing was verified", extra={"error": str(exc)})
        raise
    target: VerifyRequest | InstanceEvent
    if is_eventbridge_event(event):
        parsed = parse_rds_event(event, settings.region)
        if isinstance(parsed, IgnoredEvent):
            run = VerificationRun(region=settings.region, scope="event", full_run=False, ignored=parsed)
            record_verification(run, logger)
            return run.to_dict()
        target = parsed
    else:
        try:
            target = parse_verify_request(event)
        except RestorableError as exc:
            logger.error("rejected verify request; nothing was verified", extra={"error": str(exc)})
            raise
    dynamodb = clients.client("dynamodb", settings.region)
    gateways = Gateways(
        source=BackupInventory(clients.client("rds", settings.region)),
        dr=BackupInventory(clients.client("rds", settings.dr_region)),
        state=NotificationStateStore(dynamodb, verification_settings.notification_state_table),
        publisher=AlertPublisher(clients.client("sns", settings.region), verification_settings.alert_topic_arn),
        drills=DrillHistoryReader(dynamodb, verification_settings.drill_history_table)
        if verification_settings.drill_history_table
        else None,
    )
    run = run_verification(target, settings, verification_settings, gateways, now=datetime.now(UTC))
    record_verification(run, logger)
    return run.to_dict()
