"""The pre-deploy job: start recovery points for a job, then check on them until they are usable.

The job iterates one ``PredeployGateway`` per engine (RDS, DynamoDB, ElastiCache): each target is
looked up, planned and created through the gateway of its engine, and a continued call asks each
gateway about its own slots of the token.

Idempotency lives in AWS, not in memory: every snapshot carries the job id in
``restorable:job-id``, and the first call looks for this job's snapshots of each target
before creating one. A retried invocation of the same job therefore finds and reuses
what an earlier attempt started, whatever time it is now. A DynamoDB backup can carry no tag and
its name no job id, so nothing proves a table's backup is this job's: a retried first call takes
another backup of the table (a spare that expires with its policy), never reuses another job's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Protocol

from .engines import profile
from .errors import (
    AlreadyExistsError,
    AwsError,
    ConfigurationError,
    PermissionDeniedError,
    QuotaExceededError,
    ResourceBusyError,
    ThrottledError,
)
from .models import Database, Engine, RecoveryPoint
from .predeploy_plan import (
    MAX_TOKEN_LENGTH,
    FailureType,
    PointReference,
    PredeployError,
    PredeployParameters,
    PredeployStatus,
    Progress,
    Slot,
    SnapshotState,
    State,
    Target,
    belongs_to_job,
    evaluate,
    is_snapshottable,
    new_progress,
    plan_target,
    records_job,
    resolve_target_references,
    select_targets,
)
from .results import ItemResult, JobResult, Outcome
from .settings import CoreSettings


class PredeployGateway(Protocol):
    """One engine's resources and pre-deploy recovery points in the stack's Region."""

    engine: Engine
    region: str

    def find_database(self, identifier: str) -> Database | None: ...

    def list_databases(self) -> list[Database]: ...

    def list_snapshots_of(self, database: Database) -> list[RecoveryPoint]: ...

    def create_snapshot(self, database: Database, snapshot_id: str, tags: dict[str, str]) -> RecoveryPoint: ...

    def describe_points(self, references: Sequence[PointReference]) -> list[RecoveryPoint]:
        """The named points that exist (missing ones are simply absent)."""
        ...


def start_predeploy(
    parameters: PredeployParameters,
    job_id: str,
    settings: CoreSettings,
    gateways: Sequence[PredeployGateway],
    now: datetime,
    account: str | None = None,
) -> PredeployStatus:
    """First call of a job: resolve the targets, start (or find) this job's snapshots, report where they stand.

    ``account`` is the stack's account (from the CodePipeline job or the function's ARN): a target ARN of
    another account, Region or partition is rejected before anything is created.
    """
    try:
        return _start(parameters, job_id, settings, _by_engine(gateways), now.astimezone(UTC), account)
    except (PredeployError, ConfigurationError) as exc:
        return PredeployStatus.failed(job_id, exc)


def continue_predeploy(
    progress: Progress, settings: CoreSettings, gateways: Sequence[PredeployGateway], now: datetime
) -> PredeployStatus:
    """A continued call: one look at the token's points, through the gateway of each engine it names."""
    by_engine = _by_engine(gateways)
    found: list[RecoveryPoint] = []
    try:
        for engine in dict.fromkeys(r.slot.engine for r in progress.references()):
            gateway = by_engine.get(engine)
            if gateway is None:
                raise PredeployError(
                    FailureType.JOB_FAILED,
                    f"the token names {profile(engine).resource} points this function cannot check",
                )
            found.extend(gateway.describe_points(progress.of_engine(engine)))
    except PredeployError as exc:
        return PredeployStatus.failed(progress.job, exc)
    except ThrottledError as exc:
        if now < progress.deadline_at:
            return PredeployStatus(
                progress.job,
                State.IN_PROGRESS,
                f"could not check the snapshots ({exc}); checking again",
                progress=progress,
            )
        return PredeployStatus.failed(progress.job, _failure(exc, "checking the snapshots"))
    except AwsError as exc:
        return PredeployStatus.failed(progress.job, _failure(exc, "checking the snapshots"))
    return evaluate(progress.job, progress.snapshot_ids(), found, progress, settings.stack_name, now)


