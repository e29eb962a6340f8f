"""The ElastiCache gateway: node-based caches and snapshots on moto; what moto lacks through Stubber.

On moto: listing replication groups and standalone clusters with tags, Memcached refused, snapshot
create / tag / find / list / delete, error codes from real moto faults. moto 5.2 has no serverless
caches, so on moto those listings are answered empty by a ``before-call`` hook.
On Stubber (botocore validates the requests against the real service model): the creation time
from ``NodeSnapshots``, paging with ``Marker`` and ``MaxRecords=50``, serverless caches and their
snapshots, exports with ``TargetBucket``, and the ElastiCache-specific error codes.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from restorable.adapters.elasticache import (
    CREATED_AT,
    SNAPSHOT_PAGE_SIZE,
    Cache,
    CacheKind,
    ElastiCacheGateway,
    translate_error,
)
from restorable.cache_naming import daily_snapshot_name
from restorable.errors import (
    AlreadyExistsError,
    InvalidParameterError,
    PermissionDeniedError,
    QuotaExceededError,
    ResourceBusyError,
    ResourceNotFoundError,
    ThrottledError,
)
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


def _empty_serverless(model: Any, **_: Any) -> Any:
    key = {
        "DescribeServerlessCaches": "ServerlessCaches",
        "DescribeServerlessCacheSnapshots": "ServerlessCacheSnapshots",
    }
    if model.name not in key:
        return None
    return type("Response", (), {"status_code": 200, "headers": {}})(), {key[model.name]: []}


@pytest.fixture
def elasticache(aws: None) -> Any:
    client = boto3.client("elasticache", region_name=REGION)
    client.meta.events.register("before-call.elasticache.*", _empty_serverless)
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


def _by_id(caches: list[Cache]) -> dict[str, Cache]:
    return {cache.identifier: cache for cache in caches}


# ---- on moto


def test_caches_are_listed_with_tags_engine_mode_and_nodes(elasticache: Any) -> None:
    caches = _by_id(ElastiCacheGateway(elasticache).list_caches())
    assert set(caches) == {"sessions", "pages", "scratch"}  # the group's member clusters are not listed apart
    sessions, pages, scratch = caches["sessions"], caches["pages"], caches["scratch"]
    assert sessions.kind is CacheKind.REPLICATION_GROUP
    assert (sessions.engine, sessions.cluster_mode, sessions.policy_name) == ("valkey", "disabled", "standard")
    assert sessions.snapshottable
    assert pages.kind is CacheKind.CACHE_CLUSTER
    assert (pages.engine, pages.node_count, pages.policy_name) == ("memcached", 2, "standard")
    assert not pages.snapshottable
    assert scratch.policy_name is None
    assert scratch.snapshottable


def test_snapshot_is_created_with_tags_found_listed_and_deleted(elasticache: Any) -> None:
    gateway = ElastiCacheGateway(elasticache)
    sessions = _by_id(gateway.list_caches())["sessions"]
    name = daily_snapshot_name(sessions.identifier, DAY.date())
    created = gateway.create_snapshot(sessions, name, _contract(sessions.arn), requested_at=DAY)
    assert (created.identifier, created.type, created.source_identifier) == (
        "sessions-daily-2026-12-08",
        CacheKind.REPLICATION_GROUP,
        "sessions",
    )

    found = gateway.find_snapshot(sessions, name)
    assert found is not None
    assert found.tags == {**_contract(sessions.arn), CREATED_AT: "2026-12-08T03:00:00Z"}  # read back by ARN
    assert (found.managed_by, found.kind, found.source_arn) == (STACK, "daily", sessions.arn)
    assert found.expires_at == datetime(2026, 12, 15, 3, 0, tzinfo=UTC)
    assert (found.created_at, found.created_at_source) == (DAY, "tag")
    assert not found.legal_hold
    assert not found.is_automated

    gateway.add_tags(found, {"restorable:legal-hold": "true"})
    [listed] = gateway.list_manual_snapshots()
    assert listed.identifier == name
    assert listed.legal_hold

    with pytest.raises(AlreadyExistsError):
        gateway.create_snapshot(sessions, name, _contract(sessions.arn), requested_at=DAY)

    gateway.delete_snapshot(listed)
    assert gateway.find_snapshot(sessions, name) is None
    assert gateway.list_manual_snapshots() == []
    with pytest.raises(ResourceNotFoundError, match="delete sessions-daily-2026-12-08"):
        gateway.delete_snapshot(listed)


def test_a_standalone_cluster_is_snapshotted_by_its_cluster_id(elasticache: Any) -> None:
    gateway = ElastiCacheGateway(elasticache)
    scratch = _by_id(gateway.list_caches())["scratch"]
    point = gateway.create_snapshot(scratch, "scratch-daily-2026-12-08", {}, requested_at=DAY)
    assert (point.type, point.source_identifier) == (CacheKind.CACHE_CLUSTER, "scratch")
    assert elasticache.describe_snapshots(CacheClusterId="scratch")["Snapshots"][0]["SnapshotName"] == point.identifier


def test_memcached_is_refused_before_any_call(elasticache: Any) -> None:
    gateway = ElastiCacheGateway(elasticache)
    pages = _by_id(gateway.list_caches())["pages"]
    with pytest.raises(InvalidParameterError, match="memcached clusters cannot be snapshotted"):
        gateway.create_snapshot(pages, "pages-daily-2026-12-08", {}, requested_at=DAY)
    assert elasticache.describe_snapshots()["Snapshots"] == []


def test_a_vanished_cache_is_not_found(elasticache: Any) -> None:
    gateway = ElastiCacheGateway(elasticache)
    gone = Cache(
        CacheKind.REPLICATION_GROUP,
        "gone",
        f"arn:aws:elasticache:{REGION}:{ACCOUNT}:replicationgroup:gone",
        "available",
        "valkey",
    )
    with pytest.raises(ResourceNotFoundError):
        gateway.create_snapshot(gone, "gone-daily-2026-12-08", {}, requested_at=DAY)


# ---- on Stubber


@pytest.fixture
def stubbed() -> Iterator[tuple[ElastiCacheGateway, Stubber]]:
    client = boto3.client("elasticache", region_name=REGION)
    with Stubber(client) as stubber:
        yield ElastiCacheGateway(client), stubber
        stubber.assert_no_pending_responses()


def _snapshot_item(name: str, group: str, node_times: list[datetime]) -> dict[str, Any]:
    return {
        "SnapshotName": name,
        "ReplicationGroupId": group,
        "SnapshotStatus": "available",
        "SnapshotSource": "manual",
        "ARN": f"arn:aws:elasticache:{REGION}:{ACCOUNT}:snapshot:{name}",
        "NodeSnapshots": [
            {"CacheClusterId": f"{group}-00{i}", "SnapshotCreateTime": t} for i, t in enumerate(node_times)
        ],
    }


def test_snapshots_are_paged_by_marker_and_the_api_time_wins_over_the_tag(
    stubbed: tuple[ElastiCacheGateway, Stubber],
) -> None:
    gateway, stubber = stubbed
    early, late = datetime(2026, 12, 8, 3, 4, tzinfo=UTC), datetime(2026, 12, 8, 3, 6, tzinfo=UTC)
    first = {"SnapshotSource": "user", "MaxRecords": SNAPSHOT_PAGE_SIZE}
    stubber.add_response(
        "describe_snapshots",
        {"Snapshots": [_snapshot_item("a-daily-2026-12-08", "a", [late, early])], "Marker": "page-2"},
        first,
    )
    stubber.add_response(
        "describe_snapshots",
        {
            "Snapshots": [
                _snapshot_item("b-daily-2026-12-08", "b", []),
                {"SnapshotName": "no-arn", "CacheClusterId": "c"},
            ]
        },
        {**first, "Marker": "page-2"},
    )
    stubber.add_response(
        "describe_serverless_cache_snapshots",
        {"ServerlessCacheSnapshots": []},
        {"SnapshotType": "manual", "MaxResults": 50},
    )
    tagged = [{"Key": CREATED_AT, "Value": "2026-12-08T03:00:00Z"}]
    for name in ("a-daily-2026-12-08", "b-daily-2026-12-08"):
        arn = f"arn:aws:elasticache:{REGION}:{ACCOUNT}:snapshot:{name}"
        stubber.add_response("list_tags_for_resource", {"TagList": tagged}, {"ResourceName": arn})
    a, b, no_arn = gateway.list_manual_snapshots()
    assert (no_arn.identifier, no_arn.tags, no_arn.managed_by) == ("no-arn", {}, None)
    assert (a.created_at, a.created_at_source) == (early, "api")  # the earliest node, not the tag
    assert (b.created_at, b.created_at_source) == (datetime(2026, 12, 8, 3, 0, tzinfo=UTC), "tag")  # still creating


def _serverless(name: str = "carts") -> dict[str, Any]:
    return {
        "ServerlessCacheName": name,
        "Status": "available",
        "Engine": "valkey",
        "MajorEngineVersion": "8",
        "FullEngineVersion": "8.0",
        "ARN": f"arn:aws:elasticache:{REGION}:{ACCOUNT}:serverlesscache:{name}",
    }


def _serverless_snapshot(name: str, cache: str = "carts", status: str = "creating") -> dict[str, Any]:
    return {
        "ServerlessCacheSnapshotName": name,
        "ARN": f"arn:aws:elasticache:{REGION}:{ACCOUNT}:serverlesscachesnapshot:{name}",
        "SnapshotType": "manual",
        "Status": status,
        "CreateTime": DAY,
        "ServerlessCacheConfiguration": {"ServerlessCacheName": cache, "Engine": "valkey", "MajorEngineVersion": "8"},
    }


def test_serverless_caches_are_listed_snapshotted_exported_and_deleted(
    stubbed: tuple[ElastiCacheGateway, Stubber],
) -> None:
    gateway, stubber = stubbed
    stubber.add_response("describe_replication_groups", {"ReplicationGroups": []}, {"MaxRecords": 100})
    stubber.add_response(
        "describe_cache_clusters",
        {"CacheClusters": []},
        {"MaxRecords": 100, "ShowCacheClustersNotInReplicationGroups": True},
    )
    stubber.add_response("describe_serverless_caches", {"ServerlessCaches": [_serverless()]}, {"MaxResults": 50})
    arn = _serverless()["ARN"]
    stubber.add_response("list_tags_for_resource", {"TagList": POLICY}, {"ResourceName": arn})
    [carts] = gateway.list_caches()
    assert (carts.kind, carts.engine, carts.engine_version, carts.policy_name) == (
        CacheKind.SERVERLESS,
        "valkey",
        "8.0",
        "standard",
    )
    assert carts.snapshottable

    name = daily_snapshot_name("carts", DAY.date())
    tags = {**_contract(arn), CREATED_AT: "2026-12-08T03:00:00Z"}
    stubber.add_response(
        "create_serverless_cache_snapshot",
        {"ServerlessCacheSnapshot": _serverless_snapshot(name)},
        {
            "ServerlessCacheSnapshotName": name,
            "ServerlessCacheName": "carts",
            "Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())],
        },
    )
    point = gateway.create_snapshot(carts, name, _contract(arn), requested_at=DAY)
    assert (point.type, point.source_identifier, point.status, point.created_at_source) == (
        CacheKind.SERVERLESS,
        "carts",
        "creating",
        "api",
    )

    stubber.add_response(
        "export_serverless_cache_snapshot",
        {"ServerlessCacheSnapshot": _serverless_snapshot(name, status="available")},
        {"ServerlessCacheSnapshotName": name, "S3BucketName": "restorable-exports"},
    )
    export = gateway.export_snapshot(point, "restorable-exports")
    assert (export.bucket, export.prefix, export.snapshot.tags) == ("restorable-exports", name, point.tags)

    stubber.add_response(
        "delete_serverless_cache_snapshot",
        {"ServerlessCacheSnapshot": _serverless_snapshot(name, status="deleting")},
        {"ServerlessCacheSnapshotName": name},
    )
    gateway.delete_snapshot(point)


def test_node_based_export_copies_to_the_target_bucket(stubbed: tuple[ElastiCacheGateway, Stubber]) -> None:
    gateway, stubber = stubbed
    item = _snapshot_item("sessions-daily-2026-12-08", "sessions", [DAY])
    stubber.add_response("describe_snapshots", {"Snapshots": [item]}, {"SnapshotName": item["SnapshotName"]})
    stubber.add_response("list_tags_for_resource", {"TagList": []}, {"ResourceName": item["ARN"]})
    sessions = Cache(CacheKind.REPLICATION_GROUP, "sessions", "arn", "available", "valkey")
    point = gateway.find_snapshot(sessions, item["SnapshotName"])
    assert point is not None
    stubber.add_response(
        "copy_snapshot",
        {"Snapshot": {**item, "SnapshotStatus": "exporting"}},
        {
            "SourceSnapshotName": point.identifier,
            "TargetSnapshotName": point.identifier,
            "TargetBucket": "restorable-exports",
        },
    )
    export = gateway.export_snapshot(point, "restorable-exports")
    assert (export.snapshot.status, export.prefix) == ("exporting", "sessions-daily-2026-12-08")


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("SnapshotAlreadyExistsFault", AlreadyExistsError),
        ("ServerlessCacheSnapshotAlreadyExistsFault", AlreadyExistsError),
        ("ReplicationGroupNotFoundFault", ResourceNotFoundError),
        ("CacheClusterNotFound", ResourceNotFoundError),
        ("ServerlessCacheNotFoundFault", ResourceNotFoundError),
        ("InvalidReplicationGroupState", ResourceBusyError),
        ("InvalidCacheClusterState", ResourceBusyError),
        ("InvalidServerlessCacheStateFault", ResourceBusyError),
        ("SnapshotQuotaExceededFault", QuotaExceededError),
        ("ServerlessCacheSnapshotQuotaExceededFault", QuotaExceededError),
        ("SnapshotFeatureNotSupportedFault", InvalidParameterError),
        ("TagQuotaPerResourceExceeded", InvalidParameterError),
        ("ServiceLinkedRoleNotFoundFault", PermissionDeniedError),
        ("Throttling", ThrottledError),
    ],
)
def test_error_codes_become_domain_errors(
    stubbed: tuple[ElastiCacheGateway, Stubber], code: str, expected: type
) -> None:
    gateway, stubber = stubbed
    stubber.add_client_error("create_snapshot", service_error_code=code, service_message="no", http_status_code=400)
    sessions = Cache(CacheKind.REPLICATION_GROUP, "sessions", "arn", "available", "valkey")
    with pytest.raises(expected) as raised:
        gateway.create_snapshot(sessions, "sessions-daily-2026-12-08", {}, requested_at=DAY)
    assert type(raised.value) is expected
    assert raised.value.code == code
    assert str(raised.value).startswith(f"snapshot sessions-daily-2026-12-08 of sessions: {code}")


def test_unknown_codes_fall_back_to_the_shared_table() -> None:
    from botocore.exceptions import ClientError

    server_side = ClientError(error_response("SomethingNew", status=503)[1], "CreateSnapshot")
    assert translate_error(server_side, "x").transient
