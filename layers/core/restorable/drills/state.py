"""The drill's state: the JSON the state machine passes from step to step, as typed models.

Each step receives ``{"step": .., "drill": <DrillState>}`` and returns the state with its own part
added. Parts the state machine adds itself (a Catch's ``error``, ``record_start_error``...) are
kept as they came. ``DrillState.to_json`` writes back exactly the fields that were read or set, so
a state survives a step unchanged apart from what the step added.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError, model_validator

from ..arns import parse_arn
from ..errors import InvalidRequestError
from ..models import Engine
from ..validation import describe_problems
from .cache_model import CacheRestoreSpec
from .model import RestoredDatabase
from .plan import DrillMode, DrillRequest, parse_drill_request, parse_time


class _StateModel(BaseModel):
    """A part of the drill state: required fields checked, others kept."""

    model_config = ConfigDict(extra="allow")

    def to_json(self) -> dict[str, JsonValue]:
        return self.model_dump(mode="json", exclude_unset=True)


def _time(value: str) -> datetime:
    moment = parse_time(value)
    assert moment is not None  # the models check their times on entry
    return moment


# The resource types a drill restores from and into (``models.DatabaseType`` values).
ResourceType = Literal["instance", "cluster", "table", "replication-group", "cache-cluster", "serverless-cache"]
# Where the checks run: "network", the check function (in the VPC that reaches the restored database);
# "api", the drill function (the checks are AWS API calls: no VPC needed).
ChecksVia = Literal["network", "api"]


class PlanSource(_StateModel):
    type: ResourceType
    identifier: str = Field(min_length=1)
    arn: str = Field(min_length=1)
    engine: str
    engine_version: str
    encrypted: bool


class PlanRecoveryPoint(_StateModel):
    type: Literal["snapshot", "point-in-time", "backup", "export"]
    identifier: str | None = None
    arn: str | None = None
    region: str = Field(min_length=1)
    created_at: str | None = None
    encrypted: bool = False
    engine_version: str | None = None
    allocated_storage: int = 0
    kind: str | None = None


class KeyAttribute(_StateModel):
    name: str = Field(min_length=1)
    type: Literal["S", "N", "B"]
    role: Literal["HASH", "RANGE"]


class TableImportSpec(_StateModel):
    """ImportTable's source: an export's data files (gzip DynamoDB JSON) and the source table's keys."""

    export_arn: str = Field(min_length=1)
    bucket: str = Field(min_length=1)
    # The bucket's account, when the export reports it (ImportTable checks it against the bucket's owner).
    bucket_owner: str = ""
    data_prefix: str = Field(min_length=1)
    key_schema: list[KeyAttribute] = Field(min_length=1, max_length=2)
    # Set by the restore step: the import the poll step follows.
    import_arn: str | None = None


class PlanTarget(_StateModel):
    type: ResourceType
    identifier: str = Field(min_length=1)
    instance_identifier: str | None = None
    instance_class: str | None = Field(default=None, min_length=1)
    region: str = Field(min_length=1)
    # A cache: everything its create call needs (the snapshot's engine, version, node type, shards...).
    cache: CacheRestoreSpec | None = None
    # A table imported from an export: the data files, the source's keys, and the import once started.
    table_import: TableImportSpec | None = None

    @model_validator(mode="after")
    def _cluster_has_instance(self) -> PlanTarget:
        if self.type == "cluster" and not self.instance_identifier:
            raise ValueError("a cluster target needs 'instance_identifier'")
        if self.type in ("replication-group", "serverless-cache") and self.cache is None:
            raise ValueError("a cache target needs 'cache' (the temporary cache's shape)")
        return self


class PlanTargets(_StateModel):
    rto_seconds: int = Field(gt=0)
    rpo_seconds: int | None = None


