"""The steps of a restore drill. Each takes the drill's state (the state machine's JSON) and returns it
with its own part added; the state machine passes the whole state from step to step.

validate -> restore -> (wait, poll)* -> check -> cleanup -> record. Every step after the restore
started leads to cleanup, failures included (the state machine's Catch).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from .. import tags as tag_keys
from ..adapters.drill_rds import (
    TERMINAL_FAILURE_STATES,
    DrillRdsGateway,
    Network,
    RestoredDatabase,
    SnapshotInfo,
    SourceDatabase,
)
from ..adapters.sql import ConnectionTarget, Credentials, connect, engine_family, scalar, scrub, timed
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
from ..errors import (
    InvalidRequestError,
    ResourceNotFoundError,
    RestoreFailedError,
    RestoreTimedOutError,
)
from ..models import DatabaseType
from ..policy import PolicyDocument
from .plan import (
    CLUSTER_INSTANCE_SUFFIX,
    FIRST_POLL_SECONDS,
    DrillMode,
    DrillRequest,
    SnapshotSelector,
    drill_identifier,
    drill_tags,
    iso,
    judge,
    next_poll_wait,
    parse_drill_request,
    parse_drill_state,
    parse_time,
    resource_expiry,
    restore_deadline,
    rpo_target_seconds,
    rto_target_seconds,
)
from .report import render_markdown, report_document


class SecretsReader(Protocol):
    def describe_secret(self, *, SecretId: str) -> Any: ...  # noqa: N803 - boto3's spelling

    def get_secret_value(self, *, SecretId: str) -> Any: ...  # noqa: N803


SecretsFactory = Callable[[str], SecretsReader]
"""A Secrets Manager client for a Region (a secret is read in the Region its ARN names)."""


def secret_region(secret_arn: str) -> str:
    return parse_arn(secret_arn, field="checks.sql.secret_arn").region


class DrillRecords(Protocol):
    def put_report(self, key: str, document: dict[str, Any], markdown: str) -> dict[str, str]: ...

    def put_history(self, item: dict[str, Any]) -> None: ...


def _execution_name(execution_id: str) -> str:
    """The name in ``arn:aws:states:region:account:execution:state-machine:name``."""
    arn = parse_arn(execution_id, field="execution_id")
    parts = arn.resource.split(":")
    if arn.service != "states" or len(parts) != 3 or parts[0] != "execution" or not parts[2]:
        raise InvalidRequestError(f"execution_id: {execution_id} is not a Step Functions execution ARN")
    return parts[2]


# ---------------------------------------------------------------- validate


def validate(
    event: Mapping[str, Any],
    *,
    stack_name: str,
    policies: PolicyDocument,
    source_rds: DrillRdsGateway,
    dr_rds: DrillRdsGateway,
    secrets: SecretsFactory,
    now: datetime,
    account: str | None = None,
) -> dict[str, Any]:
    """Check the input against what exists; the plan for the restore. Raises before anything is created.

    The source must be a protected database (its ``restorable:policy`` names a policy that exists); a
    snapshot or cross-Region drill restores only a snapshot this stack manages for that source. ARNs
    naming another partition, Region or account (``account``: the stack's, when known) are rejected.
    """
    if not isinstance(event, Mapping):
        raise InvalidRequestError(f"the validate step needs a JSON object, got {type(event).__name__}")
    execution_id = str(event.get("execution_id") or "")
    if not execution_id:
        raise InvalidRequestError("the validate step needs the execution id ($$.Execution.Id)")
    execution_name = _execution_name(execution_id)
    request = parse_drill_request(event.get("input"))
    started_at = parse_time(event.get("started_at")) or now
    source = _find_protected_source(source_rds, request.source, policies, account)
    mode = request.mode

    restore_time: datetime | None = None
    if mode is DrillMode.PITR:
        restore_time = _validate_restore_time(source, request, now)
        point: dict[str, Any] = {
            "type": "point-in-time",
            "identifier": None,
            "arn": None,
            "region": source_rds.region,
            "created_at": iso(restore_time) if restore_time else None,
            "encrypted": source.encrypted,
            "engine_version": source.engine_version,
            "allocated_storage": source.allocated_storage,
        }
        latest = source.latest_restorable_time or now
        recovery_point_time = restore_time or latest
        targeted_time = restore_time or started_at
        region_gateway = source_rds
    else:
        region_gateway = dr_rds if mode is DrillMode.CROSS_REGION else source_rds
        snapshot = _select_snapshot(region_gateway, source, request.selector, stack_name, account)
        point = {
            "type": "snapshot",
            "identifier": snapshot.identifier,
            "arn": snapshot.arn,
            "region": snapshot.region,
            "created_at": iso(snapshot.created_at) if snapshot.created_at else None,
            "encrypted": snapshot.encrypted,
            "engine_version": snapshot.engine_version or source.engine_version,
            "allocated_storage": snapshot.allocated_storage,
            "kind": snapshot.tags.get(tag_keys.KIND),
        }
        recovery_point_time = snapshot.created_at or started_at
        targeted_time = started_at

    _validate_checks(request, source, secrets, source_rds.region, region_gateway.region)

    rto = rto_target_seconds(mode, request.targets)
    deadline = restore_deadline(started_at, rto)
    expires_at = resource_expiry(deadline)
    identifier = drill_identifier(source.identifier, execution_id)
    instance_class = request.instance_class or source.instance_class
    if not instance_class:
        raise InvalidRequestError(f"no instance class known for {source.identifier}: give 'instance_class'")
    target = {
        "type": source.type.value,
        "identifier": identifier,
        "instance_identifier": identifier + CLUSTER_INSTANCE_SUFFIX if source.type is DatabaseType.CLUSTER else None,
        "instance_class": instance_class,
        "region": region_gateway.region,
    }
    plan = {
        "execution_id": execution_id,
        "execution_name": execution_name,
        "started_at": iso(started_at),
        "mode": mode.value,
        "region": region_gateway.region,
        "source": {
            "type": source.type.value,
            "identifier": source.identifier,
            "arn": source.arn,
            "engine": source.engine,
            "engine_version": source.engine_version,
            "encrypted": source.encrypted,
        },
        "recovery_point": point,
        "restore_time": iso(restore_time) if restore_time else None,
        "recovery_point_time": iso(recovery_point_time),
        "targeted_time": iso(targeted_time),
        "target": target,
        "tags": drill_tags(stack_name, source.arn, execution_id, expires_at),
        "targets": {"rto_seconds": rto, "rpo_seconds": rpo_target_seconds(mode, request.targets)},
        "deadline": iso(deadline),
        "expires_at": iso(expires_at),
    }
    return {
        "request": request.model_dump(mode="json", exclude_none=True),
        "plan": plan,
        "poll": {"attempt": 0, "wait_seconds": FIRST_POLL_SECONDS, "available": False},
        "timeline": {"started_at": iso(started_at), "validated_at": iso(now)},
    }


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
    gateway: DrillRdsGateway, reference: str, policies: PolicyDocument, account: str | None
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
    gateway: DrillRdsGateway,
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
    return max(available, key=lambda s: (s.created_at, s.identifier))


def _validate_checks(
    request: DrillRequest, source: SourceDatabase, secrets: SecretsFactory, source_region: str, restore_region: str
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
        secrets(secret_region(sql.secret_arn)).describe_secret(SecretId=sql.secret_arn)
    except Exception as exc:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
        raise InvalidRequestError(f"checks.sql.secret_arn: secret {sql.secret_arn} cannot be read: {code}") from exc


# ---------------------------------------------------------------- restore


def restore(drill: dict[str, Any], gateway: DrillRdsGateway, network: Network, now: datetime) -> dict[str, Any]:
    parse_drill_state(drill, "restore")
    plan = drill["plan"]
    gateway.restore(plan, network)
    return {
        **drill,
        "restore": {
            "network": {"subnet_group": network.subnet_group, "security_groups": list(network.security_group_ids)}
        },
        "timeline": {**drill.get("timeline", {}), "restore_started_at": iso(now)},
    }


# ---------------------------------------------------------------- poll


def poll(drill: dict[str, Any], gateway: DrillRdsGateway, now: datetime) -> dict[str, Any]:
    """One look at the temporary database; the wait before the next look grows with the time elapsed."""
    parse_drill_state(drill, "poll")
    plan = drill["plan"]
    target = plan["target"]
    restored = _observe(gateway, target)
    attempt = int(drill.get("poll", {}).get("attempt", 0)) + 1
    started_at = parse_time(plan["started_at"]) or now
    deadline = parse_time(plan["deadline"]) or now
    elapsed = (now - started_at).total_seconds()
    if restored is None:
        raise RestoreFailedError(f"{target['identifier']} does not exist: the restore did not start or was deleted")
    if restored.status in TERMINAL_FAILURE_STATES:
        raise RestoreFailedError(f"{target['identifier']} is '{restored.status}': the restore failed")
    if restored.status == "available":
        return {
            **drill,
            "poll": {
                "attempt": attempt,
                "wait_seconds": 0,
                "available": True,
                "status": restored.status,
                # became available at most this long before it was seen: the RTO's resolution
                "resolution_seconds": int(drill.get("poll", {}).get("wait_seconds", 0)),
            },
            "restored": restored.to_dict(),
            "timeline": {**drill.get("timeline", {}), "available_at": iso(now)},
        }
    remaining = (deadline - now).total_seconds()
    if remaining <= 0:
        raise RestoreTimedOutError(
            f"{target['identifier']} still '{restored.status}' after {elapsed:.0f}s; the deadline "
            f"({plan['deadline']}) is twice the RTO target of {plan['targets']['rto_seconds']}s"
        )
    return {
        **drill,
        "poll": {
            "attempt": attempt,
            "wait_seconds": next_poll_wait(elapsed, remaining),
            "available": False,
            "status": restored.status,
        },
    }


def _observe(gateway: DrillRdsGateway, target: Mapping[str, Any]) -> RestoredDatabase | None:
    if target["type"] != DatabaseType.CLUSTER.value:
        return gateway.describe_instance(target["identifier"])
    cluster = gateway.describe_cluster(target["identifier"])
    if cluster is None or cluster.status != "available":
        return cluster
    instance = gateway.describe_instance(target["instance_identifier"])
    if instance is None:
        return RestoredDatabase(identifier=target["identifier"], status="creating-instance")
    if instance.status != "available":
        return RestoredDatabase(identifier=target["identifier"], status=instance.status)
    return cluster


# ---------------------------------------------------------------- check


def check(drill: dict[str, Any], secrets: SecretsFactory, now_fn: Callable[[], datetime]) -> dict[str, Any]:
    """API checks on what RDS reports, then the configured SQL checks through the real driver."""
    parse_drill_state(drill, "check")
    plan = drill["plan"]
    restored = drill.get("restored") or {}
    results = api_checks(plan, restored)
    data_rpo: float | None = None
    request = DrillRequest.model_validate(drill["request"])
    if request.checks.sql is not None:
        sql_results, data_rpo = sql_checks(plan, restored, request, secrets)
        results.extend(sql_results)
    finished_at: datetime = now_fn()
    return {
        **drill,
        "checks": {
            "results": results,
            "passed": all(r["status"] == "passed" for r in results),
            "data_rpo_seconds": data_rpo,
            "finished_at": iso(finished_at),
        },
        "timeline": {**drill.get("timeline", {}), "checked_at": iso(finished_at)},
    }


def api_checks(plan: Mapping[str, Any], restored: Mapping[str, Any]) -> list[dict[str, Any]]:
    source = plan["source"]
    point = plan["recovery_point"]

    def result(name: str, ok: bool, detail: str) -> dict[str, Any]:
        return {"name": name, "kind": "api", "status": "passed" if ok else "failed", "detail": detail}

    storage_ok = source["type"] == DatabaseType.CLUSTER.value or int(restored.get("allocated_storage") or 0) >= int(
        point.get("allocated_storage") or 0
    )
    return [
        result("status", restored.get("status") == "available", f"status {restored.get('status')}"),
        result(
            "engine",
            restored.get("engine") == source["engine"],
            f"restored {restored.get('engine')}, source {source['engine']}",
        ),
        result(
            "engine_version",
            str(restored.get("engine_version")) == str(point.get("engine_version") or source["engine_version"]),
            f"restored {restored.get('engine_version')}, recovery point {point.get('engine_version')}",
        ),
        result(
            "encryption",
            bool(restored.get("encrypted")) == bool(point.get("encrypted"))
            and (bool(restored.get("encrypted")) or not source["encrypted"]),
            f"restored encrypted={restored.get('encrypted')}, recovery point encrypted={point.get('encrypted')}",
        ),
        result(
            "storage",
            storage_ok,
            "Aurora storage grows on demand"
            if source["type"] == DatabaseType.CLUSTER.value
            else f"restored {restored.get('allocated_storage')} GiB, "
            f"recovery point {point.get('allocated_storage')} GiB",
        ),
        result(
            "isolation",
            not restored.get("publicly_accessible") and not restored.get("deletion_protection"),
            f"publicly_accessible={restored.get('publicly_accessible')}, "
            f"deletion_protection={restored.get('deletion_protection')}",
        ),
    ]


def read_credentials(secrets: SecretsFactory, secret_arn: str) -> Credentials:
    try:
        value = secrets(secret_region(secret_arn)).get_secret_value(SecretId=secret_arn)
    except Exception as exc:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
        if code == "ResourceNotFoundException":
            raise ResourceNotFoundError(f"secret {secret_arn} does not exist ({code})", code=code) from exc
        raise InvalidRequestError(f"secret {secret_arn} cannot be read: {code}") from exc
    try:
        document = json.loads(value.get("SecretString") or "")
        return Credentials(username=str(document["username"]), password=str(document["password"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidRequestError(f"secret {secret_arn} is not a JSON object with 'username' and 'password'") from exc


def sql_checks(
    plan: Mapping[str, Any], restored: Mapping[str, Any], request: DrillRequest, secrets: SecretsFactory
) -> tuple[list[dict[str, Any]], float | None]:
    sql = request.checks.sql
    assert sql is not None
    secret_arn = sql.secret_arn or restored.get("master_user_secret_arn")
    if not secret_arn:
        raise InvalidRequestError(
            f"{restored.get('identifier')} has no managed master user secret; give checks.sql.secret_arn"
        )
    credentials = read_credentials(secrets, secret_arn)
    if not restored.get("address") or not restored.get("port"):
        raise RestoreFailedError(f"{restored.get('identifier')} reports no endpoint to connect to")
    target = ConnectionTarget(
        family=engine_family(plan["source"]["engine"]),
        host=str(restored["address"]),
        port=int(restored["port"]),
        database=sql.database,
        tls=sql.tls,
        connect_timeout_seconds=sql.connect_timeout_seconds,
    )
    names = [q.name for q in sql.queries] + ([sql.freshness.name] if sql.freshness else [])
    results: list[dict[str, Any]] = []
    data_rpo: float | None = None
    try:
        with connect(target, credentials) as connection:
            for query in sql.queries:
                results.append(_run_query(connection, query.name, query.sql, query.min_value, credentials))
            if sql.freshness is not None:
                fresh, data_rpo = _run_freshness(connection, plan, sql.freshness, credentials)
                results.append(fresh)
    except Exception as exc:  # a connection failure fails every SQL check, with the reason
        detail = scrub(f"cannot connect to {target.host}:{target.port}/{target.database}: {exc}", credentials.password)
        done = {r["name"] for r in results}
        results.extend(
            {"name": name, "kind": "sql", "status": "error", "detail": detail} for name in names if name not in done
        )
    return results, data_rpo


def _run_query(connection: Any, name: str, sql: str, minimum: float | None, credentials: Credentials) -> dict[str, Any]:
    try:
        value, duration_ms = timed(lambda: scalar(connection, sql))
    except Exception as exc:
        _rollback(connection)
        return {"name": name, "kind": "sql", "status": "error", "detail": scrub(str(exc), credentials.password)}
    try:
        number = float(value)
    except (TypeError, ValueError):
        return {"name": name, "kind": "sql", "status": "failed", "detail": f"returned {value!r}, not a number"}
    ok = minimum is None or number >= minimum
    detail = f"{number:g}" + ("" if minimum is None else f" (minimum {minimum:g})")
    return {
        "name": name,
        "kind": "sql",
        "status": "passed" if ok else "failed",
        "value": number,
        "detail": detail,
        "duration_ms": duration_ms,
    }


def _run_freshness(
    connection: Any, plan: Mapping[str, Any], freshness: Any, credentials: Credentials
) -> tuple[dict[str, Any], float | None]:
    name = freshness.name
    try:
        value, duration_ms = timed(lambda: scalar(connection, freshness.sql))
    except Exception as exc:
        _rollback(connection)
        return {"name": name, "kind": "sql", "status": "error", "detail": scrub(str(exc), credentials.password)}, None
    newest = parse_time(value)
    if newest is None:
        return {"name": name, "kind": "sql", "status": "failed", "detail": f"returned {value!r}, not a time"}, None
    targeted = parse_time(plan["targeted_time"]) or newest
    age = round((targeted - newest).total_seconds(), 3)
    ok = freshness.max_age_seconds is None or age <= freshness.max_age_seconds
    limit = "" if freshness.max_age_seconds is None else f" (maximum {freshness.max_age_seconds}s)"
    return {
        "name": name,
        "kind": "sql",
        "status": "passed" if ok else "failed",
        "value": iso(newest),
        "detail": f"newest data {iso(newest)}, {age:.0f}s before the targeted time{limit}",
        "duration_ms": duration_ms,
    }, age


def _rollback(connection: Any) -> None:
    with contextlib.suppress(Exception):  # the failed query is what gets reported
        connection.rollback()


# ---------------------------------------------------------------- cleanup


def cleanup(drill: dict[str, Any], gateway: DrillRdsGateway, stack_name: str, now: datetime) -> dict[str, Any]:
    """Delete the temporary database (tag-checked, bound to this execution); nothing if it was never created."""
    parse_drill_state(drill, "cleanup")
    plan = drill["plan"]
    target = plan["target"]
    if target["type"] == DatabaseType.CLUSTER.value:
        outcome = gateway.delete_cluster(target["identifier"], stack_name, plan["execution_id"])
    else:
        outcome = gateway.delete_instance(target["identifier"], stack_name, plan["execution_id"])
    return {
        **drill,
        "cleanup": {"target": target["identifier"], "result": outcome, "remaining": []},
        "timeline": {**drill.get("timeline", {}), "cleaned_up_at": iso(now)},
    }


# ---------------------------------------------------------------- record


def report_key(plan: Mapping[str, Any]) -> str:
    started = (parse_time(plan["started_at"]) or datetime.now(UTC)).strftime("%Y-%m-%dT%H-%M-%SZ")
    return f"drills/{plan['source']['identifier']}/{started}-{plan['execution_name']}"


def record(drill: dict[str, Any], records: DrillRecords, now: datetime) -> dict[str, Any]:
    """The verdict, the report (JSON + Markdown in S3) and the history item (DynamoDB)."""
    parse_drill_state(drill, "record")
    plan = drill["plan"]
    verdict = judge(drill, now)
    timeline = {**drill.get("timeline", {}), "finished_at": iso(now)}
    drill = {**drill, "timeline": timeline}
    document = report_document(drill, verdict)
    locations = records.put_report(report_key(plan), document, render_markdown(document))
    records.put_history(history_item(drill, verdict, locations))
    source = plan["source"]["identifier"]
    subject = f"Restorable drill {verdict.outcome}: {source} ({plan['mode']})"
    summary_lines = [
        f"Restore drill of {source} ({plan['mode']}) {verdict.outcome.upper()}.",
        f"Execution: {plan['execution_id']}",
        f"RTO: {_seconds(verdict.rto_seconds)} (target {plan['targets']['rto_seconds']}s)",
        f"RPO: {_seconds(verdict.rpo_seconds)}"
        + (f" (target {plan['targets']['rpo_seconds']}s)" if plan["targets"].get("rpo_seconds") else ""),
        *[f"- {reason}" for reason in verdict.reasons],
        f"Report: {locations.get('markdown', '')}",
    ]
    return {
        **drill,
        "record": {
            "outcome": verdict.outcome,
            "reasons": list(verdict.reasons),
            "rto_seconds": verdict.rto_seconds,
            "rpo_seconds": verdict.rpo_seconds,
            "report": locations,
            "subject": subject[:100],
            "summary": "\n".join(summary_lines),
        },
    }


def _seconds(value: float | None) -> str:
    return "not measured" if value is None else f"{value:.0f}s"


def history_item(drill: Mapping[str, Any], verdict: Any, locations: Mapping[str, str]) -> dict[str, Any]:
    plan = drill["plan"]
    item: dict[str, Any] = {
        "source_arn": plan["source"]["arn"],
        "started_at": plan["started_at"],
        "finished_at": drill["timeline"]["finished_at"],
        "execution_id": plan["execution_id"],
        "source_identifier": plan["source"]["identifier"],
        "mode": plan["mode"],
        "region": plan["region"],
        "recovery_point": plan["recovery_point"].get("arn") or plan.get("restore_time") or "latest",
        "recovery_point_time": plan["recovery_point_time"],
        "outcome": verdict.outcome,
        "reasons": list(verdict.reasons),
        "rto_target_seconds": plan["targets"]["rto_seconds"],
        "report_uri": locations.get("json", ""),
    }
    if plan["targets"].get("rpo_seconds") is not None:
        item["rpo_target_seconds"] = plan["targets"]["rpo_seconds"]
    for key in ("rto_seconds", "rpo_seconds", "data_rpo_seconds"):
        value = getattr(verdict, key)
        if value is not None:
            item[key] = value
    return item


def elapsed_since(start: str, now: datetime) -> timedelta:
    return now - (parse_time(start) or now)
