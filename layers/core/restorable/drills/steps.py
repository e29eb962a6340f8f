"""The steps of a restore drill. Each takes the drill's state and returns it with its own part added;
the state machine passes the whole state from step to step (the handlers turn it into JSON and back).

validate -> restore -> (wait, poll)* -> check -> cleanup -> record. Every step after the restore
started leads to cleanup, failures included (the state machine's Catch).

The steps are the same for every engine: they see it through ``ports`` (``DrillPlanner`` for validate,
``DrillEngine`` for restore, poll and cleanup, ``DrillChecker`` for check). The RDS parts are in ``rds``,
DynamoDB's in ``dynamodb``; the SQL checks (RDS) stay here, beside the check step they serve.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Protocol

from ..adapters.sql import ConnectionTarget, Credentials, connect, engine_family, scalar, scrub, timed
from ..errors import (
    AwsError,
    InvalidRequestError,
    ResourceNotFoundError,
    RestoreFailedError,
    RestoreTimedOutError,
)
from .model import Network, RestoredDatabase
from .plan import (
    FIRST_POLL_SECONDS,
    FreshnessCheck,
    SqlChecks,
    drill_tags,
    iso,
    next_poll_wait,
    parse_time,
    resource_expiry,
    restore_deadline,
    rpo_target_seconds,
    rto_target_seconds,
)
from .ports import DrillChecker, DrillEngine, DrillPlanner, DrillRecords, SecretStore
from .report import render_markdown, report_document
from .state import (
    CheckResult,
    ChecksState,
    CleanupState,
    DrillPlan,
    DrillStart,
    DrillState,
    HistoryItem,
    PlanRecoveryPoint,
    PlanSource,
    PlanTargets,
    PollState,
    RecordState,
    RestoreNetwork,
    RestoreState,
    Timeline,
)
from .verdict import Verdict, judge

# ---------------------------------------------------------------- validate


def validate(start: DrillStart, planner: DrillPlanner, *, stack_name: str, now: datetime) -> DrillState:
    """Check the input against what exists; the plan for the restore. Raises before anything is created.

    The engine's planner finds the protected source, the recovery point and names the temporary resource;
    the targets, the deadline, the expiry and the drill tags are the same for every engine.
    """
    request = start.request
    started_at = start.started_at or now
    mode = request.mode
    rto = rto_target_seconds(mode, request.targets)
    deadline = restore_deadline(started_at, rto)
    expires_at = resource_expiry(deadline)
    located = planner.locate(
        request, execution_id=start.execution_id, started_at=started_at, expires_at=expires_at, now=now
    )
    plan = DrillPlan(
        execution_id=start.execution_id,
        execution_name=start.execution_name,
        started_at=iso(started_at),
        engine=planner.engine,
        checks_via=located.checks_via,
        mode=mode,
        region=located.region,
        source=located.source,
        recovery_point=located.recovery_point,
        restore_time=iso(located.restore_time) if located.restore_time else None,
        recovery_point_time=iso(located.recovery_point_time),
        targeted_time=iso(located.targeted_time),
        target=located.target,
        tags=drill_tags(stack_name, located.source.arn, start.execution_id, expires_at),
        targets=PlanTargets(rto_seconds=rto, rpo_seconds=rpo_target_seconds(mode, request.targets)),
        deadline=iso(deadline),
        expires_at=iso(expires_at),
    )
    return DrillState(
        request=request.model_dump(mode="json", exclude_none=True),
        plan=plan,
        poll=PollState(attempt=0, wait_seconds=FIRST_POLL_SECONDS, available=False),
        timeline=Timeline(started_at=iso(started_at), validated_at=iso(now)),
    )


# ---------------------------------------------------------------- restore


def restore(state: DrillState, gateway: DrillEngine, network: Network, now: datetime) -> DrillState:
    plan = state.plan
    started = gateway.restore(plan, network)
    if started is not None and plan.target.table_import is not None:
        # The import the poll step follows (an imported table says nothing of the import that fills it).
        spec = plan.target.table_import.model_copy(update={"import_arn": started})
        target = plan.target.model_copy(update={"table_import": spec})
        state = state.model_copy(update={"plan": plan.model_copy(update={"target": target})})
    restore_state = RestoreState(
        network=RestoreNetwork(subnet_group=network.subnet_group, security_groups=list(network.security_group_ids))
    )
    return state.model_copy(
        update={"restore": restore_state, "timeline": state.with_timeline(restore_started_at=iso(now))}
    )


# ---------------------------------------------------------------- poll


def poll(state: DrillState, gateway: DrillEngine, now: datetime) -> DrillState:
    """One look at the temporary resource; the wait before the next look grows with the time elapsed."""
    plan = state.plan
    target = plan.target
    restored = gateway.observe(plan)
    previous = state.poll or PollState()
    attempt = previous.attempt + 1
    elapsed = (now - plan.started).total_seconds()
    if restored is None:
        raise RestoreFailedError(f"{target.identifier} does not exist: the restore did not start or was deleted")
    if restored.status in gateway.failed_statuses:
        raise RestoreFailedError(f"{target.identifier} is '{restored.status}': the restore failed")
    if restored.status == gateway.available_status:
        available = PollState(
            attempt=attempt,
            wait_seconds=0,
            available=True,
            status=restored.status,
            resolution_seconds=previous.wait_seconds,
        )
        return state.model_copy(
            update={"poll": available, "restored": restored, "timeline": state.with_timeline(available_at=iso(now))}
        )
    remaining = (plan.deadline_time - now).total_seconds()
    if remaining <= 0:
        raise RestoreTimedOutError(
            f"{target.identifier} still '{restored.status}' after {elapsed:.0f}s; the deadline "
            f"({plan.deadline}) is twice the RTO target of {plan.targets.rto_seconds}s"
        )
    waiting = PollState(
        attempt=attempt, wait_seconds=next_poll_wait(elapsed, remaining), available=False, status=restored.status
    )
    return state.model_copy(update={"poll": waiting})


# ---------------------------------------------------------------- check


def check(state: DrillState, checker: DrillChecker, now_fn: Callable[[], datetime]) -> DrillState:
    """The engine's checks on the restored resource (for RDS: what RDS reports, then the SQL checks)."""
    plan = state.plan
    restored = state.restored or RestoredDatabase(identifier=plan.target.identifier, status="unknown")
    results, data_rpo = checker.run(plan, restored, state.drill_request().checks)
    finished_at = iso(now_fn())
    checks = ChecksState(
        results=results,
        passed=all(r.passed for r in results),
        data_rpo_seconds=data_rpo,
        finished_at=finished_at,
    )
    return state.model_copy(update={"checks": checks, "timeline": state.with_timeline(checked_at=finished_at)})


