"""Checks on a restored cache (Valkey / Redis OSS): what to check, and the verdict on what was read.

Pure: the reading is done by ``adapters/cache_client.py``, which returns a ``CacheObservation``.
A cache has no schema to query, so the checks are a minimum key count (DBSIZE), keys that must
exist, and an optional freshness key whose value is the time of the newest write the application
made (ISO-8601, or seconds / milliseconds since the epoch): how far that lies before the recovery
point's time is the data-level RPO.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .errors import DrillError
from .naming import parse_timestamp

MAX_REQUIRED_KEYS = 1000
# Epoch values at or above this are milliseconds (10**11 seconds is the year 5138).
_EPOCH_MILLISECONDS_FROM = 10**11


class CacheCheckError(DrillError):
    """The restored cache could not be checked (unreachable, refused the credentials, a command failed)."""


class CacheUnreachableError(CacheCheckError):
    """No connection to the cache within the timeout, or the connection broke."""


class CacheAuthenticationError(CacheCheckError):
    """The cache refused the auth token (or needs one and none was given)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CacheFreshnessCheck(_Strict):
    """A key whose value is the time of the application's newest write."""

    key: str = Field(min_length=1, max_length=512)
    max_age_seconds: int | None = Field(default=None, gt=0)


class CacheChecks(_Strict):
    """What a restored cache must show. At least one check must be given."""

    min_keys: int | None = Field(default=None, ge=0)
    required_keys: tuple[str, ...] = Field(default=(), max_length=MAX_REQUIRED_KEYS)
    freshness: CacheFreshnessCheck | None = None

    @model_validator(mode="after")
    def _something_to_check(self) -> CacheChecks:
        if self.min_keys is None and not self.required_keys and self.freshness is None:
            raise ValueError("give at least one of 'min_keys', 'required_keys' or 'freshness'")
        if any(not key for key in self.required_keys):
            raise ValueError("'required_keys' entries must not be empty")
        if len(set(self.required_keys)) != len(self.required_keys):
            raise ValueError("'required_keys' must not repeat a key")
        return self


@dataclass(frozen=True)
class CacheObservation:
    """What the client read from the cache."""

    key_count: int
    missing_keys: tuple[str, ...] = ()
    freshness_value: str | None = None  # None: the freshness key does not exist (or was not read)


@dataclass(frozen=True)
class CacheCheckResult:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class CacheEvaluation:
    results: tuple[CacheCheckResult, ...]
    # Seconds from the newest write (the freshness key) to the recovery point's time; None without a freshness check.
    data_rpo_seconds: float | None = None

    @property
    def ok(self) -> bool:
        return all(result.ok for result in self.results)


def parse_write_time(value: str) -> datetime | None:
    """An ISO-8601 time (with a time of day; no offset means UTC) or an epoch in seconds or milliseconds."""
    text = value.strip()
    parsed = parse_timestamp(text)
    if parsed is not None:
        return parsed
    try:
        number = float(text)
    except ValueError:
        return None
    if not math.isfinite(number) or number < 0:
        return None
    seconds = number / 1000 if number >= _EPOCH_MILLISECONDS_FROM else number
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def evaluate(checks: CacheChecks, observation: CacheObservation, recovery_point_time: datetime) -> CacheEvaluation:
    """One result per configured check, in the order min_keys, required_keys, freshness."""
    results: list[CacheCheckResult] = []
    if checks.min_keys is not None:
        ok = observation.key_count >= checks.min_keys
        results.append(CacheCheckResult("min_keys", ok, f"{observation.key_count} keys (minimum {checks.min_keys})"))
    if checks.required_keys:
        absent = set(observation.missing_keys)
        missing = [key for key in checks.required_keys if key in absent]
        if missing:
            shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
            detail = f"{len(missing)} of {len(checks.required_keys)} missing: {shown}"
        else:
            detail = f"all {len(checks.required_keys)} present"
        results.append(CacheCheckResult("required_keys", not missing, detail))
    data_rpo: float | None = None
    if checks.freshness is not None:
        result, data_rpo = _freshness(checks.freshness, observation.freshness_value, recovery_point_time)
        results.append(result)
    return CacheEvaluation(results=tuple(results), data_rpo_seconds=data_rpo)


def _freshness(
    check: CacheFreshnessCheck, value: str | None, recovery_point_time: datetime
) -> tuple[CacheCheckResult, float | None]:
    if value is None:
        return CacheCheckResult("freshness", False, f"key '{check.key}' does not exist"), None
    written = parse_write_time(value)
    if written is None:
        return CacheCheckResult("freshness", False, f"key '{check.key}' holds no ISO-8601 or epoch time"), None
    age = (recovery_point_time - written).total_seconds()
    if age < 0:
        # A write later than the recovery point cannot be in it: the key does not hold a write time.
        detail = f"newest write {written:%Y-%m-%dT%H:%M:%SZ} is {-age:.0f} s after the recovery point"
        return CacheCheckResult("freshness", False, detail), None
    limit = check.max_age_seconds
    ok = limit is None or age <= limit
    detail = f"newest write {age:.0f} s before the recovery point" + (f" (maximum {limit} s)" if limit else "")
    return CacheCheckResult("freshness", ok, detail), age
