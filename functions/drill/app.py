"""Restore drill steps run by the state machine: validate, restore, poll, check (engines whose checks are
API calls), cleanup, record.

The state machine passes ``{"step": .., "drill": <state>}`` (validate gets the raw input and the
execution's id and start time instead) and stores what the step returns as the new state. An
exception's class name is the error the state machine's Retry/Catch see.

The engine comes from the request (validate) or the plan (every later step); ``PLANNERS``, ``ENGINES``
and ``API_CHECKERS`` say which adapter serves it: an engine's drill plugs in with one entry in each.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from restorable.adapters import clients
from restorable.adapters.drill_dynamodb import DrillTableGateway
from restorable.adapters.drill_elasticache import DrillElastiCacheGateway
from restorable.adapters.drill_rds import DrillRdsGateway
from restorable.adapters.drill_records import DrillRecordStore
from restorable.adapters.secrets import SecretsManagerStore
from restorable.arns import account_of
from restorable.drills import steps as drill_steps
from restorable.drills.dynamodb import TableChecker, TablePlanner
from restorable.drills.elasticache import CacheDrillChecker, CacheDrillPlanner
from restorable.drills.ports import DrillChecker, DrillEngine, DrillPlanner
from restorable.drills.rds import RdsDrillPlanner
from restorable.drills.settings import DrillStepSettings
from restorable.drills.state import DrillPlan, DrillState, RecordState, parse_drill_start, parse_drill_state
from restorable.errors import InvalidRequestError, RestorableError
from restorable.models import Engine
from restorable.observability import log_event_summary

logger = Logger()
metrics = Metrics()
tracer = Tracer()

STEPS = ("validate", "restore", "poll", "check", "cleanup", "record")


def _rds_planner(settings: DrillStepSettings, account: str | None) -> DrillPlanner:
    return RdsDrillPlanner(
        source_rds=DrillRdsGateway(clients.client("rds", settings.region)),
        dr_rds=DrillRdsGateway(clients.client("rds", settings.dr_region)),
        secrets=SecretsManagerStore(lambda region: clients.client("secretsmanager", region)),
        policies=settings.policies,
        stack_name=settings.stack_name,
        account=account,
    )


def _table_planner(settings: DrillStepSettings, account: str | None) -> DrillPlanner:
    return TablePlanner(
        tables=_tables(settings.region),
        policies=settings.policies,
        stack_name=settings.stack_name,
        account=account,
        dr_region=settings.dr_region,
        export_bucket=settings.dr_export_bucket or None,
    )


def _tables(region: str) -> DrillTableGateway:
    return DrillTableGateway(clients.client("dynamodb", region))


def _cache_planner(settings: DrillStepSettings, account: str | None) -> DrillPlanner:
    return CacheDrillPlanner(
        caches=DrillElastiCacheGateway(clients.client("elasticache", settings.region)),
        secrets=_secrets(),
        policies=settings.policies,
        stack_name=settings.stack_name,
        account=account,
    )


def _secrets() -> SecretsManagerStore:
    return SecretsManagerStore(lambda region: clients.client("secretsmanager", region))


# The validate step's engine part, per engine (settings, the stack's account).
PLANNERS: Mapping[Engine, Callable[[DrillStepSettings, str | None], DrillPlanner]] = {
    Engine.RDS: _rds_planner,
    Engine.DYNAMODB: _table_planner,
    Engine.ELASTICACHE: _cache_planner,
}
# One Region of the engine, for restore, poll and cleanup (the plan's Region).
ENGINES: Mapping[Engine, Callable[[str], DrillEngine]] = {
    Engine.RDS: lambda region: DrillRdsGateway(clients.client("rds", region)),
    Engine.DYNAMODB: _tables,
    Engine.ELASTICACHE: lambda region: DrillElastiCacheGateway(clients.client("elasticache", region)),
}
# Engines whose checks are API calls run them here, outside any VPC (the plan's checks_via is "api"): tables,
# and caches drilled without key checks.
API_CHECKERS: Mapping[Engine, Callable[[str], DrillChecker]] = {
    Engine.DYNAMODB: lambda region: TableChecker(_tables(region)),
    Engine.ELASTICACHE: lambda region: CacheDrillChecker(_secrets()),
}


def _served(engine: Engine, table: Mapping[Engine, Any], what: str) -> Any:
    factory = table.get(engine)
    if factory is None:
        raise InvalidRequestError(f"{engine.value} drills have no {what} in this function")
    return factory


def _account(context: LambdaContext) -> str | None:
    """The stack's account, from the function's own ARN (ARNs in requests must name it)."""
    return account_of(str(getattr(context, "invoked_function_arn", "") or ""))


@logger.inject_lambda_context(log_event=False)  # never the raw event: see log_event_summary
@log_event_summary(logger)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = event.get("step") if isinstance(event, dict) else None
    if step not in STEPS:
        raise InvalidRequestError(f"unknown drill step {step!r}; known: {', '.join(STEPS)}")
    settings = DrillStepSettings.from_environ()
    now = datetime.now(UTC)
    try:
        if step == "validate":
            start = parse_drill_start(event)
            engine = start.request.source_engine
            planner = _served(engine, PLANNERS, "planner")(settings, _account(context))
            state = drill_steps.validate(start, planner, stack_name=settings.stack_name, now=now)
            plan = state.plan
            logger.info(
                "drill planned",
                extra={
                    "step": step,
                    "engine": plan.engine.value,
                    "source": plan.source.arn,
                    "mode": plan.mode.value,
                    "recovery_point": plan.recovery_point.identifier or plan.recovery_point_time,
                    "target": plan.target.identifier,
                    "deadline": plan.deadline,
                },
            )
            return state.to_json()
        state = parse_drill_state(event.get("drill"), step)
        plan = state.plan
        fields = {
            "step": step,
            "engine": plan.engine.value,
            "execution_id": plan.execution_id,
            "target": plan.target.identifier,
        }
        if step == "check":
            checker = _served(plan.engine, API_CHECKERS, "API checks")(plan.region)
            state = drill_steps.check(state, checker, lambda: datetime.now(UTC))
            for item in state.checks.results if state.checks else []:
                checked = {("check" if key == "name" else key): value for key, value in item.to_json().items()}
                (logger.info if item.passed else logger.warning)("drill check", extra={**fields, **checked})
            return state.to_json()
        if step == "record":
            return _record(state, settings, now, fields)
        gateway: DrillEngine = _served(plan.engine, ENGINES, "gateway")(plan.region)
        if step == "restore":
            network = (
                settings.cache_network()
                if plan.engine is Engine.ELASTICACHE
                else settings.network(in_dr_region=plan.region != settings.region)
            )
            state = drill_steps.restore(state, gateway, network, now)
            logger.info("restore started", extra={**fields, "region": plan.region})
        elif step == "poll":
            state = drill_steps.poll(state, gateway, now)
            logger.info("restore status", extra={**fields, **(state.poll.to_json() if state.poll else {})})
        elif step == "cleanup":
            state = drill_steps.cleanup(state, gateway, settings.stack_name, now)
            cleaned = state.cleanup.to_json() if state.cleanup else {}
            logger.info("temporary resources deleted", extra={**fields, **cleaned})
        return state.to_json()
    except RestorableError as exc:
        logger.warning("drill step failed", extra={"step": step, "error": str(exc), "error_type": type(exc).__name__})
        raise


def _record(state: DrillState, settings: DrillStepSettings, now: datetime, fields: dict[str, Any]) -> dict[str, Any]:
    store = DrillRecordStore(
        clients.client("s3", settings.region),
        clients.client("dynamodb", settings.region),
        bucket=settings.report_bucket,
        table=settings.history_table,
    )
    state = drill_steps.record(state, store, now)
    assert state.record is not None
    _emit(state.record, state.plan)
    log = logger.info if state.record.outcome == "passed" else logger.warning
    recorded = state.record.model_dump(mode="json", exclude={"summary"})
    log("drill recorded", extra={**fields, **recorded})
    return state.to_json()


def _emit(record: RecordState, plan: DrillPlan) -> None:
    metrics.add_dimension(name="Job", value="drill")
    metrics.add_metric(name="DrillPassed", unit=MetricUnit.Count, value=1 if record.outcome == "passed" else 0)
    metrics.add_metric(name="DrillFailed", unit=MetricUnit.Count, value=0 if record.outcome == "passed" else 1)
    if record.rto_seconds is not None:
        metrics.add_metric(name="DrillRtoSeconds", unit=MetricUnit.Seconds, value=record.rto_seconds)
    if record.rpo_seconds is not None:
        metrics.add_metric(name="DrillRpoSeconds", unit=MetricUnit.Seconds, value=record.rpo_seconds)
    metrics.add_metadata(key="source", value=plan.source.arn)