def api_checks(plan: DrillPlan, restored: RestoredDatabase) -> list[CheckResult]:
    return compare_restored(plan.source, plan.recovery_point, restored)


def compare_restored(source: PlanSource, point: PlanRecoveryPoint, restored: RestoredDatabase) -> list[CheckResult]:
    """What RDS reports of the restored database against its source and recovery point."""
    is_cluster = source.type == "cluster"

    def result(name: str, ok: bool, detail: str) -> CheckResult:
        return CheckResult(name=name, kind="api", status="passed" if ok else "failed", detail=detail)

    return [
        result("status", restored.status == "available", f"status {restored.status}"),
        result(
            "engine",
            restored.engine == source.engine,
            f"restored {restored.engine}, source {source.engine}",
        ),
        result(
            "engine_version",
            restored.engine_version == (point.engine_version or source.engine_version),
            f"restored {restored.engine_version}, recovery point {point.engine_version}",
        ),
        result(
            "encryption",
            restored.encrypted == point.encrypted and (restored.encrypted or not source.encrypted),
            f"restored encrypted={restored.encrypted}, recovery point encrypted={point.encrypted}",
        ),
        result(
            "storage",
            is_cluster or restored.allocated_storage >= point.allocated_storage,
            "Aurora storage grows on demand"
            if is_cluster
            else f"restored {restored.allocated_storage} GiB, recovery point {point.allocated_storage} GiB",
        ),
        result(
            "isolation",
            not restored.publicly_accessible and not restored.deletion_protection,
            f"publicly_accessible={restored.publicly_accessible}, deletion_protection={restored.deletion_protection}",
        ),
    ]


