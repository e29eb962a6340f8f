"""The emulator's read cache: answers equal uncached ones, and any write, world step or clock move drops them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import time_machine
from botocore.exceptions import ClientError
from moto import mock_aws

from local_runtime.read_cache import ReadCache
from local_runtime.world import RdsWorld
from restorable.adapters import clients

REGION = "us-east-1"
NOW = datetime(2026, 11, 1, 3, tzinfo=UTC)


def _instance(rds: Any, identifier: str, **extra: Any) -> None:
    rds.create_db_instance(
        DBInstanceIdentifier=identifier,
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        AllocatedStorage=20,
        MasterUsername="admin",
        MasterUserPassword="password-1",
        **extra,
    )


@pytest.fixture
def cached() -> Iterator[tuple[ReadCache, Any]]:
    """A cache installed on the default session of a fresh emulator, and an RDS client using it."""
    with mock_aws(), time_machine.travel(NOW, tick=False):
        cache = ReadCache()
        with cache.installed(boto3._get_default_session()):
            rds = boto3.client("rds", region_name=REGION)
            _instance(rds, "orders-db")
            yield cache, rds


def _without_request_ids(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k != "ResponseMetadata"}


def test_a_repeated_read_is_answered_from_the_cache_and_equals_the_emulators_answer(cached: Any) -> None:
    cache, rds = cached
    first = rds.describe_db_instances()
    second = rds.describe_db_instances()
    assert cache.stats.misses == 1
    assert cache.stats.hits == 1
    assert second == first
    uncached = boto3.Session().client("rds", region_name=REGION).describe_db_instances()  # no hooks: moto answers
    assert _without_request_ids(second) == _without_request_ids(uncached)


def test_callers_get_their_own_copy_of_a_cached_answer(cached: Any) -> None:
    _, rds = cached
    rds.describe_db_instances()["DBInstances"].clear()
    assert [d["DBInstanceIdentifier"] for d in rds.describe_db_instances()["DBInstances"]] == ["orders-db"]


def test_different_parameters_are_different_answers(cached: Any) -> None:
    cache, rds = cached
    _instance(rds, "billing-db")
    rds.describe_db_instances(DBInstanceIdentifier="orders-db")
    only_billing = rds.describe_db_instances(DBInstanceIdentifier="billing-db")
    assert [d["DBInstanceIdentifier"] for d in only_billing["DBInstances"]] == ["billing-db"]
    assert cache.stats.hits == 0


def test_any_write_drops_every_answer(cached: Any) -> None:
    cache, rds = cached
    assert rds.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"] == []
    rds.create_db_snapshot(DBSnapshotIdentifier="orders-db-1", DBInstanceIdentifier="orders-db")
    manual = rds.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]
    assert [s["DBSnapshotIdentifier"] for s in manual] == ["orders-db-1"]
    assert cache.size == 1
    assert cache.stats.hits == 0


def test_a_write_in_another_region_drops_the_answers_too(cached: Any) -> None:
    cache, rds = cached
    rds.describe_db_instances()
    _instance(boto3.client("rds", region_name="us-west-2"), "elsewhere-db")
    rds.describe_db_instances()
    assert cache.stats.hits == 0
    assert cache.stats.misses == 2


def test_a_write_to_a_service_that_changes_only_itself_keeps_the_other_services_answers(cached: Any) -> None:
    cache, rds = cached
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.create_table(
        TableName="history",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    rds.describe_db_instances()
    assert dynamodb.scan(TableName="history")["Items"] == []
    dynamodb.put_item(TableName="history", Item={"pk": {"S": "drill-1"}})
    sns = boto3.client("sns", region_name="us-west-2")
    sns.publish(TopicArn=sns.create_topic(Name="alerts")["TopicArn"], Message="hello")
    assert [d["DBInstanceIdentifier"] for d in rds.describe_db_instances()["DBInstances"]] == ["orders-db"]
    assert cache.stats.hits == 1  # RDS's answer survived the DynamoDB and SNS writes
    assert dynamodb.scan(TableName="history")["Items"] == [{"pk": {"S": "drill-1"}}]  # the put is visible


def test_an_rds_write_drops_the_rds_answers_and_keeps_the_other_services(cached: Any) -> None:
    cache, rds = cached
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    assert dynamodb.list_tables()["TableNames"] == ["orders"]
    rds.describe_db_snapshots(SnapshotType="manual")
    rds.create_db_snapshot(DBSnapshotIdentifier="orders-db-1", DBInstanceIdentifier="orders-db")
    assert dynamodb.list_tables()["TableNames"] == ["orders"]
    assert cache.stats.hits == 1  # DynamoDB's answer survived the RDS write
    manual = rds.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]
    assert [s["DBSnapshotIdentifier"] for s in manual] == ["orders-db-1"]  # RDS's did not
    assert cache.stats.hits == 1


def test_a_dynamodb_read_is_answered_from_the_cache_until_a_dynamodb_write(cached: Any) -> None:
    cache, _ = cached
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.create_table(
        TableName="state",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(TableName="state", Item={"pk": {"S": "a"}, "n": {"N": "1"}})
    first = dynamodb.get_item(TableName="state", Key={"pk": {"S": "a"}})["Item"]
    assert dynamodb.get_item(TableName="state", Key={"pk": {"S": "a"}})["Item"] == first
    assert cache.stats.hits == 1
    dynamodb.update_item(
        TableName="state",
        Key={"pk": {"S": "a"}},
        UpdateExpression="SET n = :n",
        ExpressionAttributeValues={":n": {"N": "2"}},
    )
    assert dynamodb.get_item(TableName="state", Key={"pk": {"S": "a"}})["Item"]["n"] == {"N": "2"}
    assert dynamodb.query(
        TableName="state",
        KeyConditionExpression="pk = :a",
        ExpressionAttributeValues={":a": {"S": "a"}},
    )["Items"] == [{"pk": {"S": "a"}, "n": {"N": "2"}}]


def test_a_failed_write_drops_the_answers(cached: Any) -> None:
    cache, rds = cached
    rds.describe_db_snapshots(SnapshotType="manual")
    with pytest.raises(ClientError):
        rds.delete_db_snapshot(DBSnapshotIdentifier="no-such-snapshot")
    rds.describe_db_snapshots(SnapshotType="manual")
    assert cache.stats.hits == 0


def test_a_snapshot_write_keeps_the_instance_listing_and_drops_the_snapshot_listings(cached: Any) -> None:
    cache, rds = cached
    instances = rds.describe_db_instances()
    rds.describe_db_snapshots(SnapshotType="manual")
    rds.create_db_snapshot(DBSnapshotIdentifier="orders-db-1", DBInstanceIdentifier="orders-db")
    snapshot_arn = rds.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"][0]["DBSnapshotArn"]
    rds.add_tags_to_resource(ResourceName=snapshot_arn, Tags=[{"Key": "restorable:kind", "Value": "weekly"}])
    assert rds.describe_db_instances() == instances
    assert cache.stats.hits == 1
    tagged = rds.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]
    assert {"Key": "restorable:kind", "Value": "weekly"} in tagged[0]["TagList"]
    assert cache.stats.hits == 1


def test_a_tag_write_to_an_instance_drops_the_instance_listing(cached: Any) -> None:
    cache, rds = cached
    arn = rds.describe_db_instances()["DBInstances"][0]["DBInstanceArn"]
    rds.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": "restorable:policy", "Value": "default"}])
    tags = rds.describe_db_instances()["DBInstances"][0]["TagList"]
    assert {"Key": "restorable:policy", "Value": "default"} in tags
    assert cache.stats.hits == 0


def test_a_snapshot_write_in_one_region_keeps_the_answers_of_another(cached: Any) -> None:
    cache, rds = cached
    west = boto3.client("rds", region_name="us-west-2")
    _instance(west, "orders-dr")
    east_snapshots = rds.describe_db_snapshots(SnapshotType="manual")
    west.describe_db_snapshots(SnapshotType="manual")
    west.create_db_snapshot(DBSnapshotIdentifier="orders-dr-1", DBInstanceIdentifier="orders-dr")
    assert rds.describe_db_snapshots(SnapshotType="manual") == east_snapshots
    assert cache.stats.hits == 1
    assert [s["DBSnapshotIdentifier"] for s in west.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]] == [
        "orders-dr-1"
    ]
    assert cache.stats.hits == 1


def test_a_write_to_a_service_without_a_known_scope_drops_every_region(cached: Any) -> None:
    cache, rds = cached
    west = boto3.client("rds", region_name="us-west-2")
    rds.describe_db_instances()
    west.describe_db_instances()
    boto3.client("sqs", region_name="eu-west-1").create_queue(QueueName="elsewhere")
    rds.describe_db_instances()
    west.describe_db_instances()
    assert cache.stats.hits == 0


def test_an_item_write_drops_its_own_table_only(cached: Any) -> None:
    cache, _ = cached
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    for name in ("state", "other"):
        dynamodb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    other = dynamodb.scan(TableName="other")
    tables = dynamodb.list_tables()
    assert dynamodb.describe_table(TableName="state")["Table"]["ItemCount"] == 0
    dynamodb.scan(TableName="state")
    dynamodb.batch_write_item(RequestItems={"state": [{"PutRequest": {"Item": {"pk": {"S": "a"}}}}]})
    assert dynamodb.scan(TableName="other") == other
    assert dynamodb.list_tables() == tables
    assert cache.stats.hits == 2
    assert dynamodb.scan(TableName="state")["Items"] == [{"pk": {"S": "a"}}]
    assert dynamodb.describe_table(TableName="state")["Table"]["ItemCount"] == 1
    assert cache.stats.hits == 2
    dynamodb.put_item(TableName="other", Item={"pk": {"S": "b"}})
    assert dynamodb.scan(TableName="other")["Items"] == [{"pk": {"S": "b"}}]


def test_an_error_answer_is_repeated_as_the_same_error(cached: Any) -> None:
    cache, rds = cached
    errors = []
    for _ in range(2):
        with pytest.raises(ClientError) as caught:
            rds.describe_db_snapshots(DBSnapshotIdentifier="missing")
        errors.append(caught.value.response["Error"]["Code"])
    assert errors == ["DBSnapshotNotFound", "DBSnapshotNotFound"]
    assert cache.stats.hits == 1


def test_a_world_step_drops_the_answers(cached: Any) -> None:
    cache, rds = cached
    world = RdsWorld([REGION], listeners=[cache.world_changed])
    rds.modify_db_instance(DBInstanceIdentifier="orders-db", BackupRetentionPeriod=7, ApplyImmediately=True)
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        before = rds.describe_db_snapshots(SnapshotType="automated")["DBSnapshots"]
        world.run_backup(REGION, "orders-db", NOW + timedelta(days=1))  # changes moto directly, no API call
        after = rds.describe_db_snapshots(SnapshotType="automated")["DBSnapshots"]
    assert len(after) == len(before) + 1
    assert cache.stats.drops is not None
    assert cache.stats.drops["backup"] == 1


def test_a_world_step_keeps_the_manual_snapshot_listings_only(cached: Any) -> None:
    cache, rds = cached
    world = RdsWorld([REGION], listeners=[cache.world_changed])
    rds.modify_db_instance(DBInstanceIdentifier="orders-db", BackupRetentionPeriod=7, ApplyImmediately=True)
    rds.create_db_snapshot(DBSnapshotIdentifier="orders-db-1", DBInstanceIdentifier="orders-db")
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        manual = rds.describe_db_snapshots(SnapshotType="manual")
        every = rds.describe_db_snapshots()
        world.run_backup(REGION, "orders-db", NOW + timedelta(days=1))
        assert rds.describe_db_snapshots(SnapshotType="manual") == manual
        assert cache.stats.hits == 1
        assert len(rds.describe_db_snapshots()["DBSnapshots"]) == len(every["DBSnapshots"]) + 1
        uncached = boto3.Session().client("rds", region_name=REGION).describe_db_snapshots(SnapshotType="manual")
    assert _without_request_ids(manual) == _without_request_ids(uncached)


def test_a_backup_by_the_world_drops_its_own_regions_answers_only(cached: Any) -> None:
    cache, rds = cached
    west = boto3.client("rds", region_name="us-west-2")
    _instance(west, "orders-dr")
    world = RdsWorld([REGION, "us-west-2"], listeners=[cache.world_changed])
    rds.modify_db_instance(DBInstanceIdentifier="orders-db", BackupRetentionPeriod=7, ApplyImmediately=True)
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        west_instances = west.describe_db_instances()
        before = rds.describe_db_snapshots(SnapshotType="automated")["DBSnapshots"]
        world.run_backup(REGION, "orders-db", NOW + timedelta(days=1))
        assert west.describe_db_instances() == west_instances
        assert cache.stats.hits == 1
        after = rds.describe_db_snapshots(SnapshotType="automated")["DBSnapshots"]
    assert len(after) == len(before) + 1


def test_a_restart_by_the_world_drops_the_answers(cached: Any) -> None:
    cache, rds = cached
    world = RdsWorld([REGION], listeners=[cache.world_changed])
    rds.stop_db_instance(DBInstanceIdentifier="orders-db")
    world.restart_long_stopped(NOW)
    assert rds.describe_db_instances()["DBInstances"][0]["DBInstanceStatus"] == "stopped"
    world.restart_long_stopped(NOW + timedelta(days=7))  # at the same instant as the read below
    with time_machine.travel(NOW, tick=False):
        assert rds.describe_db_instances()["DBInstances"][0]["DBInstanceStatus"] == "available"


def test_an_answer_moto_computes_from_the_clock_is_given_with_the_clock_of_the_later_call(cached: Any) -> None:
    cache, rds = cached
    first = rds.describe_db_instances()["DBInstances"][0]["LatestRestorableTime"]
    with time_machine.travel(NOW + timedelta(minutes=5, seconds=7), tick=False):
        later = rds.describe_db_instances()
        uncached = boto3.Session().client("rds", region_name=REGION).describe_db_instances()
    assert cache.stats.hits == 1
    assert later["DBInstances"][0]["LatestRestorableTime"] - first == timedelta(minutes=5, seconds=7)
    assert _without_request_ids(later) == _without_request_ids(uncached)


def test_an_answer_that_does_not_depend_on_the_clock_survives_a_clock_move(cached: Any) -> None:
    cache, rds = cached
    first = rds.describe_db_snapshots(SnapshotType="manual")
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        assert rds.describe_db_snapshots(SnapshotType="manual") == first
    assert cache.stats.hits == 1


def test_in_check_mode_every_call_reaches_moto_and_a_stale_answer_is_reported() -> None:
    with mock_aws(), time_machine.travel(NOW, tick=False):
        cache = ReadCache(check=True)
        with cache.installed(boto3._get_default_session()):
            rds = boto3.client("rds", region_name=REGION)
            _instance(rds, "orders-db")
            rds.describe_db_instances()
            rds.describe_db_instances()
            assert cache.mismatches == []
            rds.describe_db_snapshots(SnapshotType="manual")
            backend = RdsWorld([REGION]).backend(REGION)
            backend.create_db_snapshot("orders-db", "behind-the-caches-back")  # no call, no world step
            fresh = rds.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]
    assert [s["DBSnapshotIdentifier"] for s in fresh] == ["behind-the-caches-back"]
    assert cache.stats.hits == 0
    assert cache.stats.checked == 2
    assert len(cache.mismatches) == 1
    assert cache.mismatches[0][0][2] == "DescribeDBSnapshots"


def test_step_functions_answers_are_never_kept(cached: Any) -> None:
    cache, _ = cached
    sfn = boto3.client("stepfunctions", region_name=REGION)
    sfn.list_state_machines()
    sfn.list_state_machines()
    assert cache.stats.hits == 0
    assert cache.size == 0


def test_uninstalled_it_answers_nothing_even_for_clients_built_while_installed() -> None:
    with mock_aws(), time_machine.travel(NOW, tick=False):
        cache = ReadCache()
        with cache.installed(boto3._get_default_session()):
            rds = boto3.client("rds", region_name=REGION)
            rds.describe_db_instances()
        _instance(boto3.Session().client("rds", region_name=REGION), "after-db")
        assert [d["DBInstanceIdentifier"] for d in rds.describe_db_instances()["DBInstances"]] == ["after-db"]
        assert cache.stats.hits == 0


def test_handler_clients_are_reused_within_an_emulator_and_never_across_emulators() -> None:
    clients.reset()
    with mock_aws():
        first = clients.client("rds", REGION)
        assert clients.client("rds", REGION) is first
        assert clients.client("rds", "us-west-2") is not first
        assert clients.client("sns", REGION) is not first
    with mock_aws():  # a new emulator replaces the default session
        second = clients.client("rds", REGION)
        assert second is not first
        _instance(second, "fresh-db")
        assert [d["DBInstanceIdentifier"] for d in second.describe_db_instances()["DBInstances"]] == ["fresh-db"]
    clients.reset()
    with mock_aws():
        assert clients.client("rds", REGION) is not second
