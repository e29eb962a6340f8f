"""Scheduled drills: which protected databases to drill this month, and how to start their drills."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError

from ..errors import ConfigurationError, InvalidRequestError
from ..models import Database
from ..validation import describe_problems
from .plan import Checks, DrillMode, parse_drill_request


class ScheduledDrillRequest(BaseModel):
    """The monthly schedule's input: ``{"scheduled_time": "<aws.scheduler.scheduled-time>", "mode": "snapshot"}``."""

    model_config = ConfigDict(extra="forbid")

    scheduled_time: datetime | None = None
    mode: DrillMode = DrillMode.SNAPSHOT
    kind: str | None = Field(default=None, min_length=1)
    dry_run: StrictBool = False


def parse_scheduled_request(event: object) -> ScheduledDrillRequest:
    if not isinstance(event, dict):
        raise InvalidRequestError(f"drill schedule event must be a JSON object, got {type(event).__name__}")
    try:
        request = ScheduledDrillRequest.model_validate(event)
    except ValidationError as exc:
        problems = describe_problems(exc)
        raise InvalidRequestError(f"invalid drill schedule event: {problems}") from exc
    if request.scheduled_time is not None and request.scheduled_time.tzinfo is None:
        raise InvalidRequestError("scheduled_time must carry a time zone")
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
        raise ConfigurationError(f"environment variable DRILL_CHECKS: {exc.errors()[0]['msg']}") from exc


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


def drill_input(database: Database, request: ScheduledDrillRequest, checks: dict[str, Checks]) -> dict[str, Any]:
    document: dict[str, Any] = {"source": database.arn, "mode": request.mode.value}
    if request.kind is not None:
        document["snapshot"] = {"kind": request.kind}
    chosen = checks.get(database.identifier) or checks.get("*")
    if chosen is not None:
        document["checks"] = chosen.model_dump(mode="json", exclude_none=True)
    parse_drill_request(document)  # the state machine would reject it anyway: fail here, before starting
    return document
