"""Scheduled drills: which protected databases to drill this month, and starting their drills.

``run_drill_schedule`` is the job: it lists the databases, picks this month's sample and starts one
execution of the drill state machine per database through a port (``DrillStarter``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError

from ..errors import AlreadyExistsError, ConfigurationError, InvalidRequestError, RestorableError
from ..models import Database, Engine
from ..policy import PolicyDocument
from ..request_fields import EventTime, StrictBool
from ..validation import describe_problems
from .plan import ENGINE_MODES, Checks, DrillMode, parse_drill_request


class ScheduledDrillRequest(BaseModel):
    """The monthly schedule's input: ``{"scheduled_time": "<aws.scheduler.scheduled-time>", "mode": "snapshot"}``.

    ``scheduled_time`` is judged against the validation context's ``now`` (see ``request_fields``).
    """

    model_config = ConfigDict(extra="forbid")

    scheduled_time: EventTime | None = None
    mode: DrillMode = DrillMode.SNAPSHOT
    kind: str | None = Field(default=None, min_length=1)
    dry_run: StrictBool = False


def parse_scheduled_request(event: object, now: datetime) -> ScheduledDrillRequest:
    """Validate the event; ``scheduled_time`` must be near ``now`` (the injected clock)."""
    if not isinstance(event, dict):
        raise InvalidRequestError(f"drill schedule event must be a JSON object, got {type(event).__name__}")
    try:
        request = ScheduledDrillRequest.model_validate(event, context={"now": now})
    except ValidationError as exc:
        problems = describe_problems(exc)
        raise InvalidRequestError(f"invalid drill schedule event: {problems}") from exc
    if request.mode is DrillMode.PITR and request.kind is not None:
        raise InvalidRequestError("'kind' applies to snapshot and cross-region drills")
    return request


def parse_checks_document(text: str) -> dict[str, Checks]:
    """``DRILL_CHECKS``: JSON mapping a source identifier (or ``*`` for every source) to its checks."""
    if not text.strip():
        return {}
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"environment variable DRILL_CHECKS is not JSON: {exc.msg}") from exc
    if not isinstance(raw, dict):
        raise ConfigurationError("environment variable DRILL_CHECKS must map source identifiers to checks")
    try:
        return {str(k): Checks.model_validate(v) for k, v in raw.items()}
    except ValidationError as exc:
        raise ConfigurationError(f"environment variable DRILL_CHECKS: {describe_problems(exc)}") from exc


def drill_candidates(databases: Sequence[Database]) -> list[Database]:
    """Protected databases a drill restores: instances outside clusters and clusters, never drill resources."""
    return sorted(
        (d for d in databases if d.policy_name is not None and not d.is_cluster_member),
        key=lambda d: d.arn,
    )


def rotating_sample(candidates: Sequence[Database], scheduled_time: datetime, per_run: int) -> list[Database]:
    """``per_run`` databases (0: all), a different window each month so that every one takes its turn."""
    if per_run <= 0 or per_run >= len(candidates):
        return list(candidates)
    month_index = scheduled_time.year * 12 + scheduled_time.month - 1
    start = (month_index * per_run) % len(candidates)
    return [candidates[(start + offset) % len(candidates)] for offset in range(per_run)]


# Step Functions execution names: at most 80 characters of [A-Za-z0-9-_].
MAX_EXECUTION_NAME_LENGTH = 80
_NAME_DIGEST_LENGTH = 12


def execution_name(database: Database, scheduled_time: datetime, mode: DrillMode = DrillMode.SNAPSHOT) -> str:
    """Deterministic per database, mode and month (a retried schedule starts no second drill), unique per database.

    ``{identifier}-{YYYY-MM}-{digest}``: a readable prefix (the identifier, cut to fit) and a digest of the
    whole (type, ARN, mode, month), so that two identifiers sharing a long prefix, or an instance and a cluster
    of the same name, never share a name.
    """
    period = f"{scheduled_time:%Y-%m}"
    whole = "|".join((database.type.value, database.arn or database.identifier, mode.value, period))
    digest = hashlib.sha256(whole.encode()).hexdigest()[:_NAME_DIGEST_LENGTH]
    suffix = f"-{period}-{digest}"
    stem = re.sub(r"[^A-Za-z0-9_-]", "-", database.identifier)[: MAX_EXECUTION_NAME_LENGTH - len(suffix)]
    return f"{stem}{suffix}"


# The schedule names RDS's modes; what another engine drills for the same kind of recovery point.
_ENGINE_MODE = {Engine.DYNAMODB: {DrillMode.SNAPSHOT: DrillMode.BACKUP}}


def engine_mode(database: Database, mode: DrillMode) -> DrillMode | None:
    """The drill mode of ``database``'s engine for the schedule's ``mode`` (``snapshot`` is a table's ``backup``);
    None when the engine has no such drill."""
    engine = database.type.engine
    mapped = _ENGINE_MODE.get(engine, {}).get(mode, mode)
    return mapped if mapped in ENGINE_MODES.get(engine, frozenset()) else None


def _needs_exports(database: Database, mode: DrillMode) -> bool:
    """A table's cross-region drill imports its export (of the weekly kind: the only kind exported)."""
    return database.type.engine is Engine.DYNAMODB and mode is DrillMode.CROSS_REGION


def _checks_for(engine: Engine, chosen: Checks) -> Checks:
    """The part of a ``DRILL_CHECKS`` entry that applies to the engine (a ``*`` entry may hold every kind)."""
    if engine is Engine.DYNAMODB:
        return Checks(table=chosen.table)
    if engine is Engine.ELASTICACHE:
        return Checks(cache=chosen.cache)
    return Checks(sql=chosen.sql)


def _not_drillable(database: Database) -> str | None:
    """Why a protected resource has no recovery point a drill could restore (None: it has)."""
    if database.type.engine is Engine.ELASTICACHE and database.engine == "memcached":
        return "a Memcached cluster cannot be snapshotted; nothing to drill"
    return None


def drill_input(database: Database, request: ScheduledDrillRequest, checks: dict[str, Checks]) -> dict[str, JsonValue]:
    engine = database.type.engine
    mode = engine_mode(database, request.mode) or request.mode
    document: dict[str, JsonValue] = {"source": database.arn, "mode": mode.value}
    if engine is not Engine.RDS:
        document["engine"] = engine.value
    if request.kind is not None and not _needs_exports(database, mode):
        document["backup" if mode is DrillMode.BACKUP else "snapshot"] = {"kind": request.kind}
    chosen = checks.get(database.identifier) or checks.get("*")
    if chosen is not None:
        applying = _checks_for(engine, chosen).model_dump(mode="json", exclude_none=True)
        if applying:
            document["checks"] = applying
    parse_drill_request(document)  # the state machine would reject it anyway: fail here, before starting
    return document


class DatabaseInventory(Protocol):
    def list_databases(self) -> list[Database]: ...


class EngineInventories:
    """Every engine's protected resources as one inventory (RDS databases, DynamoDB tables, caches)."""

    def __init__(self, inventories: Sequence[DatabaseInventory]) -> None:
        self.inventories = list(inventories)

    def list_databases(self) -> list[Database]:
        return [database for inventory in self.inventories for database in inventory.list_databases()]


class DrillStarter(Protocol):
    """Starts one execution of the drill state machine (``adapters.stepfunctions.StateMachineStarter``);
    ``AlreadyExistsError`` when an execution of that name has already run."""

    def start(self, name: str, document: dict[str, JsonValue]) -> str: ...


@dataclass(frozen=True)
class ScheduleProblem:
    database: str
    reason: str


@dataclass
class DrillScheduleResult:
    dry_run: bool
    scheduled_time: datetime
    candidates: int
    started: list[str] = field(default_factory=list)
    already_started: list[str] = field(default_factory=list)
    skipped: list[ScheduleProblem] = field(default_factory=list)
    failed: list[ScheduleProblem] = field(default_factory=list)

    def to_dict(self) -> dict[str, JsonValue]:
        return {
            "job": "drill-scheduler",
            "dry_run": self.dry_run,
            "scheduled_time": self.scheduled_time.isoformat(),
            "candidates": self.candidates,
            "started": list(self.started),
            "already_started": list(self.already_started),
            "skipped": [{"database": p.database, "reason": p.reason} for p in self.skipped],
            "failed": [{"database": p.database, "error": p.reason} for p in self.failed],
        }


def run_drill_schedule(
    request: ScheduledDrillRequest,
    *,
    inventory: DatabaseInventory,
    starter: DrillStarter,
    policies: PolicyDocument,
    checks: dict[str, Checks],
    per_run: int,
    now: datetime,
    exports_enabled: bool = False,
) -> DrillScheduleResult:
    """Start this month's drills. A database whose ``restorable:policy`` names no policy is skipped and
    reported, never drilled; one database's failure never stops the others.

    ``exports_enabled``: tables are exported to the DR Region (DR_EXPORT_BUCKET set), so a cross-region run
    drills them from their exports; without exports it skips them with the reason."""
    scheduled_time = request.scheduled_time or now
    candidates = drill_candidates(inventory.list_databases())
    result = DrillScheduleResult(dry_run=request.dry_run, scheduled_time=scheduled_time, candidates=len(candidates))
    protected: list[Database] = []
    for database in candidates:
        if engine_mode(database, request.mode) is None:
            reason = f"{database.type.engine.value} has no {request.mode.value} drill; not drilled by this schedule"
            result.skipped.append(ScheduleProblem(database.identifier, reason))
        elif (reason_not_drillable := _not_drillable(database)) is not None:
            result.skipped.append(ScheduleProblem(database.identifier, reason_not_drillable))
        elif _needs_exports(database, request.mode) and not exports_enabled:
            reason = (
                f"{database.type.engine.value} drills cross-region from its export in the DR Region, and exports "
                "are off (DR_EXPORT_BUCKET is empty); not drilled by this schedule"
            )
            result.skipped.append(ScheduleProblem(database.identifier, reason))
        elif policies.get(str(database.policy_name)) is None:
            known = ", ".join(sorted(policies.policies))
            reason = f"restorable:policy={database.policy_name!r} names no policy (known: {known}); not drilled"
            result.skipped.append(ScheduleProblem(database.identifier, reason))
        else:
            protected.append(database)
    for database in rotating_sample(protected, scheduled_time, per_run):
        name = execution_name(database, scheduled_time, request.mode)
        try:
            document = drill_input(database, request, checks)
            if not request.dry_run:
                starter.start(name, document)
            result.started.append(name)
        except AlreadyExistsError:
            result.already_started.append(name)
        except RestorableError as exc:  # AWS errors and one database's bad configuration alike
            result.failed.append(ScheduleProblem(database.identifier, str(exc)))
    return result
