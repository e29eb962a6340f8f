"""``restorable drill``: validated here, started on the deployed state machine, followed to its verdict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import Deployed, one_line

FOLLOW = ("--wait", "--poll-seconds", "0.05", "--timeout-minutes", "1")


def _orders(deployed: Deployed) -> str:
    deployed.fleet.instance("orders-mysql")
    deployed.world.managed_snapshot("orders-mysql", "weekly", "2026-11-29")
    return deployed.world.managed_snapshot("orders-mysql", "weekly", "2026-12-06")


def test_drill_start_wait_follows_the_states_and_ends_with_the_verdict(deployed: Deployed) -> None:
    newest = _orders(deployed)

    result = deployed.run(
        "drill", "start", "orders-mysql", "--mode", "snapshot", "--kind", "weekly", *FOLLOW, "--output", "json"
    )

    assert result.exit_code == 0, result.stderr
    drill = json.loads(result.stdout)
    assert drill["outcome"] == "passed", drill["reasons"]
    assert drill["status"] == "SUCCEEDED"
    assert drill["source"] == "orders-mysql"
    assert drill["mode"] == "snapshot"
    assert drill["recovery_point"] == newest.rsplit(":", 1)[-1]
    assert drill["rto_target_seconds"] == 3600
    assert 0 < drill["rto_seconds"] <= drill["rto_target_seconds"]
    assert drill["report"]["json"].startswith("s3://")
    assert drill["report"]["markdown"].endswith("report.md")
    states = [step["state"] for step in drill["progress"]]
    for state in ("ValidateInput", "RecordStart", "StartRestore", "RunChecks", "Cleanup", "RecordDrill", "Passed"):
        assert state in states
    assert states.index("StartRestore") < states.index("RunChecks") < states.index("Cleanup")
    offsets = [step["entered_seconds"] for step in drill["progress"]]
    assert offsets == sorted(offsets)
    [execution] = deployed.executions()
    assert execution["name"].startswith("cli-orders-mysql-")


def test_drill_start_prints_progress_for_people(deployed: Deployed) -> None:
    _orders(deployed)

    result = deployed.run("drill", "start", "orders-mysql", "--mode", "snapshot", *FOLLOW)

    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(line.strip().endswith("ValidateInput") for line in lines), result.stdout
    assert any(line.strip().endswith("RecordDrill") for line in lines)
    assert "drill PASSED" in result.stdout
    assert "within" in result.stdout  # RTO against its target


def test_a_failed_drill_exits_non_zero_with_its_reason(deployed: Deployed) -> None:
    _orders(deployed)
    deployed.world.failures["RestoreDBInstanceFromDBSnapshot"] = lambda params: "InsufficientDBInstanceCapacity"

    result = deployed.run("drill", "start", "orders-mysql", "--mode", "snapshot", *FOLLOW, "--output", "json")

    assert result.exit_code == 1
    drill = json.loads(result.stdout)
    assert drill["outcome"] == "failed"
    assert one_line(result.stderr).startswith("restorable: drill of orders-mysql failed: ")
    assert "InsufficientDBInstanceCapacity" in result.stderr


def test_drill_start_without_wait_returns_the_execution(deployed: Deployed) -> None:
    _orders(deployed)

    started = deployed.json("drill", "start", "orders-mysql", "--mode", "pitr", "--restore-time", "latest")

    assert started["input"] == {
        "source": "orders-mysql",
        "mode": "pitr",
        "restore_time": "latest",
        "checks": {},
        "targets": {},
    }
    assert started["name"].startswith("cli-orders-mysql-")
    finished = deployed.world.machines.wait(started["execution"])
    assert finished.input == started["input"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("no-such-db", "--mode", "snapshot"),
            "unknown source 'no-such-db': no DB instance or DB cluster by that name in us-east-1",
        ),
        (("scratch", "--mode", "snapshot"), "scratch is not protected (no restorable:policy tag)"),
        (
            ("orders-mysql", "--mode", "pitr", "--kind", "weekly"),
            "'snapshot' applies to the snapshot and cross-region modes",
        ),
        (
            ("orders-mysql", "--mode", "snapshot", "--restore-time", "latest"),
            "'restore_time' applies to the pitr mode only",
        ),
        (("orders-mysql", "--mode", "pitr", "--restore-time", "2026-12-08T01:00:00"), "must carry a time zone"),
    ],
)
def test_bad_drill_input_is_one_line_and_starts_nothing(
    deployed: Deployed, args: tuple[str, ...], message: str
) -> None:
    _orders(deployed)
    deployed.fleet.instance("scratch", policy=None)

    result = deployed.run("drill", "start", *args)

    assert result.exit_code == 2
    line = one_line(result.stderr)
    assert line.startswith("restorable: ")
    assert message in line
    assert deployed.executions() == []


def test_checks_come_from_a_file_and_are_validated_here(deployed: Deployed, tmp_path: Path) -> None:
    _orders(deployed)
    checks = tmp_path / "checks.json"
    checks.write_text(json.dumps({"sql": {"database": "orders", "queries": []}}))

    result = deployed.run("drill", "start", "orders-mysql", "--mode", "snapshot", "--checks", str(checks))

    assert result.exit_code == 2
    assert "give at least one query or a freshness check" in one_line(result.stderr)
    assert deployed.executions() == []


def test_drill_list_and_show_read_the_history_and_the_report(deployed: Deployed) -> None:
    _orders(deployed)
    deployed.fleet.instance("billing-pg", engine="postgres")
    started = deployed.run("drill", "start", "orders-mysql", "--mode", "snapshot", *FOLLOW, "--output", "json")
    execution = json.loads(started.stdout)["execution"]

    listed = deployed.json("drill", "list")
    of_orders = deployed.json("drill", "list", "--source", "orders-mysql")
    of_billing = deployed.json("drill", "list", "--source", "billing-pg")
    by_source = deployed.json("drill", "show", "orders-mysql")
    by_execution = deployed.json("drill", "show", execution)
    markdown = deployed.run("drill", "show", "orders-mysql", "--markdown")
    never = deployed.run("drill", "show", "billing-pg")

    [item] = listed["drills"]
    assert item["source_identifier"] == "orders-mysql"
    assert item["outcome"] == "passed"
    assert item["execution_id"] == execution
    assert of_orders["drills"] == listed["drills"]
    assert of_billing["drills"] == []
    assert by_source == by_execution
    assert by_source["drill"]["execution_id"] == execution
    assert by_source["report"]["outcome"] == "passed"
    assert markdown.exit_code == 0
    assert "orders-mysql" in markdown.stdout
    assert never.exit_code == 2
    assert one_line(never.stderr) == "restorable: billing-pg has never been drilled"


def test_drill_list_table(deployed: Deployed) -> None:
    _orders(deployed)
    deployed.run("drill", "start", "orders-mysql", "--mode", "snapshot", *FOLLOW)

    result = deployed.run("drill", "list")

    assert result.exit_code == 0
    assert "orders-mysql" in result.stdout
    assert "passed" in result.stdout
