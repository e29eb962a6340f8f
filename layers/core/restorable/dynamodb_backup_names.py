"""DynamoDB on-demand backup names: the name carries what tags carry for RDS snapshots.

A DynamoDB backup cannot be tagged, so its name states ownership, kind, period and expiry::

    restorable.{stack}.{kind}.{period}.expires-{YYYYMMDDTHHMMSSZ}.{table-digest}.{table-head}

- ``stack`` is the stack name (CloudFormation: a letter, then letters, digits and hyphens, at most
  128), ``kind`` a policy kind (``weekly``, ``predeploy``); neither contains a dot, so the fields
  before the table split on dots without ambiguity.
- ``period`` is ``YYYY-MM-DD`` for a scheduled kind (the date of the period's scheduled time, as
  RDS identifiers use it) and ``YYYYMMDDTHHMMSSZ`` (UTC) for an on-demand kind, which has no period.
- ``expires-...`` is ``restorable:expires-at`` to the second, in UTC.
- ``table-digest`` is the first 10 hex digits of the SHA-256 of the table name; ``table-head`` is
  the table name, cut to what the 255 characters leave (at least 42: the longest stack, kind and
  period take 213).

Why a digest: a table name may itself be 255 characters, so the name cannot always hold it. The
head keeps the name readable in the console; the digest binds a cut name to exactly one table,
so two long tables sharing their first characters never share backup names, and a backup whose
own ``TableName`` does not hash to the digest is not read as a backup of that table (the prune
then lacks positive proof and keeps it). When the head is shorter than the room it had, it is the
whole table name and its digest is checked on parsing: a hand-edited head is not ours.

DynamoDB does not make backup names unique. One backup per table, kind and period is the job's
rule: a rerun lists the table's backups and finds its own by ``BackupName.key`` (stack, table,
kind, period; not the expiry, which a policy change may move).

``parse_backup_name`` accepts only the exact form it would write (a parsed name renders back to
the same text); anything else (another stack's, a person's, AWS Backup's, a SYSTEM backup's)
is None: not ours.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from . import tags as tag_keys
from .naming import format_timestamp
from .policy import ON_DEMAND_KINDS

MARKER = "restorable"
MAX_BACKUP_NAME_LENGTH = 255
MIN_BACKUP_NAME_LENGTH = 3
DIGEST_LENGTH = 10
_STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
_STACK = r"[A-Za-z][A-Za-z0-9-]{0,127}"
_KIND = r"[a-z][a-z0-9]{0,19}"
_TABLE = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
_NAME = re.compile(
    rf"^{MARKER}\.(?P<stack>{_STACK})\.(?P<kind>{_KIND})\.(?P<period>\d{{4}}-\d{{2}}-\d{{2}}|\d{{8}}T\d{{6}}Z)"
    rf"\.expires-(?P<expires>\d{{8}}T\d{{6}}Z)\.(?P<digest>[0-9a-f]{{{DIGEST_LENGTH}}})\.(?P<head>[A-Za-z0-9_.-]+)$"
)
_STACK_NAME = re.compile(rf"^{_STACK}$")
_KIND_NAME = re.compile(rf"^{_KIND}$")


@dataclass(frozen=True)
class BackupName:
    """A backup name of ours, as parsed: what the tags would say, and which table it names."""

    stack: str
    kind: str
    period: str
    expires_at: datetime
    table_digest: str
    table_head: str

    @property
    def key(self) -> tuple[str, str, str, str]:
        """One backup per table, kind and period: what a rerun looks for."""
        return (self.stack, self.table_digest, self.kind, self.period)

    @property
    def period_date(self) -> date | None:
        """The scheduled period's date; None for an on-demand kind."""
        return None if self.kind in ON_DEMAND_KINDS else date.fromisoformat(self.period)

    def names_table(self, table_name: str) -> bool:
        """Whether this name was made for ``table_name`` (digest and head both agree)."""
        return table_digest(table_name) == self.table_digest and table_name.startswith(self.table_head)

    def render(self) -> str:
        return "".join(self._prefix()) + self.table_head

    def _prefix(self) -> tuple[str, ...]:
        return (
            f"{MARKER}.{self.stack}.{self.kind}.{self.period}.",
            f"expires-{self.expires_at.astimezone(UTC).strftime(_STAMP_FORMAT)}.",
            f"{self.table_digest}.",
        )

    def head_room(self) -> int:
        return MAX_BACKUP_NAME_LENGTH - sum(len(part) for part in self._prefix())


