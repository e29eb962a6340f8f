"""Cache export: opted-in caches' newest daily snapshots exported to S3, copied to the DR Region, verified."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from restorable.adapters import clients
from restorable.adapters.cache_export_store import ObjectStore
from restorable.adapters.elasticache import ElastiCacheGateway
from restorable.cache_export_job import parse_cache_export_event, run_cache_export_job
from restorable.errors import RestorableError
from restorable.observability import log_event_summary, record_result
from restorable.settings import CacheExportSettings

logger = Logger()
metrics = Metrics()
tracer = Tracer()


@logger.inject_lambda_context(log_event=False)  # never the raw event: see log_event_summary
@log_event_summary(logger)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        settings = CacheExportSettings.from_environ()
        request = parse_cache_export_event(event)
    except RestorableError as exc:
        logger.error("rejected cache export request; nothing was exported", extra={"error": str(exc)})
        raise
    caches = ElastiCacheGateway(clients.client("elasticache", settings.region))
    staging = ObjectStore(clients.client("s3", settings.region), settings.cache_export_bucket)
    dr = (
        ObjectStore(clients.client("s3", settings.dr_region), settings.dr_export_bucket)
        if settings.exports_on
        else None
    )
    result = run_cache_export_job(request, settings, caches, staging, dr, now=datetime.now(UTC))
    record_result(result, logger, metrics)
    logger.info("cache export pass finished", extra=result.details["exports"])
    return result.to_dict()
