"""Settings: one validated model per function, read from its environment once at handler entry.

``CoreSettings`` holds what every function gets from the template's ``Globals``; each
function's model extends it with its own variables. A field names its variable with
``variable(...)``, and ``from_environ`` reads every declared variable and validates them
together. A missing, empty or invalid value is a ``ConfigurationError`` naming the variable,
never a silent default: a variable that may be unset or empty says so where it is declared,
with what that means.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from functools import cached_property
from typing import Annotated, Any, Self, cast

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from .errors import ConfigurationError, ScheduleError
from .policy import PolicyDocument, default_policy_text, parse_policy_document
from .prune_plan import BreakerLimits
from .schedule import CronSchedule, validate_timezone
from .validation import describe_problems

AWS_MANAGED_RDS_KEY = "alias/aws/rds"
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
_TABLE_NAME = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
_TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]{1,256}$")


def problem(text: str) -> PydanticCustomError:
    """A validation problem whose message is ``text`` exactly (no "Value error, " prefix)."""
    return PydanticCustomError("setting", "{problem}", {"problem": text})


def variable(
    name: str,
    *,
    json_value: bool = False,
    unset_means: str | None = None,
    empty_means: str | None = None,
    default: Any = ...,
) -> Any:
    """Declare the environment variable a field is read from.

    ``json_value``: the value is a JSON document, decoded before validation.
    ``unset_means``: the variable may be unset or empty (read as ``""``); says what that means.
    ``empty_means``: the variable must be set but may be empty; says what empty means
    ("to ..."), and the error for an unset one repeats it.
    ``default`` serves only models built directly (tests); ``from_environ`` always passes a value.
    """
    extra: dict[str, Any] = {"json": json_value, "unset_means": unset_means, "empty_means": empty_means}
    return Field(default, validation_alias=name, json_schema_extra=extra)


# Settings already validated, by model and the raw values of its variables.
_VALIDATED: dict[tuple[type, tuple[str | None, ...]], EnvironmentSettings] = {}
_VALIDATED_LIMIT = 64


class EnvironmentSettings(BaseModel):
    """Base of every settings model: declared variables in, validated and frozen values out."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_by_alias=True, validate_by_name=True)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Self:
        """Read and validate this model's variables from ``environ`` (default: ``os.environ``).

        A warm function reads the same variables on every invocation: the model validated from the
        same values is given again (it is frozen); any other values are read and validated afresh.
        """
        env = os.environ if environ is None else environ
        key = (cls, tuple(env.get(str(field.validation_alias)) for field in cls.model_fields.values()))
        found = _VALIDATED.get(key)
        if found is not None:
            return cast(Self, found)
        settings = cls._validated(env)
        if len(_VALIDATED) >= _VALIDATED_LIMIT:
            _VALIDATED.clear()
        _VALIDATED[key] = settings
        return settings

    @classmethod
    def _validated(cls, env: Mapping[str, str]) -> Self:
        values: dict[str, Any] = {}
        for field in cls.model_fields.values():
            name = str(field.validation_alias)
            spec = field.json_schema_extra
            assert isinstance(spec, dict), f"field for {name} is not declared with variable()"
            raw = env.get(name)
            text = raw.strip() if raw is not None else ""
            if not text:
                if spec["unset_means"] is not None or (spec["empty_means"] is not None and raw is not None):
                    values[name] = ""
                    continue
                if spec["empty_means"] is not None:
                    raise ConfigurationError(
                        f"environment variable {name} is missing (set it empty {spec['empty_means']})"
                    )
                raise ConfigurationError(f"environment variable {name} is missing or empty")
            if spec["json"]:
                try:
                    values[name] = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise ConfigurationError(f"environment variable {name} is not JSON: {exc.msg}") from exc
            else:
                values[name] = text
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise ConfigurationError(f"invalid settings: {describe_problems(exc, top='environment')}") from exc


def _region(value: str) -> str:
    if not _REGION.match(value):
        raise problem(f"'{value}' is not an AWS Region name")
    return value


