"""Pre-deploy recovery points, the pure part: parameters, target selection, the continuation token, verdicts.

A release pipeline (or another CI system) names databases (RDS instances and clusters, DynamoDB
tables, ElastiCache caches); the job takes one recovery point of each (a snapshot, or a table's
on-demand backup) and waits until every one is ``available``. Nothing here calls AWS.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from . import tags as tag_keys
from .arns import RDS_CLUSTER, RDS_INSTANCE, Arn, check_local, is_arn, parse_arn, parse_rds_arn
from .cache_naming import is_valid_snapshot_name
from .engines import ENGINES, profile
from .errors import ConfigurationError, InvalidRequestError
from .models import Database, DatabaseType, Engine, RecoveryPoint
from .naming import format_timestamp, is_valid_snapshot_identifier, parse_timestamp
from .policy import PolicyDocument
from .snapshot_plan import SNAPSHOTTABLE_STATES, UNSNAPSHOTTABLE_ENGINES, snapshot_tags
from .validation import describe_problems

KIND = "predeploy"
DEFAULT_TIME_LIMIT_MINUTES = 60
# CodePipeline gives a whole action 24 hours; leave room for the final report.
MAX_TIME_LIMIT_MINUTES = 23 * 60
MAX_TOKEN_LENGTH = 2048  # CodePipeline's continuationToken limit
TOKEN_VERSION = 1
PENDING_SNAPSHOT_STATES = frozenset({"creating", "pending", "backing-up", "copying"})

DatabaseIdentifier = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z][A-Za-z0-9-]{0,62}$", max_length=63)
]
# A target: a database identifier (an RDS instance or cluster), or the ARN of a DB instance, DB cluster,
# DynamoDB table or ElastiCache cache of this account and Region.
TargetReference = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, pattern=r"^(?:[A-Za-z][A-Za-z0-9-]{0,62}|arn:[^\s]{1,2040})$", max_length=2048
    ),
]
TableName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{3,255}$")]
CacheId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9-]{0,39}$")]
# A backup ARN: arn:partition:dynamodb:region:account:table/{table}/backup/{id}
_BACKUP_ARN = re.compile(
    r"^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:\d{12}:table/(?P<table>[A-Za-z0-9_.-]{3,255})/backup/[A-Za-z0-9.-]{1,64}$"
)
_TABLE_RESOURCE = re.compile(r"^table/(?P<name>[A-Za-z0-9_.-]{3,255})$")
# ElastiCache ARN resource types: replicationgroup:{id}, cluster:{id}, serverlesscache:{id}.
_CACHE_ARN_TYPES = {
    "replicationgroup": DatabaseType.CACHE_REPLICATION_GROUP,
    "cluster": DatabaseType.CACHE_CLUSTER,
    "serverlesscache": DatabaseType.SERVERLESS_CACHE,
}
RequestId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:/=+@-]{0,127}$")]


class FailureType(enum.Enum):
    """CodePipeline's ``failureDetails.type`` values this job uses."""

    JOB_FAILED = "JobFailed"
    CONFIGURATION_ERROR = "ConfigurationError"
    PERMISSION_ERROR = "PermissionError"
    SYSTEM_UNAVAILABLE = "SystemUnavailable"


class PredeployError(Exception):
    """The job cannot succeed; ``failure_type`` tells CodePipeline what kind of failure it is."""

    def __init__(self, failure_type: FailureType, message: str) -> None:
        super().__init__(message)
        self.failure_type = failure_type


