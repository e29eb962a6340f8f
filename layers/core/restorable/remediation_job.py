"""The remediation job: read backup settings, plan, show or apply the plan, and say what changed.

Each engine's inventory is read on its own: one that cannot be read is a failed item and the
others are still remediated. Each change is one call; a throttled or failing call is a failed
item with the reason and the other changes go on. A dry run reads and plans only. What was
remediated is in the result (``remediated``), logged item by item, and published once per run
to the alert topic when the stack has one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import AwsError, InvalidRequestError
from .models import Engine
from .remediation_plan import (
    Action,
    Change,
    Kept,
    PlanContext,
    RdsBackupSettings,
    TablePitrSettings,
    UnreadableResource,
    plan_remediation,
)
from .remediation_settings import RemediateSettings
from .request_fields import EventTime, StrictBool
from .results import ItemResult, JobResult, Outcome
from .validation import describe_problems

JOB = "remediate"
MAX_SUBJECT_LENGTH = 100


class RemediateRequest(BaseModel):
    """The daily schedule's input, or an operator's ``{"dry_run": true}`` to see the plan first."""

    model_config = ConfigDict(extra="forbid")

    scheduled_time: EventTime | None = None
    dry_run: StrictBool = False


def parse_remediate_request(event: object, now: datetime | None = None) -> RemediateRequest:
    if not isinstance(event, dict):
        raise InvalidRequestError(f"remediate event must be a JSON object, got {type(event).__name__}")
    try:
        return RemediateRequest.model_validate(event, context={"now": now} if now else None)
    except ValidationError as exc:
        raise InvalidRequestError(f"invalid remediate request: {describe_problems(exc)}") from exc


class RdsSettingsGateway(Protocol):
    """One Region's RDS (``adapters.remediation.RdsBackupSettingsGateway``)."""

    region: str

    def list_backup_settings(self) -> list[RdsBackupSettings]: ...

    def replicated_retention(self) -> dict[str, int]: ...

    def modify_backup_settings(
        self, settings: RdsBackupSettings, *, retention_days: int | None, copy_tags_to_snapshot: bool | None
    ) -> None: ...

    def start_backup_replication(self, source_arn: str, *, retention_days: int, kms_key_id: str | None) -> None: ...


class TableSettingsGateway(Protocol):
    """One Region's DynamoDB (``adapters.remediation.TablePitrGateway``)."""

    region: str

    def list_protected_tables(self) -> list[TablePitrSettings | UnreadableResource]: ...

    def enable_point_in_time_recovery(self, table_name: str, *, recovery_period_days: int) -> None: ...


class Publisher(Protocol):
    def publish(self, subject: str, message: str, severity: str) -> str: ...


@dataclass(frozen=True)
class RemediationGateways:
    source: RdsSettingsGateway
    dr: RdsSettingsGateway
    tables: TableSettingsGateway | None = None
    publisher: Publisher | None = None


def _reason(exc: Exception) -> str:
    return str(exc) if isinstance(exc, AwsError) else f"unexpected {type(exc).__name__}: {exc}"


def _read_databases(gateways: RemediationGateways, result: JobResult) -> list[RdsBackupSettings]:
    try:
        databases = gateways.source.list_backup_settings()
    except Exception as exc:
        result.add(_failed_inventory(Engine.RDS, gateways.source.region, exc))
        return []
    if not any(gateways.dr.region in d.replications for d in databases):
        return databases
    try:
        replicated = gateways.dr.replicated_retention()
    except Exception as exc:
        # Only the "replication keeps fewer days" finding needs it; nothing is changed on it.
        result.details.setdefault("notes", []).append(
            f"replicated backups in {gateways.dr.region} unreadable (their retention is not checked): {_reason(exc)}"
        )
        return databases
    return [
        RdsBackupSettings(
            d.database,
            d.retention_days,
            d.copy_tags_to_snapshot,
            d.storage_encrypted,
            {
                region: replicated.get(d.database.arn) if region == gateways.dr.region else days
                for region, days in d.replications.items()
            },
        )
        for d in databases
    ]


def _read_tables(gateways: RemediationGateways, result: JobResult) -> list[TablePitrSettings]:
    if gateways.tables is None:
        return []
    try:
        found = gateways.tables.list_protected_tables()
    except Exception as exc:
        result.add(_failed_inventory(Engine.DYNAMODB, gateways.tables.region, exc))
        return []
    tables = []
    for item in found:
        if isinstance(item, UnreadableResource):
            result.add(
                ItemResult(
                    resource=item.name,
                    kind="point-in-time-recovery",
                    outcome=Outcome.FAILED,
                    reason=f"not remediated: {item.error}",
                    resource_arn=item.arn,
                    region=gateways.tables.region,
                )
            )
        else:
            tables.append(item)
    return tables


