"""The prune job: delete expired recovery points of every engine in the source and the DR Region, safely.

The job iterates engines (``EngineGateways``: one prune gateway per Region the engine keeps
recovery points in, and the inventory of its resources), behind the same ports. Every engine's
inventory of resources is read before anything is deleted: a prune that cannot see what exists
deletes nothing and fails. Each engine and Region is then planned on its own (``plan_prune``) with
its own circuit breaker; the existing sources always come from the source Region's inventory.
All of an engine's Regions are listed, even for a run limited to one Region: a legal hold on
either copy of a recovery point keeps both, so when one of them cannot be listed nothing of that
engine is deleted anywhere. One failed deletion (or one engine's failed listing) never stops the others.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from . import tags as tag_keys
from .errors import AwsError, InvalidRequestError, PermissionDeniedError, ResourceNotFoundError
from .models import Database, Engine, RecoveryPoint
from .notifications import MAX_SUBJECT_LENGTH
from .prune_plan import BreakerLimits, KeepRule, Kept, PrunePlan, held_links, plan_prune
from .request_fields import EventTime, StrictBool
from .results import ItemResult, JobResult, Outcome
from .settings import CoreSettings
from .validation import describe_problems

RegionRole = Literal["source", "dr"]
ALL_REGION_ROLES: tuple[RegionRole, ...] = ("source", "dr")


class PruneGateway(Protocol):
    region: str

    def list_manual_snapshots(self) -> list[RecoveryPoint]: ...

    def delete_snapshot(self, point: RecoveryPoint) -> None: ...


class InventoryGateway(Protocol):
    def list_databases(self) -> list[Database]: ...


@runtime_checkable
class ReportsHoldProblems(Protocol):
    """A prune gateway whose holds live outside its points' tags (a holds store) and says what it found wrong."""

    def hold_problems(self) -> list[str]: ...


@dataclass(frozen=True)
class EngineGateways:
    """One engine as the prune sees it: its recovery points per Region role, and its resources."""

    engine: Engine
    regions: Mapping[RegionRole, PruneGateway]
    inventory: InventoryGateway


class PruneRequest(BaseModel):
    """The daily schedule's input, or an operator's.

    ``dry_run`` returns the plan and deletes nothing; ``override_breaker`` lets a run that
    tripped the circuit breaker proceed and must name a reason; ``regions`` limits the run
    to ``source`` or ``dr``.
    """

    model_config = ConfigDict(extra="forbid")

    scheduled_time: EventTime | None = None
    dry_run: StrictBool = False
    override_breaker: StrictBool = False
    override_reason: str = Field(default="", max_length=500)
    regions: list[RegionRole] = Field(default_factory=lambda: list(ALL_REGION_ROLES), min_length=1)

    @model_validator(mode="after")
    def _override_needs_a_reason(self) -> PruneRequest:
        if self.override_breaker and not self.override_reason.strip():
            raise ValueError("override_breaker needs an override_reason saying who checked the plan and why")
        if len(set(self.regions)) != len(self.regions):
            raise ValueError("regions lists a Region twice")
        return self


def parse_prune_request(event: object, now: datetime | None = None) -> PruneRequest:
    """Validate the event; times are judged against ``now`` (the injected clock; default: the current time)."""
    if not isinstance(event, dict):
        raise InvalidRequestError(f"prune event must be a JSON object, got {type(event).__name__}")
    try:
        return PruneRequest.model_validate(event, context={"now": now} if now else None)
    except ValidationError as exc:
        problems = describe_problems(exc)
        raise InvalidRequestError(f"invalid prune request: {problems}") from exc


@dataclass(frozen=True)
class BreakerTrip:
    region: str
    reason: str
    engine: str

    def alert(self, stack_name: str) -> tuple[str, str]:
        """The subject and message of the alert a real run's trip sends, saying what to do."""
        message = {
            "alert": "restorable-prune-circuit-breaker",
            "stack": stack_name,
            "engine": self.engine,
            "region": self.region,
            "reason": self.reason,
            "what_to_do": 'Check the expiry tags (run the prune function with {"dry_run": true}); if the plan is '
            'right, invoke it with {"override_breaker": true, "override_reason": "..."}.',
        }
        subject = f"Restorable {stack_name}: pruning stopped by the circuit breaker in {self.region}"
        return subject[:MAX_SUBJECT_LENGTH], json.dumps(message, indent=2)


# Kept points listed one by one in a real run's result (a dry run lists every kept point):
# the ones a person may need to look at. The rest are counted per rule.
NOTEWORTHY_KEEP_RULES = frozenset(
    {
        KeepRule.LEGAL_HOLD,
        KeepRule.LEGAL_HOLD_ON_COPY,
        KeepRule.INCOMPLETE_TAGS,
        KeepRule.NO_VALID_EXPIRY,
        KeepRule.CIRCUIT_BREAKER,
    }
)


