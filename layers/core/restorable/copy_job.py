"""The DR copy job: reconcile the DR Region's copies with what the policies want.

Triggered by the periodic reconcile schedule and by RDS "manual snapshot created" events
(RDS-EVENT-0042 / RDS-EVENT-0075). An event only narrows the reconcile to one snapshot;
the quota accounting always looks at every copy in flight into the DR Region. Any other
RDS event is ignored with a reason (``rds_events``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError

from . import tags as tag_keys
from .copy_plan import CopyAction, CopyDecision, CopyPlan, plan_copies
from .errors import AlreadyExistsError, AwsError, InvalidRequestError, QuotaExceededError, is_transient
from .models import DatabaseType, RecoveryPoint
from .rds_events import RDS_SOURCE, IgnoredEvent, is_eventbridge_event, text_field
from .request_fields import EventTime, StrictBool
from .results import ItemResult, JobResult, Outcome
from .settings import CoreSettings
from .validation import describe_problems

# detail-type -> (snapshot type, the EventID that means "manual snapshot created", ARN resource type)
SNAPSHOT_CREATED_EVENTS: Mapping[str, tuple[DatabaseType, str, str]] = {
    "RDS DB Snapshot Event": (DatabaseType.INSTANCE, "RDS-EVENT-0042", "snapshot"),
    "RDS DB Cluster Snapshot Event": (DatabaseType.CLUSTER, "RDS-EVENT-0075", "cluster-snapshot"),
}
_SNAPSHOT_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):rds:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"(?P<resource>snapshot|cluster-snapshot):(?P<name>.+)$"
)
_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,254}$")


class CopyGateway(Protocol):
    region: str

    def list_manual_snapshots(self) -> list[RecoveryPoint]: ...

    def copy_snapshot(self, source: RecoveryPoint, *, kms_key_id: str, tags: Mapping[str, str]) -> RecoveryPoint: ...

    def add_tags(self, point: RecoveryPoint, tags: Mapping[str, str]) -> None: ...


class CopyRequest(BaseModel):
    """The reconcile schedule's input: ``{"scheduled_time": "<aws.scheduler.scheduled-time>"}``."""

    model_config = ConfigDict(extra="forbid")

    scheduled_time: EventTime | None = None
    dry_run: StrictBool = False


@dataclass(frozen=True)
class CopyScope:
    """The one snapshot an RDS event asks about."""

    type: DatabaseType
    identifier: str
    arn: str | None
    event_id: str | None

    def matches(self, point: RecoveryPoint) -> bool:
        return point.type is self.type and point.identifier.lower() == self.identifier.lower()


def parse_copy_event(event: object, settings: CoreSettings) -> tuple[CopyRequest, CopyScope | None] | IgnoredEvent:
    """A schedule input (bad input is an ``InvalidRequestError``) or an RDS EventBridge event.

    An RDS event this function does not handle is returned as an ``IgnoredEvent`` with the
    reason, never raised (see ``rds_events``).
    """
    if is_eventbridge_event(event):
        assert isinstance(event, dict)
        scope = _parse_rds_event(event, settings.region)
        return scope if isinstance(scope, IgnoredEvent) else (CopyRequest(), scope)
    if not isinstance(event, dict):
        raise InvalidRequestError(f"copy event must be a JSON object, got {type(event).__name__}")
    try:
        return CopyRequest.model_validate(event), None
    except ValidationError as exc:
        problems = describe_problems(exc)
        raise InvalidRequestError(f"invalid copy request: {problems}") from exc


