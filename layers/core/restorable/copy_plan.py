"""Plan cross-Region copies: which managed snapshots still lack a copy in the DR Region.

Pure. Takes both Regions' manual snapshots and returns one decision per managed source
snapshot. Honors the concurrent-copy quotas per destination Region (every copy in flight
into the DR Region counts, ours or not): at most the free slots are started, oldest
first; the rest wait for a later pass.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from . import tags as tag_keys
from .models import RDS_TYPES, DatabaseType, RecoveryPoint
from .policy import PolicyDocument

# Concurrent cross-Region copies into one destination Region per account (RDS quotas).
CONCURRENT_COPY_QUOTA: Mapping[DatabaseType, int] = {DatabaseType.INSTANCE: 20, DatabaseType.CLUSTER: 5}
DEFAULT_MAX_ATTEMPTS = 3
# A copy in one of these states will not become available: it is reported, never counted in flight.
FAILED_STATES = frozenset({"failed", "error", "incompatible-restore", "incompatible-parameters"})
_END_OF_TIME = datetime.max.replace(tzinfo=UTC)


class CopyAction(enum.Enum):
    START = "start"
    COPIED = "copied"
    IN_FLIGHT = "in_flight"
    WAITING = "waiting"
    SOURCE_NOT_READY = "source_not_ready"
    NOT_WANTED = "not_wanted"
    GAVE_UP = "gave_up"
    FINDING = "finding"


@dataclass(frozen=True)
class CopyDecision:
    point: RecoveryPoint
    action: CopyAction
    reason: str = ""
    attempts: int = 0
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CopyPlan:
    decisions: list[CopyDecision]
    in_flight: Mapping[DatabaseType, int]
    free_slots: Mapping[DatabaseType, int]
    dr_lag_seconds: float

    def with_action(self, action: CopyAction) -> list[CopyDecision]:
        return [d for d in self.decisions if d.action is action]


def copy_attempts(point: RecoveryPoint) -> int:
    """Attempts spent so far on ``point`` (the ``restorable:copy-attempts`` tag; garbage reads as 0).

    The copy job spends one for every copy RDS accepted (a copy RDS later reports as failed was
    one of those) and for every refusal that waiting cannot fix (KMS key unusable, access
    denied, invalid parameter). Transient refusals (throttling, a busy source snapshot, the
    concurrent-copy quota, service errors) spend none: the copy converges once they clear.
    """
    text = point.tags.get(tag_keys.COPY_ATTEMPTS, "").strip()
    return int(text) if text.isdigit() else 0


def is_in_flight_copy(point: RecoveryPoint, stack_name: str) -> bool:
    """A DR-side snapshot that takes a concurrent-copy slot: a copy (ours, or one RDS marks as a
    copy) that is neither available nor failed."""
    is_copy = point.managed_by == stack_name or bool(point.source_snapshot_arn)
    return (
        is_copy
        and not point.is_automated
        and not point.is_available
        and point.status not in FAILED_STATES
        and point.status != "deleting"
    )


def _key(point: RecoveryPoint) -> tuple[DatabaseType, str]:
    return (point.type, point.identifier.lower())


def _age_key(point: RecoveryPoint) -> tuple[datetime, str]:
    return (point.created_at or _END_OF_TIME, point.identifier)


def plan_copies(
    source_points: Iterable[RecoveryPoint],
    dr_points: Iterable[RecoveryPoint],
    *,
    policies: PolicyDocument,
    stack_name: str,
    now: datetime,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    quotas: Mapping[DatabaseType, int] = CONCURRENT_COPY_QUOTA,
) -> CopyPlan:
    """Decide, for every managed manual snapshot of the source Region, what the copy pass does."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    dr_list = list(dr_points)
    dr_by_key = {_key(p): p for p in dr_list}
    in_flight = {kind: 0 for kind in DatabaseType}
    for point in dr_list:
        if is_in_flight_copy(point, stack_name):
            in_flight[point.type] += 1
    free = {kind: max(0, quotas.get(kind, 0) - in_flight[kind]) for kind in DatabaseType}

    decided: list[CopyDecision] = []
    eligible: list[RecoveryPoint] = []
    lagging: list[RecoveryPoint] = []
    for point in source_points:
        if point.managed_by != stack_name or point.is_automated or point.type not in RDS_TYPES:
            continue
        existing = dr_by_key.get(_key(point))
        decision = _decide(point, existing, policies, now, max_attempts)
        if decision is None:
            eligible.append(point)
        else:
            decided.append(decision)
        has_copy = _is_our_copy(existing, point, available=True)
        if point.is_available and not has_copy and _wanted(point, policies, now) is None:
            lagging.append(point)

    slots = dict(free)
    for point in sorted(eligible, key=_age_key):
        attempts = copy_attempts(point)
        if slots[point.type] > 0:
            slots[point.type] -= 1
            decided.append(
                CopyDecision(
                    point,
                    CopyAction.START,
                    f"start copy (attempt {attempts + 1} of {max_attempts})",
                    attempts,
                    tag_keys.copyable_tags(point.tags),
                )
            )
        else:
            decided.append(
                CopyDecision(
                    point,
                    CopyAction.WAITING,
                    f"all {quotas.get(point.type, 0)} concurrent {point.type.value} snapshot copy slots "
                    "into the DR Region are taken; a later pass starts it",
                    attempts,
                )
            )

    oldest = min((p.created_at for p in lagging if p.created_at is not None), default=None)
    lag = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
    return CopyPlan(decided, in_flight, free, lag)