def run_prune_job(
    request: PruneRequest,
    settings: CoreSettings,
    engines: Sequence[EngineGateways],
    *,
    now: datetime,
    limits: BreakerLimits,
) -> tuple[JobResult, list[BreakerTrip]]:
    """Prune each engine in each requested Region; return the result and the circuit-breaker trips to alert on.

    ``now`` is the clock, never the request's ``scheduled_time``: expiry is judged by the
    real time, so a bogus or replayed input cannot make anything expire early.
    ``details["regions"][region]`` sums the engines' summaries (``engines`` breaks them down).
    """
    # Fail closed: without every engine's source inventory nothing is deleted anywhere.
    existing_sources = {item.engine: [database.arn for database in item.inventory.list_databases()] for item in engines}
    result = JobResult(job="prune", region=settings.region, dry_run=request.dry_run, extra_outcomes=(Outcome.DELETED,))
    result.details["override_breaker"] = request.override_breaker
    if request.override_breaker:
        result.details["override_reason"] = request.override_reason
    result.details["breaker_limits"] = {"max_share": limits.max_share, "max_count": limits.max_count}
    result.details["regions"] = {}
    trips: list[BreakerTrip] = []
    for item in engines:
        for region, role, summary in _prune_engine(
            request, settings, item, existing_sources[item.engine], now, limits, result
        ):
            entry = result.details["regions"].setdefault(region, {"role": role, "engines": {}})
            entry["engines"][item.engine.value] = summary
            if summary.get("breaker_tripped"):
                trips.append(BreakerTrip(region, str(summary["breaker_reason"]), item.engine.value))
    for entry in result.details["regions"].values():
        entry.update(_total(list(entry["engines"].values())))
    return result, trips


def _prune_engine(
    request: PruneRequest,
    settings: CoreSettings,
    item: EngineGateways,
    existing_sources: list[str],
    now: datetime,
    limits: BreakerLimits,
    result: JobResult,
) -> list[tuple[str, RegionRole, dict[str, object]]]:
    gateways = item.regions
    inventories: dict[RegionRole, list[RecoveryPoint] | Exception] = {}
    for role, gateway in gateways.items():
        try:
            inventories[role] = gateway.list_manual_snapshots()
        except Exception as exc:
            inventories[role] = exc
        if isinstance(gateway, ReportsHoldProblems):
            for problem in gateway.hold_problems():
                result.add(
                    ItemResult(
                        resource=item.engine.value,
                        kind="*",
                        outcome=Outcome.FINDING,
                        reason=f"legal holds: {problem}",
                        region=gateway.region,
                    )
                )
    unreadable = [(role, exc) for role, exc in inventories.items() if isinstance(exc, Exception)]
    summaries: list[tuple[str, RegionRole, dict[str, object]]] = []
    for role in request.regions:
        if role not in gateways:  # the engine keeps no recovery points in that Region
            continue
        gateway = gateways[role]
        points = inventories[role]
        if isinstance(points, Exception) or unreadable:
            result.add(_unlisted(gateway.region, points, [gateways[r].region for r, _ in unreadable]))
            summaries.append((gateway.region, role, {"listed": not isinstance(points, Exception)}))
            continue
        elsewhere = frozenset(
            link
            for other, listed in inventories.items()
            if other != role
            for link in held_links(listed)  # type: ignore[arg-type]
        )
        summary = _prune_region(request, settings, gateway, points, elsewhere, existing_sources, now, limits, result)
        summaries.append((gateway.region, role, summary))
    return summaries


_SUMMED = ("managed_total", "planned_deletions", "deleted")


def _total(summaries: list[dict[str, object]]) -> dict[str, object]:
    """One Region's summary over its engines: counts summed, the breaker tripped when any engine's did."""
    total: dict[str, object] = {"listed": all(s.get("listed") for s in summaries)}
    listed = [s for s in summaries if "managed_total" in s]
    if not listed:
        return total
    for key in _SUMMED:
        total[key] = sum(int(s[key]) for s in listed)  # type: ignore[call-overload]
    kept: dict[str, int] = {}
    for s in listed:
        for rule, count in s["kept_by_rule"].items():  # type: ignore[attr-defined]
            kept[rule] = kept.get(rule, 0) + count
    total["kept_by_rule"] = kept
    total["breaker_tripped"] = any(s["breaker_tripped"] for s in listed)
    total["orphaned_sources"] = [arn for s in listed for arn in s["orphaned_sources"]]  # type: ignore[attr-defined]
    reasons = [str(s["breaker_reason"]) for s in listed if s.get("breaker_reason")]
    if reasons:
        total["breaker_reason"] = " ".join(reasons)
    return total


def _unlisted(region: str, points: list[RecoveryPoint] | Exception, unreadable: list[str]) -> ItemResult:
    if isinstance(points, Exception):
        reason = f"cannot list recovery points: {points}; nothing deleted in {region}"
    else:
        reason = (
            f"cannot read the recovery points of {', '.join(unreadable)}, so legal holds on the copies there are "
            f"unknown; nothing deleted in {region}"
        )
    return ItemResult(resource=region, kind="*", outcome=Outcome.FAILED, reason=reason, region=region)


