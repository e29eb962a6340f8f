"""Pre-deploy recovery points of RDS databases, DynamoDB tables and ElastiCache caches: a CodePipeline
Lambda invoke action, or a direct ``aws lambda invoke``.

CodePipeline: the first call starts the snapshots and answers ``PutJobSuccessResult`` with a
continuation token; CodePipeline invokes again with the token until the final success (with
output variables) or ``PutJobFailureResult``. Direct: the call waits in-process while the
function has time and returns the result; an unfinished result carries a token to continue.

The CodePipeline event carries artifact credentials: it is never logged.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from restorable.adapters import clients
from restorable.adapters.codepipeline import CodePipelineGateway, is_job_event, parse_job_event
from restorable.adapters.dynamodb import DynamoDbGateway
from restorable.adapters.dynamodb_backups import DynamoDbBackupGateway
from restorable.adapters.elasticache import ElastiCacheGateway
from restorable.adapters.elasticache_points import ElastiCacheSnapshotGateway
from restorable.adapters.rds import RdsGateway
from restorable.arns import account_of
from restorable.errors import ConfigurationError, RestorableError
from restorable.observability import log_event_summary, record_result
from restorable.predeploy_job import PredeployGateway, continue_predeploy, job_result, start_predeploy
from restorable.predeploy_plan import (
    ContinueRequest,
    FailureType,
    PredeployError,
    PredeployStatus,
    Progress,
    State,
    parse_direct_request,
    parse_user_parameters,
)
from restorable.settings import PredeploySettings, RegionSettings

logger = Logger()
metrics = Metrics()
tracer = Tracer()

# A direct invocation re-checks this often while it waits, and stops waiting (returning a
# continuation token) when less than SAFETY_SECONDS of the function's time would be left.
POLL_SECONDS = 15
SAFETY_SECONDS = 20
STATE_METRICS = {State.SUCCEEDED: "PredeploySucceeded", State.FAILED: "PredeployFailed", State.IN_PROGRESS: "Waiting"}


@logger.inject_lambda_context(log_event=False, clear_state=True)  # never the raw event
@log_event_summary(logger)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if is_job_event(event):
        return _pipeline_job(event)
    return _direct(event, context)


def _pipeline_job(event: dict[str, Any]) -> dict[str, Any]:
    try:
        job = parse_job_event(event)
    except RestorableError as exc:
        logger.error("rejected CodePipeline event without a usable job id", extra={"error": str(exc)})
        raise
    logger.append_keys(**job.log_fields())
    # Read on its own: the pipeline must hear about a broken configuration too.
    region = RegionSettings.from_environ().region
    pipeline = CodePipelineGateway(clients.client("codepipeline", region))
    try:
        settings = PredeploySettings.from_environ()
        gateways = _gateways(settings)
        now = datetime.now(UTC)
        if job.continuation_token is None:
            parameters = parse_user_parameters(job.user_parameters)
            status = start_predeploy(parameters, job.id, settings, gateways, now, account=job.account_id or None)
        else:
            progress = Progress.decode(job.continuation_token, job_id=job.id)
            status = continue_predeploy(progress, settings, gateways, now)
    except (ConfigurationError, PredeployError) as exc:
        status = PredeployStatus.failed(job.id, exc)
    except Exception as exc:  # tell the pipeline instead of leaving it to time out after 20 minutes
        logger.exception("pre-deploy job failed unexpectedly")
        status = PredeployStatus.failed(
            job.id, PredeployError(FailureType.JOB_FAILED, f"unexpected {type(exc).__name__}: {exc}")
        )

    _record(status, region)
    # A failed report raises: the invocation fails and Lambda retries it; the job-id tag makes that safe.
    if status.state is State.FAILED:
        assert status.failure_type is not None
        pipeline.put_failure(job.id, status.failure_type.value, status.message)
    elif status.state is State.IN_PROGRESS:
        pipeline.put_success(
            job.id,
            summary=status.message,
            continuation_token=status.continuation_token,
            percent_complete=status.percent_complete,
        )
    else:
        pipeline.put_success(
            job.id, summary=status.message, percent_complete=100, output_variables=status.output_variables()
        )
    return status.to_dict()


def _direct(event: Any, context: LambdaContext) -> dict[str, Any]:
    try:
        settings = PredeploySettings.from_environ()
        request = parse_direct_request(event)
    except RestorableError as exc:
        logger.error("rejected pre-deploy request; nothing was changed", extra={"error": str(exc)})
        raise
    gateways = _gateways(settings)
    if isinstance(request, ContinueRequest):
        try:
            progress = Progress.decode(request.continuation_token, job_id=None)
        except PredeployError as exc:
            logger.error("rejected pre-deploy request; nothing was changed", extra={"error": str(exc)})
            raise ConfigurationError(str(exc)) from exc
        logger.append_keys(request_id=progress.job)
        status = continue_predeploy(progress, settings, gateways, datetime.now(UTC))
        wait = True
    else:
        job_id = request.request_id or context.aws_request_id
        logger.append_keys(request_id=job_id)
        account = account_of(str(getattr(context, "invoked_function_arn", "") or ""))
        status = start_predeploy(request, job_id, settings, gateways, datetime.now(UTC), account=account)
        wait = request.wait
    while wait and status.state is State.IN_PROGRESS and status.progress is not None:
        if context.get_remaining_time_in_millis() < (POLL_SECONDS + SAFETY_SECONDS) * 1000:
            break
        time.sleep(POLL_SECONDS)
        status = continue_predeploy(status.progress, settings, gateways, datetime.now(UTC))
    _record(status, settings.region)
    return status.to_dict()


def _gateways(settings: PredeploySettings) -> list[PredeployGateway]:
    """One gateway per engine the function takes pre-deploy recovery points of."""
    return [
        RdsGateway(clients.client("rds", settings.region)),
        DynamoDbBackupGateway(
            DynamoDbGateway(clients.client("dynamodb", settings.region)), stack_name=settings.stack_name
        ),
        ElastiCacheSnapshotGateway(ElastiCacheGateway(clients.client("elasticache", settings.region))),
    ]


def _record(status: PredeployStatus, region: str) -> None:
    record_result(job_result(status, region), logger, metrics)
    metrics.add_metric(name=STATE_METRICS[status.state], unit=MetricUnit.Count, value=1)
    fields: dict[str, Any] = {
        "status": status.state.value,
        "job_id": status.job_id,
        "snapshots": [s.to_dict() for s in status.snapshots],
        "percent_complete": status.percent_complete,
    }
    if status.state is State.FAILED:
        fields["failure_type"] = status.failure_type.value if status.failure_type else None
        logger.warning(status.message, extra=fields)
    else:
        logger.info(status.message, extra=fields)
