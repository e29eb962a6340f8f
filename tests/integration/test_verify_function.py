"""VerifyFunction through the template's wiring on moto: checks fire and clear, events, dedupe."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import time_machine

from local_runtime.functions import Functions
from local_runtime.template import REPO_ROOT, Template
from restorable.errors import ConfigurationError, InvalidRequestError
from tests.conftest import DR_REGION, SOURCE_REGION
from tests.fleet import Fleet
from tests.verify_env import VerifyEnvironment

SUNDAY = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
VERIFY_AT = datetime(2026, 11, 22, 3, 5, tzinfo=UTC)


def sample(name: str) -> dict[str, Any]:
    return dict(json.loads((REPO_ROOT / "events" / name).read_text()))


def schedule(functions: Functions, name: str) -> Any:
    [found] = [s for s in functions.schedules() if s.name == name]
    return found


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(SUNDAY - timedelta(hours=1), tick=False) as traveller:
        yield traveller


@pytest.fixture
def env(aws: None, template: Template, clock: time_machine.Coordinates) -> Iterator[VerifyEnvironment]:
    environment = VerifyEnvironment(template, SOURCE_REGION, DR_REGION)
    environment.create()
    yield from environment.install()


def copy_to_dr(rds: Any) -> None:
    """What the DR copy function does (docs/dr-copies.md): same identifier, same tags, in the DR Region."""
    dr = boto3.client("rds", region_name=DR_REGION)
    for snap in rds.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]:
        dr.copy_db_snapshot(
            SourceDBSnapshotIdentifier=snap["DBSnapshotArn"],
            TargetDBSnapshotIdentifier=snap["DBSnapshotIdentifier"],
            CopyTags=True,
            SourceRegion=SOURCE_REGION,
        )
    for snap in rds.describe_db_cluster_snapshots(SnapshotType="manual")["DBClusterSnapshots"]:
        dr.copy_db_cluster_snapshot(
            SourceDBClusterSnapshotIdentifier=snap["DBClusterSnapshotArn"],
            TargetDBClusterSnapshotIdentifier=snap["DBClusterSnapshotIdentifier"],
            CopyTags=True,
            SourceRegion=SOURCE_REGION,
        )


@pytest.fixture
def healthy(functions: Functions, fleet: Fleet, env: VerifyEnvironment, clock: time_machine.Coordinates) -> Fleet:
    """Two instances and a cluster with every backup in order: weekly + monthly snapshots copied to DR."""
    fleet.instance("orders-mysql")
    fleet.instance("billing-pg", engine="postgres")
    fleet.instance("scratch", policy="none")
    fleet.cluster("ledger")
    fleet.rds.modify_db_cluster(DBClusterIdentifier="ledger", CopyTagsToSnapshot=True, ApplyImmediately=True)
    for identifier in ("orders-mysql", "billing-pg"):
        env.set_replication(identifier, DR_REGION)
    clock.move_to(SUNDAY)
    for name in ("WeeklySnapshots", "MonthlySnapshots"):
        functions.invoke("SnapshotFunction", schedule(functions, name).event_for(SUNDAY)).result()
    copy_to_dr(fleet.rds)
    clock.move_to(VERIFY_AT)
    return fleet


def verify(functions: Functions, event: dict[str, Any] | None = None) -> dict[str, Any]:
    return dict(functions.invoke("VerifyFunction", event or sample("verify-hourly.json")).result())


def findings(payload: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(f["resource"], f["check"]): f["severity"] for f in payload["findings"]}


def arn(fleet: Fleet, identifier: str) -> str:
    return str(fleet.rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]["DBInstanceArn"])


def test_healthy_fleet_is_healthy_and_sends_nothing(
    functions: Functions, healthy: Fleet, env: VerifyEnvironment
) -> None:
    payload = verify(functions)
    assert payload["findings"] == []
    assert payload["status"] == "HEALTHY"
    assert payload["databases_verified"] == 3  # orders-mysql, billing-pg, ledger (scratch opted out, ledger-1 member)
    assert env.messages() == []
    assert env.state() == {}


def test_each_check_fires_then_clears(
    functions: Functions, healthy: Fleet, env: VerifyEnvironment, clock: time_machine.Coordinates
) -> None:
    rds = healthy.rds
    orders = arn(healthy, "orders-mysql")
    later = SUNDAY + timedelta(hours=8)  # the missing DR copy is then 8 h behind
    env.set_latest_restorable_time(orders, later - timedelta(minutes=90))
    env.set_replication("billing-pg", None)
    rds.modify_db_instance(DBInstanceIdentifier="billing-pg", BackupRetentionPeriod=3, ApplyImmediately=True)
    rds.modify_db_instance(DBInstanceIdentifier="billing-pg", CopyTagsToSnapshot=False, ApplyImmediately=True)
    healthy.set_instance_status("billing-pg", "stopped")
    dr = boto3.client("rds", region_name=DR_REGION)
    dr.delete_db_cluster_snapshot(DBClusterSnapshotIdentifier="ledger-weekly-2026-11-22")
    env.quotas[DR_REGION]["ManualSnapshots"] = (85, 100)
    clock.move_to(later)

    payload = verify(functions)
    assert findings(payload) == {
        ("orders-mysql", "recovery-point-age"): "CRITICAL",
        ("billing-pg", "automated-backups"): "WARNING",
        ("billing-pg", "copy-tags-to-snapshot"): "WARNING",
        ("billing-pg", "database-state"): "WARNING",
        ("billing-pg", "backup-replication"): "WARNING",
        ("ledger", "dr-copy:weekly"): "WARNING",
        (f"RDS {DR_REGION}", "snapshot-quota:ManualSnapshots"): "WARNING",
    }
    assert payload["status"] == "CRITICAL"
    [rpo] = [f for f in payload["findings"] if f["check"] == "recovery-point-age"]
    assert "1.5 h old" in rpo["observed"]
    assert "RPO 60 min" in rpo["expected"]
    [retention] = [f for f in payload["findings"] if f["check"] == "automated-backups"]
    assert retention["fix"].startswith("aws rds modify-db-instance --db-instance-identifier billing-pg")
    assert len(env.messages()) == 1

    # fix everything
    env.set_latest_restorable_time(orders, later - timedelta(minutes=3))
    env.set_replication("billing-pg", DR_REGION)
    rds.modify_db_instance(
        DBInstanceIdentifier="billing-pg", BackupRetentionPeriod=7, CopyTagsToSnapshot=True, ApplyImmediately=True
    )
    healthy.set_instance_status("billing-pg", "available")
    copy_ledger = boto3.client("rds", region_name=DR_REGION)
    source = rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier="ledger-weekly-2026-11-22")
    copy_ledger.copy_db_cluster_snapshot(
        SourceDBClusterSnapshotIdentifier=source["DBClusterSnapshots"][0]["DBClusterSnapshotArn"],
        TargetDBClusterSnapshotIdentifier="ledger-weekly-2026-11-22",
        CopyTags=True,
        SourceRegion=SOURCE_REGION,
    )
    env.quotas[DR_REGION]["ManualSnapshots"] = (20, 100)
    again = verify(functions)
    assert again["findings"] == []
    recovered = env.messages()[-1]
    assert len(env.messages()) == 2
    assert "7 recovered" in recovered["subject"]
    assert env.state() == {}


def test_stale_weekly_snapshot_warns_then_goes_critical(
    functions: Functions, healthy: Fleet, env: VerifyEnvironment, clock: time_machine.Coordinates
) -> None:
    for identifier in ("orders-mysql", "billing-pg", "ledger"):
        env.set_latest_restorable_time(
            f"arn:aws:rds:{SOURCE_REGION}:123456789012:{'cluster' if identifier == 'ledger' else 'db'}:{identifier}",
            SUNDAY + timedelta(days=9),
        )
    clock.move_to(SUNDAY + timedelta(days=9))
    hourly = {"scheduled_time": "2026-12-01T02:00:00Z"}  # the hourly schedule at the moved clock
    payload = verify(functions, hourly)
    assert {k: v for k, v in findings(payload).items() if k[1] == "snapshot-age:weekly"} == {
        ("orders-mysql", "snapshot-age:weekly"): "WARNING",
        ("billing-pg", "snapshot-age:weekly"): "WARNING",
        ("ledger", "snapshot-age:weekly"): "WARNING",
    }
    invocation = functions.invoke("VerifyFunction", hourly)
    weekly = [
        m
        for m in invocation.metrics
        if "MaxSnapshotAgeDays" in m and m.get("Kind") == "weekly" and m["service"] == "verify"
    ]
    assert weekly
    assert weekly[0]["MaxSnapshotAgeDays"] == [pytest.approx(9.0, abs=0.01)]


def test_event_verifies_only_the_named_instance(functions: Functions, healthy: Fleet, env: VerifyEnvironment) -> None:
    env.set_latest_restorable_time(arn(healthy, "billing-pg"), VERIFY_AT - timedelta(hours=3))  # not the named one
    invocation = functions.invoke("VerifyFunction", sample("rds-event-0002-backup-finished.json"))
    payload = invocation.result()
    assert payload["scope"] == "instance orders-mysql"
    assert payload["event_id"] == "RDS-EVENT-0002"
    assert payload["databases_verified"] == 1
    assert payload["findings"] == []
    assert env.messages() == []
    verified = {m["Database"] for m in invocation.metrics if "Database" in m}
    assert verified == {"orders-mysql"}


def test_shutdown_event_warns_that_a_stopped_instance_takes_no_backups(
    functions: Functions, healthy: Fleet, env: VerifyEnvironment
) -> None:
    healthy.set_instance_status("orders-mysql", "stopped")
    payload = verify(functions, sample("rds-event-0004-instance-shutdown.json"))
    assert findings(payload) == {("orders-mysql", "database-state"): "WARNING"}
    [message] = env.messages()
    assert "takes no automated backups" in message["body"]
    assert set(env.state()) == {(arn(healthy, "orders-mysql"), "database-state")}


def test_backups_disabled_event_is_critical(functions: Functions, healthy: Fleet, env: VerifyEnvironment) -> None:
    healthy.rds.modify_db_instance(DBInstanceIdentifier="orders-mysql", BackupRetentionPeriod=0, ApplyImmediately=True)
    payload = verify(functions, sample("rds-event-0028-backups-disabled.json"))
    assert findings(payload)[("orders-mysql", "automated-backups")] == "CRITICAL"
    assert payload["status"] == "CRITICAL"
    assert env.messages()[0]["subject"].startswith("Restorable restorable us-east-1: CRITICAL")


def test_dedupe_over_a_sequence_of_runs(
    functions: Functions, healthy: Fleet, env: VerifyEnvironment, clock: time_machine.Coordinates
) -> None:
    orders = arn(healthy, "orders-mysql")

    def run_at(moment: datetime, restorable_lag: timedelta) -> dict[str, Any]:
        clock.move_to(moment)
        env.set_latest_restorable_time(orders, moment - restorable_lag)
        for other in ("billing-pg",):
            env.set_latest_restorable_time(arn(healthy, other), moment)
        env.set_latest_restorable_time(f"arn:aws:rds:{SOURCE_REGION}:123456789012:cluster:ledger", moment)
        return verify(functions)

    run_at(VERIFY_AT, timedelta(minutes=20))  # new warning
    assert len(env.messages()) == 1
    assert "WARNING" in env.messages()[0]["body"]
    quiet = run_at(VERIFY_AT + timedelta(hours=1), timedelta(minutes=25))  # same severity: not re-sent
    assert len(env.messages()) == 1
    assert quiet["notifications"]["suppressed"] == 1
    run_at(VERIFY_AT + timedelta(hours=2), timedelta(minutes=70))  # severity changed: sent
    assert len(env.messages()) == 2
    assert "(worse, was WARNING)" in env.messages()[1]["body"]
    run_at(VERIFY_AT + timedelta(hours=3), timedelta(minutes=80))
    assert len(env.messages()) == 2
    run_at(VERIFY_AT + timedelta(hours=27), timedelta(minutes=90))  # reminder after NotificationRepeatHours (24)
    assert len(env.messages()) == 3
    assert "(reminder)" in env.messages()[2]["body"]
    assert env.state() == {(orders, "recovery-point-age"): "CRITICAL"}
    run_at(VERIFY_AT + timedelta(hours=28), timedelta(minutes=2))  # recovered: announced once, state cleared
    assert len(env.messages()) == 4
    assert "[RECOVERED] orders-mysql / recovery-point-age" in env.messages()[3]["body"]
    assert env.state() == {}
    run_at(VERIFY_AT + timedelta(hours=29), timedelta(minutes=2))
    assert len(env.messages()) == 4


def test_deleted_database_is_announced_once_and_forgotten(
    functions: Functions, healthy: Fleet, env: VerifyEnvironment
) -> None:
    healthy.rds.modify_db_instance(DBInstanceIdentifier="billing-pg", BackupRetentionPeriod=3, ApplyImmediately=True)
    verify(functions)
    assert (arn(healthy, "billing-pg"), "automated-backups") in env.state()
    healthy.rds.delete_db_instance(DBInstanceIdentifier="billing-pg", SkipFinalSnapshot=True)
    verify(functions)
    assert "no longer verified" in env.messages()[-1]["body"]
    assert env.state() == {}


@pytest.mark.parametrize("code", ["AccessDenied", "Throttling", "InvalidAction"])
def test_unreadable_quotas_are_unknown_and_the_rest_of_the_pass_completes(
    functions: Functions, healthy: Fleet, env: VerifyEnvironment, code: str
) -> None:
    env.quota_error[DR_REGION] = code  # denied, throttled, or not supported there
    invocation = functions.invoke("VerifyFunction", sample("verify-hourly.json"))
    payload = invocation.result()
    assert findings(payload) == {
        (f"RDS {DR_REGION}", "snapshot-quota:ManualSnapshots"): "UNKNOWN",
        (f"RDS {DR_REGION}", "snapshot-quota:ManualClusterSnapshots"): "UNKNOWN",
    }
    assert all(code in finding["observed"] for finding in payload["findings"])
    assert payload["databases_verified"] == 3
    assert payload["counts"]["OK"] > 0  # every other check was evaluated
    metrics = invocation.metric_values()
    assert metrics["VerificationRuns"] == 1
    assert metrics["DatabasesVerified"] == 3
    [message] = env.messages()
    assert "[UNKNOWN] RDS us-west-2 / snapshot-quota:ManualSnapshots" in message["body"]
    # once readable again the unknowns are announced as recovered and forgotten
    env.quota_error.clear()
    assert verify(functions)["findings"] == []
    assert "RECOVERED" in env.messages()[-1]["body"]
    assert env.state() == {}


def test_an_unreadable_check_keeps_what_was_announced(
    functions: Functions, healthy: Fleet, env: VerifyEnvironment
) -> None:
    env.quotas[DR_REGION]["ManualSnapshots"] = (85, 100)
    verify(functions)
    key = (f"rds:{DR_REGION}", "snapshot-quota:ManualSnapshots")
    assert env.state()[key] == "WARNING"
    sent = len(env.messages())
    env.quota_error[DR_REGION] = "Throttling"
    payload = verify(functions)
    assert findings(payload)[(f"RDS {DR_REGION}", "snapshot-quota:ManualSnapshots")] == "UNKNOWN"
    assert env.state()[key] == "WARNING"  # not "better", not "recovered": nobody looked
    assert all("snapshot-quota:ManualSnapshots (" not in m["body"] for m in env.messages()[sent:])


@pytest.mark.parametrize(
    "event_file",
    ["rds-event-without-event-id.json", "rds-event-0001-backing-up.json"],
)
def test_unhandled_rds_events_are_ignored_with_a_log_line(
    functions: Functions, healthy: Fleet, env: VerifyEnvironment, event_file: str
) -> None:
    invocation = functions.invoke("VerifyFunction", sample(event_file))
    payload = invocation.result()
    assert "ignored" in payload
    assert env.messages() == []
    assert env.state() == {}
    assert any(log["message"] == "event ignored" and log["level"] == "WARNING" for log in invocation.logs)
    assert invocation.error is None  # not raised: EventBridge would retry it and the error alarm would fire
    assert invocation.metric_values()["IgnoredEvents"] == 1


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda e: e.update(source="aws.ec2"), "event from source 'aws.ec2'"),
        (lambda e: e.update({"detail-type": "RDS DB Snapshot Event"}), "detail-type"),
        (lambda e: e.update(detail="Finished DB instance backup"), "'detail' is not an object"),
        (lambda e: e["detail"].update(SourceArn="arn:aws:rds:us-east-1:123456789012:db:ghost"), "no DB instance ghost"),
        (lambda e: e["detail"].update(SourceArn="arn:aws:rds:eu-west-1:123456789012:db:orders-mysql"), "eu-west-1"),
        (lambda e: e["detail"].update(SourceArn="arn:aws:rds:us-east-1:123456789012:db:scratch"), "not protected"),
        (lambda e: e["detail"].update(SourceArn="arn:aws:rds:us-east-1:123456789012:db:ledger-1"), "member of cluster"),
        (lambda e: e["detail"].update(SourceArn=None, SourceIdentifier=None), "no usable SourceArn"),
    ],
)
def test_bad_rds_events_change_nothing_and_alert_nobody(
    functions: Functions, healthy: Fleet, env: VerifyEnvironment, mutate: Any, reason: str
) -> None:
    healthy.rds.modify_db_instance(DBInstanceIdentifier="billing-pg", BackupRetentionPeriod=0, ApplyImmediately=True)
    event = sample("rds-event-0002-backup-finished.json")
    mutate(event)
    payload = functions.invoke("VerifyFunction", event).result()
    assert reason in payload["ignored"]
    assert env.messages() == []
    assert env.state() == {}


def test_source_identifier_is_used_when_source_arn_is_absent(
    functions: Functions, healthy: Fleet, env: VerifyEnvironment
) -> None:
    event = sample("rds-event-0002-backup-finished.json")
    del event["detail"]["SourceArn"]
    assert verify(functions, event)["scope"] == "instance orders-mysql"


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"scheduled_time": "soon"}, "scheduled_time"),
        ({"scheduled_time": "2026-11-22T03:05:00"}, "must carry a time zone"),
        ({"everything": True}, "Extra inputs are not permitted"),
        (["all"], "must be a JSON object"),
    ],
)
def test_bad_manual_requests_fail_clearly(
    functions: Functions, healthy: Fleet, env: VerifyEnvironment, event: Any, message: str
) -> None:
    invocation = functions.invoke("VerifyFunction", event)
    assert isinstance(invocation.error, InvalidRequestError)
    assert message in str(invocation.error)
    assert env.messages() == []


def test_missing_threshold_is_a_configuration_error(
    functions: Functions, healthy: Fleet, env: VerifyEnvironment
) -> None:
    invocation = functions.invoke(
        "VerifyFunction", sample("verify-hourly.json"), environment={"SNAPSHOT_MAX_AGE_DAYS": '{"weekly": 8}'}
    )
    assert isinstance(invocation.error, ConfigurationError)
    assert "monthly" in str(invocation.error)


def test_notify_false_reports_without_sending(functions: Functions, healthy: Fleet, env: VerifyEnvironment) -> None:
    healthy.rds.modify_db_instance(DBInstanceIdentifier="billing-pg", BackupRetentionPeriod=0, ApplyImmediately=True)
    payload = verify(functions, {"notify": False})
    assert payload["status"] == "CRITICAL"
    assert payload["notifications"] == {"enabled": False}
    assert env.messages() == []
    assert env.state() == {}


def test_drill_history_check(functions: Functions, healthy: Fleet, env: VerifyEnvironment) -> None:
    """Reads the drills' own history table, as the template wires it (items shaped like RecordDrill's)."""
    dynamodb = boto3.client("dynamodb", region_name=SOURCE_REGION)
    table = functions.environment("VerifyFunction")["DRILL_HISTORY_TABLE"]
    assert table == functions.template.ref("DrillHistoryTable")
    orders, billing = arn(healthy, "orders-mysql"), arn(healthy, "billing-pg")
    ledger = f"arn:aws:rds:{SOURCE_REGION}:123456789012:cluster:ledger"
    for source, finished, outcome in [
        (orders, "2026-11-01T05:00:00Z", "passed"),
        (billing, "2026-09-01T05:00:00Z", "passed"),
        (billing, "2026-11-20T05:00:00Z", "failed"),
        (billing, "2026-11-21T05:00:00Z", "running"),
        (ledger, "2026-11-21T05:00:00Z", "passed"),
    ]:
        dynamodb.put_item(
            TableName=table,
            Item={
                "source_arn": {"S": source},
                "started_at": {"S": finished.replace("05:00", "04:20")},
                "finished_at": {"S": finished},
                "outcome": {"S": outcome},
            },
        )
    payload = verify(functions)
    assert findings(payload) == {("billing-pg", "restore-drill"): "WARNING"}
    # an empty DRILL_HISTORY_TABLE turns the check off
    off = functions.invoke("VerifyFunction", sample("verify-hourly.json"), environment={"DRILL_HISTORY_TABLE": ""})
    assert off.result()["findings"] == []
