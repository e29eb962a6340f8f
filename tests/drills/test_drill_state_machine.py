"""The real drill definition executing on moto's Step Functions, Lambda tasks running in-process.

Every run must leave no temporary resource behind, whatever step fails.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.core import DEFAULT_ACCOUNT_ID
from moto.rds.models import rds_backends

from restorable.drills import steps as drill_steps
from restorable.errors import AwsError, CleanupPendingError
from tests.drills.conftest import DR_REGION, SOURCE_REGION, STACK, DrillWorld, sample


def _body_value(params: dict[str, Any], key: str) -> Any:
    body = params.get("body")
    return body.get(key) if isinstance(body, dict) else None


# ---------------------------------------------------------------- each mode, end to end


def test_snapshot_drill_restores_checks_records_and_cleans_up(world: DrillWorld) -> None:
    world.fleet.instance("orders-mysql")
    world.managed_snapshot("orders-mysql", "weekly", "2026-11-29")
    newest = world.managed_snapshot("orders-mysql", "weekly", "2026-12-06")
    world.managed_snapshot("orders-mysql", "monthly", "2026-12-01")

    result = world.run(sample("drill-snapshot.json"))

    assert result.status == "SUCCEEDED", (result.error, result.cause, result.task_failures())
    drill = result.output
    assert drill["record"]["outcome"] == "passed", drill["record"]["reasons"]
    assert drill["plan"]["recovery_point"]["arn"] == newest  # newest weekly, not the monthly
    assert world.leftovers() == []

    [(region, operation, body)] = world.restores()
    assert (region, operation) == (SOURCE_REGION, "RestoreDBInstanceFromDBSnapshot")
    target = drill["plan"]["target"]["identifier"]
    assert body["DBInstanceIdentifier"] == target
    assert target.startswith("drill-orders-mysql-")
    assert len(target) <= 63
    assert body["PubliclyAccessible"] == "false"
    assert body["DeletionProtection"] == "false"
    assert body["ManageMasterUserPassword"] == "true"
    tags = world.request_tags(body)
    assert tags["restorable:kind"] == "drill"
    assert tags["restorable:managed-by"] == STACK
    assert tags["restorable:drill-execution"] == result.arn
    assert tags["restorable:expires-at"].startswith("2026-12-08T10:00:0")  # start + 2 x 1 h RTO + 2 h margin
    assert "restorable:policy" not in tags  # a drill database is never itself protected
    [deleted] = [c for c in world.calls if c[1] == "DeleteDBInstance"]
    assert deleted[2]["DBInstanceIdentifier"] == target
    assert deleted[2]["SkipFinalSnapshot"] == "true"

    assert {c["name"]: c["status"] for c in drill["checks"]["results"]} == {
        "status": "passed",
        "engine": "passed",
        "engine_version": "passed",
        "encryption": "passed",
        "storage": "passed",
        "isolation": "passed",
    }
    assert drill["record"]["rto_seconds"] is not None
    assert drill["record"]["rto_seconds"] <= 3600


def test_the_record_an_auditor_reads(world: DrillWorld) -> None:
    world.fleet.instance("orders-mysql")
    world.managed_snapshot("orders-mysql")
    result = world.run(sample("drill-snapshot.json"))
    assert result.status == "SUCCEEDED"

    item = world.history_item("orders-mysql")
    assert item["source_arn"]["S"] == world.source_arn("orders-mysql")
    assert item["execution_id"]["S"] == result.arn
    assert item["mode"]["S"] == "snapshot"
    assert item["outcome"]["S"] == "passed"
    assert item["started_at"]["S"].startswith("2026-12-08T06:00")
    assert item["finished_at"]["S"] > item["started_at"]["S"]
    assert float(item["rto_seconds"]["N"]) > 0
    assert float(item["rpo_seconds"]["N"]) >= 2 * 86400  # the weekly snapshot is two days old
    assert item["rto_target_seconds"]["N"] == "3600"

    report = world.report(result)
    assert report["outcome"] == "passed"
    assert [s["step"] for s in report["steps"]] == [
        "started",
        "validated",
        "restore_started",
        "available",
        "checked",
        "cleaned_up",
        "finished",
    ]
    assert report["measures"]["rto_target_seconds"] == 3600
    assert report["cleanup"]["result"] == "deleted"
    markdown = world.report(result, "markdown")
    assert "# Restore drill of orders-mysql: PASSED" in markdown
    assert "| RTO (start to available and validated) |" in markdown

    [notification] = world.published()
    assert notification["subject"] == "Restorable drill passed: orders-mysql (snapshot)"
    assert "RTO:" in notification["message"]


def test_named_snapshot_drill(world: DrillWorld) -> None:
    world.fleet.instance("orders-mysql")
    chosen = world.managed_snapshot("orders-mysql", "monthly", "2026-11-01")
    world.managed_snapshot("orders-mysql", "weekly", "2026-12-06")
    result = world.run({"source": "orders-mysql", "mode": "snapshot", "snapshot": {"identifier": chosen}})
    assert result.status == "SUCCEEDED", result.task_failures()
    assert result.output["plan"]["recovery_point"]["identifier"] == "orders-mysql-monthly-2026-11-01"
    assert world.leftovers() == []


@pytest.mark.parametrize("event_file", ["drill-pitr-latest.json", "drill-pitr-time.json"])
def test_point_in_time_drill(world: DrillWorld, event_file: str) -> None:
    world.fleet.instance("orders-mysql")
    world.machines.clock.advance(3600)  # an hour of transaction logs after the instance was created
    drill_input = sample(event_file)
    result = world.run(drill_input)
    assert result.status == "SUCCEEDED", result.task_failures()
    drill = result.output
    [(region, operation, body)] = world.restores()
    assert (region, operation) == (SOURCE_REGION, "RestoreDBInstanceToPointInTime")
    assert body["SourceDBInstanceIdentifier"] == "orders-mysql"
    if drill_input["restore_time"] != "latest":
        assert body["RestoreTime"].startswith("2026-12-08T06:30:00")
        assert body["DBInstanceClass"] == "db.t3.small"
        assert drill["record"]["rpo_seconds"] == 0  # restored exactly to the targeted time
    else:
        assert body["UseLatestRestorableTime"] == "true"
        assert drill["record"]["rpo_seconds"] < 3600
    assert drill["plan"]["targets"] == {"rto_seconds": 1800, "rpo_seconds": 3600}
    assert world.leftovers() == []


def test_cross_region_drill_restores_the_dr_copy_in_the_dr_region(world: DrillWorld) -> None:
    world.fleet.instance("orders-mysql")
    world.managed_snapshot("orders-mysql", "weekly", "2026-11-29")
    copy_arn = world.dr_copy(world.managed_snapshot("orders-mysql", "weekly", "2026-12-06"))
    world.managed_snapshot("orders-mysql", "weekly", "2026-12-07")  # newer, but not copied yet

    result = world.run(sample("drill-cross-region.json"))

    assert result.status == "SUCCEEDED", result.task_failures()
    drill = result.output
    assert drill["plan"]["region"] == DR_REGION
    assert drill["plan"]["recovery_point"]["arn"] == copy_arn
    assert drill["plan"]["targets"]["rto_seconds"] == 4 * 3600
    [(region, operation, _)] = world.restores()
    assert (region, operation) == (DR_REGION, "RestoreDBInstanceFromDBSnapshot")
    assert world.leftovers() == []


def test_cross_region_drill_without_a_dr_copy_is_rejected(world: DrillWorld) -> None:
    world.fleet.instance("orders-mysql")
    world.managed_snapshot("orders-mysql")
    result = world.run(sample("drill-cross-region.json"))
    assert result.status == "FAILED"
    assert result.error == "DrillRejected"
    assert f"no available weekly snapshot of orders-mysql in {DR_REGION}" in str(result.cause)
    assert world.restores() == []


def test_aurora_drill_restores_a_cluster_and_one_instance(world: DrillWorld) -> None:
    world.fleet.cluster("ledger", members=1)
    world.managed_cluster_snapshot("ledger")
    result = world.run({"source": "ledger", "mode": "snapshot"})
    assert result.status == "SUCCEEDED", result.task_failures()
    operations = [(op, body.get("DBClusterIdentifier")) for _, op, body in world.restores()]
    target = result.output["plan"]["target"]
    assert operations == [
        ("RestoreDBClusterFromSnapshot", target["identifier"]),
        ("CreateDBInstance", target["identifier"]),
    ]
    assert target["instance_identifier"] == target["identifier"] + "-i1"
    assert len(target["instance_identifier"]) <= 63
    deletes = [c[1] for c in world.calls if c[1].startswith("Delete")]
    assert deletes == ["DeleteDBInstance", "DeleteDBCluster"]
    assert world.leftovers() == []


def test_aurora_point_in_time_drill(world: DrillWorld) -> None:
    world.fleet.cluster("ledger", members=1)
    result = world.run({"source": "ledger", "mode": "pitr"})
    assert result.status == "SUCCEEDED", result.task_failures()
    [(_, operation, body), (_, create, _)] = world.restores()
    assert (operation, create) == ("RestoreDBClusterToPointInTime", "CreateDBInstance")
    assert body["SourceDBClusterIdentifier"] == "ledger"
    assert body["UseLatestRestorableTime"] == "true"
    assert world.leftovers() == []


def test_aurora_cross_region_drill(world: DrillWorld) -> None:
    world.fleet.cluster("ledger", members=1)
    world.dr_copy(world.managed_cluster_snapshot("ledger"))
    result = world.run({"source": "ledger", "mode": "cross-region"})
    assert result.status == "SUCCEEDED", result.task_failures()
    assert {region for region, _, _ in world.restores()} == {DR_REGION}
    assert world.leftovers() == []


# ---------------------------------------------------------------- bad input: clear error, nothing created


@pytest.mark.parametrize(
    ("drill_input", "message"),
    [
        ({"source": "ghost-db", "mode": "snapshot"}, "unknown source 'ghost-db'"),
        ({"source": "orders-mysql"}, "mode: Field required"),
        ({"source": "orders-mysql", "mode": "yesterday"}, "mode: Input should be"),
        ({"source": "orders-mysql", "mode": "snapshot", "surprise": 1}, "surprise: Extra inputs are not permitted"),
        ({"source": "orders-mysql", "mode": "pitr", "restore_time": "2020-01-01T00:00:00Z"}, "outside the restorable"),
        ({"source": "orders-mysql", "mode": "pitr", "restore_time": "2027-01-01T00:00:00Z"}, "outside the restorable"),
        ({"source": "orders-mysql", "mode": "pitr", "restore_time": "2026-12-08T05:00:00"}, "must carry a time zone"),
        ({"source": "orders-mysql", "mode": "snapshot", "restore_time": "latest"}, "pitr mode only"),
        ({"source": "orders-mysql", "mode": "snapshot", "snapshot": {"kind": "daily"}}, "no available daily snapshot"),
        (
            {"source": "orders-mysql", "mode": "snapshot", "snapshot": {"identifier": "nope"}},
            "snapshot 'nope' does not exist",
        ),
        (
            {"source": "orders-mysql", "mode": "snapshot", "snapshot": {"identifier": "billing-pg-weekly-2026-12-06"}},
            "is a recovery point of arn:aws:rds:us-east-1:123456789012:db:billing-pg (restorable:source), not of "
            "arn:aws:rds:us-east-1:123456789012:db:orders-mysql",
        ),
        (
            {"source": "orders-mysql", "mode": "snapshot", "checks": {"sql": {"database": "orders"}}},
            "at least one query",
        ),
        (
            {
                "source": "orders-mysql",
                "mode": "snapshot",
                "checks": {
                    "sql": {
                        "database": "orders",
                        "secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:missing-AbCdEf",
                        "queries": [{"name": "orders", "sql": "select count(*) from orders"}],
                    }
                },
            },
            "secret arn:aws:secretsmanager:us-east-1:123456789012:secret:missing-AbCdEf cannot be read",
        ),
        (["orders-mysql"], "must be a JSON object"),
    ],
)
def test_bad_input_is_rejected_before_anything_is_created(world: DrillWorld, drill_input: Any, message: str) -> None:
    world.fleet.instance("orders-mysql")
    world.fleet.instance("billing-pg", engine="postgres")
    world.managed_snapshot("orders-mysql")
    world.managed_snapshot("billing-pg")
    result = world.run(drill_input)
    assert result.status == "FAILED"
    assert result.error == "DrillRejected"
    assert message in str(result.cause)
    assert world.restores() == []
    assert world.leftovers() == []
    assert result.states_entered() == ["ValidateInput", "NotifyRejected", "Rejected"]
    [alert] = world.published()
    assert alert["subject"] == "Restorable drill rejected"
    assert message in alert["message"]


ACCOUNT = DEFAULT_ACCOUNT_ID
LOCAL_ARN = f"arn:aws:rds:us-east-1:{ACCOUNT}:db:orders-mysql"
FOREIGN_SNAPSHOT = "arn:aws:rds:us-east-1:999999999999:snapshot:orders-mysql-weekly-2026-12-06"


@pytest.mark.parametrize(
    ("drill_input", "message"),
    [
        # the source must be protected by a policy that exists
        ({"source": "scratch", "mode": "snapshot"}, "source: instance scratch is not protected"),
        ({"source": "scratch", "mode": "pitr"}, "source: instance scratch is not protected"),
        ({"source": "gilded", "mode": "snapshot"}, "source: instance gilded: restorable:policy='gold' names no policy"),
        ({"source": "ledger-1", "mode": "pitr"}, "source: instance ledger-1 is a member of cluster ledger"),
        # a snapshot drill restores only a recovery point this stack manages, of that source
        (
            {"source": "orders-mysql", "mode": "snapshot", "snapshot": {"identifier": "orders-mysql-by-hand"}},
            "snapshot.identifier: snapshot orders-mysql-by-hand is not managed by any stack",
        ),
        (
            {"source": "orders-mysql", "mode": "snapshot", "snapshot": {"identifier": "orders-mysql-other-stack"}},
            "snapshot.identifier: snapshot orders-mysql-other-stack is managed by 'someone-else'",
        ),
        (
            {"source": "orders-mysql", "mode": "snapshot", "snapshot": {"identifier": "orders-mysql-forged-source"}},
            "is a recovery point of arn:aws:rds:us-east-1:123456789012:db:billing-pg (restorable:source)",
        ),
        (
            {
                "source": "orders-mysql",
                "mode": "snapshot",
                "snapshot": {"identifier": f"arn:aws:rds:us-east-1:{ACCOUNT}:snapshot:orders-mysql-by-hand"},
            },
            "is not managed by any stack",
        ),
        # ARNs are checked, never trimmed to a local name
        (
            {"source": "arn:aws:rds:us-east-1:999999999999:db:orders-mysql", "mode": "snapshot"},
            f"source: arn:aws:rds:us-east-1:999999999999:db:orders-mysql belongs to account 999999999999, "
            f"this stack runs in {ACCOUNT}",
        ),
        (
            {"source": f"arn:aws:rds:eu-west-1:{ACCOUNT}:db:orders-mysql", "mode": "pitr"},
            "source: arn:aws:rds:eu-west-1:123456789012:db:orders-mysql is in Region eu-west-1, expected us-east-1",
        ),
        (
            {"source": f"arn:aws-cn:rds:us-east-1:{ACCOUNT}:db:orders-mysql", "mode": "snapshot"},
            "source: arn:aws-cn:rds:us-east-1:123456789012:db:orders-mysql is in partition 'aws-cn'",
        ),
        (
            {"source": f"arn:aws:rds:us-east-1:{ACCOUNT}:cluster:orders-mysql", "mode": "snapshot"},
            "unknown source 'orders-mysql': no DB cluster by that name",
        ),
        (
            {"source": "arn:aws:s3:::orders-mysql", "mode": "snapshot"},
            "source: arn:aws:s3:::orders-mysql is an ARN of service 's3', not an RDS resource",
        ),
        (
            {
                "source": LOCAL_ARN,
                "mode": "snapshot",
                "snapshot": {
                    "identifier": "arn:aws:rds:us-east-1:999999999999:snapshot:orders-mysql-weekly-2026-12-06"
                },
            },
            f"snapshot.identifier: {FOREIGN_SNAPSHOT} belongs to account 999999999999",
        ),
        (
            {
                "source": LOCAL_ARN,
                "mode": "cross-region",
                "snapshot": {"identifier": f"arn:aws:rds:us-east-1:{ACCOUNT}:snapshot:orders-mysql-weekly-2026-12-06"},
            },
            "is in Region us-east-1, expected us-west-2",
        ),
        (
            {
                "source": LOCAL_ARN,
                "mode": "snapshot",
                "checks": {
                    "sql": {
                        "database": "orders",
                        "secret_arn": "arn:aws:secretsmanager:us-east-1:999999999999:secret:theirs-AbCdEf",
                        "queries": [{"name": "orders", "sql": "select count(*) from orders"}],
                    }
                },
            },
            "checks.sql.secret_arn: arn:aws:secretsmanager:us-east-1:999999999999:secret:theirs-AbCdEf belongs to "
            "account 999999999999",
        ),
    ],
)
def test_drills_touch_only_what_the_stack_protects(world: DrillWorld, drill_input: Any, message: str) -> None:
    world.fleet.instance("orders-mysql")
    world.fleet.instance("billing-pg", engine="postgres")
    world.fleet.instance("scratch", policy="none")
    world.fleet.instance("gilded", policy="gold")
    world.fleet.cluster("ledger", members=1)
    world.managed_snapshot("orders-mysql")
    world.managed_snapshot("scratch")
    world.managed_snapshot("gilded")
    world.dr_copy(world.managed_snapshot("billing-pg"))
    world.rds.create_db_snapshot(DBSnapshotIdentifier="orders-mysql-by-hand", DBInstanceIdentifier="orders-mysql")
    world.rds.create_db_snapshot(
        DBSnapshotIdentifier="orders-mysql-other-stack",
        DBInstanceIdentifier="orders-mysql",
        Tags=[
            {"Key": "restorable:managed-by", "Value": "someone-else"},
            {"Key": "restorable:source", "Value": world.source_arn("orders-mysql")},
        ],
    )
    world.rds.create_db_snapshot(
        DBSnapshotIdentifier="orders-mysql-forged-source",
        DBInstanceIdentifier="orders-mysql",
        Tags=[
            {"Key": "restorable:managed-by", "Value": STACK},
            {"Key": "restorable:source", "Value": world.source_arn("billing-pg")},
        ],
    )
    result = world.run(drill_input)
    assert result.status == "FAILED"
    assert result.error == "DrillRejected"
    assert message in str(result.cause)
    assert world.restores() == []
    assert world.leftovers() == []
    assert result.states_entered() == ["ValidateInput", "NotifyRejected", "Rejected"]


def test_a_local_source_arn_drills_that_database(world: DrillWorld) -> None:
    world.fleet.instance("orders-mysql")
    snapshot_arn = world.managed_snapshot("orders-mysql")
    result = world.run({"source": LOCAL_ARN, "mode": "snapshot", "snapshot": {"identifier": snapshot_arn}})
    assert result.status == "SUCCEEDED", result.cause
    [(_, operation, body)] = world.restores()
    assert operation == "RestoreDBInstanceFromDBSnapshot"
    assert body["DBSnapshotIdentifier"] == "orders-mysql-weekly-2026-12-06"
    assert world.leftovers() == []


def test_snapshot_still_being_created_is_rejected(world: DrillWorld) -> None:
    world.fleet.instance("orders-mysql")
    world.managed_snapshot("orders-mysql")
    backend = rds_backends[DEFAULT_ACCOUNT_ID][SOURCE_REGION]
    backend.database_snapshots["orders-mysql-weekly-2026-12-06"].status = "creating"
    named = world.run(
        {"source": "orders-mysql", "mode": "snapshot", "snapshot": {"identifier": "orders-mysql-weekly-2026-12-06"}}
    )
    newest = world.run({"source": "orders-mysql", "mode": "snapshot"})
    assert "is 'creating', not available" in str(named.cause)
    assert "no available managed snapshot of orders-mysql in us-east-1 (1 not available yet)" in str(newest.cause)
    assert world.restores() == []


def test_malformed_json_is_refused_at_start(world: DrillWorld) -> None:
    client = boto3.client("stepfunctions", region_name=SOURCE_REGION)
    arn = world.machines.deploy("DrillStateMachine")
    # AWS answers InvalidExecutionInput; moto raises the same refusal with an empty error code.
    with pytest.raises(ClientError, match="Expecting value"):
        client.start_execution(stateMachineArn=arn, input='{"source": "orders-mysql", "mode": ')
    assert client.list_executions(stateMachineArn=arn)["executions"] == []
    assert world.restores() == []


# ---------------------------------------------------------------- a failure at every step


def _fail_on(world: DrillWorld, operation: str, code: str, times: int | None = None) -> None:
    remaining = [times]

    def rule(params: dict[str, Any]) -> str | None:
        if remaining[0] is None:
            return code
        if remaining[0] > 0:
            remaining[0] -= 1
            return code
        return None

    world.failures[operation] = rule


@pytest.mark.parametrize(
    ("operation", "code", "failed_state", "error_name"),
    [
        ("RestoreDBInstanceFromDBSnapshot", "InsufficientDBInstanceCapacity", "StartRestore", "QuotaExceededError"),
        ("RestoreDBInstanceFromDBSnapshot", "AccessDenied", "StartRestore", "PermissionDeniedError"),
        ("GetSecretValue", "ResourceNotFoundException", "RunChecks", "ResourceNotFoundError"),
    ],
)
def test_a_failing_step_still_cleans_up_and_records(
    world: DrillWorld, operation: str, code: str, failed_state: str, error_name: str
) -> None:
    world.fleet.instance("billing-pg", engine="postgres")
    world.managed_snapshot("billing-pg")
    _fail_on(world, operation, code)
    drill_input = sample("drill-snapshot.json") | {"source": "billing-pg"}
    if operation == "GetSecretValue":
        drill_input["checks"] = {"sql": {"database": "billing", "queries": [{"name": "n", "sql": "select 1"}]}}
    result = world.run(drill_input)

    assert result.status == "FAILED"
    assert result.error == "DrillFailed"
    states = result.states_entered()
    assert states[states.index(failed_state) + 1] == "Cleanup"
    assert states[-3:] == ["DrillPassed", "NotifyFailure", "Failed"]
    assert world.leftovers() == []
    item = world.history_item("billing-pg")
    assert item["outcome"]["S"] == "failed"
    assert error_name in item["reasons"]["L"][0]["S"]
    [alert] = world.published()
    assert alert["subject"] == "Restorable drill failed: billing-pg (snapshot)"
    assert code in alert["message"]


def test_failure_while_polling_cleans_up(world: DrillWorld) -> None:
    world.fleet.instance("orders-mysql")
    world.managed_snapshot("orders-mysql")

    def after_restore(params: dict[str, Any]) -> str | None:
        identifier = _body_value(params, "DBInstanceIdentifier") or ""
        return "InternalFailure" if identifier.startswith("drill-") else None

    world.failures["DescribeDBInstances"] = after_restore
    result = world.run(sample("drill-snapshot.json"))
    assert result.status == "FAILED"
    assert "CheckRestoreStatus" in result.states_entered()
    # the cleanup's own look at the instance fails too: the record says so and the janitor gets it later
    del world.failures["DescribeDBInstances"]
    assert result.output is None
    item = world.history_item("orders-mysql")
    assert "cleanup failed" in " ".join(r["S"] for r in item["reasons"]["L"])
    janitor = world.machines.functions.invoke("DrillJanitorFunction", {}).result()
    assert janitor["kept"]
    assert not janitor["deleted"]  # not expired yet


def test_restore_that_fails_on_the_rds_side_is_cleaned_up(world: DrillWorld) -> None:
    world.fleet.instance("orders-mysql")
    world.managed_snapshot("orders-mysql")
    world.machines.clock.listeners.append(lambda waited: world.set_drill_status("incompatible-restore"))
    result = world.run(sample("drill-snapshot.json"))
    assert result.status == "FAILED"
    item = world.history_item("orders-mysql")
    assert "RestoreFailedError" in item["reasons"]["L"][0]["S"]
    assert "'incompatible-restore'" in item["reasons"]["L"][0]["S"]
    assert world.leftovers() == []


def test_restore_past_the_deadline_times_out_and_is_cleaned_up(world: DrillWorld) -> None:
    world.fleet.instance("orders-mysql")
    world.managed_snapshot("orders-mysql")
    world.restore_takes(minutes=24 * 60)  # never within 2 x the 1 h RTO target
    result = world.run(sample("drill-snapshot.json"))
    assert result.status == "FAILED"
    item = world.history_item("orders-mysql")
    assert "RestoreTimedOutError" in item["reasons"]["L"][0]["S"]
    # the deadline bounds the waits: the last poll happens at the deadline, not after it
    assert world.machines.clock.waited_seconds == pytest.approx(2 * 3600, abs=2)
    assert world.leftovers() == []


def test_slow_restore_fails_the_rto_target_but_is_measured(world: DrillWorld) -> None:
    world.fleet.instance("orders-mysql")
    world.managed_snapshot("orders-mysql")
    world.restore_takes(minutes=75)
    result = world.run(sample("drill-snapshot.json"))
    assert result.status == "FAILED"
    record = result.output if result.output else None
    assert record is None  # a failed execution has no output; the record is in the table
    item = world.history_item("orders-mysql")
    rto = float(item["rto_seconds"]["N"])
    assert 75 * 60 <= rto <= 75 * 60 * 1.5  # poll resolution: at most half the elapsed time
    assert "exceeds the target 3600s" in item["reasons"]["L"][0]["S"]
    assert world.leftovers() == []


def test_cleanup_of_a_database_still_creating_is_retried(world: DrillWorld) -> None:
    world.fleet.instance("orders-mysql")
    world.managed_snapshot("orders-mysql")
    _fail_on(world, "DeleteDBInstance", "InvalidDBInstanceState", times=2)
    result = world.run(sample("drill-snapshot.json"))
    assert result.status == "SUCCEEDED", result.task_failures()
    assert [c[1] for c in world.calls].count("DeleteDBInstance") == 3
    assert world.machines.clock.waits[-2:] == [60, 120]  # the Retry's backoff, not a real sleep
    assert world.leftovers() == []


def test_cleanup_that_fails_is_recorded_and_the_janitor_deletes_after_expiry(world: DrillWorld) -> None:
    world.fleet.instance("orders-mysql")
    world.managed_snapshot("orders-mysql")
    _fail_on(world, "DeleteDBInstance", "AccessDenied")
    result = world.run(sample("drill-snapshot.json"))
    assert result.status == "FAILED"
    [left] = world.leftovers()
    item = world.history_item("orders-mysql")
    assert "cleanup failed" in item["reasons"]["L"][-1]["S"]
    del world.failures["DeleteDBInstance"]

    janitor = world.machines.functions
    before_expiry = janitor.invoke("DrillJanitorFunction", {}).result()
    assert before_expiry["deleted"] == []
    assert world.leftovers() == [left]
    world.machines.clock.advance(5 * 3600)  # past restorable:expires-at (start + 2 h deadline + 2 h)
    after_expiry = janitor.invoke("DrillJanitorFunction", {}).result()
    assert [d["resource"] for d in after_expiry["deleted"]] == [left.split(":", 1)[1]]
    assert world.leftovers() == []


def test_record_failure_alerts_and_leaves_nothing(world: DrillWorld) -> None:
    world.fleet.instance("orders-mysql")
    world.managed_snapshot("orders-mysql")
    _fail_on(world, "PutObject", "AccessDenied")
    result = world.run(sample("drill-snapshot.json"))
    assert result.status == "FAILED"
    assert result.states_entered()[-2:] == ["NotifyUnrecorded", "Failed"]
    [alert] = world.published()
    assert "could not be recorded" in alert["message"]
    assert "AccessDenied" in alert["message"]
    assert world.leftovers() == []


def test_a_transient_lambda_error_is_retried(world: DrillWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    world.fleet.instance("orders-mysql")
    world.managed_snapshot("orders-mysql")
    real_poll = drill_steps.poll
    failures = [1]

    def flaky_poll(*args: Any, **kwargs: Any) -> Any:
        if failures[0]:
            failures[0] -= 1
            raise AwsError("describe: Throttling: Rate exceeded", code="Throttling")
        return real_poll(*args, **kwargs)

    monkeypatch.setattr(drill_steps, "poll", flaky_poll)
    # ThrottledError is the retried name; a plain AwsError is not: prove the difference.
    result = world.run(sample("drill-snapshot.json"))
    assert result.status == "FAILED"
    assert world.leftovers() == []

    from restorable.errors import ThrottledError

    failures[0] = 1

    def throttled_poll(*args: Any, **kwargs: Any) -> Any:
        if failures[0]:
            failures[0] -= 1
            raise ThrottledError("describe: Throttling: Rate exceeded", code="Throttling")
        return real_poll(*args, **kwargs)

    monkeypatch.setattr(drill_steps, "poll", throttled_poll)
    retried = world.run(sample("drill-snapshot.json"), name="retried")
    assert retried.status == "SUCCEEDED", retried.task_failures()
    assert retried.states_entered().count("CheckRestoreStatus") == 1  # retried inside the state
    assert world.leftovers() == []


def test_missing_topic_does_not_change_the_drill_outcome(world: DrillWorld) -> None:
    world.fleet.instance("orders-mysql")
    world.managed_snapshot("orders-mysql")
    boto3.client("sns", region_name=SOURCE_REGION).delete_topic(TopicArn=world.machines.template.arn("AlertTopic"))
    result = world.run(sample("drill-snapshot.json"))
    assert result.status == "SUCCEEDED"
    assert world.history_item("orders-mysql")["outcome"]["S"] == "passed"
    assert world.leftovers() == []


def test_cleanup_never_touches_a_database_without_the_drill_tags(world: DrillWorld) -> None:
    """A name collision (someone's own database called like the drill target) is never deleted."""
    world.fleet.instance("orders-mysql")
    world.managed_snapshot("orders-mysql")
    from restorable.adapters.drill_rds import DrillRdsGateway
    from restorable.errors import NotOwnedError

    with pytest.raises(NotOwnedError):
        DrillRdsGateway(world.rds).delete_instance(
            "orders-mysql", STACK, "arn:aws:states:us-east-1:123456789012:execution:x:y"
        )
    assert [c for c in world.calls if c[1] == "DeleteDBInstance"] == []
    assert world.rds.describe_db_instances(DBInstanceIdentifier="orders-mysql")["DBInstances"]


def test_cleanup_pending_error_name_matches_the_definition() -> None:
    from local_runtime.template import REPO_ROOT

    definition = json.loads((REPO_ROOT / "statemachines" / "drill.asl.json").read_text())
    retried = [e for r in definition["States"]["Cleanup"]["Retry"] for e in r["ErrorEquals"]]
    assert CleanupPendingError.__name__ in retried