class NamedTarget(BaseModel):
    """A target named by its type: ``{"table": "orders"}`` (a DynamoDB table) or ``{"cache": "sessions"}``
    (an ElastiCache replication group, cluster or serverless cache)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    table: TableName | None = None
    cache: CacheId | None = None

    @model_validator(mode="after")
    def _names_one(self) -> NamedTarget:
        if (self.table is None) == (self.cache is None):
            raise ValueError("name exactly one of 'table' or 'cache'")
        return self

    @property
    def engine(self) -> Engine:
        return Engine.DYNAMODB if self.table is not None else Engine.ELASTICACHE

    @property
    def identifier(self) -> str:
        return self.table if self.table is not None else str(self.cache)

    @property
    def label(self) -> str:
        return f"table '{self.table}'" if self.table is not None else f"cache '{self.cache}'"


TargetSpec = TargetReference | NamedTarget


def target_label(target: TargetSpec) -> str:
    """How a target is named in messages and looked up in ``named``: the reference itself, or its type and name."""
    return target.label if isinstance(target, NamedTarget) else target


class PredeployParameters(BaseModel):
    """``UserParameters`` of the pipeline action (JSON), also the body of a direct invocation.

    ``targets`` names DB instance or DB cluster identifiers, ARNs (of a DB instance, DB cluster, DynamoDB
    table or ElastiCache cache), or ``{"table": ...}`` / ``{"cache": ...}``; ``policy`` selects every
    protected database of every engine with that ``restorable:policy`` tag; at least one of them is needed.
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    targets: list[TargetSpec] = Field(default_factory=list, max_length=100)
    policy: str | None = Field(default=None, min_length=1, max_length=64)
    wait: bool = True
    time_limit_minutes: int = Field(default=DEFAULT_TIME_LIMIT_MINUTES, ge=1, le=MAX_TIME_LIMIT_MINUTES)

    @model_validator(mode="after")
    def _names_a_target(self) -> PredeployParameters:
        if not self.targets and self.policy is None:
            raise ValueError("name at least one target: 'targets' (database identifiers) or 'policy' (a policy name)")
        return self


class DirectRequest(PredeployParameters):
    """A direct invocation (``aws lambda invoke``): the parameters, plus an optional idempotency key.

    ``request_id`` plays the role of the CodePipeline job id: the same id never creates a
    second snapshot of a database. Without it, the Lambda request id is used.
    """

    request_id: RequestId | None = None


class ContinueRequest(BaseModel):
    """A direct invocation that continues waiting: ``{"continuation_token": "..."}``."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    continuation_token: str = Field(min_length=1, max_length=MAX_TOKEN_LENGTH)


def parse_user_parameters(text: str | None) -> PredeployParameters:
    """Parse the action's ``UserParameters``; ``ConfigurationError`` naming the problem otherwise."""
    if text is None or not text.strip():
        raise ConfigurationError(
            'UserParameters is empty: give JSON naming the targets, e.g. {"targets": ["orders-db"]}'
        )
    try:
        raw: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"UserParameters is not valid JSON: {exc.msg} at column {exc.colno}") from exc
    if not isinstance(raw, dict):
        raise ConfigurationError(f"UserParameters must be a JSON object, got {type(raw).__name__}")
    try:
        return PredeployParameters.model_validate(raw)
    except ValidationError as exc:
        raise ConfigurationError(f"invalid UserParameters: {describe_problems(exc, top='(top level)')}") from exc


def parse_direct_request(event: object) -> DirectRequest | ContinueRequest:
    """Parse a direct invocation's payload; ``ConfigurationError`` naming the problem otherwise."""
    if not isinstance(event, dict):
        raise ConfigurationError(f"pre-deploy request must be a JSON object, got {type(event).__name__}")
    model: type[DirectRequest] | type[ContinueRequest] = (
        ContinueRequest if "continuation_token" in event else DirectRequest
    )
    try:
        return model.model_validate(event)
    except ValidationError as exc:
        raise ConfigurationError(f"invalid pre-deploy request: {describe_problems(exc, top='(top level)')}") from exc


class Slot(enum.Enum):
    """Where the token lists a recovery point, and what names it there (the field names are the token's)."""

    DB = "db"  # DB snapshot identifiers
    CLUSTER = "cluster"  # DB cluster snapshot identifiers
    TABLE = "table"  # DynamoDB backup ARNs: backup names are not unique, the ARN is
    CACHE = "cache"  # ElastiCache snapshot names (replication groups and clusters)
    SERVERLESS = "serverless"  # ElastiCache serverless cache snapshot names (another API)

    @property
    def engine(self) -> Engine:
        return {Slot.DB: Engine.RDS, Slot.CLUSTER: Engine.RDS, Slot.TABLE: Engine.DYNAMODB}.get(
            self, Engine.ELASTICACHE
        )

    @classmethod
    def of(cls, point_type: DatabaseType) -> Slot:
        if point_type is DatabaseType.INSTANCE:
            return cls.DB
        if point_type is DatabaseType.CLUSTER:
            return cls.CLUSTER
        if point_type is DatabaseType.SERVERLESS_CACHE:
            return cls.SERVERLESS
        return cls.TABLE if point_type is DatabaseType.TABLE else cls.CACHE