def _timezone(value: str) -> str:
    try:
        validate_timezone(value)
    except ScheduleError as exc:
        raise problem(str(exc)) from exc
    return value


def whole_number(minimum: int = 1, maximum: int | None = None) -> Callable[[object], int]:
    """A validator for a whole-number variable (``COPY_MAX_ATTEMPTS``) within the bounds."""

    def check(value: object) -> int:
        text = str(value).strip()
        if (
            isinstance(value, bool)
            or not text.isdigit()
            or int(text) < minimum
            or (maximum is not None and int(text) > maximum)
        ):
            bound = f" and at most {maximum}" if maximum is not None else ""
            raise problem(f"'{text}' must be a whole number at least {minimum}{bound}")
        return int(text)

    return check


def number(low: float, high: float) -> Callable[[object], float]:
    """A validator for a number variable (``RPO_WARNING_MINUTES``) within ``low..high``."""

    def check(value: object) -> float:
        text = str(value).strip()
        try:
            result = float(text)
        except ValueError as exc:
            raise problem(f"'{text}' is not a number") from exc
        if isinstance(value, bool) or not low <= result <= high:
            raise problem(f"{text} is outside {low:g}..{high:g}")
        return result

    return check


Region = Annotated[str, AfterValidator(_region)]
TimeZone = Annotated[str, AfterValidator(_timezone)]


class RegionSettings(EnvironmentSettings):
    """The Region the function runs in (Lambda sets ``AWS_REGION``)."""

    region: Region = variable("AWS_REGION")


