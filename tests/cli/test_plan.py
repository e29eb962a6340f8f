"""``restorable plan``: the deployed functions' dry runs, rendered; nothing is created or deleted."""

from __future__ import annotations

from typing import Any

from tests.cli.conftest import Deployed, manual_snapshot_ids


def _expired_snapshot(deployed: Deployed, day: str, extra: dict[str, str] | None = None) -> str:
    world = deployed.world
    identifier = f"orders-mysql-weekly-{day}"
    tags = {t["Key"]: t["Value"] for t in world.contract_tags("orders-mysql", "weekly")}
    tags["restorable:expires-at"] = "2026-11-29T02:00:00Z"  # before the test's clock (2026-12-08)
    tags.update(extra or {})
    world.rds.create_db_snapshot(
        DBSnapshotIdentifier=identifier,
        DBInstanceIdentifier="orders-mysql",
        Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
    )
    return identifier


def _items(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{i['recovery_point']}@{i.get('region', '-')}": i for i in result["items"]}


def test_plan_shows_what_each_run_would_do_and_why_each_point_stays(deployed: Deployed) -> None:
    deployed.fleet.instance("orders-mysql")
    newest = deployed.world.managed_snapshot("orders-mysql", "weekly", "2026-12-06")
    expired = _expired_snapshot(deployed, "2026-08-30")
    held = _expired_snapshot(deployed, "2026-08-23", {"restorable:legal-hold": "true"})
    before = manual_snapshot_ids()

    plan = deployed.json("plan")

    assert plan["stack"] == "restorable"
    assert {job: plan[job]["dry_run"] for job in ("snapshot", "copy", "prune")} == {
        "snapshot": True,
        "copy": True,
        "prune": True,
    }
    snapshot = {i["recovery_point"]: i for i in plan["snapshot"]["items"]}
    assert snapshot["orders-mysql-weekly-2026-12-06"]["outcome"] == "already_exists"
    assert snapshot["orders-mysql-monthly-2026-12-01"]["outcome"] == "planned"
    copies = {i["recovery_point"]: i for i in plan["copy"]["items"] if i["outcome"] == "planned"}
    assert newest.rsplit(":", 1)[-1] in copies
    prune = _items(plan["prune"])
    assert prune[f"{expired}@us-east-1"]["outcome"] == "planned"
    assert prune[f"{expired}@us-east-1"]["reason"].startswith("would delete: expired at 2026-11-29T02:00:00Z")
    assert prune[f"{held}@us-east-1"]["reason"] == "kept: legal-hold"
    assert prune["orders-mysql-weekly-2026-12-06@us-east-1"]["reason"] == "kept: not-expired"
    # a dry run: nothing was created, copied or deleted
    assert manual_snapshot_ids() == before


def test_plan_only_some_runs_and_kinds(deployed: Deployed) -> None:
    deployed.fleet.instance("orders-mysql")

    plan = deployed.json("plan", "--only", "snapshot", "--kind", "monthly")

    assert "copy" not in plan
    assert "prune" not in plan
    assert {i["kind"] for i in plan["snapshot"]["items"]} == {"monthly"}


def test_plan_table_and_a_failing_function(deployed: Deployed) -> None:
    deployed.fleet.instance("orders-mysql")

    table = deployed.run("plan", "--only", "snapshot")
    unknown_kind = deployed.run("plan", "--only", "snapshot", "--kind", "hourly")

    assert table.exit_code == 0, table.stderr
    assert "snapshot (dry run)" in table.stdout
    assert "would create" in table.stdout
    assert unknown_kind.exit_code == 1
    assert "unknown scheduled kind(s) 'hourly'" in unknown_kind.stderr
    assert len(unknown_kind.stderr.strip().splitlines()) == 1