def _by_engine(gateways: Sequence[PredeployGateway]) -> dict[Engine, PredeployGateway]:
    return {gateway.engine: gateway for gateway in gateways}


def _region(gateways: Mapping[Engine, PredeployGateway]) -> str:
    return next(iter(gateways.values())).region


def _start(
    parameters: PredeployParameters,
    job_id: str,
    settings: CoreSettings,
    gateways: Mapping[Engine, PredeployGateway],
    now: datetime,
    account: str | None,
) -> PredeployStatus:
    region = _region(gateways)
    references = resolve_target_references(parameters.targets, region, account)
    unsupported = sorted({profile(r.engine).resource for r in references.values() if r.engine not in gateways})
    if unsupported:
        raise ConfigurationError(
            f"this function takes no pre-deploy recovery points of a {' or '.join(unsupported)}; nothing was created"
        )
    try:
        named = {
            label: gateways[target.engine].find_database(target.identifier) for label, target in references.items()
        }
        inventory = (
            [d for gateway in gateways.values() for d in gateway.list_databases()]
            if parameters.policy is not None
            else None
        )
    except AwsError as exc:
        raise _failure(exc, "looking up the targets") from exc
    databases = select_targets(parameters, named, inventory, settings.policies, region, resolved=references)

    reused: dict[str, RecoveryPoint] = {}
    for database in databases:
        if not records_job(database.type):
            continue  # nothing can prove an existing point is this job's: see the module's docstring
        try:
            mine = [
                p
                for p in gateways[database.type.engine].list_snapshots_of(database)
                if belongs_to_job(p, settings.stack_name, job_id)
            ]
        except AwsError as exc:
            raise _failure(exc, f"looking for this job's snapshots of {database.identifier}") from exc
        if mine:
            reused[database.arn] = min(mine, key=lambda p: (p.created_at or now, p.identifier))
    to_create = [
        plan_target(d, settings.policies, settings.stack_name, job_id, now) for d in databases if d.arn not in reused
    ]

    busy = [t.database for t in to_create if not is_snapshottable(t.database)]
    if busy:
        described = ", ".join(f"{d.type.value} '{d.identifier}' is '{d.status}'" for d in busy)
        wanted = ", ".join(
            f"{d.type.value} {' or '.join(sorted(profile(d.type.engine).snapshottable_states[d.type]))}"
            for d in {d.type: d for d in busy}.values()
        )
        raise PredeployError(
            FailureType.JOB_FAILED,
            f"{described}: a recovery point needs the database ready ({wanted}); no snapshot was started",
        )
    if parameters.wait:
        _check_token_fits(job_id, now, parameters, [*reused.values()], to_create)

    points = list(reused.values())
    created: set[str] = set()
    failures: list[PredeployError] = []
    for target in to_create:
        try:
            point = _create(target, job_id, settings, gateways[target.engine])
        except PredeployError as failure:
            failures.append(failure)
            continue
        points.append(point)
        created.add(point.identifier.lower())
    points.sort(key=lambda p: (p.source_identifier.lower(), p.identifier.lower()))
    if failures:
        states = [SnapshotState.of(p, created_now=p.identifier.lower() in created) for p in points]
        return _failed_creating(job_id, failures, states)
    if not parameters.wait:
        states = [SnapshotState.of(p, created_now=p.identifier.lower() in created) for p in points]
        started = ", ".join(f"{s.snapshot_id} ({s.status})" for s in states)
        return PredeployStatus(
            job_id,
            State.SUCCEEDED,
            f"started {len(states)} pre-deploy snapshot(s), not waiting: {started}",
            tuple(states),
        )
    progress = new_progress(job_id, now, parameters.time_limit_minutes, points)
    return evaluate(
        job_id, progress.snapshot_ids(), points, progress, settings.stack_name, now, created_now=frozenset(created)
    )