def read_credentials(secrets: SecretStore, secret_arn: str) -> Credentials:
    try:
        text = secrets.secret_string(secret_arn)
    except ResourceNotFoundError as exc:
        raise ResourceNotFoundError(f"secret {secret_arn} does not exist ({exc.code})", code=exc.code) from exc
    except AwsError as exc:
        raise InvalidRequestError(f"secret {secret_arn} cannot be read: {exc.code}") from exc
    try:
        document = json.loads(text)
        return Credentials(username=str(document["username"]), password=str(document["password"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidRequestError(f"secret {secret_arn} is not a JSON object with 'username' and 'password'") from exc


class SqlConnection(Protocol):
    def rollback(self) -> None: ...


def sql_checks(
    engine: str, targeted_time: datetime, restored: RestoredDatabase, sql: SqlChecks, secrets: SecretStore
) -> tuple[list[CheckResult], float | None]:
    """The configured queries and the freshness check on the restored database; a connection failure
    fails every check with the reason (never the password)."""
    secret_arn = sql.secret_arn or restored.master_user_secret_arn
    if not secret_arn:
        raise InvalidRequestError(
            f"{restored.identifier} has no managed master user secret; give checks.sql.secret_arn"
        )
    credentials = read_credentials(secrets, secret_arn)
    if not restored.address or not restored.port:
        raise RestoreFailedError(f"{restored.identifier} reports no endpoint to connect to")
    target = ConnectionTarget(
        family=engine_family(engine),
        host=restored.address,
        port=restored.port,
        database=sql.database,
        tls=sql.tls,
        connect_timeout_seconds=sql.connect_timeout_seconds,
    )
    names = [q.name for q in sql.queries] + ([sql.freshness.name] if sql.freshness else [])
    results: list[CheckResult] = []
    data_rpo: float | None = None
    try:
        with _connected(target, credentials) as connection:
            for query in sql.queries:
                results.append(_run_query(connection, query.name, query.sql, query.min_value, credentials))
            if sql.freshness is not None:
                fresh, data_rpo = _run_freshness(connection, targeted_time, sql.freshness, credentials)
                results.append(fresh)
    except Exception as exc:  # a connection failure fails every SQL check, with the reason
        detail = scrub(f"cannot connect to {target.host}:{target.port}/{target.database}: {exc}", credentials.password)
        done = {r.name for r in results}
        results.extend(
            CheckResult(name=name, kind="sql", status="error", detail=detail) for name in names if name not in done
        )
    return results, data_rpo


@contextlib.contextmanager
def _connected(target: ConnectionTarget, credentials: Credentials) -> Iterator[SqlConnection]:
    with connect(target, credentials) as connection:
        yield connection


def _sql_error(name: str, exc: Exception, credentials: Credentials) -> CheckResult:
    return CheckResult(name=name, kind="sql", status="error", detail=scrub(str(exc), credentials.password))


def _run_query(
    connection: SqlConnection, name: str, sql: str, minimum: float | None, credentials: Credentials
) -> CheckResult:
    try:
        value, duration_ms = timed(lambda: scalar(connection, sql))
    except Exception as exc:
        _rollback(connection)
        return _sql_error(name, exc, credentials)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return CheckResult(name=name, kind="sql", status="failed", detail=f"returned {value!r}, not a number")
    ok = minimum is None or number >= minimum
    detail = f"{number:g}" + ("" if minimum is None else f" (minimum {minimum:g})")
    return CheckResult(
        name=name,
        kind="sql",
        status="passed" if ok else "failed",
        value=number,
        detail=detail,
        duration_ms=duration_ms,
    )


def _run_freshness(
    connection: SqlConnection, targeted_time: datetime, freshness: FreshnessCheck, credentials: Credentials
) -> tuple[CheckResult, float | None]:
    name = freshness.name
    try:
        value, duration_ms = timed(lambda: scalar(connection, freshness.sql))
    except Exception as exc:
        _rollback(connection)
        return _sql_error(name, exc, credentials), None
    newest = parse_time(value)
    if newest is None:
        return CheckResult(name=name, kind="sql", status="failed", detail=f"returned {value!r}, not a time"), None
    age = round((targeted_time - newest).total_seconds(), 3)
    ok = freshness.max_age_seconds is None or age <= freshness.max_age_seconds
    limit = "" if freshness.max_age_seconds is None else f" (maximum {freshness.max_age_seconds}s)"
    return CheckResult(
        name=name,
        kind="sql",
        status="passed" if ok else "failed",
        value=iso(newest),
        detail=f"newest data {iso(newest)}, {age:.0f}s before the targeted time{limit}",
        duration_ms=duration_ms,
    ), age


def _rollback(connection: SqlConnection) -> None:
    with contextlib.suppress(Exception):  # the failed query is what gets reported
        connection.rollback()


# ---------------------------------------------------------------- cleanup


def cleanup(state: DrillState, gateway: DrillEngine, stack_name: str, now: datetime) -> DrillState:
    """Delete the temporary resource (ownership proven, bound to this execution); nothing if it was never created."""
    plan = state.plan
    outcome = gateway.delete_target(plan, stack_name)
    done = CleanupState(target=plan.target.identifier, result=outcome, remaining=[])
    return state.model_copy(update={"cleanup": done, "timeline": state.with_timeline(cleaned_up_at=iso(now))})


# ---------------------------------------------------------------- record


def report_key(plan: DrillPlan) -> str:
    started = plan.started.strftime("%Y-%m-%dT%H-%M-%SZ")
    return f"drills/{plan.source.identifier}/{started}-{plan.execution_name}"


def record(state: DrillState, records: DrillRecords, now: datetime) -> DrillState:
    """The verdict, the report (JSON + Markdown in S3) and the history item (DynamoDB)."""
    plan = state.plan
    verdict = judge(state)
    state = state.model_copy(update={"timeline": state.with_timeline(finished_at=iso(now))})
    document = report_document(state, verdict)
    locations = records.put_report(report_key(plan), document, render_markdown(document))
    records.put_history(history_item(state, verdict, locations).to_json())
    source = plan.source.identifier
    mode = plan.mode.value
    targets = plan.targets
    summary_lines = [
        f"Restore drill of {source} ({mode}) {verdict.outcome.upper()}.",
        f"Execution: {plan.execution_id}",
        f"RTO: {_seconds(verdict.rto_seconds)} (target {targets.rto_seconds}s)",
        f"RPO: {_seconds(verdict.rpo_seconds)}" + (f" (target {targets.rpo_seconds}s)" if targets.rpo_seconds else ""),
        *[f"- {reason}" for reason in verdict.reasons],
        f"Report: {locations.get('markdown', '')}",
    ]
    recorded = RecordState(
        outcome=verdict.outcome,
        reasons=list(verdict.reasons),
        rto_seconds=verdict.rto_seconds,
        rpo_seconds=verdict.rpo_seconds,
        report=dict(locations),
        subject=f"Restorable drill {verdict.outcome}: {source} ({mode})"[:100],
        summary="\n".join(summary_lines),
    )
    return state.model_copy(update={"record": recorded})


def _seconds(value: float | None) -> str:
    return "not measured" if value is None else f"{value:.0f}s"


def history_item(state: DrillState, verdict: Verdict, locations: Mapping[str, str]) -> HistoryItem:
    plan = state.plan
    return HistoryItem(
        source_arn=plan.source.arn,
        started_at=plan.started_at,
        finished_at=state.timeline.finished_at,
        execution_id=plan.execution_id,
        source_identifier=plan.source.identifier,
        mode=plan.mode.value,
        region=plan.region,
        recovery_point=plan.recovery_point.arn or plan.restore_time or "latest",
        recovery_point_time=plan.recovery_point_time,
        outcome=verdict.outcome,
        reasons=list(verdict.reasons),
        rto_target_seconds=plan.targets.rto_seconds,
        report_uri=locations.get("json", ""),
        rpo_target_seconds=plan.targets.rpo_seconds,
        rto_seconds=verdict.rto_seconds,
        rpo_seconds=verdict.rpo_seconds,
        data_rpo_seconds=verdict.data_rpo_seconds,
    )