class DrillPlan(_StateModel):
    """The plan the validate step writes and every later step reads (``$.plan`` in the state machine)."""

    execution_id: str = Field(min_length=1)
    execution_name: str = Field(min_length=1)
    started_at: str = Field(min_length=1)
    # An execution started before drills had engines carries neither: it is an RDS drill checked in the VPC.
    engine: Engine = Engine.RDS
    checks_via: ChecksVia = "network"
    mode: DrillMode
    region: str = Field(min_length=1)
    source: PlanSource
    recovery_point: PlanRecoveryPoint
    restore_time: str | None = None
    recovery_point_time: str = Field(min_length=1)
    targeted_time: str = Field(min_length=1)
    target: PlanTarget
    tags: dict[str, str] = Field(min_length=1)
    targets: PlanTargets
    deadline: str = Field(min_length=1)
    expires_at: str = Field(min_length=1)

    @model_validator(mode="after")
    def _times_parse(self) -> DrillPlan:
        for name in ("started_at", "deadline", "recovery_point_time", "targeted_time"):
            if parse_time(getattr(self, name)) is None:
                raise ValueError(f"'{name}' is not an ISO-8601 time")
        if self.restore_time is not None and parse_time(self.restore_time) is None:
            raise ValueError("'restore_time' is not an ISO-8601 time")
        return self

    @property
    def started(self) -> datetime:
        return _time(self.started_at)

    @property
    def deadline_time(self) -> datetime:
        return _time(self.deadline)

    @property
    def targeted(self) -> datetime:
        return _time(self.targeted_time)

    @property
    def recovery_point_moment(self) -> datetime:
        return _time(self.recovery_point_time)

    @property
    def restore_to(self) -> datetime | None:
        """The point in time a pitr drill restores to; None for the latest restorable time."""
        return parse_time(self.restore_time) if self.restore_time else None

    @property
    def is_cluster(self) -> bool:
        return self.target.type == "cluster"


class PollState(_StateModel):
    attempt: int = Field(default=0, ge=0)
    wait_seconds: int = Field(default=0, ge=0)
    available: bool = False
    status: str | None = None
    # became available at most this long before it was seen: the RTO's resolution
    resolution_seconds: int | None = None


class Timeline(_StateModel):
    started_at: str | None = None
    validated_at: str | None = None
    restore_started_at: str | None = None
    available_at: str | None = None
    checked_at: str | None = None
    cleaned_up_at: str | None = None
    finished_at: str | None = None


class RestoreNetwork(_StateModel):
    subnet_group: str
    security_groups: list[str]


class RestoreState(_StateModel):
    network: RestoreNetwork


class CheckResult(_StateModel):
    name: str = Field(min_length=1)
    kind: Literal["api", "sql", "table", "cache"]
    status: Literal["passed", "failed", "error"]
    detail: str = ""
    value: float | str | None = None
    duration_ms: float | None = None

    @property
    def passed(self) -> bool:
        return self.status == "passed"


class ChecksState(_StateModel):
    results: list[CheckResult] = Field(default_factory=list)
    passed: bool = False
    data_rpo_seconds: float | None = None
    finished_at: str | None = None


class CleanupState(_StateModel):
    target: str
    result: str
    remaining: list[str] = Field(default_factory=list)


class StepError(_StateModel):
    """What a Catch puts in the state: the error's name and its cause (a Lambda error's JSON)."""

    Error: str = "Error"
    Cause: str | None = None


class RecordState(_StateModel):
    outcome: Literal["passed", "failed"]
    reasons: list[str]
    rto_seconds: float | None
    rpo_seconds: float | None
    report: dict[str, str]
    subject: str
    summary: str