def table_digest(table_name: str) -> str:
    return hashlib.sha256(table_name.encode("utf-8")).hexdigest()[:DIGEST_LENGTH]


def scheduled_backup_name(
    *, stack_name: str, table_name: str, kind: str, period_date: date, expires_at: datetime
) -> str:
    """The backup of ``table_name`` for the period of ``kind`` that fell on ``period_date``."""
    if kind in ON_DEMAND_KINDS:
        raise ValueError(f"kind '{kind}' is on demand: it has no period (use predeploy_backup_name)")
    return _format(stack_name, table_name, kind, period_date.isoformat(), expires_at)


def predeploy_backup_name(*, stack_name: str, table_name: str, at: datetime, expires_at: datetime) -> str:
    """The pre-deploy backup of ``table_name`` asked for at ``at`` (UTC, to the second)."""
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    return _format(stack_name, table_name, "predeploy", at.astimezone(UTC).strftime(_STAMP_FORMAT), expires_at)


def _format(stack_name: str, table_name: str, kind: str, period: str, expires_at: datetime) -> str:
    if not _STACK_NAME.match(stack_name):
        raise ValueError(f"'{stack_name}' is not a CloudFormation stack name")
    if not _KIND_NAME.match(kind):
        raise ValueError(f"'{kind}' is not a policy kind")
    if not _TABLE.match(table_name):
        raise ValueError(f"'{table_name}' is not a DynamoDB table name")
    if expires_at.tzinfo is None:
        raise ValueError("expires_at must be timezone-aware")
    name = BackupName(stack_name, kind, period, expires_at.replace(microsecond=0), table_digest(table_name), "")
    return name.render() + table_name[: name.head_room()]


@functools.lru_cache(maxsize=8192)  # pure; every listing of a warm function parses the same names again
def parse_backup_name(text: str, stack_name: str) -> BackupName | None:
    """The fields of a backup name this stack wrote, or None for any other name (not ours)."""
    if not MIN_BACKUP_NAME_LENGTH <= len(text) <= MAX_BACKUP_NAME_LENGTH:
        return None
    match = _NAME.match(text)
    if match is None or match["stack"] != stack_name:
        return None
    kind, period = match["kind"], match["period"]
    if (kind in ON_DEMAND_KINDS) != ("T" in period) or not _valid_period(period):
        return None
    expires_at = _parse_stamp(match["expires"])
    if expires_at is None:
        return None
    name = BackupName(stack_name, kind, period, expires_at, match["digest"], match["head"])
    if len(name.table_head) > name.head_room() or name.render() != text:
        return None
    # When the whole table name had room, the head is the table name: its digest must agree.
    whole = len(name.table_head) < name.head_room()
    if whole and (not _TABLE.match(name.table_head) or table_digest(name.table_head) != name.table_digest):
        return None
    return name


def recovery_point_tags(name: BackupName, *, table_name: str, table_arn: str) -> dict[str, str]:
    """The tags an RDS snapshot of ours would carry, read from a backup's name and its own table.

    ``restorable:source`` is given only when the name was made for the backup's table: without
    it the prune keeps the backup (no positive proof). The name carries no policy.
    """
    found = {
        tag_keys.MANAGED_BY: name.stack,
        tag_keys.KIND: name.kind,
        tag_keys.EXPIRES_AT: format_timestamp(name.expires_at),
    }
    if table_arn and name.names_table(table_name):
        found[tag_keys.SOURCE] = table_arn
    return found


def _valid_period(period: str) -> bool:
    if "T" in period:
        return _parse_stamp(period) is not None
    try:
        date.fromisoformat(period)
    except ValueError:
        return False
    return True


def _parse_stamp(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, _STAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None
