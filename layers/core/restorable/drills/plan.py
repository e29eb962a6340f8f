"""Restore drills, the pure part: the request, the temporary resources' names and tags, the targets
and the poll backoff. No boto3 here (the state is in ``state``, the verdict in ``verdict``, the I/O
in ``steps`` through ``ports``).

A drill restores a recovery point of a protected database to a temporary database, waits until it
is available, checks it, measures RTO and RPO against the targets, always deletes what it created,
and records what happened.
"""

from __future__ import annotations

import enum
import hashlib
import math
import re
from datetime import UTC, datetime, timedelta
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .. import tags as tag_keys
from ..arns import is_arn, parse_arn
from ..errors import InvalidRequestError
from ..models import Engine
from ..naming import format_timestamp
from ..validation import describe_problems
from .cache_plan import CacheDrillChecks

# Outcomes recorded in the drill history table; verification counts DRILL_PASSED only.
DRILL_PASSED: Final = "passed"
DRILL_FAILED: Final = "failed"

MAX_DB_IDENTIFIER_LENGTH = 63
# A cluster's writer instance is named "{cluster}-i1": the cluster name leaves room for it.
CLUSTER_INSTANCE_SUFFIX = "-i1"
_DB_IDENTIFIER = re.compile(r"^[a-z](?!.*--)[a-z0-9-]{0,62}(?<!-)$")
_DIGEST_LENGTH = 10


class DrillMode(enum.Enum):
    SNAPSHOT = "snapshot"
    PITR = "pitr"
    CROSS_REGION = "cross-region"
    BACKUP = "backup"


# The modes each engine drills (an engine missing here has no drills yet).
ENGINE_MODES: Final = {
    Engine.RDS: frozenset({DrillMode.SNAPSHOT, DrillMode.PITR, DrillMode.CROSS_REGION}),
    # A table's cross-region drill imports its newest export in the DR Region's bucket.
    Engine.DYNAMODB: frozenset({DrillMode.PITR, DrillMode.BACKUP, DrillMode.CROSS_REGION}),
    # A cache snapshot restores in its own Region only; the cross-Region path is an S3 export.
    Engine.ELASTICACHE: frozenset({DrillMode.SNAPSHOT}),
}
# The service an ARN names, for a request whose source is an ARN and that names no engine.
_ENGINE_OF_SERVICE: Final = {engine.value: engine for engine in Engine}


# Default targets: RTO per mode, RPO under one hour (docs/drills.md, "RTO and RPO").
# A DynamoDB backup restore is held to the snapshot restore's target.
RTO_TARGET_SECONDS = {
    DrillMode.PITR: 30 * 60,
    DrillMode.SNAPSHOT: 60 * 60,
    DrillMode.BACKUP: 60 * 60,
    DrillMode.CROSS_REGION: 4 * 60 * 60,
}
RPO_TARGET_SECONDS = 60 * 60
# The RPO target is about continuous backups (PITR); snapshot drills report their RPO and judge it only
# when the request sets ``targets.rpo_seconds``.
RPO_ENFORCED_BY_DEFAULT = frozenset({DrillMode.PITR})
# The restore may take this many times the RTO target before the drill gives up (the RTO check fails
# long before; the extra time measures how late the restore really is).
DEADLINE_FACTOR = 2
# Temporary resources expire this long after the deadline: the janitor deletes them if a drill died.
EXPIRY_MARGIN = timedelta(hours=2)

# Poll backoff: the first poll after FIRST_POLL_SECONDS, then every wait is BACKOFF_FRACTION of the time
# elapsed so far (the elapsed time grows by 1.5x a turn), capped at MAX_POLL_SECONDS and at the deadline.
# Polls (3 state transitions each) grow with log(restore time) until the cap; the price is resolution: the
# moment "available" is observed at most BACKOFF_FRACTION x elapsed (or MAX_POLL_SECONDS) after it happened.
# The report states that resolution next to the RTO.
FIRST_POLL_SECONDS = 60
BACKOFF_FRACTION = 0.5
MAX_POLL_SECONDS = 900


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SnapshotSelector(_Strict):
    """Which snapshot: a named one (identifier or ARN), or the newest managed one (of a kind)."""

    identifier: str | None = Field(default=None, min_length=1, max_length=2048)
    kind: str | None = Field(default=None, min_length=1, max_length=64)

    @model_validator(mode="after")
    def _one_way(self) -> SnapshotSelector:
        if self.identifier is not None and self.kind is not None:
            raise ValueError("give 'identifier' (a named snapshot) or 'kind' (the newest of a kind), not both")
        return self


