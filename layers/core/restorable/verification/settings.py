"""Settings of the verification function: thresholds, the alert topic and the state tables.

Read from the function's environment (``template.yaml`` sets every variable from a
parameter). A missing or invalid value is a ``ConfigurationError`` naming the variable.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from ..errors import ConfigurationError
from ..settings import Settings
from .checks import Thresholds


@dataclass(frozen=True)
class VerificationSettings:
    alert_topic_arn: str
    notification_state_table: str
    repeat_after: timedelta
    drill_history_table: str  # empty: no drill history configured, the drill check is off
    thresholds: Thresholds


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"environment variable {name} is missing or empty")
    return value


def _number(env: Mapping[str, str], name: str, low: float, high: float) -> float:
    text = _required(env, name)
    try:
        value = float(text)
    except ValueError as exc:
        raise ConfigurationError(f"environment variable {name}: '{text}' is not a number") from exc
    if not low <= value <= high:
        raise ConfigurationError(f"environment variable {name}: {text} is outside {low:g}..{high:g}")
    return value


def load_verification_settings(settings: Settings, environ: Mapping[str, str] | None = None) -> VerificationSettings:
    env = os.environ if environ is None else environ
    rpo_warning = _number(env, "RPO_WARNING_MINUTES", 1, 1440)
    rpo_critical = _number(env, "RPO_CRITICAL_MINUTES", 1, 1440)
    if rpo_warning >= rpo_critical:
        raise ConfigurationError("RPO_WARNING_MINUTES must be below RPO_CRITICAL_MINUTES")
    dr_warning = _number(env, "DR_LAG_WARNING_HOURS", 1, 720)
    dr_critical = _number(env, "DR_LAG_CRITICAL_HOURS", 1, 720)
    if dr_warning >= dr_critical:
        raise ConfigurationError("DR_LAG_WARNING_HOURS must be below DR_LAG_CRITICAL_HOURS")

    raw_ages = _required(env, "SNAPSHOT_MAX_AGE_DAYS")
    try:
        ages = json.loads(raw_ages)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"environment variable SNAPSHOT_MAX_AGE_DAYS is not JSON: {exc.msg}") from exc
    if not isinstance(ages, dict) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) and 0 < v <= 3660 for v in ages.values()
    ):
        raise ConfigurationError("environment variable SNAPSHOT_MAX_AGE_DAYS must map kind names to days (1..3660)")
    missing = sorted(settings.scheduled_kinds - set(ages))
    if missing:
        raise ConfigurationError(
            f"environment variable SNAPSHOT_MAX_AGE_DAYS has no maximum age for scheduled kind(s) {', '.join(missing)}"
        )

    if "DRILL_HISTORY_TABLE" not in env:
        raise ConfigurationError("environment variable DRILL_HISTORY_TABLE is missing (set it empty to turn off)")
    return VerificationSettings(
        alert_topic_arn=_required(env, "ALERT_TOPIC_ARN"),
        notification_state_table=_required(env, "NOTIFICATION_STATE_TABLE"),
        repeat_after=timedelta(hours=_number(env, "NOTIFICATION_REPEAT_HOURS", 1, 720)),
        drill_history_table=env["DRILL_HISTORY_TABLE"].strip(),
        thresholds=Thresholds(
            rpo_warning=timedelta(minutes=rpo_warning),
            rpo_critical=timedelta(minutes=rpo_critical),
            snapshot_max_age={kind: timedelta(days=float(days)) for kind, days in ages.items()},
            dr_lag_warning=timedelta(hours=dr_warning),
            dr_lag_critical=timedelta(hours=dr_critical),
            quota_warning_percent=_number(env, "QUOTA_WARNING_PERCENT", 1, 100),
            drill_max_age=timedelta(days=_number(env, "DRILL_MAX_AGE_DAYS", 1, 3660)),
        ),
    )
