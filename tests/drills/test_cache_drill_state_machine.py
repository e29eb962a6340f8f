"""Cache drills through the real drill definition on moto's Step Functions, Lambda tasks in-process.

moto 5.2 takes ``SnapshotName`` on ``CreateReplicationGroup`` and ignores it: the restored group holds no
data. So its endpoint is pointed at a real TLS redis-server seeded with the snapshot's data (what a real
restore would hold), and the check function reads it through redis-py with TLS and the secret's password;
nothing here asserts data moto restored. Every run must leave no temporary cache behind, whatever step fails.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
import redis
from moto.core import DEFAULT_ACCOUNT_ID
from moto.elasticache.models import elasticache_backends

from restorable import tags as tag_keys
from restorable.adapters.elasticache import CREATED_AT
from restorable.models import DatabaseType
from tests.drills.cache_server import CacheServer, tls_cache_server_fixture  # noqa: F401
from tests.drills.conftest import SOURCE_REGION, STACK, DrillWorld, sample

ACCOUNT = DEFAULT_ACCOUNT_ID
ARN = f"arn:aws:elasticache:{SOURCE_REGION}:{ACCOUNT}"
SESSIONS = f"{ARN}:replicationgroup:sessions-prod"
POLICY = [{"Key": tag_keys.POLICY, "Value": "standard"}]


class Caches:
    """The world's ElastiCache side: protected caches, managed snapshots, the temporary caches."""

    def __init__(self, world: DrillWorld, server: CacheServer) -> None:
        self.world = world
        self.server = server
        self.client = boto3.client("elasticache", region_name=SOURCE_REGION)
        self.backend = elasticache_backends[ACCOUNT][SOURCE_REGION]

    def group(self, name: str) -> str:
        self.client.create_replication_group(
            ReplicationGroupId=name,
            ReplicationGroupDescription=name,
            Engine="valkey",
            CacheNodeType="cache.t4g.small",
            Tags=POLICY,
        )
        return f"{ARN}:replicationgroup:{name}"

    def daily_snapshot(self, group: str, day: str, source_arn: str | None = None) -> str:
        name = f"{group}-daily-{day}"
        self.client.create_snapshot(
            SnapshotName=name,
            ReplicationGroupId=group,
            Tags=[
                {"Key": tag_keys.MANAGED_BY, "Value": STACK},
                {"Key": tag_keys.KIND, "Value": "daily"},
                {"Key": tag_keys.EXPIRES_AT, "Value": "2026-12-15T03:00:00Z"},
                {"Key": tag_keys.SOURCE, "Value": source_arn or f"{ARN}:replicationgroup:{group}"},
                {"Key": tag_keys.POLICY, "Value": "standard"},
                {"Key": CREATED_AT, "Value": f"{day}T03:00:00Z"},
            ],
        )
        return name

    def temporary(self) -> dict[str, Any]:
        return {k: g for k, g in self.backend.replication_groups.items() if k.startswith("drill-")}

    def leftovers(self) -> list[str]:
        """Temporary caches still there (not deleting)."""
        return [k for k, g in self.temporary().items() if g.status != "deleting"]

    def creates(self) -> list[dict[str, Any]]:
        return [body for _, operation, body in self.world.calls if operation == "CreateReplicationGroup"]

    def point_restores_at_the_server(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """After each create, the new group's primary endpoint is the seeded TLS server (moto's holds nothing)."""
        original = self.backend.create_replication_group

        def create(*args: Any, **kwargs: Any) -> Any:
            group = original(*args, **kwargs)
            if group.replication_group_id.startswith("drill-"):
                for node_group in group.node_groups:
                    node_group["primary_endpoint"] = {"address": self.server.host, "port": self.server.port}
            return group

        monkeypatch.setattr(self.backend, "create_replication_group", create)

    def set_status(self, status: str) -> None:
        for group in self.temporary().values():
            group.status = status


@pytest.fixture
def caches(world: DrillWorld, tls_cache_server: CacheServer, monkeypatch: pytest.MonkeyPatch) -> Caches:
    """sessions-prod (protected, two daily snapshots), carts (protected), the seeded data, a drill secret."""
    assert tls_cache_server.ca_file is not None
    seed = redis.Redis(
        host=tls_cache_server.host,
        port=tls_cache_server.port,
        password=tls_cache_server.password,
        ssl=True,
        ssl_ca_certs=str(tls_cache_server.ca_file),
    )
    seed.flushdb()
    seed.mset({f"session:{i}": "x" for i in range(150)})
    seed.hset("user:ada", mapping={"name": "ada"})
    seed.set("config:flags", "on")
    seed.set("app:last-write", "2026-12-08T02:30:00Z")
    seed.close()
    # The check function trusts the system's CAs; ElastiCache's certificates chain to a public root, the test
    # server's to this CA.
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_cache_server.ca_file))
    world_caches = Caches(world, tls_cache_server)
    world_caches.group("sessions-prod")
    world_caches.group("carts")
    world_caches.daily_snapshot("sessions-prod", "2026-12-07")
    world_caches.daily_snapshot("sessions-prod", "2026-12-08")
    world_caches.daily_snapshot("carts", "2026-12-08")
    world_caches.point_restores_at_the_server(monkeypatch)
    world.calls.clear()  # the calls that follow are the drill's
    return world_caches