def _create(target: Target, job_id: str, settings: CoreSettings, gateway: PredeployGateway) -> RecoveryPoint:
    database = target.database
    try:
        return gateway.create_snapshot(database, target.snapshot_id, dict(target.tags))
    except AlreadyExistsError as exc:
        # Same database, same second: ours only if it carries this job's tags.
        try:
            same = [
                p for p in gateway.list_snapshots_of(database) if p.identifier.lower() == target.snapshot_id.lower()
            ]
        except AwsError as lookup_exc:
            raise _failure(lookup_exc, _named(database)) from lookup_exc
        if same and belongs_to_job(same[0], settings.stack_name, job_id):
            return same[0]
        raise PredeployError(
            FailureType.JOB_FAILED,
            f"{_named(database)}: snapshot identifier {target.snapshot_id} is taken by "
            "another snapshot; rerun the stage",
        ) from exc
    except AwsError as exc:
        raise _failure(exc, _named(database)) from exc


def _named(database: Database) -> str:
    """How a failure names a target: a database (RDS), a table or a cache."""
    engine = database.type.engine
    return f"{'database' if engine is Engine.RDS else profile(engine).resource} '{database.identifier}'"


def _failure(exc: AwsError, context: str) -> PredeployError:
    if isinstance(exc, QuotaExceededError):
        return PredeployError(
            FailureType.JOB_FAILED,
            f"{context}: snapshot quota reached ({exc}); delete unneeded manual snapshots or raise the quota",
        )
    if isinstance(exc, ResourceBusyError):
        return PredeployError(FailureType.JOB_FAILED, f"{context}: the database cannot be snapshotted now ({exc})")
    if isinstance(exc, PermissionDeniedError):
        return PredeployError(
            FailureType.PERMISSION_ERROR,
            f"{context}: permission denied ({exc}); the function may only snapshot databases tagged restorable:policy",
        )
    if isinstance(exc, ThrottledError):
        return PredeployError(FailureType.SYSTEM_UNAVAILABLE, f"{context}: AWS throttled the request ({exc})")
    return PredeployError(FailureType.JOB_FAILED, f"{context}: {exc}")


def _failed_creating(job_id: str, failures: list[PredeployError], states: list[SnapshotState]) -> PredeployStatus:
    types = {f.failure_type for f in failures}
    if FailureType.PERMISSION_ERROR in types:
        failure_type = FailureType.PERMISSION_ERROR
    elif types == {FailureType.SYSTEM_UNAVAILABLE}:
        failure_type = FailureType.SYSTEM_UNAVAILABLE
    else:
        failure_type = FailureType.JOB_FAILED
    message = "; ".join(str(f) for f in failures)
    if states:
        kept = ", ".join(s.snapshot_id for s in states)
        message += f". Snapshots already started are kept and expire with their policy: {kept}"
    return PredeployStatus(job_id, State.FAILED, message, tuple(states), failure_type=failure_type)


def _check_token_fits(
    job_id: str, now: datetime, parameters: PredeployParameters, reused: list[RecoveryPoint], to_create: list[Target]
) -> None:
    planned = [PointReference.of(p) for p in reused]
    planned.extend(_placeholder(t) for t in to_create)
    length = len(new_progress(job_id, now, parameters.time_limit_minutes, planned).encode())
    if length > MAX_TOKEN_LENGTH:
        raise ConfigurationError(
            f"{len(planned)} targets are too many for one pipeline action (the continuation token would be "
            f"{length} characters, CodePipeline allows {MAX_TOKEN_LENGTH}); split them over several actions; "
            "nothing was created"
        )


def _placeholder(target: Target) -> PointReference:
    """What the token will hold for ``target``; a table backup's ARN is the table's, then an id of AWS's
    fixed length (14 digits, 8 hex)."""
    slot = Slot.of(target.database.type)
    if slot is Slot.TABLE:
        return PointReference(slot, f"{target.database.arn}/backup/{'0' * 14}-{'0' * 8}")
    return PointReference(slot, target.snapshot_id)


def job_result(status: PredeployStatus, region: str) -> JobResult:
    """The foundation's result shape, for ``record_result``: created snapshots, and a failure if any."""
    result = JobResult(job="predeploy", region=region)
    for state in status.snapshots:
        if state.created_now:
            result.add(
                ItemResult(
                    resource=state.database,
                    kind="predeploy",
                    outcome=Outcome.CREATED,
                    reason="created",
                    recovery_point=state.snapshot_id,
                )
            )
    if status.state is State.FAILED:
        result.add(ItemResult(resource=status.job_id, kind="predeploy", outcome=Outcome.FAILED, reason=status.message))
    return result
