"""Settings of the verification function: thresholds, the alert topic and the state tables."""

from __future__ import annotations

from datetime import timedelta
from functools import cached_property
from typing import Annotated, Self

from pydantic import BeforeValidator, field_validator, model_validator

from ..settings import CoreSettings, number, problem, variable
from .checks import Thresholds

Minutes = Annotated[float, BeforeValidator(number(1, 1440))]
Hours = Annotated[float, BeforeValidator(number(1, 720))]
Days = Annotated[float, BeforeValidator(number(1, 3660))]
Percent = Annotated[float, BeforeValidator(number(1, 100))]


class VerifySettings(CoreSettings):
    # Verification always reports to the topic, so here it is required.
    alert_topic_arn: str = variable("ALERT_TOPIC_ARN")
    notification_state_table: str = variable("NOTIFICATION_STATE_TABLE")
    notification_repeat_hours: Hours = variable("NOTIFICATION_REPEAT_HOURS")
    drill_history_table: str = variable("DRILL_HISTORY_TABLE", empty_means="to turn off")
    rpo_warning_minutes: Minutes = variable("RPO_WARNING_MINUTES")
    rpo_critical_minutes: Minutes = variable("RPO_CRITICAL_MINUTES")
    dr_lag_warning_hours: Hours = variable("DR_LAG_WARNING_HOURS")
    dr_lag_critical_hours: Hours = variable("DR_LAG_CRITICAL_HOURS")
    snapshot_max_age_days: dict[str, float] = variable("SNAPSHOT_MAX_AGE_DAYS", json_value=True)
    quota_warning_percent: Percent = variable("QUOTA_WARNING_PERCENT")
    drill_max_age_days: Days = variable("DRILL_MAX_AGE_DAYS")
    dr_export_bucket: str = variable(
        "DR_EXPORT_BUCKET",
        unset_means="exports to the DR Region are off (a cache whose policy asks for them is then a warning)",
        default="",
    )

    @field_validator("snapshot_max_age_days", mode="before")
    @classmethod
    def _ages(cls, value: object) -> object:
        if not isinstance(value, dict) or not all(
            isinstance(days, int | float) and not isinstance(days, bool) and 0 < days <= 3660 for days in value.values()
        ):
            raise problem("must map kind names to days (1..3660)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.rpo_warning_minutes >= self.rpo_critical_minutes:
            raise problem("RPO_WARNING_MINUTES must be below RPO_CRITICAL_MINUTES")
        if self.dr_lag_warning_hours >= self.dr_lag_critical_hours:
            raise problem("DR_LAG_WARNING_HOURS must be below DR_LAG_CRITICAL_HOURS")
        missing = sorted(self.scheduled_kinds - set(self.snapshot_max_age_days))
        if missing:
            raise problem(f"SNAPSHOT_MAX_AGE_DAYS has no maximum age for scheduled kind(s) {', '.join(missing)}")
        return self

    @property
    def repeat_after(self) -> timedelta:
        return timedelta(hours=self.notification_repeat_hours)

    @cached_property
    def thresholds(self) -> Thresholds:
        return Thresholds(
            rpo_warning=timedelta(minutes=self.rpo_warning_minutes),
            rpo_critical=timedelta(minutes=self.rpo_critical_minutes),
            snapshot_max_age={kind: timedelta(days=days) for kind, days in self.snapshot_max_age_days.items()},
            dr_lag_warning=timedelta(hours=self.dr_lag_warning_hours),
            dr_lag_critical=timedelta(hours=self.dr_lag_critical_hours),
            quota_warning_percent=self.quota_warning_percent,
            drill_max_age=timedelta(days=self.drill_max_age_days),
        )
