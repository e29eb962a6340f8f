"""VerifyFunction over all three engines through the template's wiring on moto.

On moto: tables with PITR on and off and a weekly backup of ours, a Valkey replication group with a
daily snapshot of ours, a tagged Memcached cluster, and fault-injected DynamoDB and ElastiCache
lookups. moto has no ElastiCache snapshot creation time (the snapshot is dated by our
``restorable:created-at`` tag, as ``create_snapshot`` writes it), no serverless caches (answered
empty by ``VerifyEnvironment``), no global-table replicas, and freezes the PITR window when PITR
is turned on (so PITR is turned on at the verification time). The adapter's new listing of
automatic-backup settings for serverless caches stands on botocore's Stubber.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import time_machine
from botocore.stub import Stubber

from local_runtime.functions import Functions
from local_runtime.template import Template
from restorable import tags as tag_keys
from restorable.adapters.dynamodb import DynamoDbGateway
from restorable.adapters.elasticache import ElastiCacheGateway
from restorable.dynamodb_backup_names import scheduled_backup_name
from restorable.policy import default_policy_text
from tests.aws_faults import failing_operation, recorded_calls
from tests.conftest import SOURCE_REGION
from tests.fleet import Fleet
from tests.integration.test_verify_function import (  # noqa: F401 - fixtures
    SUNDAY,
    VERIFY_AT,
    clock,
    env,
    findings,
    healthy,
    sample,
)
from tests.verify_env import VerifyEnvironment

STACK = "restorable"
CACHE_POLICY = "cache-daily"


def _policy_document() -> str:
    raw = json.loads(default_policy_text())
    raw["policies"][CACHE_POLICY] = {
        "description": "Caches: a daily snapshot kept 7 days.",
        "automated_backups": {"retention_days": 1},
        "snapshots": {"daily": {"retention_days": 7, "dr_copy": False}},
    }
    return json.dumps(raw)


# A stack that schedules daily cache snapshots (the template's default schedules have none yet).
DAILY_ENVIRONMENT = {
    "POLICY_DOCUMENT": _policy_document(),
    "SNAPSHOT_SCHEDULES": json.dumps(
        {"weekly": "cron(0 2 ? * SUN *)", "monthly": "cron(0 4 1 * ? *)", "daily": "cron(0 3 * * ? *)"}
    ),
    "SNAPSHOT_MAX_AGE_DAYS": json.dumps({"weekly": 8, "monthly": 32, "daily": 2}),
}


def _table(client: Any, name: str, *, pitr: bool) -> str:
    arn = client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        Tags=[{"Key": tag_keys.POLICY, "Value": "standard"}],
    )["TableDescription"]["TableArn"]
    if pitr:
        client.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
    return str(arn)


@pytest.fixture
def engines(
    healthy: Fleet,  # noqa: F811
    env: VerifyEnvironment,  # noqa: F811
    clock: time_machine.Coordinates,  # noqa: F811
) -> dict[str, str]:
    """Beside the healthy RDS fleet: two tables (PITR on with a weekly backup, PITR off), two caches."""
    dynamodb = boto3.client("dynamodb", region_name=SOURCE_REGION)
    # Made a week before, so neither table is young enough to be exempt from the weekly backup.
    clock.move_to(VERIFY_AT - timedelta(days=9))
    arns = {
        "orders-table": _table(dynamodb, "orders-table", pitr=False),
        "audit-table": _table(dynamodb, "audit-table", pitr=False),
    }
    elasticache = boto3.client("elasticache", region_name=SOURCE_REGION)
    elasticache.create_replication_group(
        ReplicationGroupId="sessions",
        ReplicationGroupDescription="user sessions",
        Engine="valkey",
        CacheNodeType="cache.t4g.small",
        NumCacheClusters=2,
        Tags=[{"Key": tag_keys.POLICY, "Value": CACHE_POLICY}],
    )
    elasticache.create_cache_cluster(
        CacheClusterId="page-fragments",
        Engine="memcached",
        CacheNodeType="cache.t4g.small",
        NumCacheNodes=1,
        Tags=[{"Key": tag_keys.POLICY, "Value": "standard"}],
    )
    clock.move_to(SUNDAY)
    dynamodb.create_backup(
        TableName="orders-table",
        BackupName=scheduled_backup_name(
            stack_name=STACK,
            table_name="orders-table",
            kind="weekly",
            period_date=SUNDAY.date(),
            expires_at=SUNDAY + timedelta(days=90),
        ),
    )
    gateway = ElastiCacheGateway(elasticache)
    [sessions] = [c for c in gateway.list_caches() if c.identifier == "sessions"]
    daily = SUNDAY + timedelta(hours=1)
    clock.move_to(daily)
    gateway.create_snapshot(
        sessions,
        "sessions-daily-2026-11-22",
        {
            tag_keys.MANAGED_BY: STACK,
            tag_keys.KIND: "daily",
            tag_keys.EXPIRES_AT: "2026-11-29T03:00:00Z",
            tag_keys.SOURCE: sessions.arn,
            tag_keys.POLICY: CACHE_POLICY,
        },
        requested_at=daily,
    )
    clock.move_to(VERIFY_AT)
    # moto freezes the PITR window when PITR is turned on: on at the verification time, it is current.
    dynamodb.update_continuous_backups(
        TableName="orders-table", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    return arns


def verify(functions: Functions, event: dict[str, Any] | None = None) -> Any:
    return functions.invoke("VerifyFunction", event or sample("verify-hourly.json"), environment=DAILY_ENVIRONMENT)


def results_of(payload: dict[str, Any], resource: str) -> dict[str, str]:
    return {check: severity for (name, check), severity in findings(payload).items() if name == resource}


def test_tables_and_caches_are_verified_beside_rds(
    functions: Functions,
    engines: dict[str, str],
    env: VerifyEnvironment,  # noqa: F811
) -> None:
    payload = verify(functions).result()
    assert findings(payload) == {
        ("audit-table", "point-in-time-recovery"): "CRITICAL",
        ("audit-table", "recovery-point-age"): "CRITICAL",
        ("audit-table", "snapshot-age:weekly"): "CRITICAL",
        # The default template exports nothing (DrExportBucket empty): no table has its weekly point off-Region.
        ("audit-table", "dr-export:weekly"): "WARNING",
        ("orders-table", "dr-export:weekly"): "WARNING",
        ("page-fragments", "snapshot-support"): "WARNING",
    }
    # 3 RDS databases, 2 tables, 2 caches; the stack's own tables carry no policy.
    assert payload["databases_verified"] == 7
    [pitr] = [f for f in payload["findings"] if f["check"] == "point-in-time-recovery"]
    assert pitr["fix"] == (
        "aws dynamodb update-continuous-backups --table-name audit-table --point-in-time-recovery-specification "
        "PointInTimeRecoveryEnabled=true,RecoveryPeriodInDays=35"
    )
    assert pitr["resource_key"] == engines["audit-table"]
    [message] = env.messages()
    assert "audit-table" in message["body"]
    assert "page-fragments" in message["body"]


def test_a_stale_daily_snapshot_warns_and_an_unknown_cache_policy_is_the_policy_finding(
    functions: Functions,
    engines: dict[str, str],
    clock: time_machine.Coordinates,  # noqa: F811
) -> None:
    clock.move_to(VERIFY_AT + timedelta(days=3))
    payload = verify(functions).result()
    assert results_of(payload, "sessions") == {"snapshot-age:daily": "WARNING"}
    default = functions.invoke("VerifyFunction", sample("verify-hourly.json")).result()
    assert results_of(default, "sessions")["policy"] == "WARNING"  # cache-daily is not a policy of the default stack


def test_a_failing_dynamodb_lookup_is_unknown_and_the_rest_completes(
    functions: Functions,
    engines: dict[str, str],
    env: VerifyEnvironment,  # noqa: F811
) -> None:
    with failing_operation("dynamodb", "DescribeContinuousBackups", "AccessDeniedException") as failed:
        invocation = verify(functions)
    assert failed
    payload = invocation.result()
    for table in ("orders-table", "audit-table"):
        assert results_of(payload, table)["point-in-time-recovery"] == "UNKNOWN"
        assert results_of(payload, table)["recovery-point-age"] == "UNKNOWN"
    assert results_of(payload, "audit-table")["snapshot-age:weekly"] == "CRITICAL"  # backups were readable
    assert results_of(payload, "page-fragments") == {"snapshot-support": "WARNING"}
    assert payload["databases_verified"] == 7
    assert not [f for f in payload["findings"] if f["resource"] in ("orders-mysql", "billing-pg", "ledger")]
    metrics = invocation.metric_values()
    assert metrics["VerificationRuns"] == 1
    assert env.messages()


def test_unlistable_tables_are_unknown_and_announce_nothing_as_gone(
    functions: Functions,
    engines: dict[str, str],
    env: VerifyEnvironment,  # noqa: F811
) -> None:
    verify(functions).result()
    announced = env.state()
    assert (engines["audit-table"], "point-in-time-recovery") in announced
    with failing_operation("dynamodb", "ListTables", "ThrottlingException"):
        payload = verify(functions).result()
    assert findings(payload)[("DynamoDB us-east-1", "inventory")] == "UNKNOWN"
    assert results_of(payload, "page-fragments") == {"snapshot-support": "WARNING"}
    assert payload["notifications"]["gone"] == 0
    assert env.state() == {**announced, ("dynamodb:us-east-1", "inventory"): "UNKNOWN"}


def test_a_failing_elasticache_listing_is_unknown_and_rds_and_dynamodb_still_come(
    functions: Functions, engines: dict[str, str]
) -> None:
    with failing_operation("elasticache", "DescribeSnapshots", "Throttling"):
        payload = verify(functions).result()
    sessions = results_of(payload, "sessions")
    assert sessions == {
        "snapshot-age:daily": "UNKNOWN",
        "snapshot-status": "UNKNOWN",
        "snapshot-quota:SnapshotsPer24Hours": "UNKNOWN",
    }
    assert findings(payload)[("ElastiCache us-east-1", "inventory")] == "UNKNOWN"
    assert results_of(payload, "audit-table")["point-in-time-recovery"] == "CRITICAL"
    assert payload["databases_verified"] == 7


def test_every_call_of_a_pass_is_allowed_by_the_verify_role(
    functions: Functions, engines: dict[str, str], template: Template
) -> None:
    allowed = {
        action
        # resolved: a policy behind a condition (the DR export bucket's) is there only when the condition holds
        for policy in template.resolve(template.resources["VerifyFunction"]["Properties"]["Policies"])
        for statement in policy["Statement"]
        if statement["Effect"] == "Allow"
        for action in (statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]])
    }
    with recorded_calls() as calls:
        verify(functions).result()
    made = {f"{call.service}:{call.operation}" for call in calls}
    assert {"dynamodb:DescribeContinuousBackups", "elasticache:DescribeSnapshots"} <= made
    assert made - allowed == set()


def test_the_table_creation_time_is_read_with_the_table(engines: dict[str, str]) -> None:
    gateway = DynamoDbGateway(boto3.client("dynamodb", region_name=SOURCE_REGION))
    assert gateway.describe_table("orders-table").created_at == VERIFY_AT - timedelta(days=9)


@pytest.fixture
def stubbed() -> Iterator[tuple[ElastiCacheGateway, Stubber]]:
    client = boto3.client("elasticache", region_name=SOURCE_REGION)
    with Stubber(client) as stubber:
        yield ElastiCacheGateway(client), stubber
        stubber.assert_no_pending_responses()


def test_automatic_backup_settings_of_every_kind_of_cache(stubbed: tuple[ElastiCacheGateway, Stubber]) -> None:
    gateway, stubber = stubbed
    created = datetime(2026, 1, 5, tzinfo=UTC)
    group_arn = "arn:aws:elasticache:us-east-1:123456789012:replicationgroup:sessions"
    serverless_arn = "arn:aws:elasticache:us-east-1:123456789012:serverlesscache:carts"
    stubber.add_response(
        "describe_replication_groups",
        {
            "ReplicationGroups": [
                {
                    "ReplicationGroupId": "sessions",
                    "ARN": group_arn,
                    "Status": "available",
                    "Engine": "valkey",
                    "SnapshotRetentionLimit": 3,
                    "ReplicationGroupCreateTime": created,
                }
            ]
        },
        {"MaxRecords": 100},
    )
    stubber.add_response(
        "describe_cache_clusters",
        {"CacheClusters": []},
        {"MaxRecords": 100, "ShowCacheClustersNotInReplicationGroups": True},
    )
    stubber.add_response(
        "describe_serverless_caches",
        {
            "ServerlessCaches": [
                {
                    "ServerlessCacheName": "carts",
                    "ARN": serverless_arn,
                    "Status": "available",
                    "Engine": "valkey",
                    "SnapshotRetentionLimit": 0,
                    "CreateTime": created,
                }
            ]
        },
        {"MaxResults": 50},
    )
    for arn in (group_arn, serverless_arn):
        stubber.add_response(
            "list_tags_for_resource",
            {"TagList": [{"Key": tag_keys.POLICY, "Value": "standard"}]},
            {"ResourceName": arn},
        )
    found = {s.cache.identifier: s for s in gateway.list_caches_with_backup_settings()}
    assert found["sessions"].snapshot_retention_limit == 3
    assert found["carts"].snapshot_retention_limit == 0
    assert found["carts"].created_at == created
    assert found["sessions"].cache.policy_name == "standard"