def _secret(password: str, name: str = "drill/sessions-prod") -> str:
    client = boto3.client("secretsmanager", region_name=SOURCE_REGION)
    return str(
        client.create_secret(
            Name=name,
            SecretString=json.dumps({"username": "default", "password": password}),
            Tags=[{"Key": "restorable:drill-access", "Value": "true"}],
        )["ARN"]
    )


def _drill_input(secret_arn: str) -> dict[str, Any]:
    drill = sample("drill-cache-checks.json")
    drill["source"] = SESSIONS
    drill["checks"]["cache"]["secret_arn"] = secret_arn
    return drill


def _fail_on(
    world: DrillWorld, operation: str, code: str, when: Callable[[dict[str, Any]], bool] | None = None
) -> None:
    world.failures[operation] = lambda params: code if when is None or when(params) else None


def _reasons(item: dict[str, Any]) -> str:
    return " | ".join(r["S"] for r in item["reasons"]["L"])


# ---------------------------------------------------------------- end to end


def test_a_cache_drill_restores_the_newest_daily_snapshot_checks_the_data_and_deletes_the_cache(
    world: DrillWorld, caches: Caches
) -> None:
    result = world.run(_drill_input(_secret(caches.server.password)))

    assert result.status == "SUCCEEDED", (result.error, result.cause, result.task_failures())
    drill = result.output
    assert drill["record"]["outcome"] == "passed", drill["record"]["reasons"]
    plan = drill["plan"]
    assert (plan["engine"], plan["mode"], plan["checks_via"]) == ("elasticache", "snapshot", "network")
    assert plan["recovery_point"]["identifier"] == "sessions-prod-daily-2026-12-08"
    assert "RunChecks" in result.states_entered()  # the key checks run in the check function (the VPC)

    [body] = caches.creates()
    target = plan["target"]["identifier"]
    assert body["ReplicationGroupId"] == target
    assert target.startswith("drill-sessions-prod-")
    assert len(target) <= 40
    assert body["SnapshotName"] == "sessions-prod-daily-2026-12-08"
    assert (body["TransitEncryptionEnabled"], body["AtRestEncryptionEnabled"]) == ("true", "true")
    assert not any(key.startswith("AuthToken") for key in body)
    tags = world.request_tags(body)
    assert tags[tag_keys.KIND] == "drill"
    assert tags[tag_keys.MANAGED_BY] == STACK
    assert tags[tag_keys.DRILL_EXECUTION] == result.arn
    assert tags[tag_keys.SOURCE] == SESSIONS
    assert tag_keys.POLICY not in tags  # a drill cache is never itself protected

    checks = {c["name"]: (c["kind"], c["status"]) for c in drill["checks"]["results"]}
    assert checks == {
        "status": ("api", "passed"),
        "engine": ("api", "passed"),
        "encryption": ("api", "passed"),
        "engine_version": ("api", "passed"),
        "shards": ("api", "passed"),
        "min_keys": ("cache", "passed"),
        "required_keys": ("cache", "passed"),
        "freshness": ("cache", "passed"),
    }
    assert drill["checks"]["data_rpo_seconds"] == 1800.0  # last write 02:30, snapshot 03:00
    assert drill["record"]["rto_seconds"] <= 3600  # the snapshot-restore target
    assert caches.leftovers() == []
    [deleted] = [c[2] for c in world.calls if c[1] == "DeleteReplicationGroup"]
    assert deleted["ReplicationGroupId"] == target
    assert "FinalSnapshotIdentifier" not in deleted
    item = world.history_item("sessions-prod")
    assert item["outcome"]["S"] == "passed"
    assert item["source_arn"]["S"] == SESSIONS
    text = json.dumps(drill) + json.dumps(world.report(result)) + world.report(result, "markdown")
    assert caches.server.password not in text