@dataclass(frozen=True)
class PointReference:
    """One recovery point the token waits for: its slot, and its identifier (a backup's ARN for a table)."""

    slot: Slot
    value: str

    @classmethod
    def of(cls, point: RecoveryPoint) -> PointReference:
        slot = Slot.of(point.type)
        return cls(slot, point.arn if slot is Slot.TABLE else point.identifier)

    @property
    def key(self) -> tuple[Slot, str]:
        """ARNs compare exactly; RDS and ElastiCache identifiers without case."""
        return (self.slot, self.value if self.slot is Slot.TABLE else self.value.lower())

    @property
    def source(self) -> str:
        """The database the point was taken of, read from its identifier (or a backup ARN's table)."""
        if self.slot is Slot.TABLE:
            match = _BACKUP_ARN.match(self.value)
            return match["table"] if match else self.value
        return source_of(self.value)

    @property
    def noun(self) -> str:
        return "backup" if self.slot is Slot.TABLE else "snapshot"

    @property
    def resource(self) -> str:
        return {Slot.TABLE: "table", Slot.CACHE: "cache", Slot.SERVERLESS: "cache"}.get(self.slot, "database")

    def problem(self) -> str | None:
        if self.slot is Slot.TABLE:
            return None if _BACKUP_ARN.match(self.value) else f"'{self.value}' is not a DynamoDB backup ARN"
        valid = is_valid_snapshot_name if self.slot.engine is Engine.ELASTICACHE else is_valid_snapshot_identifier
        if not valid(self.value) or f"-{KIND}-" not in self.value:
            return f"'{self.value}' is not a pre-deploy snapshot identifier"
        return None