def _prune_region(
    request: PruneRequest,
    settings: CoreSettings,
    gateway: PruneGateway,
    points: list[RecoveryPoint],
    held_elsewhere: frozenset[tuple[str, ...]],
    existing_sources: list[str],
    now: datetime,
    limits: BreakerLimits,
    result: JobResult,
) -> dict[str, object]:
    region = gateway.region
    plan = plan_prune(
        points,
        stack_name=settings.stack_name,
        now=now,
        existing_sources=existing_sources,
        region=region,
        limits=limits,
        override_breaker=request.override_breaker,
        held_elsewhere=held_elsewhere,
    )
    for point, holds in plan.unrecognised_holds:
        shown = ", ".join(f"{k!r}={v!r}" for k, v in sorted(holds.items()))
        result.add(
            ItemResult(
                resource=point.source_identifier,
                kind=point.kind or "*",
                outcome=Outcome.FINDING,
                reason=f"unrecognised legal-hold tag {shown}: read as held; "
                f"set {tag_keys.LEGAL_HOLD}=true to hold or remove the tag to release",
                recovery_point=point.identifier,
                resource_arn=point.source_arn,
                region=region,
            )
        )
    if plan.breaker_tripped:
        result.add(
            ItemResult(resource=region, kind="*", outcome=Outcome.FINDING, reason=plan.breaker_reason, region=region)
        )
    for source_arn in plan.orphaned_sources:
        kept = sum(1 for k in plan.kept if k.point.source_arn == source_arn and k.rule is KeepRule.NEWEST_OF_KIND)
        result.add(
            ItemResult(
                resource=source_arn.rsplit(":", 1)[-1],
                kind="*",
                outcome=Outcome.FINDING,
                reason=f"source {source_arn} no longer exists; its newest recovery point of each kind "
                f"({kept} in {region}) is kept until a person deletes it",
                resource_arn=source_arn,
                region=region,
            )
        )
    for kept_point in plan.kept:
        if request.dry_run or kept_point.rule in NOTEWORTHY_KEEP_RULES:
            result.add(_kept_item(kept_point, region))
    deleted = 0
    for point in plan.deletions:
        item = _delete(point, gateway, settings.stack_name, request.dry_run, region)
        deleted += item.outcome is Outcome.DELETED
        result.add(item)
    return _summary(plan, deleted)


def _kept_item(kept: Kept, region: str) -> ItemResult:
    point = kept.point
    return ItemResult(
        resource=point.source_identifier,
        kind=point.kind or "*",
        outcome=Outcome.SKIPPED,
        reason=f"kept: {kept.rule.value}",
        recovery_point=point.identifier,
        resource_arn=point.source_arn,
        region=region,
    )


def _delete(point: RecoveryPoint, gateway: PruneGateway, stack_name: str, dry_run: bool, region: str) -> ItemResult:
    def item(outcome: Outcome, reason: str) -> ItemResult:
        return ItemResult(
            resource=point.source_identifier,
            kind=point.kind or "*",
            outcome=outcome,
            reason=reason,
            recovery_point=point.identifier,
            resource_arn=point.source_arn,
            region=region,
        )

    expired = f"expired at {point.tags.get('restorable:expires-at', '?')}"
    # Defence in depth at the edge: the planner proved these; re-check ownership and hold before deleting.
    if point.managed_by != stack_name or point.legal_hold or point.is_automated:
        return item(Outcome.FINDING, "planner chose a point that is not ours, held or automated; not deleted")
    if dry_run:
        return item(Outcome.PLANNED, f"would delete: {expired}")
    try:
        gateway.delete_snapshot(point)
    except ResourceNotFoundError:
        return item(Outcome.SKIPPED, "already deleted")
    except PermissionDeniedError as exc:
        if tag_keys.legal_hold_values(point.tags):
            # The code reads this hold as released (e.g. " false "), the IAM deny does not: IAM wins, and that is
            # the safe side. The point stays; the tag needs fixing by a person.
            return item(
                Outcome.SKIPPED,
                f"kept: {KeepRule.LEGAL_HOLD.value} (IAM denied the delete: only a legal-hold value of exactly "
                f"'false' or no tag releases it; {exc})",
            )
        return item(Outcome.FAILED, f"not deleted: {exc}")
    except AwsError as exc:
        return item(Outcome.FAILED, f"not deleted: {exc}")
    except Exception as exc:  # one deletion's failure never stops the others
        return item(Outcome.FAILED, f"not deleted: unexpected {type(exc).__name__}: {exc}")
    return item(Outcome.DELETED, f"deleted: {expired}")


def _summary(plan: PrunePlan, deleted: int) -> dict[str, object]:
    summary: dict[str, object] = {
        "listed": True,
        "managed_total": plan.managed_total,
        "planned_deletions": len(plan.deletions),
        "deleted": deleted,
        "kept_by_rule": plan.kept_by_rule(),
        "breaker_tripped": plan.breaker_tripped,
        "orphaned_sources": plan.orphaned_sources,
    }
    if plan.breaker_tripped:
        summary["breaker_reason"] = plan.breaker_reason
    return summary
