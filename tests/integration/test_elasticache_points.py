"""ElastiCacheSnapshotGateway: caches and their manual snapshots as the jobs' databases and recovery points.

On moto: replication groups and standalone clusters (Valkey, Redis OSS, Memcached) with their tags,
snapshots created at group or cluster level with the contract's tags, listed, held and deleted, and
the prune's tag-free inventory. moto has no creation time (the ``restorable:created-at`` tag written
at creation stands in) and no serverless caches (its listings answer empty, see
``local_runtime/serverless_caches.py``). On Stubber (botocore validates each request against the real
service model, and the real gateway code makes it): serverless caches and their snapshots, and an
automatic snapshot, which moto never makes.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from restorable.adapters.elasticache import CREATED_AT, CacheKind, CacheSnapshot, ElastiCacheGateway
from restorable.adapters.elasticache_points import (
    ElastiCacheSnapshotGateway,
    ExistingCaches,
    cache_of,
    cache_recovery_point,
    cache_snapshot_of,
)
from restorable.cache_naming import daily_snapshot_name
from restorable.errors import AlreadyExistsError, ResourceNotFoundError
from restorable.models import Database, DatabaseType, Engine, RecoveryPoint
from tests.aws_faults import error_response

REGION = "us-east-1"
ACCOUNT = "123456789012"
STACK = "restorable"
DAY = datetime(2026, 12, 8, 3, 0, tzinfo=UTC)
POLICY = [{"Key": "restorable:policy", "Value": "standard"}]


def _contract(source_arn: str) -> dict[str, str]:
    return {
        "restorable:managed-by": STACK,
        "restorable:kind": "daily",
        "restorable:expires-at": "2026-12-15T03:00:00Z",
        "restorable:source": source_arn,
        "restorable:policy": "standard",
    }


@pytest.fixture
def elasticache(aws: None) -> Any:
    client = boto3.client("elasticache", region_name=REGION)
    client.create_replication_group(
        ReplicationGroupId="sessions",
        ReplicationGroupDescription="user sessions",
        Engine="valkey",
        CacheNodeType="cache.t4g.small",
        NumCacheClusters=2,
        Tags=POLICY,
    )
    client.create_cache_cluster(
        CacheClusterId="pages", Engine="memcached", CacheNodeType="cache.t4g.small", NumCacheNodes=2, Tags=POLICY
    )
    client.create_cache_cluster(
        CacheClusterId="scratch", Engine="redis", CacheNodeType="cache.t4g.micro", NumCacheNodes=1
    )
    return client


def _gateway(client: Any) -> ElastiCacheSnapshotGateway:
    return ElastiCacheSnapshotGateway(ElastiCacheGateway(client), clock=lambda: DAY)


def _by_id(databases: list[Database]) -> dict[str, Database]:
    return {database.identifier: database for database in databases}


# ---- on moto


def test_caches_are_databases_of_the_cache_types_with_their_engine_and_tags(elasticache: Any) -> None:
    gateway = _gateway(elasticache)
    assert (gateway.engine, gateway.region) == (Engine.ELASTICACHE, REGION)
    caches = _by_id(gateway.list_databases())
    assert set(caches) == {"sessions", "pages", "scratch"}  # members of the group are not listed apart
    sessions, pages, scratch = caches["sessions"], caches["pages"], caches["scratch"]
    assert (sessions.type, sessions.engine, sessions.policy_name, sessions.status) == (
        DatabaseType.CACHE_REPLICATION_GROUP,
        "valkey",
        "standard",
        "available",
    )
    assert sessions.arn.endswith(":replicationgroup:sessions")
    assert (pages.type, pages.engine, pages.policy_name) == (DatabaseType.CACHE_CLUSTER, "memcached", "standard")
    assert (scratch.type, scratch.engine, scratch.policy_name) == (DatabaseType.CACHE_CLUSTER, "redis", None)
    assert all(database.type.engine is Engine.ELASTICACHE for database in caches.values())


def test_a_group_snapshot_carries_the_contract_and_is_listed_held_and_deleted(elasticache: Any) -> None:
    gateway = _gateway(elasticache)
    sessions = _by_id(gateway.list_databases())["sessions"]
    name = daily_snapshot_name("sessions", DAY.date())

    created = gateway.create_snapshot(sessions, name, _contract(sessions.arn))
    assert isinstance(created, RecoveryPoint)
    assert (created.type, created.identifier, created.source_identifier, created.region) == (
        DatabaseType.CACHE_REPLICATION_GROUP,
        "sessions-daily-2026-12-08",
        "sessions",
        REGION,
    )
    # the group is snapshotted at group level, not through one of its member clusters
    [stored] = elasticache.describe_snapshots(SnapshotName=name)["Snapshots"]
    assert stored["ReplicationGroupId"] == "sessions"

    [listed] = gateway.list_manual_snapshots()
    assert listed.tags == {**_contract(sessions.arn), CREATED_AT: "2026-12-08T03:00:00Z"}
    assert (listed.managed_by, listed.kind, listed.source_arn) == (STACK, "daily", sessions.arn)
    assert listed.expires_at == datetime(2026, 12, 15, 3, 0, tzinfo=UTC)
    assert listed.created_at == DAY  # from the tag: moto gives no node snapshot times
    assert not listed.is_automated
    assert not listed.legal_hold

    elasticache.add_tags_to_resource(ResourceName=listed.arn, Tags=[{"Key": "restorable:legal-hold", "Value": "yes"}])
    [held] = gateway.list_manual_snapshots()
    assert held.legal_hold

    with pytest.raises(AlreadyExistsError):
        gateway.create_snapshot(sessions, name, _contract(sessions.arn))

    gateway.delete_snapshot(held)
    assert gateway.list_manual_snapshots() == []
    with pytest.raises(ResourceNotFoundError):
        gateway.delete_snapshot(held)


def test_a_standalone_cluster_is_snapshotted_by_its_cluster_id(elasticache: Any) -> None:
    gateway = _gateway(elasticache)
    scratch = _by_id(gateway.list_databases())["scratch"]
    point = gateway.create_snapshot(scratch, "scratch-daily-2026-12-08", _contract(scratch.arn))
    assert (point.type, point.source_identifier) == (DatabaseType.CACHE_CLUSTER, "scratch")
    [stored] = elasticache.describe_snapshots(CacheClusterId="scratch")["Snapshots"]
    assert stored["SnapshotName"] == "scratch-daily-2026-12-08"


def test_the_prune_inventory_reads_no_tags(elasticache: Any) -> None:
    """ExistingCaches gives the ARNs from the listings: a failing tag read cannot stop it."""

    def refuse_tags(**_: Any) -> Any:
        return error_response("AccessDenied")

    elasticache.meta.events.register("before-call.elasticache.ListTagsForResource", refuse_tags)
    listed = ExistingCaches(ElastiCacheGateway(elasticache)).list_databases()
    assert {database.arn.rsplit(":", 1)[-1] for database in listed} == {"sessions", "pages", "scratch"}
    assert all(database.tags == {} for database in listed)


# ---- the mapping, in one place


def test_a_point_maps_back_to_the_snapshot_it_came_from() -> None:
    snapshot = CacheSnapshot(
        type=CacheKind.SERVERLESS,
        identifier="carts-daily-2026-12-08",
        arn=f"arn:aws:elasticache:{REGION}:{ACCOUNT}:serverlesscachesnapshot:carts-daily-2026-12-08",
        source_identifier="carts",
        status="available",
        snapshot_type="manual",
        region=REGION,
        created_at=DAY,
        tags={"restorable:kind": "daily"},
        encrypted=True,
        kms_key_id="key-1",
    )
    point = cache_recovery_point(snapshot)
    assert point.type is DatabaseType.SERVERLESS_CACHE
    assert cache_snapshot_of(point) == snapshot


def test_resources_of_other_engines_are_refused_by_the_mapping() -> None:
    table = Database(DatabaseType.TABLE, "orders", "arn:aws:dynamodb:us-east-1:1:table/orders", "ACTIVE", "dynamodb")
    with pytest.raises(ValueError, match="not a cache"):
        cache_of(table)
    backup = RecoveryPoint(DatabaseType.INSTANCE, "db-weekly", "arn", "db", "available", "manual", REGION)
    with pytest.raises(ValueError, match="not of a cache"):
        cache_snapshot_of(backup)


# ---- on Stubber: serverless caches and automatic snapshots


@pytest.fixture
def stubbed() -> Iterator[tuple[ElastiCacheSnapshotGateway, Stubber]]:
    client = boto3.session.Session().client("elasticache", region_name=REGION)
    with Stubber(client) as stubber:
        yield _gateway(client), stubber
        stubber.assert_no_pending_responses()


SERVERLESS_ARN = f"arn:aws:elasticache:{REGION}:{ACCOUNT}:serverlesscache:carts"


def _serverless_snapshot(name: str, *, snapshot_type: str = "manual", status: str = "creating") -> dict[str, Any]:
    return {
        "ServerlessCacheSnapshotName": name,
        "ARN": f"arn:aws:elasticache:{REGION}:{ACCOUNT}:serverlesscachesnapshot:{name}",
        "SnapshotType": snapshot_type,
        "Status": status,
        "CreateTime": DAY,
        "ServerlessCacheConfiguration": {"ServerlessCacheName": "carts", "Engine": "valkey", "MajorEngineVersion": "8"},
    }


def test_a_serverless_cache_is_listed_snapshotted_through_its_own_calls_and_deleted(
    stubbed: tuple[ElastiCacheSnapshotGateway, Stubber],
) -> None:
    gateway, stubber = stubbed
    stubber.add_response("describe_replication_groups", {"ReplicationGroups": []}, {"MaxRecords": 100})
    stubber.add_response(
        "describe_cache_clusters",
        {"CacheClusters": []},
        {"MaxRecords": 100, "ShowCacheClustersNotInReplicationGroups": True},
    )
    stubber.add_response(
        "describe_serverless_caches",
        {
            "ServerlessCaches": [
                {"ServerlessCacheName": "carts", "Status": "available", "Engine": "valkey", "ARN": SERVERLESS_ARN}
            ]
        },
        {"MaxResults": 50},
    )
    stubber.add_response("list_tags_for_resource", {"TagList": POLICY}, {"ResourceName": SERVERLESS_ARN})
    [carts] = gateway.list_databases()
    assert (carts.type, carts.engine, carts.policy_name) == (DatabaseType.SERVERLESS_CACHE, "valkey", "standard")

    name = daily_snapshot_name("carts", DAY.date())
    tags = {**_contract(SERVERLESS_ARN), CREATED_AT: "2026-12-08T03:00:00Z"}
    stubber.add_response(
        "create_serverless_cache_snapshot",
        {"ServerlessCacheSnapshot": _serverless_snapshot(name)},
        {
            "ServerlessCacheSnapshotName": name,
            "ServerlessCacheName": "carts",
            "Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())],
        },
    )
    point = gateway.create_snapshot(carts, name, _contract(SERVERLESS_ARN))
    assert (point.type, point.source_identifier, point.status, point.created_at) == (
        DatabaseType.SERVERLESS_CACHE,
        "carts",
        "creating",
        DAY,
    )
    assert point.managed_by == STACK

    stubber.add_response(
        "delete_serverless_cache_snapshot",
        {"ServerlessCacheSnapshot": _serverless_snapshot(name, status="deleting")},
        {"ServerlessCacheSnapshotName": name},
    )
    gateway.delete_snapshot(point)


def test_an_automatic_snapshot_reaching_the_mapping_reads_as_automated(
    stubbed: tuple[ElastiCacheSnapshotGateway, Stubber],
) -> None:
    """The listing asks for manual snapshots only; were AWS to answer an automatic one, it is kept."""
    gateway, stubber = stubbed
    stubber.add_response("describe_snapshots", {"Snapshots": []}, {"SnapshotSource": "user", "MaxRecords": 50})
    automatic = _serverless_snapshot("carts-auto", snapshot_type="automatic", status="available")
    stubber.add_response(
        "describe_serverless_cache_snapshots",
        {"ServerlessCacheSnapshots": [automatic]},
        {"SnapshotType": "manual", "MaxResults": 50},
    )
    stubber.add_response(
        "list_tags_for_resource",
        {"TagList": [{"Key": "restorable:managed-by", "Value": STACK}]},
        {"ResourceName": automatic["ARN"]},
    )
    [point] = gateway.list_manual_snapshots()
    assert point.is_automated
