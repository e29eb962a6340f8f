"""Legal holds on DynamoDB backups, the pure part: records in a holds store, read so they fail safe.

A DynamoDB backup cannot carry a ``restorable:legal-hold`` tag, so a hold is a record in the
stack's holds table, one item per held backup ARN, written by ``restorable hold add`` and marked
released (never deleted) by ``hold remove``. The prune reads the whole store before it deletes
anything, and the rule is "held unless clearly released":

- a record holds unless its state is ``released`` (any case) *and* it says who released it and when;
- a record that does not validate still holds the backup its ARN names;
- a record whose ARN cannot be read could be anyone's hold: the whole book is unreadable;
- a store that cannot be read (missing table, denied, throttled, any error) is unreadable too,
  and an unreadable book holds every backup of the Region.

A record also names the recovery point (``point``: the backup name's key, stack / table digest /
kind / period), so a hold on a backup holds its export in the DR Region, which is the same point
under another ARN.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from . import tags as tag_keys
from .dynamodb_backup_names import BackupName

RELEASED = "released"
HELD = "held"
NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class HoldRecord(BaseModel):
    """One item of the holds store (attribute names as stored)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    backup_arn: NonEmpty
    point: str = ""
    state: NonEmpty
    reason: NonEmpty
    held_by: NonEmpty
    held_at: datetime
    released_by: str | None = None
    released_at: datetime | None = None

    @property
    def released(self) -> bool:
        """Clearly released: the state says so and the release is attributed and dated."""
        return (
            self.state.strip().lower() == RELEASED
            and bool((self.released_by or "").strip())
            and self.released_at is not None
        )


def point_key(name: BackupName) -> str:
    """How a record names a recovery point, whichever copy (backup or DR export) it was added on."""
    return "/".join(name.key)


@dataclass(frozen=True)
class HoldBook:
    """Every hold the store says is in force, or ``readable=False``: then everything is held."""

    readable: bool
    held_arns: frozenset[str] = frozenset()
    held_points: frozenset[str] = frozenset()
    # Records that hold although they are not as written by the command line (reported, never ignored).
    problems: tuple[str, ...] = ()
    unreadable_reason: str = ""

    @classmethod
    def unreadable(cls, reason: str) -> HoldBook:
        return cls(readable=False, unreadable_reason=reason)

    @classmethod
    def from_items(cls, items: Iterable[Mapping[str, object]]) -> HoldBook:
        """Read the store's items (plain values, already out of DynamoDB's attribute format)."""
        arns: set[str] = set()
        points: set[str] = set()
        problems: list[str] = []
        for item in items:
            try:
                record = HoldRecord.model_validate(item)
            except ValidationError:
                arn = item.get("backup_arn")
                if not isinstance(arn, str) or not arn.strip():
                    return cls.unreadable("a hold record names no backup ARN: it could hold any backup")
                arns.add(_normal(arn))
                problems.append(f"{arn.strip()}: the hold record is malformed; it holds until a person fixes it")
                continue
            if record.released:
                continue
            arns.add(_normal(record.backup_arn))
            if record.point.strip():
                points.add(record.point.strip())
            if record.state.strip().lower() != HELD:
                problems.append(f"{record.backup_arn}: state '{record.state}' is neither '{HELD}' nor a clear release")
        return cls(readable=True, held_arns=frozenset(arns), held_points=frozenset(points), problems=tuple(problems))

    def holds(self, backup_arn: str, name: BackupName | None = None) -> bool:
        """Fail safe: an unreadable book holds everything."""
        if not self.readable:
            return True
        if _normal(backup_arn) in self.held_arns:
            return True
        return name is not None and point_key(name) in self.held_points

    def hold_tags(self, backup_arn: str, name: BackupName | None = None) -> dict[str, str]:
        """The legal-hold tag the prune rules read, when the backup is held."""
        return {tag_keys.LEGAL_HOLD: tag_keys.LEGAL_HOLD_ON} if self.holds(backup_arn, name) else {}


def _normal(arn: str) -> str:
    return arn.strip().lower()