class QueryCheck(_Strict):
    """A query returning one number, e.g. ``select count(*) from orders``, with an optional minimum."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    sql: str = Field(min_length=1, max_length=4000)
    min_value: float | None = None


class FreshnessCheck(_Strict):
    """A query returning the newest data time, e.g. ``select max(updated_at) from orders``: data-level RPO."""

    name: str = Field(default="freshness", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    sql: str = Field(min_length=1, max_length=4000)
    max_age_seconds: int | None = Field(default=None, gt=0)


class SqlChecks(_Strict):
    """SQL checks on the restored database. Credentials come from Secrets Manager, never from the input.

    ``secret_arn`` names a secret holding ``{"username": .., "password": ..}``; without it the restored
    instance's managed master user secret is used (instances are restored with one).
    """

    database: str = Field(min_length=1, max_length=128)
    secret_arn: str | None = Field(default=None, pattern=r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+")
    queries: list[QueryCheck] = Field(default_factory=list, max_length=20)
    freshness: FreshnessCheck | None = None
    tls: Literal["require", "disable"] = "require"
    connect_timeout_seconds: int = Field(default=10, ge=1, le=60)

    @model_validator(mode="after")
    def _something_to_run(self) -> SqlChecks:
        if not self.queries and self.freshness is None:
            raise ValueError("give at least one query or a freshness check")
        names = [q.name for q in self.queries] + ([self.freshness.name] if self.freshness else [])
        if len(names) != len(set(names)):
            raise ValueError("check names must be unique")
        return self


class AttributeValue(_Strict):
    """One key attribute's value, in DynamoDB's typed form: ``{"S": "order#1"}``, ``{"N": "42"}`` or ``{"B": ..}``."""

    S: str | None = Field(default=None, max_length=2048)
    N: str | None = Field(default=None, pattern=r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")
    B: str | None = Field(default=None, max_length=2048, description="base64")

    @model_validator(mode="after")
    def _one_type(self) -> AttributeValue:
        if sum(value is not None for value in (self.S, self.N, self.B)) != 1:
            raise ValueError("a key attribute is exactly one of S, N or B")
        return self


class TableFreshness(_Strict):
    """The newest value of ``attribute`` (e.g. ``updated_at``) against the restore time: data-level RPO."""

    name: str = Field(default="freshness", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    attribute: str = Field(min_length=1, max_length=255)
    # How the attribute holds a time: an ISO-8601 string, or a number of seconds / milliseconds since the epoch.
    format: Literal["iso8601", "epoch_seconds", "epoch_milliseconds"] = "iso8601"
    max_age_seconds: int | None = Field(default=None, gt=0)


class TableChecks(_Strict):
    """Checks on a restored DynamoDB table (API calls the drill function makes; docs/drills.md for their cost).

    ``count``: "scan" counts every item (a paginated Scan with Select=COUNT, exact, it reads the whole table);
    "describe" reads DescribeTable's ItemCount (free, but DynamoDB updates it about every six hours, so a table
    restored minutes ago may report 0 or an old count).
    """

    min_items: int | None = Field(default=None, ge=0)
    count: Literal["scan", "describe"] = "scan"
    keys: list[dict[str, AttributeValue]] = Field(default_factory=list, max_length=100)
    freshness: TableFreshness | None = None

    @model_validator(mode="after")
    def _something_to_check(self) -> TableChecks:
        if self.min_items is None and not self.keys and self.freshness is None:
            raise ValueError("give min_items, keys or freshness")
        if any(not key for key in self.keys):
            raise ValueError("a key names at least its partition key attribute")
        return self


class Checks(_Strict):
    sql: SqlChecks | None = None
    table: TableChecks | None = None
    cache: CacheDrillChecks | None = None


class Targets(_Strict):
    """Overrides of the default targets (``RTO_TARGET_SECONDS``, ``RPO_TARGET_SECONDS``), in seconds."""

    rto_seconds: int | None = Field(default=None, gt=0, le=24 * 3600)
    rpo_seconds: int | None = Field(default=None, gt=0)


class DrillRequest(_Strict):
    """The state machine's input."""

    source: str = Field(min_length=1, max_length=2048, description="identifier or ARN of the protected resource")
    # Which engine the source lives in; without it, the service of an ARN source, else RDS (the first engine,
    # so that requests written before other engines had drills keep their meaning).
    engine: Engine | None = None
    mode: DrillMode
    snapshot: SnapshotSelector | None = None
    # DynamoDB's backup mode: a named backup (its ARN) or the newest managed one of a kind (weekly by default).
    backup: SnapshotSelector | None = None
    # DynamoDB's cross-region mode: a named export (its ARN); without it the newest completed one of this stack.
    export_arn: str | None = Field(
        default=None, pattern=r"^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:\d{12}:table/[A-Za-z0-9_.-]+/export/[A-Za-z0-9-]+$"
    )
    restore_time: datetime | Literal["latest"] | None = None
    instance_class: str | None = Field(default=None, pattern=r"^db\.[a-z0-9]+\.[a-z0-9]+$")
    checks: Checks = Field(default_factory=Checks)
    targets: Targets = Field(default_factory=Targets)

    @field_validator("restore_time")
    @classmethod
    def _aware(cls, value: datetime | str | None) -> datetime | str | None:
        if isinstance(value, datetime) and value.tzinfo is None:
            raise ValueError("restore_time must carry a time zone (e.g. 2026-11-22T02:00:00Z)")
        return value

    @model_validator(mode="after")
    def _fields_fit_the_mode(self) -> DrillRequest:
        engine = self.source_engine
        modes = ENGINE_MODES.get(engine, frozenset())
        if self.mode not in modes:
            known = ", ".join(sorted(m.value for m in modes)) or "none yet"
            raise ValueError(f"mode '{self.mode.value}' is not a mode of {engine.value} drills (known: {known})")
        if self.snapshot is not None and self.mode not in (DrillMode.SNAPSHOT, DrillMode.CROSS_REGION):
            raise ValueError(f"'snapshot' applies to the snapshot and cross-region modes, not {self.mode.value}")
        if self.backup is not None and self.mode is not DrillMode.BACKUP:
            raise ValueError(f"'backup' applies to the backup mode, not {self.mode.value}")
        if self.export_arn is not None and (engine is not Engine.DYNAMODB or self.mode is not DrillMode.CROSS_REGION):
            raise ValueError("'export_arn' applies to the cross-region mode of DynamoDB drills")
        if self.snapshot is not None and engine is Engine.DYNAMODB:
            raise ValueError("'snapshot' applies to RDS drills; a DynamoDB cross-region drill takes 'export_arn'")
        if self.checks.sql is not None and engine is not Engine.RDS:
            raise ValueError(f"'checks.sql' applies to RDS drills, not {engine.value}")
        if self.checks.table is not None and engine is not Engine.DYNAMODB:
            raise ValueError(f"'checks.table' applies to DynamoDB drills, not {engine.value}")
        if self.instance_class is not None and engine is not Engine.RDS:
            raise ValueError(f"'instance_class' applies to RDS drills, not {engine.value}")
        if self.checks.cache is not None and engine is not Engine.ELASTICACHE:
            raise ValueError(f"'checks.cache' applies to ElastiCache drills, not {engine.value}")
        if self.mode is not DrillMode.PITR and self.restore_time is not None:
            raise ValueError("'restore_time' applies to the pitr mode only")
        return self

    @property
    def source_engine(self) -> Engine:
        """The engine the source lives in (``engine``, or the service of an ARN source, or RDS)."""
        if self.engine is not None:
            return self.engine
        if is_arn(self.source):
            try:
                service = parse_arn(self.source, field="source").service
            except InvalidRequestError:
                return Engine.RDS  # the planner names the problem with the ARN
            return _ENGINE_OF_SERVICE.get(service, Engine.RDS)
        return Engine.RDS

    @property
    def selector(self) -> SnapshotSelector:
        return self.snapshot or self.backup or SnapshotSelector()

    @property
    def restore_to(self) -> datetime | None:
        """The requested point in time, or None for the latest restorable time."""
        return self.restore_time if isinstance(self.restore_time, datetime) else None