def _failed_inventory(engine: Engine, region: str, exc: Exception) -> ItemResult:
    return ItemResult(
        resource=f"{engine.value}:{region}",
        kind="inventory",
        outcome=Outcome.FAILED,
        reason=f"{engine.value} resources in {region} unreadable; none remediated: {_reason(exc)}",
        region=region,
    )


def _kind(change: Change) -> str:
    return "+".join(setting.value for setting in change.settings)


def _region(change: Change, gateways: RemediationGateways) -> str:
    if change.region:
        return change.region
    if change.action is Action.UPDATE_CONTINUOUS_BACKUPS and gateways.tables is not None:
        return gateways.tables.region
    return gateways.source.region


def _apply(change: Change, by_arn: dict[str, RdsBackupSettings], gateways: RemediationGateways) -> None:
    if change.action is Action.UPDATE_CONTINUOUS_BACKUPS:
        assert gateways.tables is not None
        assert change.retention_days is not None
        gateways.tables.enable_point_in_time_recovery(change.resource, recovery_period_days=change.retention_days)
    elif change.action is Action.START_BACKUP_REPLICATION:
        assert change.retention_days is not None
        gateways.dr.start_backup_replication(
            change.arn, retention_days=change.retention_days, kms_key_id=change.kms_key_id
        )
    else:
        gateways.source.modify_backup_settings(
            by_arn[change.arn],
            retention_days=change.retention_days,
            copy_tags_to_snapshot=change.copy_tags_to_snapshot,
        )


def _kept_item(kept: Kept, region: str) -> ItemResult:
    return ItemResult(
        resource=kept.resource,
        kind=kept.setting.value,
        outcome=Outcome.FINDING if kept.finding else Outcome.SKIPPED,
        reason=kept.reason,
        resource_arn=kept.arn or None,
        region=region,
    )


def run_remediation(
    request: RemediateRequest, settings: RemediateSettings, gateways: RemediationGateways, now: datetime
) -> JobResult:
    result = JobResult(job=JOB, region=gateways.source.region, dry_run=request.dry_run)
    result.extra_outcomes = (Outcome.REMEDIATED,)
    databases = _read_databases(gateways, result)
    tables = _read_tables(gateways, result)
    context = PlanContext(
        policies=settings.policies,
        dr_region=settings.dr_region,
        dr_kms_key_id=settings.dr_kms_key_id,
        allow_outage=settings.allow_outage,
    )
    plan = plan_remediation(databases, tables, context)
    by_arn = {d.database.arn: d for d in databases}
    table_arns = {t.arn for t in tables}
    for kept in plan.kept:
        region = gateways.tables.region if kept.arn in table_arns and gateways.tables else gateways.source.region
        result.add(_kept_item(kept, region))
    remediated: list[ItemResult] = []
    for change in plan.changes:
        region = _region(change, gateways)
        base = {"resource": change.resource, "kind": _kind(change), "resource_arn": change.arn, "region": region}
        if request.dry_run:
            result.add(
                ItemResult(outcome=Outcome.PLANNED, reason=f"would call {change.action.value}: {change.reason}", **base)
            )
            continue
        try:
            _apply(change, by_arn, gateways)
        except Exception as exc:  # one failing call never stops the others
            result.add(
                ItemResult(outcome=Outcome.FAILED, reason=f"{change.action.value} failed: {_reason(exc)}", **base)
            )
            continue
        item = ItemResult(outcome=Outcome.REMEDIATED, reason=f"{change.action.value}: {change.reason}", **base)
        result.add(item)
        remediated.append(item)
    result.details["remediated"] = [item.to_dict() for item in remediated]
    result.details["outages"] = [c.resource for c in plan.changes if c.outage]
    if remediated and gateways.publisher is not None:
        result.details["notification"] = _publish(remediated, settings, gateways.publisher, gateways.source.region)
    return result


def _publish(
    remediated: Sequence[ItemResult], settings: RemediateSettings, publisher: Publisher, region: str
) -> dict[str, str | bool]:
    """One message per run listing every change; a failed publish is reported, the changes stand."""
    subject = f"Restorable {settings.stack_name}: {len(remediated)} backup setting(s) remediated in {region}"
    message = {
        "alert": "restorable-remediation",
        "stack": settings.stack_name,
        "region": region,
        "remediated": [item.to_dict() for item in remediated],
        "what_to_do": "Nothing, unless a change was not wanted: set remediate: false in the resource's policy "
        "(or tag it restorable:policy=none) and set the value back by hand.",
    }
    try:
        message_id = publisher.publish(subject[:MAX_SUBJECT_LENGTH], json.dumps(message, indent=2), "WARNING")
    except Exception as exc:
        return {"sent": False, "error": _reason(exc)}
    return {"sent": True, "message_id": message_id}