def test_a_drill_without_key_checks_runs_the_api_checks_in_the_drill_function(
    world: DrillWorld, caches: Caches
) -> None:
    result = world.run({"source": SESSIONS, "mode": "snapshot"})
    assert result.status == "SUCCEEDED", (result.error, result.cause, result.task_failures())
    assert result.output["plan"]["checks_via"] == "api"
    states = result.states_entered()
    assert "RunApiChecks" in states
    assert "RunChecks" not in states
    assert caches.leftovers() == []


# ---------------------------------------------------------------- bad input: nothing created


@pytest.mark.parametrize(
    ("drill_input", "message"),
    [
        ({"source": f"{ARN}:replicationgroup:nope", "mode": "snapshot"}, "unknown source 'nope'"),
        ({"source": f"{ARN}:cluster:pages", "mode": "snapshot"}, "runs memcached"),
        (
            {"source": SESSIONS, "mode": "snapshot", "snapshot": {"identifier": "carts-daily-2026-12-08"}},
            "is a recovery point of",
        ),
        ({"source": SESSIONS, "mode": "pitr"}, "mode 'pitr' is not a mode of elasticache drills"),
        (
            {"source": SESSIONS, "mode": "snapshot", "checks": {"sql": {"database": "x", "queries": []}}},
            "invalid drill input",
        ),
    ],
)
def test_bad_cache_input_is_rejected_before_anything_is_created(
    world: DrillWorld, caches: Caches, drill_input: dict[str, Any], message: str
) -> None:
    caches.client.create_cache_cluster(
        CacheClusterId="pages", Engine="memcached", CacheNodeType="cache.t4g.small", NumCacheNodes=1, Tags=POLICY
    )
    result = world.run(drill_input)
    assert result.status == "FAILED"
    assert result.error == "DrillRejected"
    assert message in str(result.cause)
    assert caches.creates() == []
    assert caches.temporary() == {}


# ---------------------------------------------------------------- a failure at every step


def test_restore_failure_cleans_up_and_records(world: DrillWorld, caches: Caches) -> None:
    _fail_on(world, "CreateReplicationGroup", "InsufficientCacheClusterCapacity")
    result = world.run(_drill_input(_secret(caches.server.password)))
    assert result.status == "FAILED"
    states = result.states_entered()
    assert states[states.index("StartRestore") + 1] == "Cleanup"
    item = world.history_item("sessions-prod")
    assert "QuotaExceededError" in _reasons(item)
    assert caches.leftovers() == []


def test_a_restore_that_fails_on_the_elasticache_side_is_deleted(world: DrillWorld, caches: Caches) -> None:
    world.machines.clock.listeners.append(lambda waited: caches.set_status("create-failed"))
    result = world.run(_drill_input(_secret(caches.server.password)))
    assert result.status == "FAILED"
    assert "CheckRestoreStatus" in result.states_entered()
    assert "'create-failed'" in _reasons(world.history_item("sessions-prod"))
    assert caches.leftovers() == []


