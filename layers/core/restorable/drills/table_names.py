"""Temporary DynamoDB tables of drills: the name carries the drill contract, because a restored table
starts without tags (the restore APIs take none; the drill tags it right after) and a drill that dies in
between must still leave proof for the janitor::

    drill.{stack}.{YYYYMMDDTHHMMSSZ}.{execution-digest}.{source-head}

- ``stack`` is the stack name (a letter, then letters, digits and hyphens, at most 128: no dot), so the
  drill role's IAM statements can name ``table/drill.{stack}.*`` and nothing else;
- the time is ``restorable:expires-at`` to the second, in UTC;
- ``execution-digest`` is the first 16 hex digits of the SHA-256 of the execution ARN: one table per
  execution, found again by a retried restore;
- ``source-head`` is the source table's name, cut to what 255 characters leave (at least 92).

``parse_drill_table_name`` accepts only the exact form it would write; a source table whose own name has
this form is never drilled (it would be a drill table, and drill tables are not protected).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from .. import tags as tag_keys
from .plan import is_drill_resource

MAX_TABLE_NAME_LENGTH = 255
DIGEST_LENGTH = 16
_MARKER = "drill"
_STAMP = "%Y%m%dT%H%M%SZ"
_STACK = r"[A-Za-z][A-Za-z0-9-]{0,127}"
_NAME = re.compile(
    rf"^{_MARKER}\.(?P<stack>{_STACK})\.(?P<expires>\d{{8}}T\d{{6}}Z)\.(?P<digest>[0-9a-f]{{{DIGEST_LENGTH}}})"
    r"\.(?P<head>[A-Za-z0-9_.-]+)$"
)
_STACK_NAME = re.compile(rf"^{_STACK}$")
_TABLE_NAME = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")


@dataclass(frozen=True)
class DrillTableName:
    stack: str
    expires_at: datetime
    execution_digest: str
    source_head: str

    def render(self) -> str:
        stamp = self.expires_at.astimezone(UTC).strftime(_STAMP)
        return f"{_MARKER}.{self.stack}.{stamp}.{self.execution_digest}.{self.source_head}"


def table_name_prefix(stack_name: str) -> str:
    """What every temporary table of the stack's drills starts with (and the drill role's IAM names)."""
    return f"{_MARKER}.{stack_name}."


def execution_digest(execution_id: str) -> str:
    return hashlib.sha256(execution_id.encode("utf-8")).hexdigest()[:DIGEST_LENGTH]


def drill_table_name(*, stack_name: str, source_table: str, execution_id: str, expires_at: datetime) -> str:
    """The temporary table a drill of ``source_table`` restores into, for one execution."""
    if not _STACK_NAME.match(stack_name):
        raise ValueError(f"stack name {stack_name!r} cannot name a drill table")
    if not _TABLE_NAME.match(source_table):
        raise ValueError(f"{source_table!r} is not a DynamoDB table name")
    if is_drill_table_name(source_table):
        raise ValueError(f"{source_table} is itself a drill table")
    if expires_at.tzinfo is None:
        raise ValueError("expires_at must be timezone-aware")
    expires = expires_at.astimezone(UTC).replace(microsecond=0)
    empty = DrillTableName(stack_name, expires, execution_digest(execution_id), "")
    room = MAX_TABLE_NAME_LENGTH - len(empty.render())
    return DrillTableName(stack_name, expires, empty.execution_digest, source_table[:room]).render()


def parse_drill_table_name(name: str, stack_name: str) -> DrillTableName | None:
    """The parts of a temporary table name of ``stack_name``'s drills; None for any other name."""
    match = _NAME.match(name)
    if match is None or match["stack"] != stack_name or len(name) > MAX_TABLE_NAME_LENGTH:
        return None
    try:
        expires = datetime.strptime(match["expires"], _STAMP).replace(tzinfo=UTC)
    except ValueError:
        return None
    parsed = DrillTableName(match["stack"], expires, match["digest"], match["head"])
    return parsed if parsed.render() == name else None


def is_drill_table_name(name: str) -> bool:
    """Whether ``name`` has the form of any stack's temporary drill table."""
    match = _NAME.match(name)
    return match is not None and parse_drill_table_name(name, match["stack"]) is not None


Proof = Literal["tagged", "named"]


def drill_table_proof(name: str, tags: Mapping[str, str], *, restored: bool, stack_name: str) -> Proof | None:
    """Why a table is a temporary drill table of this stack, or None (then nothing may delete it).

    "tagged": the name is the stack's drill form and the tags say drill of this stack. "named": the name is the
    stack's drill form, the table was made by a restore, and it carries no ``restorable:`` tag at all (its
    tagging failed or never ran). A table with any other ``restorable:`` tags (another stack's, a protected
    table's) is never a drill table of this stack, whatever its name.
    """
    if parse_drill_table_name(name, stack_name) is None:
        return None
    if is_drill_resource(dict(tags), stack_name):
        return "tagged"
    ours = [key for key in tags if key.lower().startswith(tag_keys.PREFIX.lower())]
    return "named" if restored and not ours else None
