"""The scheduled-snapshot job: read the inventory, plan, create what is missing, for every engine.

The job iterates one gateway per engine behind the same port; an engine whose inventory cannot be
read is reported and the others go on (creating is safe to retry: the next run reconciles).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .engines import ENGINES
from .errors import AlreadyExistsError, AwsError, InvalidRequestError, ResourceBusyError
from .models import Database, Engine, RecoveryPoint
from .request_fields import EventTime, StrictBool
from .results import ItemResult, JobResult, Outcome
from .settings import CoreSettings
from .snapshot_plan import Action, Period, SnapshotDecision, plan_scheduled_snapshots
from .validation import describe_problems


class SnapshotGateway(Protocol):
    """One engine's resources and recovery points in the source Region."""

    engine: Engine
    region: str

    def list_databases(self) -> list[Database]: ...

    def list_manual_snapshots(self) -> list[RecoveryPoint]: ...

    def create_snapshot(self, database: Database, snapshot_id: str, tags: dict[str, str]) -> RecoveryPoint: ...


class SnapshotRequest(BaseModel):
    """The schedule's input: ``{"kind": "weekly", "scheduled_time": "<aws.scheduler.scheduled-time>"}``.

    ``kinds`` (a list) instead of ``kind`` reconciles several kinds at once (the catch-up
    schedule). Without ``scheduled_time`` the current time is the reference.
    """

    model_config = ConfigDict(extra="forbid")

    kind: str | None = None
    kinds: list[str] | None = Field(default=None, min_length=1)
    scheduled_time: EventTime | None = None
    dry_run: StrictBool = False

    @model_validator(mode="after")
    def _one_kind_field(self) -> SnapshotRequest:
        if (self.kind is None) == (self.kinds is None):
            raise ValueError("give exactly one of 'kind' (a string) or 'kinds' (a list)")
        return self

    @property
    def requested_kinds(self) -> list[str]:
        return [self.kind] if self.kind is not None else list(self.kinds or [])


def parse_snapshot_request(event: object, settings: CoreSettings, now: datetime | None = None) -> SnapshotRequest:
    """Validate the event; unknown kinds are an ``InvalidRequestError`` naming the known ones.

    ``scheduled_time`` is judged against ``now`` (the injected clock; default: the current time).
    """
    if not isinstance(event, dict):
        raise InvalidRequestError(f"snapshot event must be a JSON object, got {type(event).__name__}")
    try:
        request = SnapshotRequest.model_validate(event, context={"now": now} if now else None)
    except ValidationError as exc:
        problems = describe_problems(exc)
        raise InvalidRequestError(f"invalid snapshot event: {problems}") from exc
    unknown = [k for k in request.requested_kinds if k not in settings.scheduled_kinds]
    if unknown:
        known = ", ".join(sorted(settings.scheduled_kinds))
        raise InvalidRequestError(f"unknown scheduled kind(s) {', '.join(map(repr, unknown))}; known: {known}")
    return request


def run_snapshot_job(
    request: SnapshotRequest, settings: CoreSettings, gateways: Sequence[SnapshotGateway], now: datetime
) -> JobResult:
    """Reconcile: make sure each protected database of every engine has the current period's snapshot."""
    reference = request.scheduled_time or now
    periods = [Period.current(kind, settings.schedules[kind], reference) for kind in request.requested_kinds]
    result = JobResult(job="snapshot", region=settings.region, dry_run=request.dry_run)
    result.details["periods"] = {
        p.kind: {"scheduled_at": p.scheduled_at.isoformat(), "date": p.local_date.isoformat()} for p in periods
    }
    protected = 0
    for gateway in gateways:
        if not any(ENGINES[gateway.engine].plans(period.kind) for period in periods):
            continue  # nothing to plan for it (a weekly run and caches): its inventory is not read
        try:
            databases = gateway.list_databases()
            existing = {point.identifier: point for point in gateway.list_manual_snapshots()}
        except Exception as exc:  # one engine's inventory never stops the others
            result.add(_unlisted(gateway, exc))
            continue
        protected += sum(1 for d in databases if d.policy_name is not None)
        decisions = plan_scheduled_snapshots(databases, existing, settings.policies, periods, settings.stack_name)
        for decision in decisions:
            result.add(_apply(decision, gateway, request.dry_run))
    result.details["protected_databases"] = protected
    return result


def _unlisted(gateway: SnapshotGateway, error: Exception) -> ItemResult:
    reason = str(error) if isinstance(error, AwsError) else f"unexpected {type(error).__name__}: {error}"
    return ItemResult(
        resource=gateway.engine.value,
        kind="*",
        outcome=Outcome.FAILED,
        reason=f"cannot read the {gateway.engine.value} inventory in {gateway.region}: {reason}; nothing created",
        region=gateway.region,
    )


def _apply(decision: SnapshotDecision, gateway: SnapshotGateway, dry_run: bool) -> ItemResult:
    database = decision.database

    def item(outcome: Outcome, reason: str = "") -> ItemResult:
        return ItemResult(
            resource=database.identifier,
            kind=decision.kind,
            outcome=outcome,
            reason=reason or decision.reason,
            recovery_point=decision.snapshot_id,
            resource_arn=database.arn,
        )

    if decision.action is Action.ALREADY_EXISTS:
        return item(Outcome.ALREADY_EXISTS)
    if decision.action is Action.SKIP:
        return item(Outcome.SKIPPED)
    if decision.action is Action.FINDING:
        return item(Outcome.FINDING)
    assert decision.snapshot_id is not None
    if dry_run:
        return item(Outcome.PLANNED, "would create")
    try:
        gateway.create_snapshot(database, decision.snapshot_id, dict(decision.tags))
    except AlreadyExistsError:
        return item(Outcome.ALREADY_EXISTS, "already exists (created concurrently)")
    except ResourceBusyError as exc:
        return item(Outcome.SKIPPED, f"busy: {exc}; a later run takes the snapshot")
    except AwsError as exc:
        return item(Outcome.FAILED, str(exc))
    except Exception as exc:  # one database's failure never stops the others
        return item(Outcome.FAILED, f"unexpected {type(exc).__name__}: {exc}")
    return item(Outcome.CREATED, "created")
