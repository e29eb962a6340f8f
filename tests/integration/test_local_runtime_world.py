"""The world: the inventory read after every invocation sees every change; what DynamoDB keeps by itself is
shown on moto's answers; every engine's recovery points are counted."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import time_machine
from moto import mock_aws

from local_runtime.read_cache import ReadCache
from local_runtime.world import PITR_LAG, RdsWorld, RdsWrites, pitr_window_at

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


def _orders_with_snapshots(rds: Any, *names: str) -> None:
    rds.create_db_instance(
        DBInstanceIdentifier="orders-db",
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        AllocatedStorage=20,
        MasterUsername="admin",
        MasterUserPassword="password-1",
    )
    for name in names:
        rds.create_db_snapshot(
            DBSnapshotIdentifier=name,
            DBInstanceIdentifier="orders-db",
            Tags=[{"Key": "restorable:kind", "Value": "weekly"}],
        )


def test_while_rds_writes_are_counted_the_inventory_is_kept_until_a_write_on_any_thread_or_a_step(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    writes = RdsWrites()
    with mock_aws():
        with writes.installed(boto3._get_default_session()):
            rds = boto3.client("rds", region_name=REGION)
            _orders_with_snapshots(rds, "orders-db-1", "orders-db-2")
            world = RdsWorld([REGION, "us-west-2"], rds_writes=writes)
            first = world.inventory()
            rds.describe_db_snapshots()  # reads and other services' writes change no RDS snapshot
            boto3.client("sns", region_name=REGION).create_topic(Name="alerts")
            assert world.inventory() is first
            arn = rds.describe_db_snapshots(DBSnapshotIdentifier="orders-db-1")["DBSnapshots"][0]["DBSnapshotArn"]
            rds.remove_tags_from_resource(ResourceName=arn, TagKeys=["restorable:kind"])
            untagged = world.inventory()
            assert untagged is not first
            assert {s.identifier: s.tag_map for s in untagged.snapshots.values()}["orders-db-1"] == {}
            failed = threading.Thread(target=_delete_missing_snapshot, args=(rds,))  # a failed write counts too
            failed.start()
            failed.join()
            assert world.inventory() is not untagged
            writer = threading.Thread(target=lambda: rds.delete_db_snapshot(DBSnapshotIdentifier="orders-db-2"))
            writer.start()
            writer.join()
            kept = world.inventory()
            assert sorted(s.identifier for s in kept.snapshots.values()) == ["orders-db-1"]
            later = datetime.now(UTC) + timedelta(hours=1)
            with time_machine.travel(later, tick=False):
                world.run_backup(REGION, "orders-db", later)  # a step of the world's own
            assert world.inventory() is not kept
        # no longer counted: a change made without a call (a test's own, say) is seen at once
        del world.backend(REGION).database_snapshots["orders-db-1"]
        assert world.inventory().snapshots == {}
        assert world.inventory() is not world.inventory()


def _delete_missing_snapshot(rds: Any) -> None:
    with pytest.raises(rds.exceptions.DBSnapshotNotFoundFault):
        rds.delete_db_snapshot(DBSnapshotIdentifier="no-such-snapshot")


def _table(dynamodb: Any, name: str) -> None:
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def test_the_pitr_window_moves_with_the_clock_and_a_global_table_lists_its_replica(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What DynamoDB keeps by itself, shown on moto's answers (moto freezes the window, has no replicas)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    enabled_at = datetime(2026, 11, 1, tzinfo=UTC)
    with mock_aws(), time_machine.travel(enabled_at, tick=False) as clock:
        cache = ReadCache(check=True)  # every answer it would give, at later instants too, against moto's
        with cache.installed(boto3._get_default_session()):
            dynamodb = boto3.client("dynamodb", region_name=REGION)
            for name in ("carts", "orders"):
                _table(dynamodb, name)
            dynamodb.update_continuous_backups(
                TableName="orders",
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True, "RecoveryPeriodInDays": 7},
            )
            world = RdsWorld([REGION, "us-west-2"], replicas={(REGION, "carts"): {"us-west-2": "ACTIVE"}})
            with world.serve_dynamodb():
                reader = boto3.client("dynamodb", region_name=REGION)  # a client takes the hooks there are
                windows = []
                for later in (timedelta(minutes=1), timedelta(hours=3), timedelta(days=10)):
                    clock.move_to(enabled_at + later)
                    for _ in range(2):
                        answer = reader.describe_continuous_backups(TableName="orders")
                    windows.append(answer["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"])
                carts = reader.describe_table(TableName="carts")["Table"]
                orders = reader.describe_table(TableName="orders")["Table"]
            outside = dynamodb.describe_continuous_backups(TableName="orders")  # built before: moto's own answer
    # Never before PITR was on; then the clock less five minutes; the start of the period once it is full.
    assert [w["LatestRestorableDateTime"] for w in windows] == [
        enabled_at,
        enabled_at + timedelta(hours=3) - PITR_LAG,
        enabled_at + timedelta(days=10) - PITR_LAG,
    ]
    assert [w["EarliestRestorableDateTime"] for w in windows] == [
        enabled_at,
        enabled_at,
        enabled_at + timedelta(days=3),
    ]
    assert carts["Replicas"] == [{"RegionName": "us-west-2", "ReplicaStatus": "ACTIVE"}]
    assert carts["GlobalTableVersion"] == "2019.11.21"
    assert "Replicas" not in orders
    assert cache.mismatches == []
    assert cache.stats.checked == 6  # every window answer after the first, later instants' and moto's own included
    # A kept answer moved on to a later instant gives that instant's window, as the hook does.
    kept = {"ContinuousBackupsDescription": {"PointInTimeRecoveryDescription": dict(windows[1])}}
    pitr_window_at(kept, enabled_at + timedelta(days=10))
    assert kept["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"] == windows[2]
    frozen = outside["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert frozen["LatestRestorableDateTime"] == enabled_at


def test_recovery_points_of_every_engine_are_counted_with_their_sizes(monkeypatch: pytest.MonkeyPatch) -> None:
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
        rds.create_db_snapshot(DBSnapshotIdentifier="orders-db-1", DBInstanceIdentifier="orders-db")
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        _table(dynamodb, "orders")
        for name in ("orders-1", "orders-2"):
            dynamodb.create_backup(TableName="orders", BackupName=name)
        elasticache = boto3.client("elasticache", region_name=REGION)
        elasticache.create_replication_group(
            ReplicationGroupId="sessions",
            ReplicationGroupDescription="sessions",
            Engine="valkey",
            CacheNodeType="cache.t4g.small",
            NumCacheClusters=2,
        )
        elasticache.create_snapshot(ReplicationGroupId="sessions", SnapshotName="sessions-1")
        world = RdsWorld([REGION, "us-west-2"])
        sample = world.recovery_points(
            datetime(2026, 11, 1, tzinfo=UTC), {"orders-db": "postgres"}, {"orders": 12.0, "sessions": 2.0}
        )
        assert world.cache_snapshot_count(REGION, "sessions") == 1
        assert world.cache_snapshot_count(REGION, "other") == 0
    assert sample.points == {(REGION, "postgres"): 1, (REGION, "dynamodb"): 2, (REGION, "valkey"): 1}
    assert sample.storage_gb == {(REGION, "postgres"): 20.0, (REGION, "dynamodb"): 24.0, (REGION, "valkey"): 2.0}