class Progress(BaseModel):
    """The continuation token: what a later invocation needs to carry on, and nothing else.

    It names the job, the deadline and the recovery points (by slot: ``db``, ``cluster``, ``table``,
    ``cache``, ``serverless``). A continued call trusts it only after checking it (``decode``) and that the points it
    names are this stack's pre-deploy points (and, where points take tags, this job's).
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    v: int = Field(ge=TOKEN_VERSION, le=TOKEN_VERSION)
    job: RequestId
    deadline: str
    limit: int = Field(ge=1, le=MAX_TIME_LIMIT_MINUTES)
    db: list[str] = Field(default_factory=list)
    cluster: list[str] = Field(default_factory=list)
    table: list[str] = Field(default_factory=list)
    cache: list[str] = Field(default_factory=list)
    serverless: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Progress:
        if parse_timestamp(self.deadline) is None:
            raise ValueError("deadline is not an ISO-8601 UTC time")
        references = self.references()
        if not references:
            raise ValueError("names no snapshot")
        for reference in references:
            problem = reference.problem()
            if problem:
                raise ValueError(problem)
        if len({r.key for r in references}) != len(references):
            raise ValueError("names a snapshot twice")
        return self

    @property
    def deadline_at(self) -> datetime:
        moment = parse_timestamp(self.deadline)
        assert moment is not None  # checked by the validator
        return moment

    def references(self) -> list[PointReference]:
        return [PointReference(slot, value) for slot in Slot for value in getattr(self, slot.value)]

    def snapshot_ids(self) -> list[PointReference]:
        """The token's points (the name the RDS-only callers knew)."""
        return self.references()

    def of_engine(self, engine: Engine) -> list[PointReference]:
        return [r for r in self.references() if r.slot.engine is engine]

    def encode(self) -> str:
        # Empty table and cache slots are left out: a token of RDS snapshots reads as it always did.
        empty = {slot.value for slot in (Slot.TABLE, Slot.CACHE, Slot.SERVERLESS) if not getattr(self, slot.value)}
        text = json.dumps(self.model_dump(exclude=empty), separators=(",", ":"), sort_keys=True)
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str, *, job_id: str | None) -> Progress:
        """Check a token on every continued call; ``job_id`` (when known) must be the token's job."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            raise PredeployError(FailureType.JOB_FAILED, "continuation token is empty or too long")
        try:
            text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            progress = cls.model_validate(json.loads(text))
        except (binascii.Error, UnicodeDecodeError, json.JSONDecodeError, ValueError) as exc:
            detail = (
                describe_problems(exc, top="(top level)")
                if isinstance(exc, ValidationError)
                else "not a token this function issued"
            )
            raise PredeployError(FailureType.JOB_FAILED, f"invalid continuation token: {detail}") from exc
        if job_id is not None and progress.job != job_id:
            raise PredeployError(
                FailureType.JOB_FAILED, f"continuation token belongs to job {progress.job}, not to job {job_id}"
            )
        return progress


@dataclass(frozen=True)
class Target:
    """A database to snapshot, with the snapshot (or table backup) it gets if none exists yet for this job."""

    database: Database
    snapshot_id: str
    tags: Mapping[str, str]

    @property
    def engine(self) -> Engine:
        return self.database.type.engine


class ResolvedTarget(NamedTuple):
    """What a target names: the engine to ask, the identifier to look up, and the type when an ARN says it."""

    engine: Engine
    identifier: str
    type: DatabaseType | None = None


def resolve_target_references(
    targets: Sequence[TargetSpec], region: str, account: str | None
) -> dict[str, ResolvedTarget]:
    """Each target (by ``target_label``) -> what it names, or a ``ConfigurationError`` listing every target
    whose ARN names another partition, Region or account (``account``: the stack's, when known), or is not
    the ARN of a DB instance, DB cluster, DynamoDB table or ElastiCache cache. ARNs are never trimmed to a
    local name. A plain identifier names an RDS instance or cluster, as it always has."""
    resolved: dict[str, ResolvedTarget] = {}
    problems: list[str] = []
    for index, target in enumerate(targets):
        if isinstance(target, NamedTarget):
            resolved[target.label] = ResolvedTarget(target.engine, target.identifier)
            continue
        if not is_arn(target):
            resolved[target] = ResolvedTarget(Engine.RDS, target)
            continue
        field_name = f"targets[{index}]"
        try:
            resolved[target] = _resolve_arn(target, field_name, region, account)
        except InvalidRequestError as exc:
            problems.append(str(exc))
    if problems:
        raise ConfigurationError("; ".join(problems) + "; nothing was created")
    return resolved


def _resolve_arn(reference: str, field_name: str, region: str, account: str | None) -> ResolvedTarget:
    arn = parse_arn(reference, field=field_name)
    if arn.service == "dynamodb":
        table = _TABLE_RESOURCE.match(arn.resource)
        if table is None or not arn.region or not arn.account:
            raise InvalidRequestError(f"{field_name}: {reference} is not a DynamoDB table ARN (...:table/<name>)")
        _local(arn, field_name, region, account)
        return ResolvedTarget(Engine.DYNAMODB, table["name"], DatabaseType.TABLE)
    if arn.service == "elasticache":
        cache_type = _CACHE_ARN_TYPES.get(arn.resource_type)
        if cache_type is None or not arn.region or not arn.account:
            wanted = ", ".join(f"'{t}'" for t in _CACHE_ARN_TYPES)
            raise InvalidRequestError(f"{field_name}: {reference} is not an ElastiCache {wanted} ARN")
        _local(arn, field_name, region, account)
        return ResolvedTarget(Engine.ELASTICACHE, arn.resource_name, cache_type)
    if arn.service != "rds":
        raise InvalidRequestError(
            f"{field_name}: {reference} is an ARN of service '{arn.service}': a target is an RDS DB instance "
            "or DB cluster, a DynamoDB table or an ElastiCache cache"
        )
    arn = _local(
        parse_rds_arn(reference, field=field_name, types={RDS_INSTANCE, RDS_CLUSTER}), field_name, region, account
    )
    kind = DatabaseType.CLUSTER if arn.resource_type == RDS_CLUSTER else DatabaseType.INSTANCE
    return ResolvedTarget(Engine.RDS, arn.resource_name, kind)


def _local(arn: Arn, field_name: str, region: str, account: str | None) -> Arn:
    return check_local(arn, field=field_name, region=region, account=account)


def select_targets(
    parameters: PredeployParameters,
    named: Mapping[str, Database | None],
    inventory: Iterable[Database] | None,
    policies: PolicyDocument,
    region: str,
    resolved: Mapping[str, ResolvedTarget] | None = None,
) -> list[Database]:
    """The databases the parameters mean, or a ``ConfigurationError`` listing every problem.

    ``named`` maps each target (by ``target_label``) to what was found (None: nothing); ``resolved``
    says which engine each one names (RDS when absent); ``inventory`` is the Region's databases of
    every engine, needed only when ``policy`` selects by tag.
    """
    problems: list[str] = []
    chosen: dict[tuple[DatabaseType, str], Database] = {}
    for index, target in enumerate(parameters.targets):
        label = target_label(target)
        database = named.get(label)
        engine = resolved[label].engine if resolved and label in resolved else Engine.RDS
        if database is None:
            problems.append(_not_found(target, engine, region))
            continue
        if isinstance(target, str) and is_arn(target) and database.arn != target:
            problems.append(f"targets[{index}]: {target} is not {database.arn}, the database of that name here")
            continue
        chosen[(database.type, database.identifier.lower())] = database
    if parameters.policy is not None:
        # A tagged resource that can never be snapshotted (Memcached) is not selected: the snapshot plan
        # reports it as a finding; named as a target, it is an error.
        selected = [
            d
            for d in inventory or []
            if d.policy_name == parameters.policy and not d.is_cluster_member and not _unsnapshottable(d)
        ]
        if not selected:
            problems.append(f"no database in {region} carries {tag_keys.POLICY}={parameters.policy}")
        for database in selected:
            chosen.setdefault((database.type, database.identifier.lower()), database)
    for database in chosen.values():
        problem = _target_problem(database, policies)
        if problem:
            problems.append(problem)
    if problems:
        raise ConfigurationError("; ".join(problems) + "; nothing was created")
    return sorted(chosen.values(), key=lambda d: (d.identifier.lower(), d.type.value))


_SERVICE_NAMES = {Engine.RDS: "RDS", Engine.DYNAMODB: "DynamoDB", Engine.ELASTICACHE: "ElastiCache"}


def _unsnapshottable(database: Database) -> bool:
    return database.engine.lower() in UNSNAPSHOTTABLE_ENGINES.get(database.type, {})


def _not_found(target: TargetSpec, engine: Engine, region: str) -> str:
    resource = ENGINES[engine].resource
    if engine is Engine.RDS:
        return f"database '{target_label(target)}' not found (no {resource} of that name in {region})"
    service = _SERVICE_NAMES[engine]
    if isinstance(target, NamedTarget):
        return f"{target.label} not found (no {service} {resource} of that name in {region})"
    return f"{service} {resource} {target} not found in {region}"


def _target_problem(database: Database, policies: PolicyDocument) -> str | None:
    name = f"{database.type.value} '{database.identifier}'"
    if _unsnapshottable(database):
        return f"{name} runs {database.engine}, which takes no snapshots: it cannot have a pre-deploy recovery point"
    if database.is_cluster_member:
        return f"{name} is a member of cluster '{database.cluster_identifier}': name the cluster instead"
    if database.type is DatabaseType.CACHE_CLUSTER and database.cluster_identifier:
        return f"{name} is a member of replication group '{database.cluster_identifier}': name the group instead"
    if database.policy_name is None:
        return f"{name} is not protected: tag it {tag_keys.POLICY}=<policy> (e.g. standard)"
    policy = policies.get(database.policy_name)
    if policy is None:
        known = ", ".join(sorted(policies.policies))
        return f"{name}: tag {tag_keys.POLICY}={database.policy_name!r} names no policy (known: {known})"
    if policy.rule_for(KIND) is None:
        return f"{name}: policy '{database.policy_name}' has no '{KIND}' snapshot kind, so no retention to give it"
    return None


def plan_target(database: Database, policies: PolicyDocument, stack_name: str, job_id: str, now: datetime) -> Target:
    """The snapshot ``database`` gets: named after ``now``, expiring ``now`` + the policy's retention."""
    policy_name = database.policy_name
    policy = policies.get(policy_name) if policy_name else None
    rule = policy.rule_for(KIND) if policy else None
    if policy_name is None or rule is None:  # select_targets rules this out
        raise ConfigurationError(f"{database.identifier}: no '{KIND}' rule in its policy")
    tags = snapshot_tags(
        stack_name=stack_name,
        kind=KIND,
        policy_name=policy_name,
        source_arn=database.arn,
        expires_at=now + timedelta(days=rule.retention_days),
    )
    tags[tag_keys.JOB_ID] = job_id
    expires_at = now + timedelta(days=rule.retention_days)
    name = profile(database.type.engine).names.predeploy(
        stack_name=stack_name, database=database, at=now, expires_at=expires_at
    )
    return Target(database=database, snapshot_id=name, tags=tags)


def is_snapshottable(database: Database) -> bool:
    return database.status in SNAPSHOTTABLE_STATES[database.type]


def records_job(point_type: DatabaseType) -> bool:
    """Whether a point of this type carries the job id (a tag); a DynamoDB backup cannot."""
    return profile(point_type.engine).points_take_tags


def belongs_to_job(point: RecoveryPoint, stack_name: str, job_id: str) -> bool:
    """Positive proof that this job took ``point``: its tags name this stack, the kind and the job."""
    return point.managed_by == stack_name and point.job_id == job_id and point.kind == KIND


def trusted_for_job(point: RecoveryPoint, reference: PointReference, stack_name: str, job_id: str) -> bool:
    """Whether a point the token names may count for the job: this job's (by tag), or, where points cannot
    carry the job id, this stack's pre-deploy point of the table the token names (by the name contract)."""
    if records_job(point.type):
        return belongs_to_job(point, stack_name, job_id)
    return (
        point.managed_by == stack_name
        and point.kind == KIND
        and point.source_identifier == reference.source
        and point.source_arn is not None  # the name was made for this very table (digest and head agree)
    )


def new_progress(
    job_id: str, now: datetime, limit_minutes: int, points: Sequence[RecoveryPoint | PointReference]
) -> Progress:
    references = [p if isinstance(p, PointReference) else PointReference.of(p) for p in points]

    def values(slot: Slot) -> list[str]:
        return [r.value for r in references if r.slot is slot]

    return Progress(
        v=TOKEN_VERSION,
        job=job_id,
        deadline=format_timestamp(now + timedelta(minutes=limit_minutes)),
        limit=limit_minutes,
        db=values(Slot.DB),
        cluster=values(Slot.CLUSTER),
        table=values(Slot.TABLE),
        cache=values(Slot.CACHE),
        serverless=values(Slot.SERVERLESS),
    )


def source_of(snapshot_id: str) -> str:
    """The database identifier in ``{source-id}-predeploy-{YYYYMMDDHHMMSS}``."""
    return snapshot_id.rsplit(f"-{KIND}-", 1)[0]


class State(enum.Enum):
    IN_PROGRESS = "in_progress"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class SnapshotState:
    database: str
    type: DatabaseType
    snapshot_id: str
    arn: str
    status: str
    percent_progress: int | None = None
    expires_at: datetime | None = None
    created_now: bool = False

    @classmethod
    def of(cls, point: RecoveryPoint, database: str | None = None, created_now: bool = False) -> SnapshotState:
        return cls(
            database=database or point.source_identifier or source_of(point.identifier),
            type=point.type,
            snapshot_id=point.identifier,
            arn=point.arn,
            status=point.status,
            percent_progress=100 if point.is_available else point.percent_progress,
            expires_at=point.expires_at,
            created_now=created_now,
        )

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "database": self.database,
            "type": self.type.value,
            "snapshot": self.snapshot_id,
            "arn": self.arn,
            "status": self.status,
            "created_now": self.created_now,
        }
        if self.percent_progress is not None:
            data["percent_progress"] = self.percent_progress
        if self.expires_at is not None:
            data["expires_at"] = format_timestamp(self.expires_at)
        return data


