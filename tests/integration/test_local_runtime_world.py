"""The world's inventory, read after every invocation, sees every change since the last one."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from local_runtime.world import RdsWorld

REGION = "us-east-1"


def test_a_later_inventory_sees_new_deleted_and_retagged_snapshots(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        rds = boto3.client("rds", region_name=REGION)
        rds.create_db_instance(
            DBInstanceIdentifier="orders-db",
            DBInstanceClass="db.t3.micro",
            Engine="postgres",
            AllocatedStorage=20,
            MasterUsername="admin",
            MasterUserPassword="password-1",
        )
        kind = [{"Key": "restorable:kind", "Value": "weekly"}]
        for name in ("orders-db-1", "orders-db-2"):
            rds.create_db_snapshot(DBSnapshotIdentifier=name, DBInstanceIdentifier="orders-db", Tags=kind)
        world = RdsWorld([REGION])
        before = world.inventory()
        assert world.inventory() == before  # nothing changed: the same records
        arn = rds.describe_db_snapshots(DBSnapshotIdentifier="orders-db-1")["DBSnapshots"][0]["DBSnapshotArn"]
        rds.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": "restorable:legal-hold", "Value": "true"}])
        rds.delete_db_snapshot(DBSnapshotIdentifier="orders-db-2")
        rds.create_db_snapshot(DBSnapshotIdentifier="orders-db-3", DBInstanceIdentifier="orders-db")
        after = world.inventory()
    by_name = {s.identifier: s for s in after.snapshots.values()}
    assert sorted(by_name) == ["orders-db-1", "orders-db-3"]
    assert by_name["orders-db-1"].tag_map == {"restorable:kind": "weekly", "restorable:legal-hold": "true"}
    assert [s.identifier for s in after.added_since(before)] == ["orders-db-3"]
    assert [s.identifier for s in after.removed_since(before)] == ["orders-db-2"]