class CoreSettings(RegionSettings):
    """What every function reads: the template's ``Globals`` environment."""

    stack_name: str = variable("STACK_NAME")
    dr_region: Region = variable("DR_REGION")
    dr_kms_key_id: str = variable(
        "DR_KMS_KEY_ID", unset_means="DR copies use the DR Region's AWS managed RDS key", default=AWS_MANAGED_RDS_KEY
    )
    # Declared in this order: the schedules are checked in the time zone, the policies against the schedules.
    schedule_timezone: TimeZone = variable("SCHEDULE_TIMEZONE")
    schedule_expressions: dict[str, str] = variable("SNAPSHOT_SCHEDULES", json_value=True)
    policies: PolicyDocument = variable("POLICY_DOCUMENT", empty_means="to use the built-in policies")
    alert_topic_arn: str = variable(
        "ALERT_TOPIC_ARN",
        unset_means="no alert topic: a circuit-breaker trip is an ERROR log line and a metric only",
        default="",
    )

    @field_validator("dr_kms_key_id")
    @classmethod
    def _kms_key(cls, value: str) -> str:
        return value or AWS_MANAGED_RDS_KEY

    @field_validator("schedule_expressions")
    @classmethod
    def _schedules(cls, value: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        timezone = info.data.get("schedule_timezone")
        if timezone is None:
            raise problem("not checked: SCHEDULE_TIMEZONE is invalid")
        for kind, expression in value.items():
            try:
                CronSchedule.parse(expression, timezone)
            except ScheduleError as exc:
                raise problem(f"kind '{kind}': {exc}") from exc
        return value

    @field_validator("policies", mode="before")
    @classmethod
    def _policy_document(cls, value: object, info: ValidationInfo) -> object:
        if isinstance(value, PolicyDocument):
            return value
        if not isinstance(value, str):
            raise problem("must be a policy document (JSON text)")
        kinds = info.data.get("schedule_expressions")
        if kinds is None:
            raise problem("not checked: SNAPSHOT_SCHEDULES is invalid")
        # An unparsable document raises PolicyError, naming the bad field of the document.
        return parse_policy_document(value or default_policy_text(), scheduled_kinds=frozenset(kinds))

    @field_validator("alert_topic_arn")
    @classmethod
    def _topic(cls, value: str) -> str:
        if value and not _TOPIC_ARN.match(value):
            raise problem(f"'{value}' is not an SNS topic ARN")
        return value

    @model_validator(mode="after")
    def _regions_differ(self) -> Self:
        if self.dr_region == self.region:
            raise problem(f"DR_REGION must differ from the source Region ({self.region})")
        return self

    @cached_property
    def schedules(self) -> dict[str, CronSchedule]:
        return {
            kind: CronSchedule.parse(expr, self.schedule_timezone) for kind, expr in self.schedule_expressions.items()
        }

    @property
    def scheduled_kinds(self) -> frozenset[str]:
        return frozenset(self.schedule_expressions)


class SnapshotSettings(CoreSettings):
    """The snapshot function: the core settings only."""


class PredeploySettings(CoreSettings):
    """The pre-deploy function: the core settings only."""


class CopySettings(CoreSettings):
    copy_max_attempts: Annotated[int, BeforeValidator(whole_number(1, 100))] = variable("COPY_MAX_ATTEMPTS")


class PruneSettings(CoreSettings):
    prune_max_share_percent: Annotated[int, BeforeValidator(whole_number(1, 100))] = variable("PRUNE_MAX_SHARE_PERCENT")
    prune_max_count: Annotated[int, BeforeValidator(whole_number(0))] = variable("PRUNE_MAX_COUNT")
    # The holds store of DynamoDB backups (legal holds as records): the prune reads it before deleting any.
    dynamodb_holds_table: str = variable("DYNAMODB_HOLDS_TABLE")

    @field_validator("dynamodb_holds_table")
    @classmethod
    def _holds_table(cls, value: str) -> str:
        if not _TABLE_NAME.match(value):
            raise problem(f"'{value}' is not a DynamoDB table name")
        return value

    @property
    def breaker_limits(self) -> BreakerLimits:
        """The circuit breaker: a share (1-100 percent) and a count (0: no count limit)."""
        return BreakerLimits(max_share=self.prune_max_share_percent / 100, max_count=self.prune_max_count)


_BUCKET_NAME = re.compile(r"^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_KMS_KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:(?P<region>[a-z0-9-]+):\d{12}:key/[A-Za-z0-9-]+$")


def export_bucket(value: str) -> str:
    """An S3 bucket name, or empty (for the DR export bucket: exports off)."""
    if value and not _BUCKET_NAME.match(value):
        raise problem(f"'{value}' is not an S3 bucket name")
    return value


BucketName = Annotated[str, AfterValidator(export_bucket)]


class ExportSettings(CoreSettings):
    """An export to the DR Region: the DR companion stack's export bucket and its KMS key (empty: exports off)."""

    dr_export_bucket: BucketName = variable("DR_EXPORT_BUCKET", empty_means="to turn exports to the DR Region off")
    dr_export_kms_key_arn: str = variable(
        "DR_EXPORT_KMS_KEY_ARN", empty_means="only while DR_EXPORT_BUCKET is empty (exports off)"
    )

    @model_validator(mode="after")
    def _export_key(self) -> Self:
        key = self.dr_export_kms_key_arn
        if not self.dr_export_bucket:
            return self
        match = _KMS_KEY_ARN.match(key)
        if not key:
            raise problem("DR_EXPORT_KMS_KEY_ARN must name the DR bucket's KMS key when DR_EXPORT_BUCKET is set")
        if match is None:
            raise problem(f"DR_EXPORT_KMS_KEY_ARN '{key}' is not a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)")
        if match["region"] != self.dr_region:
            raise problem(f"DR_EXPORT_KMS_KEY_ARN '{key}' is in {match['region']}, not the DR Region {self.dr_region}")
        return self

    @property
    def exports_enabled(self) -> bool:
        return bool(self.dr_export_bucket)


class CacheExportSettings(ExportSettings):
    """The cache export: also the staging bucket in this Region that ElastiCache writes exports to."""

    cache_export_bucket: BucketName = variable("CACHE_EXPORT_BUCKET")

    @property
    def exports_on(self) -> bool:
        return self.exports_enabled