def _decide(
    point: RecoveryPoint,
    existing: RecoveryPoint | None,
    policies: PolicyDocument,
    now: datetime,
    max_attempts: int,
) -> CopyDecision | None:
    """The decision for ``point``, or None when it is eligible for a copy slot."""
    attempts = copy_attempts(point)
    wanted = _wanted(point, policies, now)
    if wanted is not None:
        return CopyDecision(point, wanted[0], wanted[1], attempts)
    if existing is not None:
        if not _is_our_copy(existing, point, available=False):
            owner = existing.managed_by or "nobody"
            return CopyDecision(
                point,
                CopyAction.FINDING,
                f"identifier {existing.identifier} is taken in the DR Region by a snapshot managed by {owner} "
                f"(source {existing.source_arn or 'unknown'}); nothing copied",
                attempts,
            )
        if existing.is_available:
            return CopyDecision(point, CopyAction.COPIED, "copy available in the DR Region", attempts)
        if existing.status in FAILED_STATES:
            return CopyDecision(
                point,
                CopyAction.FINDING,
                f"the DR copy is '{existing.status}'; delete it in the DR Region so a later pass copies again",
                attempts,
            )
        return CopyDecision(point, CopyAction.IN_FLIGHT, f"copy in flight ({existing.status})", attempts)
    if not point.is_available:
        return CopyDecision(
            point, CopyAction.SOURCE_NOT_READY, f"snapshot is '{point.status}'; copied once available", attempts
        )
    if attempts >= max_attempts:
        return CopyDecision(
            point,
            CopyAction.GAVE_UP,
            f"{attempts} copies were started and none is in the DR Region; not retried. Check the DR KMS key and "
            f"the copy function's logs, then remove the tag {tag_keys.COPY_ATTEMPTS} to retry",
            attempts,
        )
    return None


def _wanted(point: RecoveryPoint, policies: PolicyDocument, now: datetime) -> tuple[CopyAction, str] | None:
    """Why ``point`` gets no copy at all, or None when its policy wants one."""
    if not point.kind or not point.source_arn:
        return (CopyAction.FINDING, f"no {tag_keys.KIND} or {tag_keys.SOURCE} tag; nothing copied on a guess")
    policy_name = point.tags.get(tag_keys.POLICY, "").strip()
    if not policy_name:
        return (CopyAction.FINDING, f"no {tag_keys.POLICY} tag: cannot tell whether a DR copy is wanted")
    policy = policies.get(policy_name)
    if policy is None:
        return (CopyAction.FINDING, f"{tag_keys.POLICY}={policy_name!r} names no policy; nothing copied")
    rule = policy.rule_for(point.kind)
    if rule is None or not rule.dr_copy:
        return (CopyAction.NOT_WANTED, f"policy {policy_name!r} wants no DR copy of {point.kind} snapshots")
    expires_at = point.expires_at
    if expires_at is not None and expires_at <= now:
        return (CopyAction.NOT_WANTED, "already expired; not copied")
    return None


def _is_our_copy(existing: RecoveryPoint | None, point: RecoveryPoint, *, available: bool) -> bool:
    """``existing`` is the DR copy of ``point`` (same owner and source; available, if asked)."""
    return (
        existing is not None
        and existing.managed_by == point.managed_by
        and existing.source_arn == point.source_arn
        and (existing.is_available or not available)
    )
