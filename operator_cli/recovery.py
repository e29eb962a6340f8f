"""Recovery to a new database: resolve the source, choose what to restore, restore it, wait, check it.

This is the one module of the command line that uses the drill's internals (its RDS adapter for the
source and its snapshots, its request model for ``--checks``, its API and SQL checks), so a change to
them is adapted here only. What to restore is decided by the core's pure ``recovery_plan``; the
restore calls go through ``adapters.recovery_rds``. Nothing existing is modified or deleted.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

from botocore.exceptions import BotoCoreError

from restorable import recovery_plan as rp
from restorable import tags as tag_keys
from restorable.adapters.drill_rds import DrillRdsGateway
from restorable.adapters.recovery_rds import FAILED_STATES, Placement, RecoveryRdsGateway
from restorable.adapters.secrets import SecretsManagerStore
from restorable.arns import (
    RDS_CLUSTER,
    RDS_CLUSTER_SNAPSHOT,
    RDS_INSTANCE,
    RDS_SNAPSHOT,
    account_of,
    check_local,
    is_arn,
    parse_arn,
    parse_rds_arn,
)
from restorable.drills.model import SnapshotInfo, SourceDatabase
from restorable.drills.plan import DrillRequest, parse_drill_request
from restorable.drills.state import PlanRecoveryPoint, PlanSource
from restorable.drills.steps import compare_restored, sql_checks
from restorable.errors import AwsError, InvalidRequestError, ResourceNotFoundError
from restorable.models import DatabaseType

from .gateways import DrillHistoryTable
from .recovery_model import Outcome, Point, RecoveryError, RecoveryPlan, Source, Target, poll_command

SecretsFactory = Callable[[str], Any]
_FLOOR = datetime.min.replace(tzinfo=UTC)
# A drill also requires isolation (not public, no deletion protection); a recovered database is for cut-over.
RECOVERY_CHECKS = ("status", "engine", "engine_version", "encryption", "storage")


@dataclass
class Options:
    """What the operator chose beside the source and the recovery point."""

    target: str | None = None
    instance_class: str | None = None
    subnet_group: str | None = None
    security_groups: tuple[str, ...] = ()
    checks: DrillRequest | None = None


def parse_checks(document: Mapping[str, Any] | None) -> DrillRequest | None:
    """``--checks`` validated by the drill's own model; SQL checks need the credentials' secret here (a
    recovered database keeps the snapshot's master password and gets no managed secret)."""
    if not document:
        return None
    request = parse_drill_request({"source": "recovery", "mode": "snapshot", "checks": dict(document)})
    sql = request.checks.sql
    if sql is not None and sql.secret_arn is None:
        raise InvalidRequestError(
            "--checks: checks.sql.secret_arn is required for a recovery: a secret holding the source's master "
            "username and password (the recovered database keeps them)"
        )
    return request


class Recovery:
    """Recovery against one stack: its source Region and its DR Region."""

    def __init__(
        self,
        *,
        stack_name: str,
        rds: Any,
        dr_rds: Any,
        history: Callable[[], DrillHistoryTable],
        secrets: SecretsFactory,
        now: Callable[[], datetime],
    ) -> None:
        self.stack_name = stack_name
        self.source_rds = DrillRdsGateway(rds)
        self.dr_rds = DrillRdsGateway(dr_rds)
        self.restorers = {
            self.source_rds.region: RecoveryRdsGateway(rds),
            self.dr_rds.region: RecoveryRdsGateway(dr_rds),
        }
        self.history = history
        self.secrets = secrets
        self.secret_store = SecretsManagerStore(secrets)
        self.now = now

    @property
    def region(self) -> str:
        return self.source_rds.region

    @property
    def dr_region(self) -> str:
        return self.dr_rds.region

    # ---------------------------------------------------------------- plans (nothing is created)

    def plan_pitr(self, reference: str, to: datetime | Literal["latest"], options: Options) -> RecoveryPlan:
        source = self.source(reference, rp.RecoveryMode.PITR)
        if source.backup_retention_days <= 0:
            raise InvalidRequestError(f"{source.identifier} has automated backups disabled: no point-in-time restore")
        now = self.now()
        latest = source.latest_restorable_time
        if to == rp.LATEST:
            if latest is None:
                raise InvalidRequestError(f"{source.identifier} reports no latest restorable time")
            restore_time, point_time, reference_time = None, latest, now
            reason = f"the latest restorable time of {source.identifier} ({rp.iso(latest)})"
        else:
            assert isinstance(to, datetime)
            rp.check_restore_time(
                to, earliest=source.earliest_restorable_time, latest=latest, source_identifier=source.identifier
            )
            restore_time, point_time, reference_time = to, to, to
            reason = f"{rp.iso(to)}, inside the restorable window of {source.identifier}"
        point = Point(
            type="point-in-time",
            region=self.region,
            time=point_time,
            engine_version=source.engine_version,
            encrypted=source.encrypted,
            allocated_storage=source.allocated_storage,
        )
        target = self._target(source, self.region, options)
        self._check_checks(options, source)
        return RecoveryPlan(
            mode=rp.RecoveryMode.PITR,
            source=source,
            point=point,
            target=target,
            tags=rp.recovery_tags(source.arn, now),
            reason=reason,
            rpo_reference=reference_time,
            restore_time=restore_time,
        )

    def plan_snapshot(
        self,
        reference: str,
        options: Options,
        *,
        before: datetime | None = None,
        snapshot: str | None = None,
        allow_undrilled: bool = False,
    ) -> RecoveryPlan:
        if before is not None and snapshot is not None:
            raise InvalidRequestError("give --before or --snapshot, not both")
        source = self.source(reference, rp.RecoveryMode.SNAPSHOT)
        now = self.now()
        choice: dict[str, Any] | None = None
        if snapshot is not None:
            chosen = self._named_snapshot(source, snapshot)
            reason = f"{chosen.identifier}, as asked (--snapshot)"
        else:
            candidates = self.source_rds.list_snapshots(source.type)
            mine = [s for s in candidates if s.source_arn == source.arn or s.source_identifier == source.identifier]
            if before is not None:
                drills = [rp.DrillOutcome.from_item(item) for item in self.history().drills_of(source.arn)]
                picked = rp.choose_before(
                    mine,
                    drills,
                    source_arn=source.arn,
                    stack_name=self.stack_name,
                    before=before,
                    allow_undrilled=allow_undrilled,
                )
            else:
                picked = rp.choose_newest(
                    mine, source_arn=source.arn, stack_name=self.stack_name, where=f"in {self.region}"
                )
            choice = picked.to_dict()
            if picked.chosen is None:
                raise InvalidRequestError(f"{source.identifier}: {picked.refusal}")
            chosen = picked.chosen
            reason = next(c.reason for c in picked.considered if c.reason.startswith("chosen: ")).removeprefix(
                "chosen: "
            )
        plan = self._snapshot_plan(rp.RecoveryMode.SNAPSHOT, source, chosen, options, now, reason, before)
        return replace(plan, choice=choice)

    def plan_region(self, reference: str, options: Options) -> RecoveryPlan:
        source = self.source(reference, rp.RecoveryMode.REGION)
        candidates = [s for s in self.dr_rds.list_snapshots(source.type) if s.source_arn == source.arn]
        picked = rp.choose_newest(
            candidates, source_arn=source.arn, stack_name=self.stack_name, where=f"in the DR Region {self.dr_region}"
        )
        if picked.chosen is None:
            raise InvalidRequestError(f"{source.identifier}: {picked.refusal}")
        plan = self._snapshot_plan(
            rp.RecoveryMode.REGION,
            source,
            picked.chosen,
            options,
            self.now(),
            f"the newest DR copy of {source.identifier} in {self.dr_region}",
            None,
        )
        return replace(plan, choice=picked.to_dict())

    def _snapshot_plan(
        self,
        mode: rp.RecoveryMode,
        source: Source,
        snapshot: SnapshotInfo,
        options: Options,
        now: datetime,
        reason: str,
        before: datetime | None,
    ) -> RecoveryPlan:
        point = Point(
            type="snapshot",
            region=snapshot.region,
            time=snapshot.created_at,
            engine_version=snapshot.engine_version or source.engine_version,
            encrypted=snapshot.encrypted,
            allocated_storage=snapshot.allocated_storage,
            identifier=snapshot.identifier,
            arn=snapshot.arn,
            kind=snapshot.tags.get(tag_keys.KIND),
        )
        target = self._target(source, snapshot.region, options)
        self._check_checks(options, source)
        return RecoveryPlan(
            mode=mode,
            source=source,
            point=point,
            target=target,
            tags=rp.recovery_tags(snapshot.arn, now),
            reason=reason,
            rpo_reference=before or now,
        )

    # ---------------------------------------------------------------- the source

    def source(self, reference: str, mode: rp.RecoveryMode) -> Source:
        """The protected database ``reference`` names (identifier or a local ARN). A database that no longer
        exists (accidental deletion), or whose Region does not answer (region recovery), is known from this
        stack's recovery points, whose ``restorable:source`` names it."""
        wanted_type: DatabaseType | None = None
        identifier = reference
        if is_arn(reference):
            arn = check_local(
                parse_rds_arn(reference, field="SOURCE", types={RDS_INSTANCE, RDS_CLUSTER}),
                field="SOURCE",
                region=self.region,
            )
            wanted_type = DatabaseType.CLUSTER if arn.resource_type == RDS_CLUSTER else DatabaseType.INSTANCE
            identifier = arn.resource_name
        try:
            found = self.source_rds.find_source(identifier, wanted_type)
        except ResourceNotFoundError as exc:
            if mode is rp.RecoveryMode.PITR:
                raise InvalidRequestError(f"{exc}; a point-in-time recovery needs the source to exist") from exc
            return self._recorded_source(reference, identifier, wanted_type, mode, note=None, cause=str(exc))
        except (AwsError, BotoCoreError) as exc:
            if mode is not rp.RecoveryMode.REGION:
                raise
            note = f"{self.region} did not answer ({exc}): source known from its DR copies"
            return self._recorded_source(reference, identifier, wanted_type, mode, note=note, cause=note)
        if is_arn(reference) and found.arn != reference:
            raise InvalidRequestError(f"SOURCE: {reference} is not {found.arn}, the {found.type.value} of that name")
        return self._live_source(found)

    def _live_source(self, found: SourceDatabase) -> Source:
        name = f"{found.type.value} {found.identifier}"
        if found.is_cluster_member:
            raise InvalidRequestError(f"{name} is a member of cluster {found.cluster_identifier}: recover the cluster")
        if found.policy_name is None:
            raise InvalidRequestError(
                f"{name} is not protected (no {tag_keys.POLICY} tag): only protected databases are recovered"
            )
        return Source(
            type=found.type,
            identifier=found.identifier,
            arn=found.arn,
            region=self.region,
            engine=found.engine,
            engine_version=found.engine_version,
            encrypted=found.encrypted,
            allocated_storage=found.allocated_storage,
            instance_class=found.instance_class,
            live=True,
            earliest_restorable_time=found.earliest_restorable_time,
            latest_restorable_time=found.latest_restorable_time,
            backup_retention_days=found.backup_retention_days,
        )

    def _recorded_source(
        self,
        reference: str,
        identifier: str,
        wanted_type: DatabaseType | None,
        mode: rp.RecoveryMode,
        *,
        note: str | None,
        cause: str,
    ) -> Source:
        gateway = self.dr_rds if mode is rp.RecoveryMode.REGION else self.source_rds
        types = [wanted_type] if wanted_type else [DatabaseType.INSTANCE, DatabaseType.CLUSTER]
        for database_type in types:
            points = [
                s
                for s in gateway.list_snapshots(database_type)
                if s.tags.get(tag_keys.MANAGED_BY) == self.stack_name
                and s.source_arn
                and (s.source_arn == reference or rp.snapshot_name(s.source_arn) == identifier)
                and _names_type(s.source_arn, database_type)
            ]
            if points:
                newest = max(points, key=lambda s: (s.created_at or _FLOOR, s.identifier))
                source_arn = str(newest.source_arn)
                check_local(
                    parse_rds_arn(source_arn, field=tag_keys.SOURCE, types={RDS_INSTANCE, RDS_CLUSTER}),
                    field=f"{newest.identifier} {tag_keys.SOURCE}",
                    region=self.region,
                    account=account_of(newest.arn),
                )
                return Source(
                    type=database_type,
                    identifier=rp.snapshot_name(source_arn),
                    arn=source_arn,
                    region=self.region,
                    engine=newest.engine,
                    engine_version=newest.engine_version,
                    encrypted=newest.encrypted,
                    allocated_storage=newest.allocated_storage,
                    instance_class=None,
                    live=False,
                    note=note or f"{identifier} does not exist in {self.region}: known from its recovery points",
                )
        raise InvalidRequestError(f"{cause}; no recovery point of stack {self.stack_name} names it either")

    def _named_snapshot(self, source: Source, reference: str) -> SnapshotInfo:
        identifier = reference
        if is_arn(reference):
            wanted = RDS_CLUSTER_SNAPSHOT if source.type is DatabaseType.CLUSTER else RDS_SNAPSHOT
            identifier = check_local(
                parse_rds_arn(reference, field="--snapshot", types={wanted}), field="--snapshot", region=self.region
            ).resource_name
        try:
            snapshot = self.source_rds.get_snapshot(source.type, identifier)
        except ResourceNotFoundError as exc:
            raise InvalidRequestError(f"--snapshot: {exc}") from exc
        if is_arn(reference) and snapshot.arn != reference:
            raise InvalidRequestError(f"--snapshot: {reference} is not {snapshot.arn}")
        of_source = snapshot.source_arn == source.arn or (
            snapshot.source_arn is None and snapshot.source_identifier == source.identifier
        )
        if not of_source:
            raise InvalidRequestError(
                f"--snapshot: {snapshot.identifier} is a recovery point of "
                f"{snapshot.source_arn or snapshot.source_identifier or 'an unknown source'}, "
                f"not of {source.identifier}"
            )
        if snapshot.status != "available":
            raise InvalidRequestError(f"--snapshot: {snapshot.identifier} is '{snapshot.status}', not available")
        return snapshot

    # ---------------------------------------------------------------- the new database

    def _target(self, source: Source, region: str, options: Options) -> Target:
        now = self.now()
        name = rp.check_target_name(options.target) if options.target else rp.default_target(source.identifier, now)
        instance_class = options.instance_class or source.instance_class
        instance = name + rp.CLUSTER_INSTANCE_SUFFIX if source.type is DatabaseType.CLUSTER else None
        if source.type is DatabaseType.CLUSTER and not instance_class:
            raise InvalidRequestError(
                f"no instance class known for {source.identifier} (it does not exist now): give --instance-class"
            )
        restorer = self.restorers[region]
        for identifier in (name, instance):
            if identifier is None:
                continue
            taken = restorer.taken(identifier)
            if taken:
                raise InvalidRequestError(
                    f"--target: a {taken} named {identifier} already exists in {region}: give a new name "
                    "(a recovery never replaces a database)"
                )
        if options.subnet_group or options.security_groups:
            placement = Placement(options.subnet_group or "", tuple(options.security_groups))
        elif source.live and region == self.region:
            placement = restorer.placement_of(source.type, source.identifier)
        else:
            placement = Placement()
        return Target(
            type=source.type,
            identifier=name,
            region=region,
            instance_class=instance_class,
            placement=placement,
            instance_identifier=instance,
        )

    def _check_checks(self, options: Options, source: Source) -> None:
        sql = options.checks.checks.sql if options.checks else None
        if sql is None or sql.secret_arn is None:
            return
        regions = {self.region, self.dr_region}
        check_local(
            parse_arn(sql.secret_arn, field="checks.sql.secret_arn"),
            field="checks.sql.secret_arn",
            region=regions,
            account=account_of(source.arn),
        )
        try:
            self.secret_store.describe(sql.secret_arn)
        except AwsError as exc:
            raise InvalidRequestError(
                f"checks.sql.secret_arn: secret {sql.secret_arn} cannot be read: {exc.code}"
            ) from exc

    # ---------------------------------------------------------------- restore, wait, check

    def restore(self, plan: RecoveryPlan) -> Outcome:
        """Start the restore (one new instance, or a cluster and its instance). The start is the RTO's start."""
        started_at = self.now()
        restorer = self.restorers[plan.target.region]
        target = plan.target
        if target.type is DatabaseType.INSTANCE:
            if plan.point.type == "point-in-time":
                restorer.restore_instance_to_time(
                    target.identifier,
                    plan.source.identifier,
                    plan.restore_time,
                    instance_class=target.instance_class,
                    tags=plan.tags,
                    placement=target.placement,
                )
            else:
                restorer.restore_instance_from_snapshot(
                    target.identifier,
                    str(plan.point.identifier),
                    instance_class=target.instance_class,
                    tags=plan.tags,
                    placement=target.placement,
                )
        else:
            if plan.point.type == "point-in-time":
                restorer.restore_cluster_to_time(
                    target.identifier,
                    plan.source.identifier,
                    plan.restore_time,
                    tags=plan.tags,
                    placement=target.placement,
                )
            else:
                restorer.restore_cluster_from_snapshot(
                    target.identifier,
                    str(plan.point.identifier),
                    engine=plan.source.engine,
                    tags=plan.tags,
                    placement=target.placement,
                )
            try:
                restorer.create_cluster_instance(
                    target.identifier,
                    str(target.instance_identifier),
                    engine=plan.source.engine,
                    instance_class=str(target.instance_class),
                    tags=plan.tags,
                )
            except AwsError as exc:
                raise RecoveryError(
                    f"cluster {target.identifier} is restoring in {target.region}, but its instance could not be "
                    f"created ({exc}): create it, or delete the cluster"
                ) from exc
        return Outcome(plan=plan, started_at=started_at)

    def wait(
        self,
        outcome: Outcome,
        *,
        poll_seconds: float,
        timeout_seconds: float,
        progress: Callable[[str, float], None] = lambda status, elapsed: None,
    ) -> Outcome:
        """Poll until the new database is available; ``RecoveryError`` if it fails or the time runs out."""
        target = outcome.plan.target
        restorer = self.restorers[target.region]
        deadline = time.monotonic() + timeout_seconds
        while True:
            seen = restorer.observe(target.type, target.identifier, target.instance_identifier)
            elapsed = rp.seconds_between(outcome.started_at, self.now())
            status = seen.status if seen else "missing"
            progress(status, elapsed)
            if seen is None or status in FAILED_STATES:
                raise RecoveryError(f"{target.identifier} is {status} after {elapsed:.0f}s: the restore failed")
            if status == "available":
                outcome.available_at = self.now()
                # a cluster reports its endpoint and engine, not its instance's
                outcome.recovered = seen
                return outcome
            if time.monotonic() > deadline:
                raise RecoveryError(
                    f"{target.identifier} still {status} after {elapsed:.0f}s; it keeps restoring: "
                    f"{poll_command(outcome.plan)}"
                )
            time.sleep(poll_seconds)

    def check(self, outcome: Outcome, checks: DrillRequest | None) -> Outcome:
        """The drill's API checks (status, engine, version, encryption, storage) and its SQL checks."""
        assert outcome.recovered is not None
        source, point = drill_shape(outcome.plan)
        restored = outcome.recovered
        results = [r for r in compare_restored(source, point, restored) if r.name in RECOVERY_CHECKS]
        if checks is not None and checks.checks.sql is not None:
            targeted = outcome.plan.point.time or outcome.plan.rpo_reference
            sql_results, _ = sql_checks(source.engine, targeted, restored, checks.checks.sql, self.secret_store)
            results.extend(sql_results)
        outcome.checks = [r.to_json() for r in results]
        return outcome


def _names_type(source_arn: str, database_type: DatabaseType) -> bool:
    marker = ":cluster:" if database_type is DatabaseType.CLUSTER else ":db:"
    return marker in source_arn


def drill_shape(plan: RecoveryPlan) -> tuple[PlanSource, PlanRecoveryPoint]:
    """The plan's source and recovery point as the drill's checks read them."""
    source = PlanSource(
        type="cluster" if plan.source.type is DatabaseType.CLUSTER else "instance",
        identifier=plan.source.identifier,
        arn=plan.source.arn,
        engine=plan.source.engine,
        engine_version=plan.source.engine_version,
        encrypted=plan.source.encrypted,
    )
    point = PlanRecoveryPoint(
        type=plan.point.type,
        identifier=plan.point.identifier,
        arn=plan.point.arn,
        region=plan.point.region,
        engine_version=plan.point.engine_version,
        encrypted=plan.point.encrypted,
        allocated_storage=plan.point.allocated_storage,
    )
    return source, point
