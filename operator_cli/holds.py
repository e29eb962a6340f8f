"""Legal holds, the pure part: what counts as held, the tags a hold sets, and the held points of a fleet.

The rule fails safe (as pruning must read it): a key equal to ``restorable:legal-hold`` in any
letter case holds the recovery point unless its value is a clear ``false``; a hold on one copy
(source Region or DR Region) holds every copy of that recovery point, so ``add`` tags every copy
and ``remove`` clears every copy.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from restorable import tags as tag_keys
from restorable.models import RecoveryPoint
from restorable.naming import format_timestamp

HOLD_KEY = tag_keys.LEGAL_HOLD
REASON_KEY = "restorable:legal-hold-reason"
BY_KEY = "restorable:legal-hold-by"
AT_KEY = "restorable:legal-hold-at"
HOLD_KEYS = frozenset({HOLD_KEY, REASON_KEY, BY_KEY, AT_KEY})
HOLD_VALUE = "true"
# RDS tag values: at most 256 Unicode letters, digits, white space, and _ . : / = + - @
MAX_TAG_VALUE = 256
_TAG_VALUE = re.compile(r"^[\w\s.:/=+\-@]*$")


def hold_values(tags: Mapping[str, str]) -> list[str]:
    """The values of every key that names a legal hold, whatever its letter case."""
    return list(tag_keys.legal_hold_values(tags).values())


def is_held(tags: Mapping[str, str]) -> bool:
    """The core's fail-safe rule, the one pruning applies: the CLI never disagrees with it."""
    return tag_keys.is_held(tags)


def hold_tag_keys(tags: Mapping[str, str]) -> list[str]:
    """Keys ``hold remove`` clears: the hold (any letter case) and its reason, author and time."""
    return sorted(key for key in tags if key.strip().lower() in HOLD_KEYS)


def check_tag_value(name: str, value: str) -> str:
    """``value`` if RDS accepts it as a tag value; ``ValueError`` naming the problem otherwise."""
    if len(value) > MAX_TAG_VALUE:
        raise ValueError(f"{name} is {len(value)} characters; a tag value holds at most {MAX_TAG_VALUE}")
    if not _TAG_VALUE.match(value):
        bad = sorted({c for c in value if not _TAG_VALUE.match(c)})
        raise ValueError(
            f"{name} has characters a tag value cannot carry ({' '.join(bad)}); "
            "use letters, digits, spaces and _ . : / = + - @"
        )
    return value


def hold_tags(reason: str, by: str, at: datetime) -> dict[str, str]:
    """The tags one hold sets on every copy."""
    reason = reason.strip()
    if not reason:
        raise ValueError("a hold needs a reason (--reason)")
    return {
        HOLD_KEY: HOLD_VALUE,
        REASON_KEY: check_tag_value("the reason", reason),
        BY_KEY: check_tag_value("the holder", by[-MAX_TAG_VALUE:]),
        AT_KEY: format_timestamp(at),
    }


@dataclass(frozen=True)
class HeldPoint:
    """One recovery point (one identifier) and its copies in both Regions."""

    identifier: str
    copies: tuple[RecoveryPoint, ...]

    @property
    def held(self) -> bool:
        return any(is_held(copy.tags) for copy in self.copies)

    def to_dict(self) -> dict[str, Any]:
        held_copy = next((c for c in self.copies if is_held(c.tags)), self.copies[0])
        tags = {key.lower(): value for key, value in held_copy.tags.items()}
        return {
            "identifier": self.identifier,
            "type": self.copies[0].type.value,
            "source": self.copies[0].source_identifier,
            "kind": self.copies[0].kind,
            "held_in": sorted(c.region for c in self.copies if is_held(c.tags)),
            "not_held_in": sorted(c.region for c in self.copies if not is_held(c.tags)),
            "values": sorted({v for c in self.copies for v in hold_values(c.tags)}),
            "reason": tags.get(REASON_KEY),
            "by": tags.get(BY_KEY),
            "at": tags.get(AT_KEY),
            "copies": [{"region": c.region, "arn": c.arn} for c in self.copies],
        }


def group_copies(points: Sequence[RecoveryPoint]) -> list[HeldPoint]:
    """Recovery points grouped by identifier and type (a DR copy keeps its original's identifier)."""
    groups: dict[tuple[str, str], list[RecoveryPoint]] = {}
    for point in points:
        groups.setdefault((point.type.value, point.identifier), []).append(point)
    return [
        HeldPoint(identifier=identifier, copies=tuple(sorted(copies, key=lambda c: c.region)))
        for (_, identifier), copies in sorted(groups.items(), key=lambda item: item[0][1])
    ]


def held_points(points: Sequence[RecoveryPoint]) -> list[HeldPoint]:
    return [group for group in group_copies(points) if group.held]