def _parse_rds_event(event: Mapping[str, Any], region: str) -> CopyScope | IgnoredEvent:
    detail_type = text_field(event.get("detail-type"))
    if event.get("source") != RDS_SOURCE:
        return IgnoredEvent(f"event source {event.get('source')!r} is not {RDS_SOURCE}", detail_type=detail_type)
    if detail_type is None or detail_type not in SNAPSHOT_CREATED_EVENTS:
        known = ", ".join(repr(k) for k in SNAPSHOT_CREATED_EVENTS)
        return IgnoredEvent(f"detail-type {event.get('detail-type')!r} is not one of {known}", detail_type=detail_type)
    snapshot_type, created_event_id, arn_resource = SNAPSHOT_CREATED_EVENTS[detail_type]
    detail = event.get("detail")
    if not isinstance(detail, dict):
        return IgnoredEvent("event detail is missing or not an object", detail_type=detail_type)
    # EventID is absent from some older events: match on it when present, never crash without it.
    event_id = detail.get("EventID")
    if event_id is not None and event_id != created_event_id:
        return IgnoredEvent(
            f"{detail_type} {event_id!r} is not {created_event_id} (manual snapshot created); nothing to copy",
            event_id=text_field(event_id),
            detail_type=detail_type,
        )

    def ignored(reason: str) -> IgnoredEvent:
        return IgnoredEvent(reason, event_id=text_field(event_id), detail_type=detail_type)

    source_arn = detail.get("SourceArn")
    if source_arn is not None:
        if not isinstance(source_arn, str) or not (match := _SNAPSHOT_ARN.match(source_arn)):
            return ignored(f"detail.SourceArn {source_arn!r} is not an RDS snapshot ARN")
        if match["resource"] != arn_resource:
            return ignored(f"detail.SourceArn {source_arn!r} is not a {arn_resource} ARN ({detail_type})")
        if match["region"] != region:
            return ignored(f"detail.SourceArn {source_arn!r} is in {match['region']}; this stack copies from {region}")
        identifier = match["name"]
    else:
        raw = detail.get("SourceIdentifier")
        if not isinstance(raw, str) or not raw.strip():
            return ignored("event detail has neither SourceArn nor SourceIdentifier")
        identifier = raw.strip()
    # "rds:" marks an automated snapshot; it is reported as not ours, not guessed at.
    bare = identifier.removeprefix("rds:")
    if not _IDENTIFIER.match(bare):
        return ignored(f"snapshot identifier {identifier!r} in the event is not a valid RDS identifier")
    return CopyScope(snapshot_type, identifier, source_arn, text_field(event_id))


def run_copy_job(
    request: CopyRequest,
    scope: CopyScope | None,
    settings: CoreSettings,
    source: CopyGateway,
    dr: CopyGateway,
    *,
    now: datetime,
    max_attempts: int,
) -> JobResult:
    """Start the copies the DR Region lacks, within the free quota slots; report the rest."""
    result = JobResult(job="copy", region=source.region, dry_run=request.dry_run)
    result.details.update({"dr_region": dr.region, "kms_key_id": settings.dr_kms_key_id})
    source_points = source.list_manual_snapshots()
    dr_points = dr.list_manual_snapshots()
    plan = plan_copies(
        source_points,
        dr_points,
        policies=settings.policies,
        stack_name=settings.stack_name,
        now=now,
        max_attempts=max_attempts,
    )
    decisions = plan.decisions
    if scope is not None:
        result.details["scope"] = {"type": scope.type.value, "identifier": scope.identifier, "event_id": scope.event_id}
        finding = _scope_finding(scope, source_points, settings.stack_name, source.region)
        if finding is not None:
            result.add(finding)
            _summarize(result, plan, started=0, quota_rejections=0)
            return result
        decisions = [d for d in decisions if scope.matches(d.point)]
    else:
        decisions = [d for d in decisions if d.action is not CopyAction.NOT_WANTED]

    quota_rejections = started = 0
    for decision in decisions:
        item, quota_rejected = _apply(decision, source, dr, settings, request.dry_run, max_attempts)
        started += item.outcome is Outcome.CREATED
        quota_rejections += quota_rejected
        result.add(item)
    _summarize(result, plan, started, quota_rejections)
    return result


