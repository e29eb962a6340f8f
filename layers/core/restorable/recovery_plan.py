"""Recovery to a new database, the pure part: which recovery point, which time, which name, which tags.

Nothing here calls AWS. The command line reads the inventory and the drill history, asks these
functions what to restore and why, and drives the restore through its adapter.

The recovered database is a NEW resource beside the source: it carries ``restorable:recovered-from``
and never ``restorable:kind=drill``, so the drill janitor (which deletes only what carries the drill
kind) leaves it alone, and no ``restorable:policy`` until the operator decides it is the new primary.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, Literal, Protocol, TypeVar

from . import tags as tag_keys
from .errors import InvalidRequestError
from .naming import format_timestamp

RECOVERED_FROM = tag_keys.PREFIX + "recovered-from"
RECOVERED_AT = tag_keys.PREFIX + "recovered-at"

# A cluster is restored with one instance named after it; RDS identifiers have at most 63 characters.
CLUSTER_INSTANCE_SUFFIX = "-i1"
MAX_DB_IDENTIFIER_LENGTH = 63
MAX_TARGET_LENGTH = MAX_DB_IDENTIFIER_LENGTH - len(CLUSTER_INSTANCE_SUFFIX)
_DB_IDENTIFIER = re.compile(r"^[a-z](?!.*--)[a-z0-9-]*(?<!-)$")

DRILL_PASSED = "passed"
LATEST: Literal["latest"] = "latest"


class RecoveryMode(enum.StrEnum):
    PITR = "pitr"
    SNAPSHOT = "snapshot"
    REGION = "region"


class PointLike(Protocol):
    """What choosing needs of a recovery point (``models.RecoveryPoint`` and the drill adapter's
    ``SnapshotInfo`` both have it)."""

    @property
    def identifier(self) -> str: ...

    @property
    def arn(self) -> str: ...

    @property
    def status(self) -> str: ...

    @property
    def created_at(self) -> datetime | None: ...

    @property
    def tags(self) -> Mapping[str, str]: ...


P = TypeVar("P", bound=PointLike)


@dataclass(frozen=True)
class DrillOutcome:
    """One drill from the history: which recovery point it restored (an ARN, or a time for PITR)."""

    recovery_point: str
    outcome: str
    started_at: str

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> DrillOutcome:
        return cls(
            recovery_point=str(item.get("recovery_point") or ""),
            outcome=str(item.get("outcome") or ""),
            started_at=str(item.get("started_at") or ""),
        )


@dataclass(frozen=True)
class Consideration:
    """One recovery point that was looked at, and why it was (not) chosen."""

    identifier: str
    arn: str
    created_at: datetime | None
    eligible: bool
    drilled: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "identifier": self.identifier,
            "arn": self.arn,
            "created_at": iso(self.created_at) if self.created_at else None,
            "eligible": self.eligible,
            "drilled": self.drilled,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class PointChoice(Generic[P]):
    """The chosen recovery point (None: refused, ``refusal`` says why) and every point considered."""

    chosen: P | None
    considered: tuple[Consideration, ...]
    refusal: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"considered": [c.to_dict() for c in self.considered], "refusal": self.refusal}


def iso(moment: datetime) -> str:
    """ISO-8601 UTC with a 'Z', second precision."""
    return format_timestamp(moment)


def snapshot_name(reference: str) -> str:
    """The identifier in a snapshot ARN (a DR copy keeps its original's identifier), else the text itself."""
    return reference.rsplit(":", 1)[-1] if reference.startswith("arn:") else reference


def last_drills(drills: Iterable[DrillOutcome]) -> dict[str, DrillOutcome]:
    """The newest drill of each snapshot identifier: a drill of a DR copy speaks for its original too."""
    newest: dict[str, DrillOutcome] = {}
    for drill in drills:
        if ":snapshot:" not in drill.recovery_point and ":cluster-snapshot:" not in drill.recovery_point:
            continue  # a point-in-time drill restored no snapshot
        name = snapshot_name(drill.recovery_point)
        if name not in newest or drill.started_at > newest[name].started_at:
            newest[name] = drill
    return newest


def _managed_of(point: PointLike, source_arn: str, stack_name: str) -> str | None:
    """Why ``point`` is not a managed recovery point of the source, or None when it is."""
    owner = point.tags.get(tag_keys.MANAGED_BY)
    if owner != stack_name:
        return f"managed by {owner!r}, not stack {stack_name}" if owner else f"not managed by stack {stack_name}"
    if point.tags.get(tag_keys.SOURCE) != source_arn:
        return f"a recovery point of {point.tags.get(tag_keys.SOURCE) or 'an unknown source'}, not {source_arn}"
    if point.status != "available":
        return f"not complete (status {point.status})"
    if point.created_at is None:
        return "no creation time"
    return None


def _newest_first(points: Iterable[P]) -> list[P]:
    floor = datetime.min.replace(tzinfo=UTC)
    return sorted(points, key=lambda p: (p.created_at or floor, p.identifier), reverse=True)


def choose_before(
    points: Sequence[P],
    drills: Iterable[DrillOutcome],
    *,
    source_arn: str,
    stack_name: str,
    before: datetime,
    allow_undrilled: bool = False,
) -> PointChoice[P]:
    """The newest complete managed recovery point of the source created strictly before ``before``
    whose last drill passed. Without one, the newest never-drilled point when ``allow_undrilled``; a
    point whose last drill failed is never chosen. Every point of the source is reported with a reason."""
    if before.tzinfo is None:
        raise InvalidRequestError("--before must carry a time zone")
    drilled = last_drills(drills)
    considered: list[Consideration] = []
    passed: list[P] = []
    undrilled: list[P] = []
    for point in _newest_first(points):
        last = drilled.get(point.identifier)
        reason = _managed_of(point, source_arn, stack_name)
        eligible = False
        if reason is None and point.created_at is not None and point.created_at >= before:
            reason = f"created {iso(point.created_at)}, not before {iso(before)}"
        if reason is None and last is not None and last.outcome != DRILL_PASSED:
            reason = f"its last drill ({last.started_at}) {last.outcome or 'has no outcome'}"
        if reason is None and last is not None:
            eligible = True
            passed.append(point)
            reason = f"created before {iso(before)}; its last drill ({last.started_at}) passed"
        elif reason is None:
            eligible = allow_undrilled
            undrilled.append(point)
            reason = "created before " + iso(before) + "; never drilled" + ("" if allow_undrilled else " (refused)")
        considered.append(
            Consideration(point.identifier, point.arn, point.created_at, eligible, last is not None, reason)
        )
    chosen = passed[0] if passed else (undrilled[0] if allow_undrilled and undrilled else None)
    result = tuple(considered)
    if chosen is not None:
        return PointChoice(chosen=chosen, considered=_mark_chosen(result, chosen))
    if undrilled:
        refusal = (
            f"no recovery point created before {iso(before)} passed a drill; {len(undrilled)} never drilled "
            f"(newest {undrilled[0].identifier}): give --allow-undrilled to restore it anyway"
        )
    else:
        refusal = f"no complete managed recovery point created before {iso(before)}"
    return PointChoice(chosen=None, considered=result, refusal=refusal + _rejections(result))


def choose_newest(points: Sequence[P], *, source_arn: str, stack_name: str, where: str) -> PointChoice[P]:
    """The newest complete managed recovery point of the source (e.g. the newest DR copy)."""
    considered: list[Consideration] = []
    chosen: P | None = None
    for point in _newest_first(points):
        reason = _managed_of(point, source_arn, stack_name)
        if reason is None and chosen is None:
            chosen = point
            reason = "the newest complete managed recovery point"
        elif reason is None:
            reason = f"older than {chosen.identifier if chosen else ''}"
        considered.append(
            Consideration(point.identifier, point.arn, point.created_at, reason.startswith("the newest"), False, reason)
        )
    result = tuple(considered)
    if chosen is None:
        refusal = f"no complete managed recovery point of {source_arn} {where}"
        return PointChoice(chosen=None, considered=result, refusal=refusal + _rejections(result))
    return PointChoice(chosen=chosen, considered=_mark_chosen(result, chosen))


def _mark_chosen(considered: tuple[Consideration, ...], chosen: PointLike) -> tuple[Consideration, ...]:
    return tuple(
        Consideration(c.identifier, c.arn, c.created_at, c.eligible, c.drilled, "chosen: " + c.reason)
        if c.arn == chosen.arn and c.identifier == chosen.identifier
        else c
        for c in considered
    )


def _rejections(considered: tuple[Consideration, ...]) -> str:
    if not considered:
        return " (none found)"
    return " (considered: " + "; ".join(f"{c.identifier}: {c.reason}" for c in considered) + ")"


def parse_time(value: str, *, option: str) -> datetime:
    """An ISO-8601 time that carries a zone (``Z`` or an offset), in UTC."""
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise InvalidRequestError(f"{option} {value!r}: not an ISO-8601 time (e.g. 2026-12-08T01:30:00Z)") from exc
    if moment.tzinfo is None:
        raise InvalidRequestError(f"{option} {value!r}: give a time zone (e.g. 2026-12-08T01:30:00Z)")
    return moment.astimezone(UTC)


def parse_restore_time(value: str) -> datetime | Literal["latest"]:
    return LATEST if value.strip().lower() == LATEST else parse_time(value, option="--to")


def check_restore_time(
    wanted: datetime, *, earliest: datetime | None, latest: datetime | None, source_identifier: str
) -> None:
    """``wanted`` inside the point-in-time window [earliest restorable, latest restorable] (both inclusive)."""
    if latest is None:
        raise InvalidRequestError(f"{source_identifier} reports no latest restorable time: no point-in-time restore")
    if (earliest is not None and wanted < earliest) or wanted > latest:
        window = f"{iso(earliest) if earliest else 'unknown'} .. {iso(latest)}"
        raise InvalidRequestError(
            f"--to {iso(wanted)} is outside the restorable window of {source_identifier} ({window})"
        )


def check_target_name(name: str) -> str:
    """A valid RDS identifier that leaves room for a cluster's instance suffix."""
    if len(name) > MAX_TARGET_LENGTH or not _DB_IDENTIFIER.match(name):
        raise InvalidRequestError(
            f"--target {name!r}: give a lower-case RDS identifier of at most {MAX_TARGET_LENGTH} characters "
            "(letters, digits, single hyphens, starting with a letter)"
        )
    return name


def default_target(source_identifier: str, now: datetime) -> str:
    """``{source}-rec-{YYYYMMDDHHMM}`` (UTC), trimmed to fit."""
    stamp = now.astimezone(UTC).strftime("%Y%m%d%H%M")
    stem = re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9-]", "-", source_identifier.lower())).strip("-")
    stem = stem[: MAX_TARGET_LENGTH - len("-rec-") - len(stamp)].rstrip("-")
    if not stem or not stem[0].isalpha():
        stem = "db" + (f"-{stem}" if stem else "")
    return check_target_name(f"{stem}-rec-{stamp}")


def recovery_tags(recovered_from: str, now: datetime) -> dict[str, str]:
    """Never ``restorable:kind`` (the drill janitor's proof) nor ``restorable:policy`` (not protected yet)."""
    return {RECOVERED_FROM: recovered_from, RECOVERED_AT: iso(now)}


def seconds_between(start: datetime, end: datetime) -> float:
    return round((end - start).total_seconds(), 3)