@dataclass(frozen=True)
class PredeployStatus:
    """Where the job stands after one invocation: what to tell CodePipeline (or the direct caller)."""

    job_id: str
    state: State
    message: str
    snapshots: tuple[SnapshotState, ...] = ()
    failure_type: FailureType | None = None
    progress: Progress | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def failed(
        cls, job_id: str, failure: PredeployError | ConfigurationError, snapshots: Iterable[SnapshotState] = ()
    ) -> PredeployStatus:
        failure_type = failure.failure_type if isinstance(failure, PredeployError) else FailureType.CONFIGURATION_ERROR
        return cls(job_id, State.FAILED, str(failure), tuple(snapshots), failure_type=failure_type)

    @property
    def continuation_token(self) -> str | None:
        return self.progress.encode() if self.state is State.IN_PROGRESS and self.progress else None

    @property
    def percent_complete(self) -> int:
        if not self.snapshots:
            return 0
        return min(s.percent_progress or 0 for s in self.snapshots)

    def output_variables(self) -> dict[str, str]:
        """For the final success: identifiers and ARNs, comma-separated, in the same order."""
        return {
            "SnapshotIdentifiers": ",".join(s.snapshot_id for s in self.snapshots),
            "SnapshotArns": ",".join(s.arn for s in self.snapshots),
            "SnapshotCount": str(len(self.snapshots)),
        }

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "job": "predeploy",
            "job_id": self.job_id,
            "status": self.state.value,
            "ok": self.state is not State.FAILED,
            "message": self.message,
            "percent_complete": self.percent_complete,
            "snapshots": [s.to_dict() for s in self.snapshots],
            **self.details,
        }
        if self.failure_type is not None:
            data["failure_type"] = self.failure_type.value
        if self.state is State.SUCCEEDED:
            data["output_variables"] = self.output_variables()
        token = self.continuation_token
        if token is not None:
            data["continuation_token"] = token
        return data


