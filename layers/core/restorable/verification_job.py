"""The verification job: gather the inventory, run the checks, announce what changed.

An hourly pass verifies every protected database in the Region plus the Region-level
checks (inventory, snapshot quotas) in both Regions. An RDS event verifies the one
instance it names. Reading the DR Region, quotas or drill history may fail: that is
reported as a finding and the checks that needed it are not evaluated (their earlier
state is kept, so nothing "recovers" because it could not be read).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from .errors import AwsError
from .models import RecoveryPoint
from .notifications import NotificationPlan, NotificationState, format_notification, plan_notifications
from .settings import Settings
from .verification import (
    DrillHistory,
    MonitoredDatabase,
    QuotaUsage,
    RegionInventory,
    Severity,
    Verification,
    VerificationContext,
    region_key,
    verify,
)
from .verification_settings import VerificationSettings
from .verify_request import IgnoredEvent, InstanceEvent, VerifyRequest

JOB = "verify"


class InventoryGateway(Protocol):
    region: str

    def list_databases(self) -> list[MonitoredDatabase]: ...

    def get_instance(self, identifier: str) -> MonitoredDatabase | None: ...

    def list_manual_snapshots(self, instance_identifier: str | None = None) -> list[RecoveryPoint]: ...

    def snapshot_quotas(self) -> list[QuotaUsage]: ...


class StateGateway(Protocol):
    def load_all(self) -> dict[tuple[str, str], NotificationState]: ...

    def load_for(self, keys: list[str]) -> dict[tuple[str, str], NotificationState]: ...

    def apply(self, writes: list[NotificationState], deletes: list[tuple[str, str]]) -> None: ...


class DrillGateway(Protocol):
    def last_successes(self) -> dict[str, datetime]: ...


class Publisher(Protocol):
    def publish(self, subject: str, message: str, severity: str) -> str: ...


@dataclass(frozen=True)
class Gateways:
    source: InventoryGateway
    dr: InventoryGateway
    state: StateGateway
    publisher: Publisher
    drills: DrillGateway | None = None


@dataclass
class VerificationRun:
    region: str
    scope: str
    full_run: bool
    verification: Verification = field(default_factory=Verification)
    plan: NotificationPlan | None = None
    ignored: IgnoredEvent | None = None
    event_id: str | None = None
    message_id: str | None = None
    notification_error: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"job": JOB, "region": self.region, "scope": self.scope}
        if self.ignored is not None:
            data["ignored"] = self.ignored.reason
            if self.ignored.event_id:
                data["event_id"] = self.ignored.event_id
            return data
        if self.event_id:
            data["event_id"] = self.event_id
        data.update(
            status=self.verification.status.value,
            databases_verified=len(self.verification.databases),
            counts=self.verification.counts(),
            findings=[finding.to_dict() for finding in self.verification.findings],
        )
        notifications: dict[str, Any] = {"enabled": self.plan is not None}
        if self.plan is not None:
            notifications.update(self.plan.counts(), sent=self.message_id is not None)
            if self.message_id:
                notifications["message_id"] = self.message_id
        if self.notification_error:
            notifications["error"] = self.notification_error
        data["notifications"] = notifications
        if self.notes:
            data["notes"] = list(self.notes)
        return data


def _region_inventory(gateway: InventoryGateway, instance: str | None, with_quotas: bool) -> RegionInventory:
    snapshots: list[RecoveryPoint] | None
    snapshot_error = quota_error = ""
    try:
        snapshots = gateway.list_manual_snapshots(instance)
    except AwsError as exc:
        snapshots, snapshot_error = None, f"manual snapshots unreadable: {exc}"
    quotas: list[QuotaUsage] | None = None
    if with_quotas:
        try:
            quotas = gateway.snapshot_quotas()
        except AwsError as exc:
            quota_error = f"snapshot quotas unreadable: {exc}"
    return RegionInventory(
        region=gateway.region,
        snapshots=snapshots,
        quotas=quotas,
        snapshot_error=snapshot_error,
        quota_error=quota_error,
    )


def _drill_history(gateways: Gateways) -> DrillHistory:
    if gateways.drills is None:
        return DrillHistory(enabled=False)
    try:
        return DrillHistory(enabled=True, last_success=gateways.drills.last_successes())
    except AwsError as exc:
        return DrillHistory(enabled=True, error=f"drill history unreadable: {exc}")


def run_verification(
    target: VerifyRequest | InstanceEvent,
    settings: Settings,
    verification_settings: VerificationSettings,
    gateways: Gateways,
    now: datetime,
) -> VerificationRun:
    context = VerificationContext(
        policies=settings.policies,
        thresholds=verification_settings.thresholds,
        stack_name=settings.stack_name,
        dr_region=settings.dr_region,
        scheduled_kinds=settings.scheduled_kinds,
        now=now,
    )
    if isinstance(target, InstanceEvent):
        run = VerificationRun(
            region=gateways.source.region,
            scope=f"instance {target.identifier}",
            full_run=False,
            event_id=target.event_id,
        )
        monitored = gateways.source.get_instance(target.identifier)
        if monitored is None:
            run.ignored = IgnoredEvent(f"no DB instance {target.identifier} in {run.region}", event_id=target.event_id)
            return run
        database = monitored.database
        if database.is_cluster_member:
            run.ignored = IgnoredEvent(
                f"{target.identifier} is a member of cluster {database.cluster_identifier}; the hourly pass covers it",
                event_id=target.event_id,
            )
            return run
        if database.policy_name is None:
            run.ignored = IgnoredEvent(f"{target.identifier} is not protected", event_id=target.event_id)
            return run
        source = _region_inventory(gateways.source, target.identifier, with_quotas=False)
        dr = _region_inventory(gateways.dr, target.identifier, with_quotas=False)
        run.verification = verify(
            [monitored], source, dr, _drill_history(gateways), context, include_region_checks=False
        )
        # Region-level problems are findings of the hourly pass; here they are noted in the result only.
        run.notes.extend(error for error in (source.snapshot_error, dr.snapshot_error) if error)
        _notify(run, gateways, verification_settings, settings, now, notify=True)
        return run

    run = VerificationRun(region=gateways.source.region, scope="all protected databases", full_run=True)
    databases = gateways.source.list_databases()
    source = _region_inventory(gateways.source, None, with_quotas=True)
    dr = _region_inventory(gateways.dr, None, with_quotas=True)
    run.verification = verify(databases, source, dr, _drill_history(gateways), context)
    _notify(run, gateways, verification_settings, settings, now, notify=target.notify)
    return run


def _notify(
    run: VerificationRun,
    gateways: Gateways,
    verification_settings: VerificationSettings,
    settings: Settings,
    now: datetime,
    *,
    notify: bool,
) -> None:
    if not notify:
        return
    verified = list(run.verification.databases)
    if run.full_run:
        verified += [region_key(settings.region), region_key(settings.dr_region)]
    try:
        states = gateways.state.load_all() if run.full_run else gateways.state.load_for(verified)
    except AwsError as exc:
        run.notification_error = f"notification state unreadable: {exc}"
        return
    plan = plan_notifications(
        run.verification.results,
        states,
        now=now,
        repeat_after=verification_settings.repeat_after,
        verified_keys=verified,
        full_run=run.full_run,
    )
    run.plan = plan
    if not plan.notices:
        return
    subject, body = format_notification(
        plan, run.verification.status, stack_name=settings.stack_name, region=run.region, scope=run.scope
    )
    worst = max((n.severity for n in plan.notices), default=Severity.OK)
    try:
        run.message_id = gateways.publisher.publish(subject, body, worst.label)
    except AwsError as exc:
        # State is not written: the next run announces the same changes again.
        run.notification_error = str(exc)
        return
    try:
        gateways.state.apply(plan.writes, plan.deletes)
    except AwsError as exc:
        run.notification_error = f"sent, but the notification state was not saved (may repeat next run): {exc}"
