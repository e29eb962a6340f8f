"""``restorable hold`` for DynamoDB backups: records in the stack's holds table, since a backup takes no tag.

A backup is named by its ARN or its name (``aws dynamodb list-backups``). ``add`` writes the record the
prune reads (``restorable.dynamodb_holds``: who, why, when, and the point the backup's name gives, so the
hold also holds the same point's DR export); ``remove`` marks it released, attributed and dated, and keeps
it; ``list`` shows the records in force. Backups live in the stack's Region only (the DR copy of a
table is an export, which the point in the record holds).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from restorable.adapters.dynamodb import DynamoDbGateway
from restorable.adapters.dynamodb_holds import HoldStore
from restorable.dynamodb_backup_names import parse_backup_name
from restorable.dynamodb_holds import HoldRecord, point_key
from restorable.dynamodb_models import TableBackup
from restorable.errors import ResourceNotFoundError, RestorableError

from .errors import CliError
from .stack import BAD_INPUT

HOLDS_TABLE_OUTPUT = "HoldsTableName"
_BACKUP_ARN = re.compile(
    r"^arn:aws[a-z-]*:dynamodb:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"table/(?P<table>[A-Za-z0-9_.-]{3,255})/backup/[A-Za-z0-9.-]+$"
)
# RDS snapshot identifiers: a letter, then letters, digits and single hyphens. A backup name may be
# anything of [A-Za-z0-9_.-]; one that could be an RDS identifier is looked up there first.
_BACKUP_NAME = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")


def names_a_backup(point: str) -> bool:
    """Whether ``point`` can only be a DynamoDB backup (its ARN, or a name RDS would not accept)."""
    if point.startswith("arn:"):
        return ":dynamodb:" in point
    return bool(_BACKUP_NAME.match(point)) and ("." in point or "_" in point)


@dataclass(frozen=True)
class HeldBackup:
    """A record in force, with the backup it names when that still exists."""

    record: HoldRecord | None
    raw: Mapping[str, object]
    backup: TableBackup | None
    region: str
    stack_name: str

    @property
    def arn(self) -> str:
        return str(self.raw.get("backup_arn", ""))

    def to_dict(self) -> dict[str, Any]:
        match = _BACKUP_ARN.match(self.arn)
        name = self.backup.name if self.backup else None
        parsed = parse_backup_name(name, self.stack_name) if name else None
        record = self.record
        return {
            "identifier": name or self.arn,
            "type": "table",
            "source": self.backup.table_name if self.backup else (match["table"] if match else None),
            "kind": parsed.kind if parsed else None,
            "held_in": [self.region],
            "not_held_in": [],
            "values": [str(self.raw.get("state", ""))],
            "reason": record.reason if record else "(malformed hold record: it holds until fixed)",
            "by": record.held_by if record else self.raw.get("held_by"),
            "at": record.held_at.strftime("%Y-%m-%dT%H:%M:%SZ") if record else self.raw.get("held_at"),
            "copies": [{"region": self.region, "arn": self.arn}],
        }


class TableHolds:
    """Holds on one Region's DynamoDB backups, in the stack's holds table."""

    def __init__(self, dynamodb: Any, holds_table: str, stack_name: str) -> None:
        self._backups = DynamoDbGateway(dynamodb)
        self._store = HoldStore(dynamodb, holds_table)
        self._stack_name = stack_name
        self.region = self._backups.region

    def find(self, point: str) -> TableBackup | None:
        """The backup ``point`` names (ARN or name), None when there is none; a shared name is refused."""
        try:
            if point.startswith("arn:"):
                return self._by_arn(point)
            named = [b for b in self._backups.list_backups() if b.name == point]
        except RestorableError as exc:
            raise CliError(f"cannot look up DynamoDB backup {point!r} in {self.region}: {exc}") from exc
        if len(named) > 1:
            arns = ", ".join(sorted(b.arn for b in named))
            raise CliError(
                f"{len(named)} DynamoDB backups are named {point!r}: give the ARN of one ({arns})", BAD_INPUT
            )
        return named[0] if named else None

    def _by_arn(self, arn: str) -> TableBackup | None:
        match = _BACKUP_ARN.match(arn)
        if match is None:
            raise CliError(f"{arn} is not a DynamoDB backup ARN (...:table/<table>/backup/<id>)", BAD_INPUT)
        if match["region"] != self.region:
            raise CliError(
                f"{arn} is in {match['region']}: the stack's holds cover DynamoDB backups in {self.region}", BAD_INPUT
            )
        try:
            return self._backups.describe_backup(arn)
        except ResourceNotFoundError:
            return None

    def add(self, backup: TableBackup, *, reason: str, by: str, at: datetime) -> HoldRecord:
        parsed = parse_backup_name(backup.name, self._stack_name)
        try:
            return self._store.add(
                backup_arn=backup.arn,
                point=point_key(parsed) if parsed is not None else "",
                reason=reason,
                held_by=by,
                held_at=at,
            )
        except RestorableError as exc:
            raise CliError(f"could not hold {backup.name} ({backup.arn}): {exc}") from exc

    def remove(self, backup: TableBackup, *, by: str, at: datetime) -> HoldRecord:
        """Release the hold in force on ``backup``; a backup without one is a clear error, nothing changes."""
        try:
            raw = self._store.item(backup.arn)
        except RestorableError as exc:
            raise CliError(f"cannot read the hold on {backup.name}: {exc}") from exc
        if raw is None:
            raise CliError(f"no legal hold on DynamoDB backup {backup.name} ({backup.arn}): nothing removed", BAD_INPUT)
        record = _record(raw)
        if record is None:  # marking it released would leave it malformed, so still holding: a person fixes it
            raise CliError(
                f"the hold record of DynamoDB backup {backup.name} is malformed and holds until a person fixes or "
                f"deletes the item {backup.arn} in {self._store.table_name}: nothing removed"
            )
        if record.released:
            raise CliError(
                f"the hold on DynamoDB backup {backup.name} was already released by {record.released_by} "
                f"at {record.released_at:%Y-%m-%dT%H:%M:%SZ}: nothing removed",
                BAD_INPUT,
            )
        try:
            self._store.release(backup_arn=backup.arn, released_by=by, released_at=at)
        except RestorableError as exc:
            raise CliError(f"could not release the hold on {backup.name}: {exc}") from exc
        return record

    def held(self) -> list[HeldBackup]:
        """Every record in force (released ones left out; malformed ones hold, so they are shown)."""
        try:
            items = self._store.items()
            backups = {b.arn.lower(): b for b in self._backups.list_backups()} if items else {}
        except RestorableError as exc:
            raise CliError(
                f"cannot read the DynamoDB holds in {self.region} ({exc}); the prune keeps every DynamoDB backup "
                "while it cannot read them"
            ) from exc
        found = []
        for raw in items:
            record = _record(raw)
            if record is not None and record.released:
                continue
            backup = backups.get(str(raw.get("backup_arn", "")).strip().lower())
            found.append(HeldBackup(record, raw, backup, self.region, self._stack_name))
        return sorted(found, key=lambda h: h.arn)


def _record(raw: Mapping[str, object]) -> HoldRecord | None:
    try:
        return HoldRecord.model_validate(raw)
    except ValidationError:
        return None