def evaluate(
    job_id: str,
    expected: Sequence[PointReference],
    found: Iterable[RecoveryPoint],
    progress: Progress,
    stack_name: str,
    now: datetime,
    created_now: frozenset[str] = frozenset(),
) -> PredeployStatus:
    """Compare what the token expects with what exists now: done, failed, timed out, or still waiting.

    ``created_now`` names (lower case) the snapshots this invocation created, for the report.
    """
    by_key = {PointReference.of(p).key: p for p in found}
    states: list[SnapshotState] = []
    problems: list[str] = []
    pending: list[SnapshotState] = []
    for reference in expected:
        point = by_key.get(reference.key)
        source, named = f"{reference.resource} '{reference.source}'", f"{reference.noun} {reference.value}"
        if point is None:
            problems.append(f"{source}: {named} no longer exists (deleted while waiting?)")
            continue
        if not trusted_for_job(point, reference, stack_name, job_id):
            problems.append(f"{source}: {named} was not taken by this job; not trusted")
            continue
        state = SnapshotState.of(point, database=reference.source, created_now=point.identifier.lower() in created_now)
        states.append(state)
        if point.is_available:
            continue
        if point.status in PENDING_SNAPSHOT_STATES:
            pending.append(state)
            continue
        problems.append(f"{source}: {named} is '{point.status}'")
    states.sort(key=lambda s: (s.database.lower(), s.snapshot_id.lower()))
    if problems:
        return PredeployStatus(
            job_id, State.FAILED, "; ".join(problems), tuple(states), failure_type=FailureType.JOB_FAILED
        )
    if not pending:
        return PredeployStatus(job_id, State.SUCCEEDED, _all_available(states), tuple(states))
    waiting = ", ".join(f"{s.snapshot_id} ({_percent(s)})" for s in pending)
    if now.astimezone(UTC) >= progress.deadline_at:
        return PredeployStatus(
            job_id,
            State.FAILED,
            f"time limit of {progress.limit} minutes passed at {progress.deadline}; still creating: {waiting}. "
            "The snapshots are kept and finish on their own; raise time_limit_minutes or rerun the stage",
            tuple(states),
            failure_type=FailureType.JOB_FAILED,
        )
    done = len(states) - len(pending)
    message = f"{done} of {len(states)} snapshots available; waiting for {waiting}"
    return PredeployStatus(job_id, State.IN_PROGRESS, message, tuple(states), progress=progress)


def _percent(state: SnapshotState) -> str:
    return f"{state.percent_progress}%" if state.percent_progress is not None else state.status


def _all_available(states: Sequence[SnapshotState]) -> str:
    return f"{len(states)} pre-deploy snapshot(s) available: " + ", ".join(s.snapshot_id for s in states)
