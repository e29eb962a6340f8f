"""The steps of a restore drill. Each takes the drill's state and returns it with its own part added;
the state machine passes the whole state from step to step (the handlers turn it into JSON and back).

validate -> restore -> (wait, poll)* -> check -> cleanup -> record. Every step after the restore
started leads to cleanup, failures included (the state machine's Catch).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Protocol

from .. import tags as tag_keys
from ..adapters.sql import ConnectionTarget, Credentials, connect, engine_family, scalar, scrub, timed
from ..arns import (
    RDS_CLUSTER,
    RDS_CLUSTER_SNAPSHOT,
    RDS_INSTANCE,
    RDS_SNAPSHOT,
    account_of,
    check_local,
    is_arn,
    parse_arn,
    parse_rds_arn,
)
from ..errors import (
    AwsError,
    InvalidRequestError,
    ResourceNotFoundError,
    RestoreFailedError,
    RestoreTimedOutError,
)
from ..models import DatabaseType
from ..policy import PolicyDocument
from .model import TERMINAL_FAILURE_STATES, Network, RestoredDatabase, SnapshotInfo, SourceDatabase
from .plan import (
    CLUSTER_INSTANCE_SUFFIX,
    FIRST_POLL_SECONDS,
    DrillMode,
    DrillRequest,
    FreshnessCheck,
    SnapshotSelector,
    SqlChecks,
    drill_identifier,
    drill_tags,
    iso,
    next_poll_wait,
    parse_time,
    resource_expiry,
    restore_deadline,
    rpo_target_seconds,
    rto_target_seconds,
)
from .ports import DrillRds, DrillRecords, SecretStore
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
    PlanTarget,
    PlanTargets,
    PollState,
    RecordState,
    RestoreNetwork,
    RestoreState,
    Timeline,
)
from .verdict import Verdict, judge

# ---------------------------------------------------------------- validate


def validate(
    start: DrillStart,
    *,
    stack_name: str,
    policies: PolicyDocument,
    source_rds: DrillRds,
    dr_rds: DrillRds,
    secrets: SecretStore,
    now: datetime,
    account: str | None = None,
) -> DrillState:
    """Check the input against what exists; the plan for the restore. Raises before anything is created.

    The source must be a protected database (its ``restorable:policy`` names a policy that exists); a
    snapshot or cross-Region drill restores only a snapshot this stack manages for that source. ARNs
    naming another partition, Region or account (``account``: the stack's, when known) are rejected.
    """
    request = start.request
    started_at = start.started_at or now
    source = _find_protected_source(source_rds, request.source, policies, account)
    mode = request.mode

    restore_time: datetime | None = None
    if mode is DrillMode.PITR:
        restore_time = _validate_restore_time(source, request, now)
        point = PlanRecoveryPoint(
            type="point-in-time",
            identifier=None,
            arn=None,
            region=source_rds.region,
            created_at=iso(restore_time) if restore_time else None,
            encrypted=source.encrypted,
            engine_version=source.engine_version,
            allocated_storage=source.allocated_storage,
        )
        latest = source.latest_restorable_time or now
        recovery_point_time = restore_time or latest
        targeted_time = restore_time or started_at
        region_gateway = source_rds
    else:
        region_gateway = dr_rds if mode is DrillMode.CROSS_REGION else source_rds
        snapshot = _select_snapshot(region_gateway, source, request.selector, stack_name, account)
        point = PlanRecoveryPoint(
            type="snapshot",
            identifier=snapshot.identifier,
            arn=snapshot.arn,
            region=snapshot.region,
            created_at=iso(snapshot.created_at) if snapshot.created_at else None,
            encrypted=snapshot.encrypted,
            engine_version=snapshot.engine_version or source.engine_version,
            allocated_storage=snapshot.allocated_storage,
            kind=snapshot.tags.get(tag_keys.KIND),
        )
        recovery_point_time = snapshot.created_at or started_at
        targeted_time = started_at

    _validate_checks(request, source, secrets, source_rds.region, region_gateway.region)

    rto = rto_target_seconds(mode, request.targets)
    deadline = restore_deadline(started_at, rto)
    expires_at = resource_expiry(deadline)
    identifier = drill_identifier(source.identifier, start.execution_id)
    instance_class = request.instance_class or source.instance_class
    if not instance_class:
        raise InvalidRequestError(f"no instance class known for {source.identifier}: give 'instance_class'")
    is_cluster = source.type is DatabaseType.CLUSTER
    plan = DrillPlan(
        execution_id=start.execution_id,
        execution_name=start.execution_name,
        started_at=iso(started_at),
        mode=mode,
        region=region_gateway.region,
        source=PlanSource(
            type="cluster" if is_cluster else "instance",
            identifier=source.identifier,
            arn=source.arn,
            engine=source.engine,
            engine_version=source.engine_version,
            encrypted=source.encrypted,
        ),
        recovery_point=point,
        restore_time=iso(restore_time) if restore_time else None,
        recovery_point_time=iso(recovery_point_time),
        targeted_time=iso(targeted_time),
        target=PlanTarget(
            type="cluster" if is_cluster else "instance",
            identifier=identifier,
            instance_identifier=identifier + CLUSTER_INSTANCE_SUFFIX if is_cluster else None,
            instance_class=instance_class,
            region=region_gateway.region,
        ),
        tags=drill_tags(stack_name, source.arn, start.execution_id, expires_at),
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


def _validate_restore_time(source: SourceDatabase, request: DrillRequest, now: datetime) -> datetime | None:
    if source.backup_retention_days <= 0:
        raise InvalidRequestError(f"{source.identifier} has automated backups disabled: no point-in-time restore")
    wanted = request.restore_to
    if wanted is None:
        return None
    earliest = source.earliest_restorable_time
    latest = source.latest_restorable_time or now
    if (earliest is not None and wanted < earliest) or wanted > latest:
        window = f"{iso(earliest) if earliest else 'unknown'} .. {iso(latest)}"
        raise InvalidRequestError(
            f"restore_time {iso(wanted)} is outside the restorable window of {source.identifier} ({window})"
        )
    return wanted.astimezone(UTC)


def _find_protected_source(
    gateway: DrillRds, reference: str, policies: PolicyDocument, account: str | None
) -> SourceDatabase:
    """The source the request names (identifier or a local ARN), if it is protected by an existing policy."""
    wanted_type: DatabaseType | None = None
    identifier = reference
    if is_arn(reference):
        arn = check_local(
            parse_rds_arn(reference, field="source", types={RDS_INSTANCE, RDS_CLUSTER}),
            field="source",
            region=gateway.region,
            account=account,
        )
        wanted_type = DatabaseType.CLUSTER if arn.resource_type == RDS_CLUSTER else DatabaseType.INSTANCE
        identifier = arn.resource_name
    source = gateway.find_source(identifier, wanted_type)
    if is_arn(reference) and source.arn != reference:
        raise InvalidRequestError(f"source: {reference} is not {source.arn}, the {source.type.value} of that name here")
    name = f"source: {source.type.value} {source.identifier}"
    if source.is_cluster_member:
        raise InvalidRequestError(
            f"{name} is a member of cluster {source.cluster_identifier}: drill the cluster instead"
        )
    policy_name = source.policy_name
    if policy_name is None:
        raise InvalidRequestError(
            f"{name} is not protected (no {tag_keys.POLICY} tag naming a policy): drills restore only protected "
            "databases"
        )
    if policies.get(policy_name) is None:
        known = ", ".join(sorted(policies.policies))
        raise InvalidRequestError(f"{name}: {tag_keys.POLICY}={policy_name!r} names no policy (known: {known})")
    return source


def _select_snapshot(
    gateway: DrillRds,
    source: SourceDatabase,
    selector: SnapshotSelector,
    stack_name: str,
    account: str | None,
) -> SnapshotInfo:
    where = f"in {gateway.region}"
    if selector.identifier is not None:
        identifier = selector.identifier
        if is_arn(identifier):
            wanted = RDS_CLUSTER_SNAPSHOT if source.type is DatabaseType.CLUSTER else RDS_SNAPSHOT
            arn = check_local(
                parse_rds_arn(identifier, field="snapshot.identifier", types={wanted}),
                field="snapshot.identifier",
                region=gateway.region,
                account=account,
            )
            identifier = arn.resource_name
        snapshot = gateway.get_snapshot(source.type, identifier)
        if is_arn(selector.identifier) and snapshot.arn != selector.identifier:
            raise InvalidRequestError(f"snapshot.identifier: {selector.identifier} is not {snapshot.arn}")
        owner = snapshot.tags.get(tag_keys.MANAGED_BY)
        if owner != stack_name:
            by = f"managed by {owner!r}" if owner else f"not managed by any stack (no {tag_keys.MANAGED_BY} tag)"
            raise InvalidRequestError(
                f"snapshot.identifier: snapshot {snapshot.identifier} is {by}; drills restore only recovery points "
                f"of stack {stack_name}"
            )
        if snapshot.source_arn != source.arn:
            raise InvalidRequestError(
                f"snapshot.identifier: snapshot {snapshot.identifier} is a recovery point of "
                f"{snapshot.source_arn or 'an unknown source'} ({tag_keys.SOURCE}), not of {source.arn}"
            )
        if snapshot.status != "available":
            raise InvalidRequestError(f"snapshot {snapshot.identifier} is '{snapshot.status}', not available")
        return snapshot
    candidates = [
        s
        for s in gateway.list_snapshots(source.type)
        if s.source_arn == source.arn
        and s.tags.get(tag_keys.MANAGED_BY) == stack_name
        and (selector.kind is None or s.tags.get(tag_keys.KIND) == selector.kind)
    ]
    available = [s for s in candidates if s.status == "available" and s.created_at is not None]
    what = f"{selector.kind} snapshot" if selector.kind else "managed snapshot"
    if not available:
        pending = f" ({len(candidates)} not available yet)" if candidates else ""
        raise InvalidRequestError(f"no available {what} of {source.identifier} {where}{pending}")
    return max(available, key=lambda s: (s.created_at or datetime.min.replace(tzinfo=UTC), s.identifier))


def _validate_checks(
    request: DrillRequest, source: SourceDatabase, secrets: SecretStore, source_region: str, restore_region: str
) -> None:
    sql = request.checks.sql
    if sql is None:
        return
    engine_family(source.engine)
    if sql.secret_arn is None:
        if source.type is DatabaseType.CLUSTER:
            raise InvalidRequestError(
                "checks.sql.secret_arn is required for a cluster (a restored cluster has no managed master user "
                "secret); give a secret holding the snapshot's master username and password"
            )
        return
    check_local(
        parse_arn(sql.secret_arn, field="checks.sql.secret_arn"),
        field="checks.sql.secret_arn",
        region={source_region, restore_region},
        account=account_of(source.arn),
    )
    try:
        secrets.describe(sql.secret_arn)
    except AwsError as exc:
        raise InvalidRequestError(f"checks.sql.secret_arn: secret {sql.secret_arn} cannot be read: {exc.code}") from exc


# ---------------------------------------------------------------- restore


def restore(state: DrillState, gateway: DrillRds, network: Network, now: datetime) -> DrillState:
    gateway.restore(state.plan, network)
    restore_state = RestoreState(
        network=RestoreNetwork(subnet_group=network.subnet_group, security_groups=list(network.security_group_ids))
    )
    return state.model_copy(
        update={"restore": restore_state, "timeline": state.with_timeline(restore_started_at=iso(now))}
    )


# ---------------------------------------------------------------- poll


def poll(state: DrillState, gateway: DrillRds, now: datetime) -> DrillState:
    """One look at the temporary database; the wait before the next look grows with the time elapsed."""
    plan = state.plan
    target = plan.target
    restored = _observe(gateway, target)
    previous = state.poll or PollState()
    attempt = previous.attempt + 1
    elapsed = (now - plan.started).total_seconds()
    if restored is None:
        raise RestoreFailedError(f"{target.identifier} does not exist: the restore did not start or was deleted")
    if restored.status in TERMINAL_FAILURE_STATES:
        raise RestoreFailedError(f"{target.identifier} is '{restored.status}': the restore failed")
    if restored.status == "available":
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


def _observe(gateway: DrillRds, target: PlanTarget) -> RestoredDatabase | None:
    if target.type != "cluster":
        return gateway.describe_instance(target.identifier)
    cluster = gateway.describe_cluster(target.identifier)
    if cluster is None or cluster.status != "available":
        return cluster
    instance = gateway.describe_instance(str(target.instance_identifier))
    if instance is None:
        return RestoredDatabase(identifier=target.identifier, status="creating-instance")
    if instance.status != "available":
        return RestoredDatabase(identifier=target.identifier, status=instance.status)
    return cluster


# ---------------------------------------------------------------- check


def check(state: DrillState, secrets: SecretStore, now_fn: Callable[[], datetime]) -> DrillState:
    """API checks on what RDS reports, then the configured SQL checks through the real driver."""
    plan = state.plan
    restored = state.restored or RestoredDatabase(identifier=plan.target.identifier, status="unknown")
    results = api_checks(plan, restored)
    data_rpo: float | None = None
    sql = state.drill_request().checks.sql
    if sql is not None:
        sql_results, data_rpo = sql_checks(plan.source.engine, plan.targeted, restored, sql, secrets)
        results.extend(sql_results)
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


def cleanup(state: DrillState, gateway: DrillRds, stack_name: str, now: datetime) -> DrillState:
    """Delete the temporary database (tag-checked, bound to this execution); nothing if it was never created."""
    plan = state.plan
    target = plan.target
    if plan.is_cluster:
        outcome = gateway.delete_cluster(target.identifier, stack_name, plan.execution_id)
    else:
        outcome = gateway.delete_instance(target.identifier, stack_name, plan.execution_id)
    done = CleanupState(target=target.identifier, result=outcome, remaining=[])
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