def test_a_poll_that_fails_still_deletes_the_cache(world: DrillWorld, caches: Caches) -> None:
    polls = [0]

    def first_poll_of_the_temporary_cache(params: dict[str, Any]) -> bool:
        body = params.get("body") or {}
        if not str(body.get("ReplicationGroupId", "")).startswith("drill-") or polls[0]:
            return False
        polls[0] += 1
        return True

    _fail_on(world, "DescribeReplicationGroups", "InvalidParameterValue", when=first_poll_of_the_temporary_cache)
    result = world.run(_drill_input(_secret(caches.server.password)))
    assert result.status == "FAILED"
    states = result.states_entered()
    assert states[states.index("CheckRestoreStatus") + 1] == "Cleanup"
    assert "InvalidParameterValue" in _reasons(world.history_item("sessions-prod"))
    assert caches.leftovers() == []


def test_checks_that_cannot_read_the_secret_fail_the_drill_and_the_cache_is_deleted(
    world: DrillWorld, caches: Caches
) -> None:
    secret = _secret(caches.server.password)
    _fail_on(world, "GetSecretValue", "AccessDeniedException")
    result = world.run(_drill_input(secret))
    assert result.status == "FAILED"
    assert "RunChecks" in result.states_entered()
    reasons = _reasons(world.history_item("sessions-prod"))
    assert "check min_keys error: the cache secret cannot be read: AccessDeniedException" in reasons
    assert caches.leftovers() == []


def test_a_wrong_password_fails_every_key_check_without_showing_it(
    world: DrillWorld, caches: Caches, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "not-the-password-4242"
    result = world.run(_drill_input(_secret(wrong)))
    assert result.status == "FAILED"
    item = world.history_item("sessions-prod")
    reasons = _reasons(item)
    assert "check required_keys error" in reasons
    assert "WRONGPASS" in reasons or "AuthenticationError" in reasons
    checked = [r for r in caplog.records if r.getMessage() == "drill check" and getattr(r, "check", "") == "min_keys"]
    assert [getattr(r, "status", None) for r in checked] == ["error"]  # the check line was logged...
    out, err = capfd.readouterr()
    records = json.dumps([r.__dict__ for r in caplog.records], default=str)
    for text in (reasons, json.dumps(world.published()), json.dumps(item), out, err, records):
        assert wrong not in text  # ...never the secret
    assert caches.leftovers() == []


def test_a_cleanup_that_fails_is_recorded_and_the_janitor_deletes_after_expiry(
    world: DrillWorld, caches: Caches
) -> None:
    _fail_on(world, "DeleteReplicationGroup", "InvalidParameterValue")
    result = world.run(_drill_input(_secret(caches.server.password)))
    assert result.status == "FAILED"
    [left] = caches.leftovers()
    assert "cleanup failed" in _reasons(world.history_item("sessions-prod"))
    del world.failures["DeleteReplicationGroup"]

    janitor = world.machines.functions
    before_expiry = janitor.invoke("DrillJanitorFunction", {}).result()
    assert before_expiry["deleted"] == []
    assert caches.leftovers() == [left]
    world.machines.clock.advance(5 * 3600)  # past restorable:expires-at (start + 2 h deadline + 2 h)
    after_expiry = janitor.invoke("DrillJanitorFunction", {}).result()
    assert [(d["resource"], d["type"]) for d in after_expiry["deleted"]] == [
        (left, DatabaseType.CACHE_REPLICATION_GROUP.value)
    ]
    assert caches.leftovers() == []
    assert caches.backend.replication_groups["sessions-prod"].status == "available"  # never the protected cache


def test_a_cache_still_creating_is_deleted_on_a_retry(world: DrillWorld, caches: Caches) -> None:
    deletes = [0]

    def twice(params: dict[str, Any]) -> bool:
        deletes[0] += 1
        return deletes[0] <= 2

    _fail_on(world, "DeleteReplicationGroup", "InvalidReplicationGroupState", when=twice)
    result = world.run(_drill_input(_secret(caches.server.password)))
    assert result.status == "SUCCEEDED", result.task_failures()
    assert deletes[0] == 3
    assert caches.leftovers() == []


def test_a_record_failure_alerts_and_the_cache_is_deleted(world: DrillWorld, caches: Caches) -> None:
    _fail_on(world, "PutObject", "AccessDenied")
    result = world.run(_drill_input(_secret(caches.server.password)))
    assert result.status == "FAILED"
    assert result.states_entered()[-2:] == ["NotifyUnrecorded", "Failed"]
    assert caches.leftovers() == []