def parse_drill_request(event: object) -> DrillRequest:
    if not isinstance(event, dict):
        raise InvalidRequestError(f"drill input must be a JSON object, got {type(event).__name__}")
    try:
        return DrillRequest.model_validate(event)
    except ValidationError as exc:
        raise InvalidRequestError(f"invalid drill input: {describe_problems(exc, top='input')}") from exc


def drill_identifier(source_identifier: str, execution_id: str) -> str:
    """A valid RDS identifier, unique per execution: ``drill-{source}-{digest of the execution}``.

    At most 60 characters, so that a cluster's instance (``-i1``) stays within RDS's 63.
    """
    digest = hashlib.sha256(execution_id.encode()).hexdigest()[:_DIGEST_LENGTH]
    stem = re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9-]", "-", source_identifier.lower())).strip("-")
    room = MAX_DB_IDENTIFIER_LENGTH - len(CLUSTER_INSTANCE_SUFFIX) - len("drill-") - 1 - _DIGEST_LENGTH
    stem = stem[:room].rstrip("-")
    return f"drill-{stem}-{digest}" if stem else f"drill-{digest}"


def is_valid_db_identifier(identifier: str) -> bool:
    return bool(_DB_IDENTIFIER.match(identifier))


def drill_tags(stack_name: str, source_arn: str, execution_id: str, expires_at: datetime) -> dict[str, str]:
    """Tags every temporary resource carries. Never ``restorable:policy``: a drill is not protected."""
    return {
        tag_keys.MANAGED_BY: stack_name,
        tag_keys.KIND: tag_keys.DRILL_KIND,
        tag_keys.EXPIRES_AT: format_timestamp(expires_at),
        tag_keys.SOURCE: source_arn,
        tag_keys.DRILL_EXECUTION: execution_id,
    }


