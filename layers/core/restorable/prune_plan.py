"""Plan lifecycle pruning in one Region: what may be deleted, and why everything else stays.

Pure and conservative by construction: a recovery point is deleted only with positive proof
that every rule allows it, and a run that would delete an abnormal share of the Region's
managed recovery points deletes nothing (circuit breaker).

A legal hold fails safe (any ``restorable:legal-hold`` key up to case, any value but a clear
``false``) and covers every copy of a recovery point: a source snapshot and its DR copy are
linked by identifier (copies keep it) and by the copy's source snapshot ARN, whatever their
tags say, so a hold on either keeps both. Linking more than needed only keeps more.
"""

from __future__ import annotations

import enum
import math
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .models import RecoveryPoint

# One way a recovery point is known across Regions: ("id", type, identifier) or ("arn", ARN), lower case.
CopyLink = tuple[str, ...]

_END_OF_TIME = datetime.max.replace(tzinfo=UTC)


class KeepRule(enum.Enum):
    """Why a recovery point is kept. The first rule that applies is reported."""

    NOT_MANAGED = "not-managed-by-this-stack"
    AUTOMATED = "automated-backup"
    LEGAL_HOLD = "legal-hold"
    LEGAL_HOLD_ON_COPY = "legal-hold-on-another-copy"
    INCOMPLETE_TAGS = "missing-kind-or-source-tag"
    NO_VALID_EXPIRY = "missing-or-invalid-expiry"
    NOT_EXPIRED = "not-expired"
    NOT_AVAILABLE = "not-available"
    NEWEST_OF_KIND = "newest-of-its-kind-for-its-source"
    CIRCUIT_BREAKER = "circuit-breaker"


@dataclass(frozen=True)
class BreakerLimits:
    """A run may delete at most ``max_share`` of the managed recovery points (never fewer
    than one) and, when ``max_count`` is not 0, at most ``max_count``; beyond either it deletes
    nothing unless overridden.

    The share is the default guard because it scales with the fleet: in a large fleet every
    database's weekly snapshot expires on the same day, so a fixed count would trip on normal
    expiries. ``max_count`` is an optional extra ceiling.
    """

    max_share: float = 0.2
    max_count: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.max_share <= 1:
            raise ValueError("max_share must be in (0, 1]")
        if self.max_count < 0:
            raise ValueError("max_count must be 0 (no count limit) or more")

    def describe(self) -> str:
        count = f" and at most {self.max_count}" if self.max_count else ""
        return f"max {self.max_share:.0%} of the managed recovery points{count}"

    def allowed(self, managed_total: int) -> int:
        by_share = max(1, math.floor(self.max_share * managed_total))
        return min(self.max_count, by_share) if self.max_count else by_share


@dataclass(frozen=True)
class Kept:
    point: RecoveryPoint
    rule: KeepRule


