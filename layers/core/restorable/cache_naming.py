"""Deterministic ElastiCache snapshot names: ``{cache-id}-{kind}-{YYYY-MM-DD}``.

The API reference states no rule for node-based snapshot names and 1-255 characters for serverless
ones. Names here follow the rule ElastiCache applies to its own identifiers (a letter first, then
letters, digits or hyphens, no two hyphens in a row, none at the end), lower case (ElastiCache stores
cluster and replication group identifiers in lower case), at most 255 characters. The same name is
the object key prefix of an S3 export, so it must also be unique in the export bucket.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

MAX_SNAPSHOT_NAME_LENGTH = 255
# Replication groups, clusters and serverless caches: 1-40 characters.
MAX_CACHE_ID_LENGTH = 40
DAILY = "daily"

_NAME = re.compile(r"^[a-z](?!.*--)[a-z0-9-]{0,254}(?<!-)$")
_KIND = re.compile(r"^[a-z][a-z0-9]{0,31}$")
_SCHEDULED = re.compile(r"^(?P<source>[a-z][a-z0-9-]*)-(?P<kind>[a-z][a-z0-9]{0,31})-(?P<day>\d{4}-\d{2}-\d{2})$")


def is_valid_snapshot_name(name: str) -> bool:
    return bool(_NAME.match(name))


def scheduled_snapshot_name(cache_id: str, kind: str, period_date: date) -> str:
    """``{cache-id}-{kind}-{YYYY-MM-DD}``; the cache identifier is lower-cased, as ElastiCache stores it."""
    if not _KIND.match(kind):
        raise ValueError(f"'{kind}' is not a snapshot kind (lower-case letters and digits, a letter first)")
    name = f"{cache_id.lower()}-{kind}-{period_date:%Y-%m-%d}"
    if not is_valid_snapshot_name(name):
        raise ValueError(f"'{name}' is not a valid ElastiCache snapshot name")
    return name


def predeploy_snapshot_name(cache_id: str, at: datetime) -> str:
    """``{cache-id}-predeploy-{YYYYMMDDHHMMSS}`` (UTC), lower case as ElastiCache stores identifiers."""
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    name = f"{cache_id.lower()}-predeploy-{at.astimezone(UTC):%Y%m%d%H%M%S}"
    if not is_valid_snapshot_name(name):
        raise ValueError(f"'{name}' is not a valid ElastiCache snapshot name")
    return name


def daily_snapshot_name(cache_id: str, period_date: date) -> str:
    return scheduled_snapshot_name(cache_id, DAILY, period_date)


@dataclass(frozen=True)
class ScheduledName:
    cache_id: str
    kind: str
    period_date: date


def parse_scheduled_name(name: str) -> ScheduledName | None:
    """The parts of a name made by ``scheduled_snapshot_name``; None for any other name.

    A name is never proof of ownership (anyone can choose it): the tags are.
    """
    match = _SCHEDULED.match(name)
    if match is None or not is_valid_snapshot_name(name):
        return None
    try:
        day = date.fromisoformat(match["day"])
    except ValueError:
        return None
    return ScheduledName(cache_id=match["source"], kind=match["kind"], period_date=day)
