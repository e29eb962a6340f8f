"""Restore drill checks that need the network: for RDS, API checks on the restored database, then SQL checks
through the real driver; for caches, API checks, then the key checks through redis-py. (An engine whose
checks are AWS API calls runs them in the drill function instead: the plan's ``checks_via`` is "api" and the
state machine's Choice sends them there.)

Runs in the VPC that reaches the temporary databases and caches. Credentials come from Secrets Manager
(the restored instance's managed master user secret, ``checks.sql.secret_arn`` or ``checks.cache.secret_arn``)
and never appear in logs, results or errors.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from restorable.adapters import clients
from restorable.adapters.secrets import SecretsManagerStore
from restorable.drills import steps as drill_steps
from restorable.drills.elasticache import CacheDrillChecker
from restorable.drills.ports import DrillChecker, SecretStore
from restorable.drills.rds import RdsChecks
from restorable.drills.state import parse_drill_state
from restorable.errors import InvalidRequestError, RestorableError
from restorable.models import Engine
from restorable.observability import log_event_summary
from restorable.settings import CoreSettings

logger = Logger()
metrics = Metrics()
tracer = Tracer()

# The checks that run here (in the VPC), per engine.
NETWORK_CHECKERS: Mapping[Engine, Callable[[SecretStore], DrillChecker]] = {
    Engine.RDS: RdsChecks,
    Engine.ELASTICACHE: CacheDrillChecker,  # key checks through redis-py (TLS), on the cache's endpoint
}


@logger.inject_lambda_context(log_event=False)  # never the raw event: see log_event_summary
@log_event_summary(logger)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    CoreSettings.from_environ()  # fails loudly on a broken configuration, like every function
    state = parse_drill_state(event.get("drill") if isinstance(event, dict) else None, "check")
    execution_id = state.plan.execution_id
    secrets = SecretsManagerStore(lambda region: clients.client("secretsmanager", region))
    try:
        checker = NETWORK_CHECKERS.get(state.plan.engine)
        if checker is None:
            raise InvalidRequestError(f"{state.plan.engine.value} drills run their checks in the drill function")
        state = drill_steps.check(state, checker(secrets), lambda: datetime.now(UTC))
    except RestorableError as exc:
        logger.warning("drill checks could not run", extra={"execution_id": execution_id, "error": str(exc)})
        raise
    results = state.checks.results if state.checks else []
    for item in results:
        log = logger.info if item.passed else logger.warning
        fields = {("check" if key == "name" else key): value for key, value in item.to_json().items()}
        log("drill check", extra={"execution_id": execution_id, **fields})
    metrics.add_dimension(name="Job", value="drill")
    failed = sum(1 for item in results if not item.passed)
    metrics.add_metric(name="DrillChecksFailed", unit=MetricUnit.Count, value=failed)
    return state.to_json()
