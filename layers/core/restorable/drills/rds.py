"""RDS and Aurora drills: the planner (the validate step's RDS part) and the checker (API checks on what RDS
reports, then the SQL checks through the real driver). The I/O goes through ``ports``: ``RdsSources`` to read,
``adapters.drill_rds.DrillRdsGateway`` behind ``DrillEngine`` to restore, poll and delete."""

from __future__ import annotations

from datetime import UTC, datetime

from .. import tags as tag_keys
from ..adapters.sql import engine_family
from ..arns import (
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
from ..errors import AwsError, InvalidRequestError
from ..models import DatabaseType, Engine
from ..policy import PolicyDocument
from .model import RestoredDatabase, SnapshotInfo, SourceDatabase
from .plan import CLUSTER_INSTANCE_SUFFIX, Checks, DrillMode, DrillRequest, SnapshotSelector, drill_identifier, iso
from .ports import RdsSources, SecretStore
from .state import CheckResult, DrillPlan, PlannedRestore, PlanRecoveryPoint, PlanSource, PlanTarget
from .steps import api_checks, sql_checks


class RdsDrillPlanner:
    """The validate step for RDS instances and Aurora clusters.

    The source must be a protected database (its ``restorable:policy`` names a policy that exists); a
    snapshot or cross-Region drill restores only a snapshot this stack manages for that source. ARNs
    naming another partition, Region or account (``account``: the stack's, when known) are rejected.
    """

    engine = Engine.RDS

    def __init__(
        self,
        *,
        source_rds: RdsSources,
        dr_rds: RdsSources,
        secrets: SecretStore,
        policies: PolicyDocument,
        stack_name: str,
        account: str | None,
    ) -> None:
        self.source_rds = source_rds
        self.dr_rds = dr_rds
        self.secrets = secrets
        self.policies = policies
        self.stack_name = stack_name
        self.account = account

    def locate(
        self, request: DrillRequest, *, execution_id: str, started_at: datetime, expires_at: datetime, now: datetime
    ) -> PlannedRestore:
        source_rds = self.source_rds
        source = _find_protected_source(source_rds, request.source, self.policies, self.account)
        mode = request.mode
        restore_time: datetime | None = None
        if mode is DrillMode.PITR:
            restore_time = _validate_restore_time(source, request, now)
            point = PlanRecoveryPoint(
                type="point-in-time",
                identifier=None,
                arn=None,
                region=source_rds.region,
                created_at=iso(restore_time) if restore_time else None,
                encrypted=source.encrypted,
                engine_version=source.engine_version,
                allocated_storage=source.allocated_storage,
            )
            latest = source.latest_restorable_time or now
            recovery_point_time = restore_time or latest
            targeted_time = restore_time or started_at
            region_gateway = source_rds
        else:
            region_gateway = self.dr_rds if mode is DrillMode.CROSS_REGION else source_rds
            snapshot = _select_snapshot(region_gateway, source, request.selector, self.stack_name, self.account)
            point = PlanRecoveryPoint(
                type="snapshot",
                identifier=snapshot.identifier,
                arn=snapshot.arn,
                region=snapshot.region,
                created_at=iso(snapshot.created_at) if snapshot.created_at else None,
                encrypted=snapshot.encrypted,
                engine_version=snapshot.engine_version or source.engine_version,
                allocated_storage=snapshot.allocated_storage,
                kind=snapshot.tags.get(tag_keys.KIND),
            )
            recovery_point_time = snapshot.created_at or started_at
            targeted_time = started_at

        _validate_checks(request, source, self.secrets, source_rds.region, region_gateway.region)

        identifier = drill_identifier(source.identifier, execution_id)
        instance_class = request.instance_class or source.instance_class
        if not instance_class:
            raise InvalidRequestError(f"no instance class known for {source.identifier}: give 'instance_class'")
        is_cluster = source.type is DatabaseType.CLUSTER
        return PlannedRestore(
            region=region_gateway.region,
            source=PlanSource(
                type="cluster" if is_cluster else "instance",
                identifier=source.identifier,
                arn=source.arn,
                engine=source.engine,
                engine_version=source.engine_version,
                encrypted=source.encrypted,
            ),
            recovery_point=point,
            restore_time=restore_time,
            recovery_point_time=recovery_point_time,
            targeted_time=targeted_time,
            target=PlanTarget(
                type="cluster" if is_cluster else "instance",
                identifier=identifier,
                instance_identifier=identifier + CLUSTER_INSTANCE_SUFFIX if is_cluster else None,
                instance_class=instance_class,
                region=region_gateway.region,
            ),
            checks_via="network",
        )


class RdsChecks:
    """API checks on what RDS reports of the restored database, then the configured SQL checks."""

    def __init__(self, secrets: SecretStore) -> None:
        self.secrets = secrets

    def run(
        self, plan: DrillPlan, restored: RestoredDatabase, checks: Checks
    ) -> tuple[list[CheckResult], float | None]:
        results = api_checks(plan, restored)
        if checks.sql is None:
            return results, None
        sql_results, data_rpo = sql_checks(plan.source.engine, plan.targeted, restored, checks.sql, self.secrets)
        return results + sql_results, data_rpo


def _validate_restore_time(source: SourceDatabase, request: DrillRequest, now: datetime) -> datetime | None:
    if source.backup_retention_days <= 0:
        raise InvalidRequestError(f"{source.identifier} has automated backups disabled: no point-in-time restore")
    wanted = request.restore_to
    if wanted is None:
        return None
    earliest = source.earliest_restorable_time
    latest = source.latest_restorable_time or now
    if (earliest is not None and wanted < earliest) or wanted > latest:
        window = f"{iso(earliest) if earliest else 'unknown'} .. {iso(latest)}"
        raise InvalidRequestError(
            f"restore_time {iso(wanted)} is outside the restorable window of {source.identifier} ({window})"
        )
    return wanted.astimezone(UTC)


def _find_protected_source(
    gateway: RdsSources, reference: str, policies: PolicyDocument, account: str | None
) -> SourceDatabase:
    """The source the request names (identifier or a local ARN), if it is protected by an existing policy."""
    wanted_type: DatabaseType | None = None
    identifier = reference
    if is_arn(reference):
        arn = check_local(
            parse_rds_arn(reference, field="source", types={RDS_INSTANCE, RDS_CLUSTER}),
            field="source",
            region=gateway.region,
            account=account,
        )
        wanted_type = DatabaseType.CLUSTER if arn.resource_type == RDS_CLUSTER else DatabaseType.INSTANCE
        identifier = arn.resource_name
    source = gateway.find_source(identifier, wanted_type)
    if is_arn(reference) and source.arn != reference:
        raise InvalidRequestError(f"source: {reference} is not {source.arn}, the {source.type.value} of that name here")
    name = f"source: {source.type.value} {source.identifier}"
    if source.is_cluster_member:
        raise InvalidRequestError(
            f"{name} is a member of cluster {source.cluster_identifier}: drill the cluster instead"
        )
    policy_name = source.policy_name
    if policy_name is None:
        raise InvalidRequestError(
            f"{name} is not protected (no {tag_keys.POLICY} tag naming a policy): drills restore only protected "
            "databases"
        )
    if policies.get(policy_name) is None:
        known = ", ".join(sorted(policies.policies))
        raise InvalidRequestError(f"{name}: {tag_keys.POLICY}={policy_name!r} names no policy (known: {known})")
    return source


def _select_snapshot(
    gateway: RdsSources,
    source: SourceDatabase,
    selector: SnapshotSelector,
    stack_name: str,
    account: str | None,
) -> SnapshotInfo:
    where = f"in {gateway.region}"
    if selector.identifier is not None:
        identifier = selector.identifier
        if is_arn(identifier):
            wanted = RDS_CLUSTER_SNAPSHOT if source.type is DatabaseType.CLUSTER else RDS_SNAPSHOT
            arn = check_local(
                parse_rds_arn(identifier, field="snapshot.identifier", types={wanted}),
                field="snapshot.identifier",
                region=gateway.region,
                account=account,
            )
            identifier = arn.resource_name
        snapshot = gateway.get_snapshot(source.type, identifier)
        if is_arn(selector.identifier) and snapshot.arn != selector.identifier:
            raise InvalidRequestError(f"snapshot.identifier: {selector.identifier} is not {snapshot.arn}")
        owner = snapshot.tags.get(tag_keys.MANAGED_BY)
        if owner != stack_name:
            by = f"managed by {owner!r}" if owner else f"not managed by any stack (no {tag_keys.MANAGED_BY} tag)"
            raise InvalidRequestError(
                f"snapshot.identifier: snapshot {snapshot.identifier} is {by}; drills restore only recovery points "
                f"of stack {stack_name}"
            )
        if snapshot.source_arn != source.arn:
            raise InvalidRequestError(
                f"snapshot.identifier: snapshot {snapshot.identifier} is a recovery point of "
                f"{snapshot.source_arn or 'an unknown source'} ({tag_keys.SOURCE}), not of {source.arn}"
            )
        if snapshot.status != "available":
            raise InvalidRequestError(f"snapshot {snapshot.identifier} is '{snapshot.status}', not available")
        return snapshot
    candidates = [
        s
        for s in gateway.list_snapshots(source.type)
        if s.source_arn == source.arn
        and s.tags.get(tag_keys.MANAGED_BY) == stack_name
        and (selector.kind is None or s.tags.get(tag_keys.KIND) == selector.kind)
    ]
    available = [s for s in candidates if s.status == "available" and s.created_at is not None]
    what = f"{selector.kind} snapshot" if selector.kind else "managed snapshot"
    if not available:
        pending = f" ({len(candidates)} not available yet)" if candidates else ""
        raise InvalidRequestError(f"no available {what} of {source.identifier} {where}{pending}")
    return max(available, key=lambda s: (s.created_at or datetime.min.replace(tzinfo=UTC), s.identifier))


def _validate_checks(
    request: DrillRequest, source: SourceDatabase, secrets: SecretStore, source_region: str, restore_region: str
) -> None:
    sql = request.checks.sql
    if sql is None:
        return
    engine_family(source.engine)
    if sql.secret_arn is None:
        if source.type is DatabaseType.CLUSTER:
            raise InvalidRequestError(
                "checks.sql.secret_arn is required for a cluster (a restored cluster has no managed master user "
                "secret); give a secret holding the snapshot's master username and password"
            )
        return
    check_local(
        parse_arn(sql.secret_arn, field="checks.sql.secret_arn"),
        field="checks.sql.secret_arn",
        region={source_region, restore_region},
        account=account_of(source.arn),
    )
    try:
        secrets.describe(sql.secret_arn)
    except AwsError as exc:
        raise InvalidRequestError(f"checks.sql.secret_arn: secret {sql.secret_arn} cannot be read: {exc.code}") from exc
