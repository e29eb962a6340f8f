"""``restorable hold``: legal holds on every copy of a recovery point, in both Regions."""

from __future__ import annotations

import boto3

from tests.cli.conftest import Deployed, one_line

WEEKLY = "orders-mysql-weekly-2026-12-06"


def _copied(deployed: Deployed) -> str:
    deployed.fleet.instance("orders-mysql")
    arn = deployed.world.managed_snapshot("orders-mysql", "weekly", "2026-12-06")
    deployed.world.dr_copy(arn)
    return arn


def test_hold_add_tags_every_copy_with_the_reason_who_and_when(deployed: Deployed) -> None:
    _copied(deployed)

    held = deployed.json("hold", "add", WEEKLY, "--reason", "case 4711: litigation", "--by", "alice@example.com")

    assert sorted(c["region"] for c in held["copies"]) == ["us-east-1", "us-west-2"]
    for region in ("us-east-1", "us-west-2"):
        tags = deployed.snapshot_tags(region, WEEKLY)
        assert tags["restorable:legal-hold"] == "true"
        assert tags["restorable:legal-hold-reason"] == "case 4711: litigation"
        assert tags["restorable:legal-hold-by"] == "alice@example.com"
        assert tags["restorable:legal-hold-at"].startswith("2026-12-08T06:")
        assert tags["restorable:kind"] == "weekly"  # the contract's tags stay


def test_the_holder_defaults_to_the_callers_identity(deployed: Deployed) -> None:
    _copied(deployed)
    caller = boto3.client("sts", region_name="us-east-1").get_caller_identity()["Arn"]

    deployed.json("hold", "add", WEEKLY, "--reason", "audit")

    assert deployed.snapshot_tags("us-east-1", WEEKLY)["restorable:legal-hold-by"] == caller


def test_cluster_snapshots_are_held_in_both_regions_too(deployed: Deployed) -> None:
    deployed.fleet.cluster("ledger")
    arn = deployed.world.managed_cluster_snapshot("ledger", "weekly", "2026-12-06")
    deployed.world.dr_copy(arn)

    deployed.json("hold", "add", "ledger-weekly-2026-12-06", "--reason", "audit")

    for region in ("us-east-1", "us-west-2"):
        assert (
            deployed.snapshot_tags(region, "ledger-weekly-2026-12-06", cluster=True)["restorable:legal-hold"] == "true"
        )


def test_hold_list_counts_odd_values_and_key_cases_and_shows_the_uncovered_copy(deployed: Deployed) -> None:
    _copied(deployed)
    world = deployed.world
    odd = world.managed_snapshot("orders-mysql", "weekly", "2026-11-29")
    dr_odd = world.dr_copy(odd)
    world.dr_rds.add_tags_to_resource(ResourceName=dr_odd, Tags=[{"Key": "Restorable:Legal-Hold", "Value": "yes"}])
    released = world.managed_snapshot("orders-mysql", "monthly", "2026-12-01")
    world.rds.add_tags_to_resource(ResourceName=released, Tags=[{"Key": "restorable:legal-hold", "Value": "False"}])
    deployed.json("hold", "add", WEEKLY, "--reason", "audit")

    listed = {h["identifier"]: h for h in deployed.json("hold", "list")["held"]}

    assert sorted(listed) == ["orders-mysql-weekly-2026-11-29", WEEKLY]  # "False" is a clear release
    assert listed[WEEKLY]["held_in"] == ["us-east-1", "us-west-2"]
    assert listed[WEEKLY]["reason"] == "audit"
    odd_hold = listed["orders-mysql-weekly-2026-11-29"]
    assert odd_hold["held_in"] == ["us-west-2"]
    assert odd_hold["not_held_in"] == ["us-east-1"]
    assert odd_hold["values"] == ["yes"]
    table = deployed.run("hold", "list")
    assert table.exit_code == 0
    assert "orders-mysql-weekly-2026-11-29" in table.stdout


def test_hold_remove_clears_every_copy_and_every_key_case(deployed: Deployed) -> None:
    _copied(deployed)
    deployed.json("hold", "add", WEEKLY, "--reason", "audit")
    dr_arn = deployed.world.dr_rds.describe_db_snapshots(DBSnapshotIdentifier=WEEKLY)["DBSnapshots"][0]["DBSnapshotArn"]
    deployed.world.dr_rds.add_tags_to_resource(
        ResourceName=dr_arn, Tags=[{"Key": "RESTORABLE:LEGAL-HOLD", "Value": "TRUE"}]
    )

    removed = deployed.json("hold", "remove", WEEKLY)

    assert removed["held"] is False
    assert sorted(removed["removed"]) == ["us-east-1", "us-west-2"]
    for region in ("us-east-1", "us-west-2"):
        tags = deployed.snapshot_tags(region, WEEKLY)
        assert not [k for k in tags if k.lower().startswith("restorable:legal-hold")], tags
        assert tags["restorable:source"].endswith(":db:orders-mysql")
    assert deployed.json("hold", "list")["held"] == []


def test_bad_hold_input_is_one_line_and_tags_nothing(deployed: Deployed) -> None:
    _copied(deployed)
    before = {region: deployed.snapshot_tags(region, WEEKLY) for region in ("us-east-1", "us-west-2")}

    too_long = deployed.run("hold", "add", WEEKLY, "--reason", "x" * 257)
    bad_chars = deployed.run("hold", "add", WEEKLY, "--reason", "legal's request, #12")
    empty = deployed.run("hold", "add", WEEKLY, "--reason", "  ")
    unknown = deployed.run("hold", "add", "no-such-snapshot", "--reason", "audit")
    unknown_remove = deployed.run("hold", "remove", "no-such-snapshot")

    for result in (too_long, bad_chars, empty, unknown, unknown_remove):
        assert result.exit_code == 2
        assert one_line(result.stderr).startswith("restorable: ")
    assert "at most 256" in too_long.stderr
    assert "cannot carry" in bad_chars.stderr
    assert "unknown recovery point 'no-such-snapshot'" in unknown.stderr
    assert "us-east-1 or us-west-2" in unknown.stderr
    assert {region: deployed.snapshot_tags(region, WEEKLY) for region in ("us-east-1", "us-west-2")} == before


def test_a_copy_that_cannot_be_tagged_is_reported(deployed: Deployed) -> None:
    _copied(deployed)
    deployed.world.failures["AddTagsToResource"] = lambda params: (
        "AccessDenied" if "us-west-2" in str(params.get("url", "")) else None
    )

    result = deployed.run("hold", "add", WEEKLY, "--reason", "audit")

    assert result.exit_code == 1
    line = one_line(result.stderr)
    assert "held orders-mysql-weekly-2026-12-06 only on us-east-1" in line
    assert "us-west-2" in line
    assert deployed.snapshot_tags("us-east-1", WEEKLY)["restorable:legal-hold"] == "true"
