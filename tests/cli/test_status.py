"""``restorable status``: the fleet at a glance, through the deployed verify function (read-only)."""

from __future__ import annotations

from typing import Any

import boto3
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends

from tests.cli.conftest import Deployed
from tests.drills.conftest import sample


def _fleet(deployed: Deployed) -> dict[str, str]:
    world = deployed.world
    world.fleet.instance("orders-mysql", tags={"team": "payments"})
    world.fleet.instance("billing-pg", engine="postgres", tags={"team": "billing"})
    world.fleet.instance("scratch", policy=None)  # unprotected
    world.fleet.cluster("ledger", members=2)  # its members are covered by the cluster
    world.managed_snapshot("orders-mysql", "weekly", "2026-11-29")
    newest = world.managed_snapshot("orders-mysql", "weekly", "2026-12-06")
    world.managed_snapshot("orders-mysql", "monthly", "2026-12-01")
    world.dr_copy(newest)
    world.managed_cluster_snapshot("ledger", "weekly", "2026-12-06")
    return {"newest_weekly": newest}


def _rows(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["identifier"]: row for row in report["protected"]}


def test_status_shows_every_protected_database_with_points_dr_copy_pitr_drill_and_verdict(
    deployed: Deployed,
) -> None:
    _fleet(deployed)
    drill = deployed.world.run(sample("drill-snapshot.json"))  # orders-mysql, newest weekly
    assert drill.output["record"]["outcome"] == "passed"

    report = deployed.json("status")

    rows = _rows(report)
    assert sorted(rows) == ["billing-pg", "ledger", "orders-mysql"]
    assert report["unprotected"] == {"count": 1, "identifiers": ["scratch"]}
    orders = rows["orders-mysql"]
    assert orders["policy"] == "standard"
    assert orders["recovery_points"]["weekly"]["identifier"] == "orders-mysql-weekly-2026-12-06"  # the newest
    assert orders["recovery_points"]["monthly"]["identifier"] == "orders-mysql-monthly-2026-12-01"
    assert orders["dr_copy"]["identifier"] == "orders-mysql-weekly-2026-12-06"
    assert orders["dr_copy"]["region"] == "us-west-2"
    assert orders["pitr"]["retention_days"] == 7
    assert orders["last_drill"]["outcome"] == "passed"
    assert orders["last_drill"]["rto_seconds"] == drill.output["record"]["rto_seconds"]
    assert orders["last_drill"]["rto_target_seconds"] == 3600
    assert orders["last_drill"]["report_uri"].startswith("s3://")
    assert rows["billing-pg"]["recovery_points"] == {}
    assert rows["billing-pg"]["dr_copy"] is None
    assert rows["billing-pg"]["last_drill"] is None
    assert rows["ledger"]["type"] == "cluster"
    assert rows["ledger"]["recovery_points"]["weekly"]["identifier"] == "ledger-weekly-2026-12-06"

    # the verdict is the verify function's worst finding for each database
    ledger = rows["ledger"]["verification"]
    assert ledger["verdict"] == "CRITICAL"
    assert any(f.startswith("dr-copy:weekly: DR copy of ledger-weekly-2026-12-06") for f in ledger["findings"])
    assert rows["billing-pg"]["verification"]["verdict"] == "WARNING"
    assert not any("DR copy of orders-mysql-weekly-2026-12-06" in f for f in orders["verification"]["findings"])
    assert report["verification"]["status"] == "CRITICAL"


def test_status_is_read_only_it_announces_nothing(deployed: Deployed) -> None:
    _fleet(deployed)

    deployed.json("status")

    topic = sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].topics[deployed.outputs["AlertTopicArn"]]
    assert topic.sent_notifications == []
    table = deployed.outputs["NotificationStateTableName"]
    assert boto3.client("dynamodb", region_name="us-east-1").scan(TableName=table)["Items"] == []


def test_status_filters_by_engine_tag_and_verdict(deployed: Deployed) -> None:
    _fleet(deployed)

    by_engine = _rows(deployed.json("status", "--engine", "postgres"))
    by_tag = _rows(deployed.json("status", "--tag", "team=payments"))
    by_key = _rows(deployed.json("status", "--tag", "team"))
    everything = _rows(deployed.json("status"))
    worst = {row["verification"]["verdict"] for row in everything.values()}
    critical = _rows(deployed.json("status", "--verdict", "critical"))

    assert sorted(by_engine) == ["billing-pg", "ledger"]  # postgres and aurora-postgresql
    assert sorted(by_tag) == ["orders-mysql"]
    assert sorted(by_key) == ["billing-pg", "orders-mysql"]
    assert sorted(critical) == sorted(n for n, r in everything.items() if r["verification"]["verdict"] == "CRITICAL")
    assert "CRITICAL" in worst


def test_status_without_verification_does_not_invoke_the_function(deployed: Deployed) -> None:
    _fleet(deployed)
    invocations = len(deployed.world.machines.invocations)

    report = deployed.json("status", "--no-verify")

    assert {row["verification"]["verdict"] for row in report["protected"]} == {"not verified"}
    assert "verification" not in report
    assert len(deployed.world.machines.invocations) == invocations


def test_status_table_for_people(deployed: Deployed) -> None:
    _fleet(deployed)

    result = deployed.run("status")

    assert result.exit_code == 0, result.stderr
    assert "orders-mysql" in result.stdout
    assert "orders-mysql-weekly-2026-12-06" in result.stdout
    assert "unprotected: 1 (scratch)" in result.stdout


def test_a_failing_verify_function_fails_the_command(deployed: Deployed) -> None:
    _fleet(deployed)
    deployed.world.failures["DescribeDBInstances"] = lambda params: "AccessDenied"

    result = deployed.run("status")

    assert result.exit_code == 1
    assert "AccessDenied" in result.stderr