class HistoryItem(BaseModel):
    """The drill history table's item (``DrillHistoryTable``: ``source_arn`` + ``started_at``); measures
    and the RPO target are absent when there are none."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source_arn: str
    started_at: str
    finished_at: str | None
    execution_id: str
    source_identifier: str
    mode: str
    region: str
    recovery_point: str
    recovery_point_time: str
    outcome: Literal["passed", "failed"]
    reasons: list[str]
    rto_target_seconds: int
    report_uri: str
    rpo_target_seconds: int | None = None
    rto_seconds: float | None = None
    rpo_seconds: float | None = None
    data_rpo_seconds: float | None = None

    def to_json(self) -> dict[str, JsonValue]:
        return self.model_dump(mode="json", exclude_none=True)


class DrillState(_StateModel):
    """The whole state a step receives (``{"step": .., "drill": <this>}``); steps add their own parts."""

    request: dict[str, JsonValue] = Field(default_factory=dict)
    plan: DrillPlan
    poll: PollState | None = None
    timeline: Timeline = Field(default_factory=Timeline)
    restore: RestoreState | None = None
    restored: RestoredDatabase | None = None
    checks: ChecksState | None = None
    cleanup: CleanupState | None = None
    cleanup_error: StepError | None = None
    error: StepError | None = None
    record: RecordState | None = None

    def drill_request(self) -> DrillRequest:
        """The request the drill was started with (the check step re-reads it)."""
        return DrillRequest.model_validate(self.request)

    def with_timeline(self, **moments: str) -> Timeline:
        return self.timeline.model_copy(update=moments)


# What each step needs beyond the plan: the check step re-reads the request.
_STEP_NEEDS_REQUEST = frozenset({"check"})


def parse_drill_state(drill: object, step: str) -> DrillState:
    """The state a step received, checked; ``InvalidRequestError`` naming every missing or bad field."""
    if not isinstance(drill, dict):
        raise InvalidRequestError(
            f"step {step!r} needs the drill state (a JSON object with its plan), got {type(drill).__name__}"
        )
    try:
        state = DrillState.model_validate(drill)
    except ValidationError as exc:
        raise InvalidRequestError(
            f"invalid drill state for step {step!r}: {describe_problems(exc, top='input')}"
        ) from exc
    if step in _STEP_NEEDS_REQUEST:
        try:
            DrillRequest.model_validate(drill.get("request"))
        except ValidationError as exc:
            raise InvalidRequestError(
                f"invalid drill state for step {step!r}: request: {describe_problems(exc, top='input')}"
            ) from exc
    return state


@dataclass(frozen=True)
class PlannedRestore:
    """The engine's part of a plan (``ports.DrillPlanner.locate``); the validate step adds the rest."""

    region: str
    source: PlanSource
    recovery_point: PlanRecoveryPoint
    restore_time: datetime | None
    recovery_point_time: datetime
    targeted_time: datetime
    target: PlanTarget
    checks_via: ChecksVia


@dataclass(frozen=True)
class DrillStart:
    """The validate step's input: the request and the execution that runs it."""

    execution_id: str
    execution_name: str
    started_at: datetime | None
    request: DrillRequest


def parse_drill_start(event: object) -> DrillStart:
    """``{"input": <request>, "execution_id": $$.Execution.Id, "started_at": $$.Execution.StartTime}``."""
    if not isinstance(event, dict):
        raise InvalidRequestError(f"the validate step needs a JSON object, got {type(event).__name__}")
    execution_id = str(event.get("execution_id") or "")
    if not execution_id:
        raise InvalidRequestError("the validate step needs the execution id ($$.Execution.Id)")
    name = _execution_name(execution_id)
    request = parse_drill_request(event.get("input"))
    return DrillStart(execution_id, name, parse_time(event.get("started_at")), request)


def _execution_name(execution_id: str) -> str:
    """The name in ``arn:aws:states:region:account:execution:state-machine:name``."""
    arn = parse_arn(execution_id, field="execution_id")
    parts = arn.resource.split(":")
    if arn.service != "states" or len(parts) != 3 or parts[0] != "execution" or not parts[2]:
        raise InvalidRequestError(f"execution_id: {execution_id} is not a Step Functions execution ARN")
    return parts[2]
