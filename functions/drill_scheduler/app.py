"""Monthly drills: start a restore drill for every protected database (or this month's rotating sample)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from restorable.adapters import clients
from restorable.adapters.rds import RdsGateway
from restorable.drills.schedule import (
    drill_candidates,
    drill_input,
    execution_name,
    parse_scheduled_request,
    rotating_sample,
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
    try:
        settings = DrillSchedulerSettings.from_environ()
        request = parse_scheduled_request(event)
    except RestorableError as exc:
        logger.error("rejected drill schedule event; nothing was started", extra={"error": str(exc)})
        raise
    scheduled_time = request.scheduled_time or datetime.now(UTC)
    candidates = drill_candidates(RdsGateway(clients.client("rds", settings.region)).list_databases())
    chosen = rotating_sample(candidates, scheduled_time, settings.drills_per_run)
    stepfunctions = clients.client("stepfunctions", settings.region)
    started, already, failed = [], [], []
    for database in chosen:
        name = execution_name(database, scheduled_time, request.mode)
        try:
            document = drill_input(database, request, settings.checks)
            if not request.dry_run:
                stepfunctions.start_execution(
                    stateMachineArn=settings.state_machine_arn, name=name, input=json.dumps(document)
                )
            started.append(name)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "ExecutionAlreadyExists":
                already.append(name)
            else:
                failed.append({"database": database.identifier, "error": f"{code}: {exc}"})
        except RestorableError as exc:  # one database's bad configuration never stops the others
            failed.append({"database": database.identifier, "error": str(exc)})
    result = {
        "job": "drill-scheduler",
        "dry_run": request.dry_run,
        "scheduled_time": scheduled_time.isoformat(),
        "candidates": len(candidates),
        "started": started,
        "already_started": already,
        "failed": failed,
    }
    metrics.add_dimension(name="Job", value="drill-scheduler")
    metrics.add_metric(name="DrillsStarted", unit=MetricUnit.Count, value=len(started))
    metrics.add_metric(name="Failed", unit=MetricUnit.Count, value=len(failed))
    (logger.warning if failed else logger.info)("drills scheduled", extra=result)
    return result
