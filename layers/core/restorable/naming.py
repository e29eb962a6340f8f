"""Deterministic recovery-point identifiers and tag timestamp format."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?([Zz]|[+-]\d{2}:\d{2})?$")
_IDENTIFIER = re.compile(r"^[A-Za-z](?!.*--)[A-Za-z0-9-]{0,254}(?<!-)$")
MAX_SNAPSHOT_ID_LENGTH = 255
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def is_valid_snapshot_identifier(identifier: str) -> bool:
    """RDS rules: 1-255 letters, digits or hyphens; starts with a letter; no '--'; no trailing '-'."""
    return bool(_IDENTIFIER.match(identifier))


def scheduled_snapshot_id(source_id: str, kind: str, period_date: date) -> str:
    """``{source-id}-{kind}-{YYYY-MM-DD}``: the date is the period's scheduled date."""
    return _checked(f"{source_id}-{kind}-{period_date:%Y-%m-%d}")


def predeploy_snapshot_id(source_id: str, at: datetime) -> str:
    """``{source-id}-predeploy-{YYYYMMDDHHMMSS}`` in UTC."""
    return _checked(f"{source_id}-predeploy-{at.astimezone(UTC):%Y%m%d%H%M%S}")


def _checked(identifier: str) -> str:
    if not is_valid_snapshot_identifier(identifier):
        raise ValueError(f"'{identifier}' is not a valid RDS snapshot identifier")
    return identifier


def format_timestamp(moment: datetime) -> str:
    """ISO-8601 UTC with a 'Z', second precision: the value of ``restorable:expires-at``."""
    if moment.tzinfo is None:
        raise ValueError("timestamp must be timezone-aware")
    return moment.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


def parse_timestamp(text: str) -> datetime | None:
    """Parse a tag timestamp; None when it is missing or not a valid ISO-8601 time.

    Only the full ``YYYY-MM-DDTHH:MM[:SS]`` form counts; a timestamp without an offset is
    read as UTC. A date alone is ambiguous and is not accepted.
    """
    text = text.strip()
    if not _TIMESTAMP.match(text):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):  # e.g. 9999-12-31T23:00:00-05:00 is past the end of time in UTC
        return None
