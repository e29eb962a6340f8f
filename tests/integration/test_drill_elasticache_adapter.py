"""The ElastiCache drill gateway: node-based sources, snapshots and temporary replication groups on moto;
serverless caches through Stubber (moto 5.2 has none).

moto takes ``SnapshotName`` on ``CreateReplicationGroup`` and ignores it (a restored group holds no data),
so these tests assert the request the gateway sends and what it reads back, never restored data: the data
is checked against a real redis-server in ``tests/drills/test_cache_drill_checks.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from restorable import tags as tag_keys
from restorable.adapters.drill_elasticache import DrillElastiCacheGateway
from restorable.adapters.elasticache import CREATED_AT
from restorable.drills.cache_model import CacheNetwork, CacheRestoreSpec
from restorable.drills.cache_plan import cache_drill_identifier, cache_restore_spec
from restorable.errors import (
    AlreadyExistsError,
    CleanupPendingError,
    InvalidRequestError,
    NotOwnedError,
    QuotaExceededError,
    ResourceNotFoundError,
)
from restorable.models import DatabaseType
from tests.aws_faults import error_response

REGION = "us-east-1"
ACCOUNT = "123456789012"
STACK = "restorable"
EXECUTION = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:restorable-DrillStateMachine:sessions-2026-12"
OTHER_EXECUTION = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:restorable-DrillStateMachine:other"
POLICY = [{"Key": "restorable:policy", "Value": "standard"}]
NETWORK = CacheNetwork(subnet_group="drill-caches", security_group_ids=("sg-0123456789abcdef0",))
SESSIONS_ARN = f"arn:aws:elasticache:{REGION}:{ACCOUNT}:replicationgroup:sessions"


def drill_tags(execution: str = EXECUTION, stack: str = STACK) -> dict[str, str]:
    return {
        tag_keys.MANAGED_BY: stack,
        tag_keys.KIND: tag_keys.DRILL_KIND,
        tag_keys.EXPIRES_AT: "2026-12-08T10:00:00Z",
        tag_keys.SOURCE: SESSIONS_ARN,
        tag_keys.DRILL_EXECUTION: execution,
    }


def _no_serverless(model: Any, **_: Any) -> Any:
    """moto 5.2 has no serverless caches: their lookups answer 'not found' / empty, as AWS would without any."""
    if model.name == "DescribeServerlessCaches":
        return type("Response", (), {"status_code": 200, "headers": {}})(), {"ServerlessCaches": []}
    return None


@pytest.fixture
def world(aws: None) -> tuple[Any, list[tuple[str, dict[str, Any]]]]:
    client = boto3.client("elasticache", region_name=REGION)
    sent: list[tuple[str, dict[str, Any]]] = []

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        sent.append((model.name, {key: str(value) for key, value in (params.get("body") or {}).items()}))

    client.meta.events.register("before-call.elasticache.*", record)
    client.meta.events.register("before-call.elasticache.*", _no_serverless)
    client.create_replication_group(
        ReplicationGroupId="sessions",
        ReplicationGroupDescription="user sessions",
        Engine="valkey",
        CacheNodeType="cache.t4g.small",
        NumCacheClusters=2,
        Tags=POLICY,
    )
    client.create_cache_cluster(
        CacheClusterId="pages", Engine="memcached", CacheNodeType="cache.t4g.small", NumCacheNodes=1, Tags=POLICY
    )
    client.create_cache_cluster(
        CacheClusterId="scratch", Engine="redis", CacheNodeType="cache.t4g.micro", NumCacheNodes=1
    )
    return client, sent


def _managed_snapshot(client: Any, name: str, group: str = "sessions", source_arn: str = SESSIONS_ARN) -> None:
    client.create_snapshot(
        SnapshotName=name,
        ReplicationGroupId=group,
        Tags=[
            {"Key": tag_keys.MANAGED_BY, "Value": STACK},
            {"Key": tag_keys.KIND, "Value": "daily"},
            {"Key": tag_keys.SOURCE, "Value": source_arn},
            {"Key": CREATED_AT, "Value": "2026-12-08T03:00:00Z"},
        ],
    )


def _spec(gateway: DrillElastiCacheGateway) -> CacheRestoreSpec:
    source = gateway.find_source("sessions")
    snapshot = gateway.get_snapshot(source.type, "sessions-daily-2026-12-08")
    return cache_restore_spec(snapshot, source, cache_drill_identifier("sessions", EXECUTION), "sessions-2026-12")


# ---- sources and snapshots (moto)


def test_sources_are_found_by_identifier_with_their_tags_and_shape(world: tuple[Any, Any]) -> None:
    client, _ = world
    gateway = DrillElastiCacheGateway(client)
    sessions = gateway.find_source("Sessions")  # ElastiCache identifiers are lower case
    assert (sessions.type, sessions.arn, sessions.engine) == (
        DatabaseType.CACHE_REPLICATION_GROUP,
        SESSIONS_ARN,
        "valkey",
    )
    assert (sessions.cluster_mode, sessions.node_type, sessions.policy_name) == (
        "disabled",
        "cache.t4g.small",
        "standard",
    )
    scratch = gateway.find_source("scratch")
    assert (scratch.type, scratch.engine, scratch.policy_name) == (DatabaseType.CACHE_CLUSTER, "redis", None)
    pages = gateway.find_source("pages")
    assert (pages.type, pages.engine) == (DatabaseType.CACHE_CLUSTER, "memcached")  # refused by check_cache_source


def test_an_unknown_source_or_a_group_member_is_rejected(world: tuple[Any, Any]) -> None:
    client, _ = world
    gateway = DrillElastiCacheGateway(client)
    with pytest.raises(ResourceNotFoundError, match="unknown source 'nope'"):
        gateway.find_source("nope")
    with pytest.raises(ResourceNotFoundError, match="no replication-group by that name"):
        gateway.find_source("scratch", DatabaseType.CACHE_REPLICATION_GROUP)
    with pytest.raises(InvalidRequestError, match="must be resolved"):
        gateway.find_source(SESSIONS_ARN)


def test_snapshots_of_a_source_are_listed_with_tags_and_the_requested_time(world: tuple[Any, Any]) -> None:
    client, _ = world
    _managed_snapshot(client, "sessions-daily-2026-12-08")
    client.create_snapshot(SnapshotName="scratch-by-hand", CacheClusterId="scratch")
    gateway = DrillElastiCacheGateway(client)
    [point] = gateway.list_snapshots(gateway.find_source("sessions"))
    assert (point.identifier, point.source_identifier, point.type) == (
        "sessions-daily-2026-12-08",
        "sessions",
        DatabaseType.CACHE_REPLICATION_GROUP,
    )
    assert point.source_arn == SESSIONS_ARN
    # moto gives no NodeSnapshots: the time the snapshot job requested it, from its tag.
    assert point.created_at == datetime(2026, 12, 8, 3, tzinfo=UTC)
    assert (point.engine, point.node_type, point.port, point.shard_count) == ("valkey", "cache.t4g.small", 6379, 1)
    [by_hand] = gateway.list_snapshots(gateway.find_source("scratch"))
    assert (by_hand.identifier, by_hand.created_at, dict(by_hand.tags)) == ("scratch-by-hand", None, {})
    with pytest.raises(ResourceNotFoundError, match="snapshot 'gone' does not exist in us-east-1"):
        gateway.get_snapshot(DatabaseType.CACHE_REPLICATION_GROUP, "gone")


# ---- restore, describe, delete (moto)


def test_a_snapshot_is_restored_to_an_encrypted_tagged_one_node_group_in_the_drill_network(
    world: tuple[Any, list[tuple[str, dict[str, Any]]]],
) -> None:
    client, sent = world
    _managed_snapshot(client, "sessions-daily-2026-12-08")
    gateway = DrillElastiCacheGateway(client)
    spec = _spec(gateway)
    gateway.create_cache(spec, drill_tags(), NETWORK, EXECUTION)

    [(_, body)] = [call for call in sent if call[0] == "CreateReplicationGroup" and "SnapshotName" in call[1]]
    assert body["ReplicationGroupId"] == spec.identifier
    assert body["SnapshotName"] == "sessions-daily-2026-12-08"
    assert (body["Engine"], body["CacheNodeType"], body["NumCacheClusters"]) == ("valkey", "cache.t4g.small", "1")
    assert (body["TransitEncryptionEnabled"], body["AtRestEncryptionEnabled"]) == ("true", "true")
    assert (body["AutomaticFailoverEnabled"], body["MultiAZEnabled"], body["SnapshotRetentionLimit"]) == (
        "false",
        "false",
        "0",
    )
    assert body["CacheSubnetGroupName"] == "drill-caches"
    assert body["SecurityGroupIds.SecurityGroupId.1"] == "sg-0123456789abcdef0"
    assert not any(key.startswith(("AuthToken", "UserGroupIds")) for key in body)
    sent_tags = {body[f"Tags.Tag.{i}.Key"]: body[f"Tags.Tag.{i}.Value"] for i in range(1, 6)}
    assert sent_tags == drill_tags()

    restored = gateway.describe("replication-group", spec.identifier)
    assert restored is not None
    assert (restored.status, restored.engine, restored.shard_count) == ("available", "valkey", 1)
    assert (restored.transit_encryption, restored.at_rest_encryption, restored.cluster_mode_enabled) == (
        True,
        True,
        False,
    )
    assert str(restored.address).startswith(f"master.{spec.identifier}.")
    assert restored.port == 6379
    assert restored.tags == drill_tags()
    assert "tags" not in restored.model_dump()  # the proof of ownership stays out of the drill state


def test_a_retried_restore_finds_its_own_cache_and_refuses_another_executions(world: tuple[Any, Any]) -> None:
    client, _ = world
    _managed_snapshot(client, "sessions-daily-2026-12-08")
    gateway = DrillElastiCacheGateway(client)
    spec = _spec(gateway)
    gateway.create_cache(spec, drill_tags(), NETWORK, EXECUTION)
    gateway.create_cache(spec, drill_tags(), NETWORK, EXECUTION)  # the response was lost: the retry succeeds
    with pytest.raises(AlreadyExistsError, match="ReplicationGroupAlreadyExists"):
        gateway.create_cache(spec, drill_tags(OTHER_EXECUTION), NETWORK, OTHER_EXECUTION)


def test_restore_errors_are_domain_errors(world: tuple[Any, Any]) -> None:
    client, _ = world
    _managed_snapshot(client, "sessions-daily-2026-12-08")
    gateway = DrillElastiCacheGateway(client)
    spec = _spec(gateway)
    client.meta.events.register(
        "before-call.elasticache.CreateReplicationGroup",
        lambda **_: error_response("InsufficientCacheClusterCapacity"),
    )
    with pytest.raises(QuotaExceededError, match="InsufficientCacheClusterCapacity") as raised:
        gateway.create_cache(spec, drill_tags(), NETWORK, EXECUTION)
    assert raised.value.transient


def test_delete_needs_the_drill_tags_and_this_execution(world: tuple[Any, Any]) -> None:
    client, _ = world
    _managed_snapshot(client, "sessions-daily-2026-12-08")
    gateway = DrillElastiCacheGateway(client)
    spec = _spec(gateway)
    gateway.create_cache(spec, drill_tags(), NETWORK, EXECUTION)

    with pytest.raises(NotOwnedError, match="not a drill cache of stack other-stack"):
        gateway.delete("replication-group", spec.identifier, "other-stack", EXECUTION)
    with pytest.raises(NotOwnedError, match="another drill execution"):
        gateway.delete("replication-group", spec.identifier, STACK, OTHER_EXECUTION)
    with pytest.raises(NotOwnedError, match="sessions is not a drill cache"):
        gateway.delete("replication-group", "sessions", STACK)  # a protected cache is never deleted
    assert gateway.describe("replication-group", spec.identifier).status == "available"  # type: ignore[union-attr]
    assert gateway.describe("replication-group", "sessions").status == "available"  # type: ignore[union-attr]

    assert gateway.delete("replication-group", spec.identifier, STACK, EXECUTION) == "deleted"
    assert gateway.describe("replication-group", spec.identifier).status == "deleting"  # type: ignore[union-attr]
    assert gateway.delete("replication-group", spec.identifier, STACK, EXECUTION) == "already deleting"
    assert gateway.delete("replication-group", "never-made", STACK, EXECUTION) == "absent"


def test_a_cache_still_creating_is_cleanup_pending(world: tuple[Any, Any]) -> None:
    client, _ = world
    _managed_snapshot(client, "sessions-daily-2026-12-08")
    gateway = DrillElastiCacheGateway(client)
    spec = _spec(gateway)
    gateway.create_cache(spec, drill_tags(), NETWORK, EXECUTION)
    client.meta.events.register(
        "before-call.elasticache.DeleteReplicationGroup",
        lambda **_: error_response("InvalidReplicationGroupState", "is not in available state"),
    )
    with pytest.raises(CleanupPendingError, match="cannot be deleted yet"):
        gateway.delete("replication-group", spec.identifier, STACK, EXECUTION)


def test_the_janitor_lists_only_this_stacks_drill_caches(world: tuple[Any, Any]) -> None:
    client, _ = world
    _managed_snapshot(client, "sessions-daily-2026-12-08")
    gateway = DrillElastiCacheGateway(client)
    spec = _spec(gateway)
    gateway.create_cache(spec, drill_tags(), NETWORK, EXECUTION)
    other = spec.model_copy(update={"identifier": "drill-sessions-00000000"})
    gateway.create_cache(other, drill_tags(OTHER_EXECUTION, stack="other-stack"), NETWORK, OTHER_EXECUTION)
    # A cache named like a drill but without the tags is not one.
    client.create_replication_group(
        ReplicationGroupId="drill-lookalike", ReplicationGroupDescription="x", Engine="valkey", Tags=POLICY
    )
    [found] = gateway.list_drill_resources(STACK)
    assert (found.type, found.identifier, found.status) == (
        DatabaseType.CACHE_REPLICATION_GROUP,
        spec.identifier,
        "available",
    )
    assert found.tags[tag_keys.DRILL_EXECUTION] == EXECUTION


# ---- serverless (Stubber: moto 5.2 has no serverless caches)

SERVERLESS_SNAPSHOT_ARN = f"arn:aws:elasticache:{REGION}:{ACCOUNT}:serverlesscachesnapshot:carts-daily-2026-12-08"
CARTS_ARN = f"arn:aws:elasticache:{REGION}:{ACCOUNT}:serverlesscache:carts"


@pytest.fixture
def stubbed() -> Iterator[tuple[DrillElastiCacheGateway, Stubber]]:
    client = boto3.client("elasticache", region_name=REGION)
    with Stubber(client) as stubber:
        yield DrillElastiCacheGateway(client), stubber
        stubber.assert_no_pending_responses()


def _tags(items: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in items.items()]


def _serverless(name: str, status: str = "available", tags_arn: str | None = None) -> dict[str, Any]:
    return {
        "ServerlessCacheName": name,
        "Status": status,
        "Engine": "valkey",
        "MajorEngineVersion": "8",
        "FullEngineVersion": "8.0",
        "Endpoint": {"Address": f"{name}-abc123.serverless.use1.cache.amazonaws.com", "Port": 6379},
        "ARN": tags_arn or f"arn:aws:elasticache:{REGION}:{ACCOUNT}:serverlesscache:{name}",
    }


def test_a_serverless_source_and_its_snapshot_are_read(stubbed: tuple[DrillElastiCacheGateway, Stubber]) -> None:
    gateway, stubber = stubbed
    stubber.add_client_error("describe_replication_groups", "ReplicationGroupNotFoundFault", http_status_code=404)
    stubber.add_response(
        "describe_serverless_caches", {"ServerlessCaches": [_serverless("carts")]}, {"ServerlessCacheName": "carts"}
    )
    stubber.add_response("list_tags_for_resource", {"TagList": POLICY}, {"ResourceName": CARTS_ARN})
    snapshot = {
        "ServerlessCacheSnapshotName": "carts-daily-2026-12-08",
        "ARN": SERVERLESS_SNAPSHOT_ARN,
        "Status": "available",
        "CreateTime": datetime(2026, 12, 8, 3, 0, 5, tzinfo=UTC),
        "SnapshotType": "manual",
        "ServerlessCacheConfiguration": {"ServerlessCacheName": "carts", "Engine": "valkey", "MajorEngineVersion": "8"},
    }
    stubber.add_response(
        "describe_serverless_cache_snapshots",
        {"ServerlessCacheSnapshots": [snapshot]},
        {"ServerlessCacheName": "carts", "SnapshotType": "manual", "MaxResults": 50},
    )
    contract = {tag_keys.MANAGED_BY: STACK, tag_keys.KIND: "daily", tag_keys.SOURCE: CARTS_ARN}
    stubber.add_response(
        "list_tags_for_resource", {"TagList": _tags(contract)}, {"ResourceName": SERVERLESS_SNAPSHOT_ARN}
    )

    source = gateway.find_source("carts")
    assert (source.type, source.engine, source.engine_version, source.policy_name) == (
        DatabaseType.SERVERLESS_CACHE,
        "valkey",
        "8.0",
        "standard",
    )
    [point] = gateway.list_snapshots(source)
    assert (point.type, point.source_identifier, point.source_arn) == (
        DatabaseType.SERVERLESS_CACHE,
        "carts",
        CARTS_ARN,
    )
    assert point.created_at == datetime(2026, 12, 8, 3, 0, 5, tzinfo=UTC)  # the API's time
    spec = cache_restore_spec(point, source, cache_drill_identifier("carts", EXECUTION), "carts-2026-12")
    assert (spec.type, spec.snapshot_arn, spec.engine_version) == ("serverless-cache", SERVERLESS_SNAPSHOT_ARN, "8")


def test_a_serverless_snapshot_is_restored_described_and_deleted(
    stubbed: tuple[DrillElastiCacheGateway, Stubber],
) -> None:
    gateway, stubber = stubbed
    name = cache_drill_identifier("carts", EXECUTION)
    arn = f"arn:aws:elasticache:{REGION}:{ACCOUNT}:serverlesscache:{name}"
    spec = CacheRestoreSpec(
        type="serverless-cache",
        identifier=name,
        snapshot_name="carts-daily-2026-12-08",
        snapshot_arn=SERVERLESS_SNAPSHOT_ARN,
        engine="valkey",
        engine_version="8",
        description="Restorable drill of carts (carts-2026-12)",
    )
    network = CacheNetwork(
        subnet_ids=("subnet-0123456789abcdef0", "subnet-0123456789abcdef1"),
        security_group_ids=("sg-0123456789abcdef0",),
        user_group_id="restorable-drill",
    )
    stubber.add_response(
        "create_serverless_cache",
        {"ServerlessCache": _serverless(name, "creating")},
        {
            "ServerlessCacheName": name,
            "Description": "Restorable drill of carts (carts-2026-12)",
            "Engine": "valkey",
            "MajorEngineVersion": "8",
            "SnapshotArnsToRestore": [SERVERLESS_SNAPSHOT_ARN],
            "SubnetIds": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
            "SecurityGroupIds": ["sg-0123456789abcdef0"],
            "UserGroupId": "restorable-drill",
            "Tags": _tags(dict(sorted(drill_tags().items()))),
        },
    )
    stubber.add_response(
        "describe_serverless_caches", {"ServerlessCaches": [_serverless(name)]}, {"ServerlessCacheName": name}
    )
    stubber.add_response("list_tags_for_resource", {"TagList": _tags(drill_tags())}, {"ResourceName": arn})
    # cleanup: ownership read again, then the delete (no final snapshot)
    stubber.add_response(
        "describe_serverless_caches", {"ServerlessCaches": [_serverless(name)]}, {"ServerlessCacheName": name}
    )
    stubber.add_response("list_tags_for_resource", {"TagList": _tags(drill_tags())}, {"ResourceName": arn})
    stubber.add_response(
        "delete_serverless_cache", {"ServerlessCache": _serverless(name, "deleting")}, {"ServerlessCacheName": name}
    )

    gateway.create_cache(spec, drill_tags(), network, EXECUTION)
    restored = gateway.describe("serverless-cache", name)
    assert restored is not None
    assert (restored.type, restored.status, restored.port) == ("serverless-cache", "available", 6379)
    assert restored.address == f"{name}-abc123.serverless.use1.cache.amazonaws.com"
    assert (restored.transit_encryption, restored.at_rest_encryption) == (True, True)
    assert gateway.delete("serverless-cache", name, STACK, EXECUTION) == "deleted"


def test_a_serverless_cache_not_yet_deletable_is_cleanup_pending(
    stubbed: tuple[DrillElastiCacheGateway, Stubber],
) -> None:
    gateway, stubber = stubbed
    name = "drill-carts-12345678"
    arn = f"arn:aws:elasticache:{REGION}:{ACCOUNT}:serverlesscache:{name}"
    stubber.add_response(
        "describe_serverless_caches",
        {"ServerlessCaches": [_serverless(name, "creating")]},
        {"ServerlessCacheName": name},
    )
    stubber.add_response("list_tags_for_resource", {"TagList": _tags(drill_tags())}, {"ResourceName": arn})
    stubber.add_client_error("delete_serverless_cache", "InvalidServerlessCacheStateFault", http_status_code=400)
    with pytest.raises(CleanupPendingError, match="creating"):
        gateway.delete("serverless-cache", name, STACK, EXECUTION)


def test_a_member_of_a_replication_group_is_not_a_source(stubbed: tuple[DrillElastiCacheGateway, Stubber]) -> None:
    gateway, stubber = stubbed  # moto does not list a group's members as clusters
    member = {"CacheClusterId": "sessions-001", "ReplicationGroupId": "sessions", "Engine": "valkey"}
    stubber.add_response("describe_cache_clusters", {"CacheClusters": [member]}, {"CacheClusterId": "sessions-001"})
    with pytest.raises(InvalidRequestError, match="member of replication group sessions: drill the replication group"):
        gateway.find_source("sessions-001", DatabaseType.CACHE_CLUSTER)


def test_a_vanished_serverless_cache_is_absent(stubbed: tuple[DrillElastiCacheGateway, Stubber]) -> None:
    gateway, stubber = stubbed
    stubber.add_client_error("describe_serverless_caches", "ServerlessCacheNotFoundFault", http_status_code=404)
    assert gateway.delete("serverless-cache", "drill-carts-12345678", STACK, EXECUTION) == "absent"