@dataclass(frozen=True)
class PrunePlan:
    region: str
    deletions: list[RecoveryPoint]
    kept: list[Kept]
    managed_total: int
    breaker_tripped: bool = False
    breaker_reason: str = ""
    orphaned_sources: list[str] = field(default_factory=list)
    # Points whose legal-hold tags are not exactly as documented: kept, and reported for a person to fix.
    unrecognised_holds: list[tuple[RecoveryPoint, Mapping[str, str]]] = field(default_factory=list)

    def kept_by_rule(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for item in self.kept:
            counts[item.rule.value] += 1
        return dict(counts)


def plan_prune(
    points: Iterable[RecoveryPoint],
    *,
    stack_name: str,
    now: datetime,
    existing_sources: Iterable[str],
    region: str,
    limits: BreakerLimits | None = None,
    override_breaker: bool = False,
    held_elsewhere: Collection[CopyLink] = frozenset(),
) -> PrunePlan:
    """Plan the deletions for one Region.

    ``existing_sources`` holds the ARNs of databases that still exist (in the source
    Region); a managed recovery point whose source is not among them is an orphan: its
    newest of each kind is kept like any other and the source is reported.
    ``held_elsewhere`` holds the links of the held recovery points of the other Region
    (``held_links``): a point linked to one of them is kept too.

    The circuit breaker's share counts only complete managed recovery points (ours, manual,
    with kind, source and a valid expiry): half-tagged snapshots cannot raise the limit.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    limits = limits or BreakerLimits()
    all_points = list(points)
    sources = set(existing_sources)
    held = held_links(all_points) | frozenset(held_elsewhere)
    managed = [p for p in all_points if p.managed_by == stack_name and not p.is_automated]
    complete = [p for p in managed if _is_complete(p)]

    newest: dict[tuple[str, str], RecoveryPoint] = {}
    for point in managed:
        if point.is_available and point.source_arn and point.kind:
            key = (point.source_arn, point.kind)
            if key not in newest or _age_key(point) > _age_key(newest[key]):
                newest[key] = point

    candidates: list[RecoveryPoint] = []
    kept: list[Kept] = []
    for point in all_points:
        rule = _keep_rule(point, stack_name, now, newest)
        if rule is None and copy_links(point) & held:
            rule = KeepRule.LEGAL_HOLD_ON_COPY
        if rule is None:
            candidates.append(point)
        else:
            kept.append(Kept(point, rule))

    orphaned = sorted({p.source_arn for p in managed if p.source_arn and p.source_arn not in sources})
    unrecognised = [(p, found) for p in all_points if (found := p.unrecognised_legal_holds)]

    allowed = limits.allowed(len(complete))
    if len(candidates) > allowed and not override_breaker:
        reason = (
            f"would delete {len(candidates)} of {len(complete)} managed recovery points in {region}; "
            f"the limit is {allowed} ({limits.describe()}). "
            "Nothing was deleted; check the expiry tags, then rerun with the override to proceed."
        )
        kept.extend(Kept(p, KeepRule.CIRCUIT_BREAKER) for p in candidates)
        return PrunePlan(region, [], kept, len(complete), True, reason, orphaned, unrecognised)
    return PrunePlan(region, candidates, kept, len(complete), False, "", orphaned, unrecognised)


def copy_links(point: RecoveryPoint) -> frozenset[CopyLink]:
    """Every way this point is known in either Region: its own identifier and ARN, and, for a copy,
    the snapshot it was copied from (RDS reports it by ARN, or by identifier within a Region)."""
    links: set[CopyLink] = {("id", point.type.value, point.identifier.strip().lower())}
    if point.arn:
        links.add(("arn", point.arn.strip().lower()))
    origin = (point.source_snapshot_arn or "").strip().lower()
    if origin:
        links.add(("arn", origin))
        links.add(("id", point.type.value, origin.rsplit(":", 1)[-1]))
    return frozenset(links)


def held_links(points: Iterable[RecoveryPoint]) -> frozenset[CopyLink]:
    """The links of every held point, whoever owns it: a hold on any copy holds them all."""
    return frozenset(link for p in points if p.legal_hold for link in copy_links(p))


def _is_complete(point: RecoveryPoint) -> bool:
    return bool((point.kind or "").strip() and (point.source_arn or "").strip() and point.expires_at is not None)


def _age_key(point: RecoveryPoint) -> tuple[datetime, str]:
    # A point without a creation time sorts as newest: when in doubt, it is the one kept.
    return (point.created_at or _END_OF_TIME, point.identifier)


def _keep_rule(
    point: RecoveryPoint, stack_name: str, now: datetime, newest: dict[tuple[str, str], RecoveryPoint]
) -> KeepRule | None:
    if point.managed_by != stack_name:
        return KeepRule.NOT_MANAGED
    if point.is_automated:
        return KeepRule.AUTOMATED
    if point.legal_hold:
        return KeepRule.LEGAL_HOLD
    kind, source_arn = point.kind, point.source_arn
    if not kind or not kind.strip() or not source_arn or not source_arn.strip():
        return KeepRule.INCOMPLETE_TAGS
    expires_at = point.expires_at
    if expires_at is None:
        return KeepRule.NO_VALID_EXPIRY
    if expires_at > now:
        return KeepRule.NOT_EXPIRED
    if not point.is_available:
        return KeepRule.NOT_AVAILABLE
    newest_of_kind = newest.get((source_arn, kind))
    if newest_of_kind is not None and newest_of_kind.identifier == point.identifier:
        return KeepRule.NEWEST_OF_KIND
    return None
