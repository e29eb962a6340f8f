"""The cache drill planner and engine through the real ElastiCache drill gateway on moto: what validation
accepts and refuses (nothing is created when it refuses), the plan it writes, then restore, observe and
cleanup of the temporary cache.

moto ignores ``SnapshotName`` on ``CreateReplicationGroup``: nothing here asserts restored data.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from restorable import tags as tag_keys
from restorable.adapters.drill_elasticache import DrillElastiCacheGateway
from restorable.adapters.elasticache import CREATED_AT
from restorable.adapters.secrets import SecretsManagerStore
from restorable.drills import steps as drill_steps
from restorable.drills.cache_model import CacheNetwork
from restorable.drills.cache_plan import CacheDrillChecks
from restorable.drills.elasticache import CacheDrillPlanner, CacheRestoreChoice
from restorable.drills.plan import parse_drill_request
from restorable.drills.state import DrillStart
from restorable.errors import InvalidRequestError, NotOwnedError, ResourceNotFoundError
from restorable.models import DatabaseType, Engine
from restorable.policy import default_policy_text, parse_policy_document

REGION = "us-east-1"
ACCOUNT = "123456789012"
STACK = "restorable"
EXECUTION = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:restorable-DrillStateMachine:sessions-2026-12"
POLICIES = parse_policy_document(default_policy_text())
ARN = f"arn:aws:elasticache:{REGION}:{ACCOUNT}"


def _empty_serverless(model: Any, **_: Any) -> Any:
    if model.name in ("DescribeServerlessCaches", "DescribeServerlessCacheSnapshots"):
        key = "ServerlessCaches" if model.name == "DescribeServerlessCaches" else "ServerlessCacheSnapshots"
        return type("Response", (), {"status_code": 200, "headers": {}})(), {key: []}
    return None


class World:
    def __init__(self) -> None:
        self.client = boto3.client("elasticache", region_name=REGION)
        self.calls: list[str] = []
        self.client.meta.events.register("before-call.elasticache.*", self._record)
        self.client.meta.events.register("before-call.elasticache.*", _empty_serverless)
        self.gateway = DrillElastiCacheGateway(self.client)
        secrets = boto3.client("secretsmanager", region_name=REGION)
        self.secret_arn = secrets.create_secret(Name="drill/sessions", SecretString='{"password": "x" }')["ARN"]
        self.secrets = SecretsManagerStore(lambda region: boto3.client("secretsmanager", region_name=region))

    def _record(self, model: Any, **_: Any) -> None:
        self.calls.append(model.name)

    def group(self, name: str, policy: str | None = "standard", **extra: Any) -> str:
        tags = [{"Key": tag_keys.POLICY, "Value": policy}] if policy else []
        self.client.create_replication_group(
            ReplicationGroupId=name,
            ReplicationGroupDescription=name,
            Engine="valkey",
            CacheNodeType="cache.t4g.small",
            Tags=tags,
            **extra,
        )
        return f"{ARN}:replicationgroup:{name}"

    def snapshot(self, name: str, group: str, source_arn: str, stack: str = STACK, day: str = "2026-12-08") -> None:
        self.client.create_snapshot(
            SnapshotName=name,
            ReplicationGroupId=group,
            Tags=[
                {"Key": tag_keys.MANAGED_BY, "Value": stack},
                {"Key": tag_keys.KIND, "Value": "daily" if "daily" in name else "predeploy"},
                {"Key": tag_keys.SOURCE, "Value": source_arn},
                {"Key": tag_keys.POLICY, "Value": "standard"},
                {"Key": CREATED_AT, "Value": f"{day}T03:00:00Z"},
            ],
        )

    def planner(self, account: str | None = ACCOUNT) -> CacheDrillPlanner:
        return CacheDrillPlanner(
            caches=self.gateway, secrets=self.secrets, policies=POLICIES, stack_name=STACK, account=account
        )

    @staticmethod
    def request(
        source: str,
        snapshot_identifier: str | None = None,
        kind: str | None = None,
        checks: CacheDrillChecks | None = None,
    ) -> dict[str, Any]:
        document: dict[str, Any] = {"source": source, "engine": "elasticache", "mode": "snapshot"}
        if snapshot_identifier is not None:
            document["snapshot"] = {"identifier": snapshot_identifier}
        if kind is not None:
            document["snapshot"] = {"kind": kind}
        if checks is not None:
            document["checks"] = {"cache": checks.model_dump(mode="json", exclude_none=True)}
        return document

    def choose(self, source: str, **changes: Any) -> CacheRestoreChoice:
        request = parse_drill_request(self.request(source, **changes))
        return self.planner().choose(request, execution_id=EXECUTION, execution_name="sessions-2026-12")

    def created(self) -> list[str]:
        return [c for c in self.calls if c.startswith("Create") and c != "CreateSnapshot"]


@pytest.fixture
def world(aws: None) -> World:
    world = World()
    sessions = world.group("sessions")
    carts = world.group("carts")
    world.snapshot("sessions-daily-2026-12-07", "sessions", sessions, day="2026-12-07")
    world.snapshot("sessions-daily-2026-12-08", "sessions", sessions)
    world.snapshot("sessions-predeploy-20261208120000", "sessions", sessions)
    world.snapshot("carts-daily-2026-12-08", "carts", carts)
    # A snapshot of carts whose tags claim it is a recovery point of sessions.
    world.snapshot("sessions-daily-2026-12-09", "carts", sessions, day="2026-12-09")
    world.snapshot("sessions-other-daily-2026-12-08", "sessions", sessions, stack="other-stack")
    world.client.create_cache_cluster(
        CacheClusterId="pages", Engine="memcached", CacheNodeType="cache.t4g.small", NumCacheNodes=1,
        Tags=[{"Key": tag_keys.POLICY, "Value": "standard"}],
    )  # fmt: skip
    world.calls.clear()
    return world


def test_the_newest_daily_snapshot_of_the_cache_itself_is_chosen(world: World) -> None:
    choice = world.choose("sessions")
    assert choice.snapshot.identifier == "sessions-daily-2026-12-08"  # not 12-09: that one is of carts
    assert choice.source.arn == f"{ARN}:replicationgroup:sessions"
    assert choice.spec.identifier == "drill-sessions-" + choice.spec.identifier.rsplit("-", 1)[1]
    assert (choice.spec.type, choice.spec.node_type, choice.spec.snapshot_name) == (
        "replication-group",
        "cache.t4g.small",
        "sessions-daily-2026-12-08",
    )
    assert world.choose(f"{ARN}:replicationgroup:sessions", kind="predeploy").snapshot.identifier == (
        "sessions-predeploy-20261208120000"
    )
    assert world.created() == []


def test_a_named_snapshot_by_name_or_arn(world: World) -> None:
    by_name = world.choose("sessions", snapshot_identifier="sessions-daily-2026-12-07")
    assert by_name.snapshot.identifier == "sessions-daily-2026-12-07"
    by_arn = world.choose("sessions", snapshot_identifier=f"{ARN}:snapshot:sessions-daily-2026-12-07")
    assert by_arn.snapshot.arn == f"{ARN}:snapshot:sessions-daily-2026-12-07"


@pytest.mark.parametrize(
    ("source", "changes", "error", "message"),
    [
        ("nope", {}, ResourceNotFoundError, "unknown source 'nope'"),
        ("pages", {}, InvalidRequestError, "runs memcached"),
        ("carts", {"snapshot_identifier": "sessions-daily-2026-12-08"}, InvalidRequestError, "not of"),
        ("sessions", {"snapshot_identifier": "sessions-daily-2026-12-09"}, InvalidRequestError, "not of"),
        ("sessions", {"snapshot_identifier": "sessions-other-daily-2026-12-08"}, InvalidRequestError, "other-stack"),
        ("sessions", {"snapshot_identifier": "gone"}, ResourceNotFoundError, "snapshot 'gone' does not exist"),
        ("sessions", {"kind": "weekly"}, InvalidRequestError, "no available weekly snapshot of sessions"),
        (f"arn:aws:elasticache:us-west-2:{ACCOUNT}:replicationgroup:sessions", {}, InvalidRequestError, "Region"),
        (f"arn:aws:elasticache:{REGION}:999999999999:replicationgroup:sessions", {}, InvalidRequestError, "account"),
        (f"{ARN}:serverlesscache:sessions", {}, ResourceNotFoundError, "no serverless-cache by that name"),
        (f"arn:aws:rds:{REGION}:{ACCOUNT}:db:sessions", {}, InvalidRequestError, "not an ElastiCache"),
        (
            "sessions",
            {"snapshot_identifier": f"{ARN}:serverlesscachesnapshot:sessions-daily-2026-12-08"},
            InvalidRequestError,
            "not a snapshot of a replication-group",
        ),
        (
            "sessions",
            {"checks": CacheDrillChecks(min_keys=1, secret_arn=f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:no")},
            InvalidRequestError,
            "checks.cache.secret_arn: secret .* cannot be read: ResourceNotFoundException",
        ),
    ],
)
def test_bad_input_is_rejected_with_nothing_created(
    world: World, source: str, changes: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        world.choose(source, **changes)
    assert world.created() == []


def test_an_unprotected_cache_is_not_drilled(world: World) -> None:
    world.group("scratch", policy=None)
    with pytest.raises(InvalidRequestError, match="source: replication-group scratch is not protected"):
        world.choose("scratch")


def test_key_checks_on_a_cluster_mode_cache_are_refused(world: World) -> None:
    world.group("shards", ClusterMode="enabled", NumNodeGroups=2)
    with pytest.raises(InvalidRequestError, match=r"checks\.cache: shards runs in cluster mode"):
        world.choose("shards", checks=CacheDrillChecks(min_keys=1))


def test_a_readable_secret_is_accepted(world: World) -> None:
    checks = CacheDrillChecks(min_keys=1, secret_arn=world.secret_arn)
    assert world.choose("sessions", checks=checks).snapshot.identifier == "sessions-daily-2026-12-08"


def test_the_plan_carries_the_cache_its_snapshot_and_where_the_checks_run(world: World) -> None:
    started = datetime(2026, 12, 8, 6, tzinfo=UTC)
    start = DrillStart(EXECUTION, "sessions-2026-12", started, parse_drill_request(world.request("sessions")))
    plan = drill_steps.validate(start, world.planner(), stack_name=STACK, now=started).plan
    assert (plan.engine, plan.mode.value, plan.region, plan.checks_via) == (
        Engine.ELASTICACHE,
        "snapshot",
        REGION,
        "api",
    )
    assert (plan.source.type, plan.source.arn) == ("replication-group", f"{ARN}:replicationgroup:sessions")
    assert (plan.recovery_point.identifier, plan.recovery_point_time) == (
        "sessions-daily-2026-12-08",
        "2026-12-08T03:00:00.000Z",
    )
    assert plan.targets.rto_seconds == 3600  # the snapshot-restore target
    assert plan.target.cache is not None
    assert plan.target.identifier == plan.target.cache.identifier
    assert plan.tags[tag_keys.DRILL_EXECUTION] == EXECUTION
    with_checks = parse_drill_request(world.request("sessions", checks=CacheDrillChecks(min_keys=1)))
    keyed = drill_steps.validate(
        DrillStart(EXECUTION, "sessions-2026-12", started, with_checks), world.planner(), stack_name=STACK, now=started
    )
    assert keyed.plan.checks_via == "network"  # key checks connect: the check function, in the VPC


def test_restore_observe_and_cleanup_of_the_temporary_cache(world: World) -> None:
    started = datetime(2026, 12, 8, 6, tzinfo=UTC)
    start = DrillStart(EXECUTION, "sessions-2026-12", started, parse_drill_request(world.request("sessions")))
    plan = drill_steps.validate(start, world.planner(), stack_name=STACK, now=started).plan
    world.gateway.restore(plan, CacheNetwork(subnet_group="drill-caches"))
    restored = world.gateway.observe(plan)
    assert restored is not None
    assert (restored.identifier, restored.status, restored.transit_encryption) == (
        plan.target.identifier,
        "available",
        True,
    )
    with pytest.raises(NotOwnedError):
        world.gateway.delete_target(plan.model_copy(update={"execution_id": EXECUTION + "-other"}), STACK)
    assert world.gateway.delete_target(plan, STACK) == "deleted"
    [left] = world.gateway.list_drill_resources(STACK)
    assert (left.type, left.status) == (DatabaseType.CACHE_REPLICATION_GROUP, "deleting")
    assert world.gateway.delete_resource(left, STACK) == "already deleting"