def _scope_finding(
    scope: CopyScope, source_points: list[RecoveryPoint], stack_name: str, region: str
) -> ItemResult | None:
    found = next((p for p in source_points if scope.matches(p)), None)
    if found is None:
        return ItemResult(
            resource=scope.identifier,
            kind="*",
            outcome=Outcome.FINDING,
            reason=f"{scope.type.value} snapshot {scope.identifier} does not exist in {region} as a manual snapshot "
            "(deleted since, automated, or never created); nothing copied",
            recovery_point=scope.identifier,
        )
    if found.managed_by != stack_name:
        owner = found.managed_by or "nobody (no restorable:managed-by tag)"
        return ItemResult(
            resource=found.source_identifier,
            kind=found.kind or "*",
            outcome=Outcome.FINDING,
            reason=f"snapshot {found.identifier} is managed by {owner}, not this stack; nothing copied",
            recovery_point=found.identifier,
        )
    return None


def _apply(
    decision: CopyDecision,
    source: CopyGateway,
    dr: CopyGateway,
    settings: CoreSettings,
    dry_run: bool,
    max_attempts: int,
) -> tuple[ItemResult, bool]:
    """The item for ``decision`` and whether RDS turned the copy away for quota."""
    point = decision.point

    def item(outcome: Outcome, reason: str = "") -> ItemResult:
        return ItemResult(
            resource=point.source_identifier,
            kind=point.kind or "*",
            outcome=outcome,
            reason=reason or decision.reason,
            recovery_point=point.identifier,
            resource_arn=point.source_arn,
        )

    if decision.action in (CopyAction.COPIED, CopyAction.IN_FLIGHT):
        return item(Outcome.ALREADY_EXISTS), False
    if decision.action in (CopyAction.WAITING, CopyAction.SOURCE_NOT_READY, CopyAction.NOT_WANTED):
        return item(Outcome.SKIPPED), False
    if decision.action in (CopyAction.GAVE_UP, CopyAction.FINDING):
        return item(Outcome.FINDING), False
    if dry_run:
        return item(Outcome.PLANNED, f"would copy to {dr.region} with {settings.dr_kms_key_id}"), False
    try:
        dr.copy_snapshot(point, kms_key_id=settings.dr_kms_key_id, tags=decision.tags)
    except AlreadyExistsError:
        return item(Outcome.ALREADY_EXISTS, "copy already exists in the DR Region (started concurrently)"), False
    except QuotaExceededError as exc:
        # A normal "later": not an attempt, not a failure.
        return item(Outcome.SKIPPED, f"waiting: {exc}; a later pass starts the copy"), True
    except Exception as exc:  # one snapshot's failure never stops the others
        error = str(exc) if isinstance(exc, AwsError) else f"unexpected {type(exc).__name__}: {exc}"
        if is_transient(exc):
            # Throttling, a snapshot briefly busy, a service error: waiting fixes it, so no attempt is spent.
            return item(
                Outcome.FAILED,
                f"transient error, not counted as an attempt ({decision.attempts} of {max_attempts} used): "
                f"{error}; a later pass retries",
            ), False
        attempts, note = _count_attempt(point, decision.attempts, source)
        later = "a later pass retries" if attempts < max_attempts else "no more retries"
        return item(Outcome.FAILED, f"attempt {attempts} of {max_attempts} failed: {error}; {later}{note}"), False
    attempts, note = _count_attempt(point, decision.attempts, source)
    return item(Outcome.CREATED, f"copy to {dr.region} started (attempt {attempts} of {max_attempts}){note}"), False


def _count_attempt(point: RecoveryPoint, previous: int, source: CopyGateway) -> tuple[int, str]:
    """Record one more started copy on the source snapshot; failing to tag never fails the copy."""
    attempts = previous + 1
    try:
        source.add_tags(point, {tag_keys.COPY_ATTEMPTS: str(attempts)})
    except Exception as exc:
        return attempts, f"; the attempt could not be recorded on the source snapshot: {exc}"
    return attempts, ""


def _summarize(result: JobResult, plan: CopyPlan, started: int, quota_rejections: int) -> None:
    result.details["copies"] = {
        "started": started,
        "in_flight": sum(plan.in_flight.values()) + started,
        "waiting": len(plan.with_action(CopyAction.WAITING)) + quota_rejections,
        "free_slots_before": {kind.value: count for kind, count in plan.free_slots.items()},
        "dr_lag_seconds": round(plan.dr_lag_seconds),
    }