def is_drill_resource(tags: dict[str, str], stack_name: str) -> bool:
    """Positive proof that a database is a temporary drill resource of this stack."""
    return (
        tags.get(tag_keys.MANAGED_BY) == stack_name
        and tags.get(tag_keys.KIND) == tag_keys.DRILL_KIND
        and tag_keys.POLICY not in tags
    )


def rto_target_seconds(mode: DrillMode, targets: Targets) -> int:
    return targets.rto_seconds or RTO_TARGET_SECONDS[mode]


def rpo_target_seconds(mode: DrillMode, targets: Targets) -> int | None:
    if targets.rpo_seconds is not None:
        return targets.rpo_seconds
    return RPO_TARGET_SECONDS if mode in RPO_ENFORCED_BY_DEFAULT else None


def restore_deadline(started_at: datetime, rto_seconds: int) -> datetime:
    return started_at + timedelta(seconds=DEADLINE_FACTOR * rto_seconds)


def resource_expiry(deadline: datetime) -> datetime:
    return deadline + EXPIRY_MARGIN


def next_poll_wait(elapsed_seconds: float, remaining_seconds: float) -> int:
    """Seconds to wait before the next status poll (at least 1; never past the deadline)."""
    wait = max(FIRST_POLL_SECONDS, math.ceil(elapsed_seconds * BACKOFF_FRACTION))
    wait = min(wait, MAX_POLL_SECONDS, math.ceil(max(remaining_seconds, 1)))
    return max(1, int(wait))


def parse_time(value: object) -> datetime | None:
    """An ISO-8601 time from the state (Step Functions' ``StartTime``, our own timestamps), in UTC."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def iso(moment: datetime) -> str:
    """ISO-8601 UTC with a 'Z', millisecond precision (timings in reports and the history table)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
