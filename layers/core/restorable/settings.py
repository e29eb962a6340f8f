"""Settings: a validated model read from the function's environment at handler entry.

Every value comes from ``template.yaml``; a missing or invalid one is a
``ConfigurationError`` naming the variable, never a silent default.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

from .errors import ConfigurationError, ScheduleError
from .policy import PolicyDocument, default_policy_text, parse_policy_document
from .schedule import CronSchedule, validate_timezone

_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
_TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]{1,256}$")
AWS_MANAGED_RDS_KEY = "alias/aws/rds"


@dataclass(frozen=True)
class Settings:
    stack_name: str
    region: str
    dr_region: str
    dr_kms_key_id: str
    schedule_timezone: str
    schedule_expressions: Mapping[str, str]
    policies: PolicyDocument
    alert_topic_arn: str = ""

    @cached_property
    def schedules(self) -> dict[str, CronSchedule]:
        return {
            kind: CronSchedule.parse(expr, self.schedule_timezone) for kind, expr in self.schedule_expressions.items()
        }

    @property
    def scheduled_kinds(self) -> frozenset[str]:
        return frozenset(self.schedule_expressions)


def _required(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"environment variable {name} is missing or empty")
    return value


def _region(environ: Mapping[str, str], name: str) -> str:
    value = _required(environ, name)
    if not _REGION.match(value):
        raise ConfigurationError(f"environment variable {name}: '{value}' is not an AWS Region name")
    return value


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate settings from ``environ`` (default: ``os.environ``)."""
    env = os.environ if environ is None else environ
    stack_name = _required(env, "STACK_NAME")
    region = _region(env, "AWS_REGION")
    dr_region = _region(env, "DR_REGION")
    if dr_region == region:
        raise ConfigurationError(f"DR_REGION must differ from the source Region ({region})")
    timezone = _required(env, "SCHEDULE_TIMEZONE")
    try:
        validate_timezone(timezone)
    except ScheduleError as exc:
        raise ConfigurationError(f"environment variable SCHEDULE_TIMEZONE: {exc}") from exc

    raw_schedules = _required(env, "SNAPSHOT_SCHEDULES")
    try:
        expressions = json.loads(raw_schedules)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"environment variable SNAPSHOT_SCHEDULES is not JSON: {exc.msg}") from exc
    if not isinstance(expressions, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in expressions.items()
    ):
        raise ConfigurationError("environment variable SNAPSHOT_SCHEDULES must map kind names to cron expressions")
    for kind, expression in expressions.items():
        try:
            CronSchedule.parse(expression, timezone)
        except ScheduleError as exc:
            raise ConfigurationError(f"environment variable SNAPSHOT_SCHEDULES: kind '{kind}': {exc}") from exc

    # An empty POLICY_DOCUMENT selects the document shipped in the layer; the variable itself must exist.
    if "POLICY_DOCUMENT" not in env:
        raise ConfigurationError(
            "environment variable POLICY_DOCUMENT is missing (set it empty to use the built-in policies)"
        )
    policy_text = env["POLICY_DOCUMENT"].strip() or default_policy_text()
    policies = parse_policy_document(policy_text, scheduled_kinds=frozenset(expressions))

    # Optional: where alerts (circuit-breaker trips) are published; empty = log and metric only.
    alert_topic_arn = env.get("ALERT_TOPIC_ARN", "").strip()
    if alert_topic_arn and not _TOPIC_ARN.match(alert_topic_arn):
        raise ConfigurationError(f"environment variable ALERT_TOPIC_ARN: '{alert_topic_arn}' is not an SNS topic ARN")

    return Settings(
        stack_name=stack_name,
        region=region,
        dr_region=dr_region,
        dr_kms_key_id=env.get("DR_KMS_KEY_ID", "").strip() or AWS_MANAGED_RDS_KEY,
        schedule_timezone=timezone,
        schedule_expressions=dict(expressions),
        policies=policies,
        alert_topic_arn=alert_topic_arn,
    )


def positive_int(environ: Mapping[str, str] | None, name: str, *, minimum: int = 1, maximum: int | None = None) -> int:
    """A required whole-number function setting (e.g. ``COPY_MAX_ATTEMPTS``), at least ``minimum``."""
    env = os.environ if environ is None else environ
    text = _required(env, name)
    if not text.isdigit() or int(text) < minimum or (maximum is not None and int(text) > maximum):
        bound = f" and at most {maximum}" if maximum is not None else ""
        raise ConfigurationError(
            f"environment variable {name}: '{text}' must be a whole number at least {minimum}{bound}"
        )
    return int(text)
