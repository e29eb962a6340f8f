"""``restorable recover``: validated first, restored to a NEW database, waited for, checked like a drill."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.rds.models import rds_backends

from restorable.adapters.drill_rds import DrillRdsGateway
from restorable.drills.janitor import run_janitor
from tests.cli.conftest import Deployed, one_line
from tests.drills.conftest import DR_REGION, SOURCE_REGION

FAST = ("--poll-seconds", "0.01", "--timeout-minutes", "1")
DRILL = ("--wait", "--poll-seconds", "0.05", "--timeout-minutes", "1")
RESULT_KEYS = {
    "mode", "source", "recovery_point", "target", "tags", "reason", "choice", "dry_run", "status", "started_at",
    "available_at", "endpoint", "rto_seconds", "rpo_seconds", "rpo_reference", "checks", "poll",
}  # fmt: skip


def inventory() -> dict[str, list[str]]:
    """Every DB instance and DB cluster in both Regions."""
    found: dict[str, list[str]] = {}
    for region in (SOURCE_REGION, DR_REGION):
        client = boto3.client("rds", region_name=region)
        names = [f"db:{i['DBInstanceIdentifier']}" for i in client.describe_db_instances()["DBInstances"]]
        names += [f"cluster:{c['DBClusterIdentifier']}" for c in client.describe_db_clusters()["DBClusters"]]
        found[region] = sorted(names)
    return found


def instance(identifier: str, region: str = SOURCE_REGION) -> dict[str, Any]:
    [item] = boto3.client("rds", region_name=region).describe_db_instances(DBInstanceIdentifier=identifier)[
        "DBInstances"
    ]
    return {**item, "Tags": {t["Key"]: t["Value"] for t in item.get("TagList", [])}}


def _orders(deployed: Deployed) -> tuple[str, str]:
    deployed.fleet.instance("orders-mysql")
    older = deployed.world.managed_snapshot("orders-mysql", "weekly", "2026-11-29")
    newer = deployed.world.managed_snapshot("orders-mysql", "weekly", "2026-12-06")
    return older, newer


def _recover(deployed: Deployed, *args: str) -> dict[str, Any]:
    result = deployed.run("recover", *args, *FAST, "--output", "json")
    assert result.exit_code == 0, result.stderr
    return dict(json.loads(result.stdout))


# ---------------------------------------------------------------- recover snapshot


def test_recover_snapshot_restores_the_newest_point_to_a_new_tagged_database(deployed: Deployed) -> None:
    _, newer = _orders(deployed)
    source_before = instance("orders-mysql")

    result = _recover(deployed, "snapshot", "orders-mysql", "--target", "orders-new")

    assert set(result) == RESULT_KEYS
    assert result["status"] == "available"
    assert result["dry_run"] is False
    assert result["recovery_point"]["arn"] == newer
    assert result["recovery_point"]["time"] == "2026-12-06T02:00:00Z"
    assert result["target"]["identifier"] == "orders-new"
    assert result["target"]["region"] == SOURCE_REGION
    assert result["endpoint"]["address"].startswith("orders-new.")
    assert result["checks"]["passed"] is True
    assert [c["name"] for c in result["checks"]["results"]] == [
        "status", "engine", "engine_version", "encryption", "storage",
    ]  # fmt: skip
    started = datetime.fromisoformat(result["started_at"].replace("Z", "+00:00"))
    assert result["rpo_seconds"] == pytest.approx(
        (started - datetime(2026, 12, 6, 2, tzinfo=UTC)).total_seconds(), abs=2
    )
    assert result["rto_seconds"] >= 0
    recovered = instance("orders-new")
    assert recovered["Tags"]["restorable:recovered-from"] == newer
    assert "restorable:kind" not in recovered["Tags"]
    assert "restorable:policy" not in recovered["Tags"]
    source_after = instance("orders-mysql")
    assert source_after["Tags"] == source_before["Tags"]
    assert source_after["DBInstanceStatus"] == "available"


def test_the_drill_janitor_leaves_a_recovered_database_alone(deployed: Deployed) -> None:
    _orders(deployed)
    _recover(deployed, "snapshot", "orders-mysql", "--target", "orders-new")

    far_future = datetime(2030, 1, 1, tzinfo=UTC)
    janitor = run_janitor(
        [DrillRdsGateway(boto3.client("rds", region_name=SOURCE_REGION))], "restorable", far_future, False
    )

    assert janitor.deleted == []
    assert instance("orders-new")["DBInstanceStatus"] == "available"


def test_before_picks_the_newest_point_before_the_time_that_passed_its_drill(deployed: Deployed) -> None:
    older, newer = _orders(deployed)
    drilled = deployed.run("drill", "start", "orders-mysql", "--mode", "snapshot", "--snapshot", older, *DRILL)
    assert drilled.exit_code == 0, drilled.stderr

    result = _recover(deployed, "snapshot", "orders-mysql", "--before", "2026-12-07T00:00:00Z", "--target", "clean")

    assert result["recovery_point"]["arn"] == older
    assert result["rpo_reference"] == "2026-12-07T00:00:00Z"
    assert (
        result["rpo_seconds"]
        == (datetime(2026, 12, 7, tzinfo=UTC) - datetime(2026, 11, 29, 2, tzinfo=UTC)).total_seconds()
    )
    considered = {c["identifier"]: c for c in result["choice"]["considered"]}
    assert considered[newer.rsplit(":", 1)[-1]]["eligible"] is False
    assert "never drilled" in considered[newer.rsplit(":", 1)[-1]]["reason"]
    assert considered[older.rsplit(":", 1)[-1]]["reason"].startswith("chosen: ")
    assert instance("clean")["Tags"]["restorable:recovered-from"] == older


def test_before_never_picks_a_point_taken_at_or_after_the_time(deployed: Deployed) -> None:
    older, newer = _orders(deployed)
    for point in (older, newer):
        assert (
            deployed.run("drill", "start", "orders-mysql", "--mode", "snapshot", "--snapshot", point, *DRILL).exit_code
            == 0
        )

    result = _recover(deployed, "snapshot", "orders-mysql", "--before", "2026-12-06T02:00:00Z", "--dry-run")

    assert result["dry_run"] is True
    assert result["recovery_point"]["arn"] == older
    rejected = next(c for c in result["choice"]["considered"] if c["arn"] == newer)
    assert rejected["reason"] == "created 2026-12-06T02:00:00Z, not before 2026-12-06T02:00:00Z"


def test_before_refuses_undrilled_points_unless_allowed(deployed: Deployed) -> None:
    _older, newer = _orders(deployed)
    before = inventory()

    refused = deployed.run("recover", "snapshot", "orders-mysql", "--before", "2026-12-07T00:00:00Z", *FAST)
    allowed = _recover(deployed, "snapshot", "orders-mysql", "--before", "2026-12-07T00:00:00Z", "--allow-undrilled")

    assert refused.exit_code == 2
    line = one_line(refused.stderr)
    assert "passed a drill" in line
    assert "--allow-undrilled" in line
    assert "orders-mysql-weekly-2026-11-29: created before 2026-12-07T00:00:00Z; never drilled (refused)" in line
    assert allowed["recovery_point"]["arn"] == newer
    assert len(inventory()[SOURCE_REGION]) == len(before[SOURCE_REGION]) + 1


def test_a_named_snapshot_is_restored(deployed: Deployed) -> None:
    older, _ = _orders(deployed)

    result = _recover(deployed, "snapshot", "orders-mysql", "--snapshot", older.rsplit(":", 1)[-1], "--target", "named")

    assert result["recovery_point"]["arn"] == older
    assert result["reason"].endswith("as asked (--snapshot)")


def test_a_deleted_source_is_recovered_from_its_recovery_points(deployed: Deployed) -> None:
    _, newer = _orders(deployed)
    boto3.client("rds", region_name=SOURCE_REGION).delete_db_instance(
        DBInstanceIdentifier="orders-mysql", SkipFinalSnapshot=True
    )

    result = _recover(deployed, "snapshot", "orders-mysql", "--target", "orders-mysql-restored")

    assert result["source"]["live"] is False
    assert result["source"]["arn"].endswith(":db:orders-mysql")
    assert result["recovery_point"]["arn"] == newer
    assert instance("orders-mysql-restored")["DBInstanceStatus"] == "available"


def test_a_cluster_is_restored_with_its_instance(deployed: Deployed) -> None:
    deployed.fleet.cluster("ledger-aurora")
    point = deployed.world.managed_cluster_snapshot("ledger-aurora", "weekly", "2026-12-06")

    result = _recover(deployed, "snapshot", "ledger-aurora", "--target", "ledger-new")

    assert result["target"]["type"] == "cluster"
    assert result["target"]["instance_identifier"] == "ledger-new-i1"
    assert result["recovery_point"]["arn"] == point
    client = boto3.client("rds", region_name=SOURCE_REGION)
    [cluster] = client.describe_db_clusters(DBClusterIdentifier="ledger-new")["DBClusters"]
    assert {t["Key"]: t["Value"] for t in cluster["TagList"]}["restorable:recovered-from"] == point
    member = instance("ledger-new-i1")
    assert member["DBClusterIdentifier"] == "ledger-new"
    assert member["Tags"]["restorable:recovered-from"] == point
    assert result["checks"]["passed"] is True


# ---------------------------------------------------------------- recover pitr


def test_recover_pitr_to_a_time_inside_the_window(deployed: Deployed) -> None:
    _orders(deployed)
    created = instance("orders-mysql")["InstanceCreateTime"].astimezone(UTC)
    wanted = created.isoformat().replace("+00:00", "Z")

    result = _recover(deployed, "pitr", "orders-mysql", "--to", wanted, "--target", "orders-pitr")

    assert result["mode"] == "pitr"
    assert result["recovery_point"]["type"] == "point-in-time"
    assert result["recovery_point"]["time"] == created.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert result["rpo_seconds"] == 0
    assert instance("orders-pitr")["Tags"]["restorable:recovered-from"].endswith(":db:orders-mysql")


def test_recover_pitr_latest(deployed: Deployed) -> None:
    _orders(deployed)

    result = _recover(deployed, "pitr", "orders-mysql", "--to", "latest", "--target", "orders-latest")

    assert result["reason"].startswith("the latest restorable time of orders-mysql")
    assert result["status"] == "available"


def test_recover_pitr_of_a_cluster_restores_the_cluster_and_its_instance(deployed: Deployed) -> None:
    deployed.fleet.cluster("ledger-aurora")
    client = boto3.client("rds", region_name=SOURCE_REGION)
    [cluster] = client.describe_db_clusters(DBClusterIdentifier="ledger-aurora")["DBClusters"]
    wanted = cluster["EarliestRestorableTime"].astimezone(UTC).isoformat().replace("+00:00", "Z")
    before = inventory()

    late = deployed.run("recover", "pitr", "ledger-aurora", "--to", "2031-01-01T00:00:00Z", *FAST)
    result = _recover(deployed, "pitr", "ledger-aurora", "--to", wanted, "--target", "ledger-pitr")

    assert late.exit_code == 2
    assert "outside the restorable window of ledger-aurora" in one_line(late.stderr)
    assert result["target"] == {
        "type": "cluster",
        "identifier": "ledger-pitr",
        "instance_identifier": "ledger-pitr-i1",
        "region": SOURCE_REGION,
        "instance_class": "db.r6g.large",
        "subnet_group": result["target"]["subnet_group"],
        "security_groups": result["target"]["security_groups"],
    }
    assert result["checks"]["passed"] is True
    after = inventory()[SOURCE_REGION]
    assert sorted(set(after) - set(before[SOURCE_REGION])) == ["cluster:ledger-pitr", "db:ledger-pitr-i1"]
    assert instance("ledger-pitr-i1")["Tags"]["restorable:recovered-from"].endswith(":cluster:ledger-aurora")


# ---------------------------------------------------------------- recover region


def test_recover_region_restores_the_newest_dr_copy_in_the_dr_region(deployed: Deployed) -> None:
    older, newer = _orders(deployed)
    deployed.world.dr_copy(older)
    dr_newer = deployed.world.dr_copy(newer)

    result = _recover(deployed, "region", "orders-mysql", "--target", "orders-dr")

    assert result["recovery_point"]["arn"] == dr_newer
    assert result["recovery_point"]["region"] == DR_REGION
    assert result["target"]["region"] == DR_REGION
    assert instance("orders-dr", DR_REGION)["Tags"]["restorable:recovered-from"] == dr_newer
    assert "db:orders-dr" not in inventory()[SOURCE_REGION]


def test_recover_region_works_when_the_source_region_does_not_answer(deployed: Deployed) -> None:
    _, newer = _orders(deployed)
    dr_newer = deployed.world.dr_copy(newer)
    deployed.world.failures["DescribeDBInstances"] = lambda params: (
        "InternalFailure" if params.get("body", {}).get("DBInstanceIdentifier") == "orders-mysql" else None
    )

    result = _recover(deployed, "region", "orders-mysql", "--target", "orders-dr")

    assert result["source"]["live"] is False
    assert "did not answer" in result["source"]["note"]
    assert result["recovery_point"]["arn"] == dr_newer


def test_recover_region_goes_on_with_dr_region_when_the_stack_cannot_be_read(deployed: Deployed) -> None:
    _, newer = _orders(deployed)
    dr_newer = deployed.world.dr_copy(newer)
    deployed.world.failures["DescribeStacks"] = lambda params: "InternalFailure"
    deployed.world.failures["DescribeDBInstances"] = lambda params: (
        "InternalFailure" if params.get("body", {}).get("DBInstanceIdentifier") == "orders-mysql" else None
    )

    without = deployed.run("recover", "region", "orders-mysql", *FAST)
    result = _recover(deployed, "region", "orders-mysql", "--dr-region", DR_REGION, "--target", "orders-dr")

    assert without.exit_code == 1
    assert "cannot read stack 'restorable'" in one_line(without.stderr)
    assert result["recovery_point"]["arn"] == dr_newer
    assert instance("orders-dr", DR_REGION)["DBInstanceStatus"] == "available"


def test_recover_region_without_a_dr_copy_is_refused(deployed: Deployed) -> None:
    _orders(deployed)
    before = inventory()

    result = deployed.run("recover", "region", "orders-mysql", *FAST)

    assert result.exit_code == 2
    assert "no complete managed recovery point of" in one_line(result.stderr)
    assert inventory() == before


# ---------------------------------------------------------------- waiting, dry run, failures


def test_wait_shows_progress_with_elapsed_time_and_measures_the_rto(deployed: Deployed) -> None:
    _orders(deployed)
    looks: list[int] = []

    def creating_for_two_looks(params: dict[str, Any]) -> None:
        backend = rds_backends[DEFAULT_ACCOUNT_ID][SOURCE_REGION]
        if params.get("body", {}).get("DBInstanceIdentifier") == "orders-slow" and "orders-slow" in backend.databases:
            looks.append(1)
            backend.databases["orders-slow"].status = "creating" if len(looks) <= 2 else "available"
        return None

    deployed.world.failures["DescribeDBInstances"] = creating_for_two_looks

    result = deployed.run("recover", "snapshot", "orders-mysql", "--target", "orders-slow", "--poll-seconds", "0.6")

    assert result.exit_code == 0, result.stderr
    lines = [line.strip() for line in result.stdout.splitlines()]
    assert any(line.endswith("creating") for line in lines), result.stdout
    assert any(line.endswith("available") for line in lines)
    assert "recovered orders-slow: AVAILABLE" in result.stdout
    assert "cut over" in result.stdout
    assert len(looks) == 3
    rto = next(line for line in lines if line.startswith("│ RTO"))
    assert "0m00s" not in rto  # two looks 0.6 s apart while it was creating


def test_no_wait_prints_what_to_poll(deployed: Deployed) -> None:
    _orders(deployed)

    result = _recover(deployed, "snapshot", "orders-mysql", "--target", "orders-later", "--no-wait")

    assert result["status"] == "restoring"
    assert result["checks"] is None
    assert (
        result["poll"] == "aws rds wait db-instance-available --db-instance-identifier orders-later --region us-east-1"
    )
    assert "db:orders-later" in inventory()[SOURCE_REGION]


def test_dry_run_creates_nothing_and_says_why(deployed: Deployed) -> None:
    _orders(deployed)
    before = inventory()

    table = deployed.run(
        "recover", "snapshot", "orders-mysql", "--before", "2026-12-07T00:00:00Z", "--allow-undrilled", "--dry-run"
    )
    document = _recover(deployed, "pitr", "orders-mysql", "--to", "latest", "--dry-run")

    assert table.exit_code == 0, table.stderr
    assert "dry run: nothing created" in table.stdout
    assert "recovery points considered" in table.stdout
    assert document["dry_run"] is True
    assert document["status"] == "planned"
    assert inventory() == before


def test_a_failed_restore_is_one_line_and_exit_1(deployed: Deployed) -> None:
    _orders(deployed)
    deployed.world.failures["RestoreDBInstanceFromDBSnapshot"] = lambda params: "InsufficientDBInstanceCapacity"
    before = inventory()

    result = deployed.run("recover", "snapshot", "orders-mysql", *FAST)

    assert result.exit_code == 1
    assert "InsufficientDBInstanceCapacity" in one_line(result.stderr)
    assert inventory() == before


def test_a_cluster_whose_instance_cannot_be_created_says_what_is_left(deployed: Deployed) -> None:
    deployed.fleet.cluster("ledger-aurora")
    deployed.world.managed_cluster_snapshot("ledger-aurora", "weekly", "2026-12-06")
    deployed.world.failures["CreateDBInstance"] = lambda params: "InsufficientDBInstanceCapacity"

    result = deployed.run("recover", "snapshot", "ledger-aurora", "--target", "ledger-new", *FAST)

    assert result.exit_code == 1
    line = one_line(result.stderr)
    assert line.startswith("restorable: cluster ledger-new is restoring in us-east-1, but its instance could not be")
    assert "InsufficientDBInstanceCapacity" in line
    assert "cluster:ledger-new" in inventory()[SOURCE_REGION]


# ---------------------------------------------------------------- bad input: one line, exit 2, nothing created


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("snapshot", "orders-mysql", "--stack", "no-such-stack"), "unknown stack 'no-such-stack'"),
        (("snapshot", "no-such-db"), "unknown source 'no-such-db'"),
        (("pitr", "no-such-db", "--to", "latest"), "unknown source 'no-such-db'"),
        (("snapshot", "scratch"), "is not protected (no restorable:policy tag)"),
        (("pitr", "orders-mysql", "--to", "2031-01-01T00:00:00Z"), "is outside the restorable window of orders-mysql"),
        (("pitr", "orders-mysql", "--to", "2020-01-01T00:00:00Z"), "is outside the restorable window of orders-mysql"),
        (("pitr", "orders-mysql", "--to", "2026-12-08T05:00:00"), "give a time zone"),
        (("pitr", "orders-mysql", "--to", "yesterday"), "not an ISO-8601 time"),
        (("snapshot", "orders-mysql", "--before", "2026-12-07"), "give a time zone"),
        (("snapshot", "orders-mysql", "--target", "scratch"), "a DB instance named scratch already exists"),
        (
            ("region", "orders-mysql", "--target", "taken-in-dr"),
            "a DB instance named taken-in-dr already exists in us-west-2",
        ),
        (("snapshot", "orders-mysql", "--target", "Bad_Name"), "--target 'Bad_Name'"),
        (("snapshot", "orders-mysql", "--snapshot", "billing-pg-weekly-2026-12-06"), "is a recovery point of"),
        (("snapshot", "orders-mysql", "--snapshot", "nope"), "snapshot 'nope' does not exist"),
        (
            ("snapshot", "orders-mysql", "--before", "2026-12-07T00:00:00Z", "--snapshot", "x"),
            "give --before or --snapshot, not both",
        ),
        (("snapshot", "orders-mysql", "--allow-undrilled"), "--allow-undrilled applies to --before only"),
        (
            ("snapshot", "arn:aws:rds:eu-west-1:123456789012:db:orders-mysql"),
            "is in Region eu-west-1, expected us-east-1",
        ),
        (
            ("snapshot", "arn:aws:rds:us-east-1:999999999999:db:orders-mysql"),
            "is not arn:aws:rds:us-east-1:123456789012",
        ),
        (
            ("snapshot", "orders-mysql", "--snapshot", "arn:aws:rds:us-west-2:123456789012:snapshot:x"),
            "is in Region us-west-2, expected us-east-1",
        ),
    ],
)
def test_bad_input_is_one_line_exit_2_and_creates_nothing(
    deployed: Deployed, args: tuple[str, ...], message: str
) -> None:
    _, newer = _orders(deployed)
    deployed.fleet.instance("scratch", policy=None)
    deployed.fleet.instance("billing-pg", engine="postgres")
    deployed.world.managed_snapshot("billing-pg", "weekly", "2026-12-06")
    deployed.world.dr_copy(newer)
    dr_rds = boto3.client("rds", region_name=DR_REGION)
    dr_rds.create_db_instance(
        DBInstanceIdentifier="taken-in-dr", DBInstanceClass="db.t3.micro", Engine="mysql",
        MasterUsername="admin", MasterUserPassword="not-a-secret-1", AllocatedStorage=20,
    )  # fmt: skip
    before = inventory()

    result = deployed.run("recover", *args, *FAST)

    assert result.exit_code == 2, (result.stdout, result.stderr)
    line = one_line(result.stderr)
    assert line.startswith("restorable: ")
    assert message in line
    assert inventory() == before


def test_checks_are_validated_before_anything_is_created(deployed: Deployed, tmp_path: Path) -> None:
    _orders(deployed)
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"sql": {"database": "orders", "queries": []}}))
    no_secret = tmp_path / "no-secret.json"
    no_secret.write_text(json.dumps({"sql": {"database": "orders", "queries": [{"name": "n", "sql": "select 1"}]}}))
    unreadable = tmp_path / "unreadable.json"
    secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:orders-admin-AbCdEf"
    unreadable.write_text(
        json.dumps({"sql": {"database": "orders", "secret_arn": secret, "queries": [{"name": "n", "sql": "select 1"}]}})
    )
    before = inventory()

    results = {
        path.name: deployed.run("recover", "snapshot", "orders-mysql", "--checks", str(path), *FAST)
        for path in (empty, no_secret, unreadable)
    }

    assert all(r.exit_code == 2 for r in results.values()), {k: r.stderr for k, r in results.items()}
    assert "give at least one query or a freshness check" in one_line(results["empty.json"].stderr)
    assert "checks.sql.secret_arn is required for a recovery" in one_line(results["no-secret.json"].stderr)
    assert "cannot be read: ResourceNotFoundException" in one_line(results["unreadable.json"].stderr)
    assert inventory() == before
