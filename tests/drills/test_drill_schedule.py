"""The monthly schedule starts drills through the state machine; the janitor's schedule and dry run."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import boto3
import pytest

from local_runtime.functions import Functions
from restorable.errors import InvalidRequestError
from tests.drills.conftest import SOURCE_REGION, DrillWorld, sample


def test_sample_schedule_events_are_what_the_schedules_deliver(functions: Functions) -> None:
    for schedule_name, event_file in (
        ("MonthlyDrills", "drill-schedule-monthly.json"),
        ("ExpiredDrillResources", "drill-janitor.json"),
    ):
        event = sample(event_file)
        [schedule] = [s for s in functions.schedules() if s.name == schedule_name]
        moment = datetime.fromisoformat(event["scheduled_time"].replace("Z", "+00:00"))
        assert schedule.event_for(moment) == event


def test_monthly_schedule_starts_one_drill_per_protected_database_once(world: DrillWorld) -> None:
    world.fleet.instance("orders-mysql")
    world.fleet.instance("billing-pg", engine="postgres")
    world.fleet.instance("scratch", policy="none")
    world.fleet.cluster("ledger", members=1)
    for identifier in ("orders-mysql", "billing-pg"):
        world.managed_snapshot(identifier)
    world.managed_cluster_snapshot("ledger")
    functions = world.machines.functions
    arn = world.machines.deploy("DrillStateMachine")

    first = functions.invoke("DrillSchedulerFunction", sample("drill-schedule-monthly.json")).result()
    again = functions.invoke("DrillSchedulerFunction", sample("drill-schedule-monthly.json")).result()

    assert [re.sub(r"-[0-9a-f]{12}$", "", name) for name in sorted(first["started"])] == [
        "billing-pg-2026-12",
        "ledger-2026-12",
        "orders-mysql-2026-12",
    ]
    # A retried schedule names the same executions: StartExecution with the same name and input returns
    # the running one (AWS and moto), a finished one answers ExecutionAlreadyExists. Never a second drill.
    assert sorted(again["started"] + again["already_started"]) == sorted(first["started"])
    assert again["failed"] == []
    client = boto3.client("stepfunctions", region_name=SOURCE_REGION)
    executions = client.list_executions(stateMachineArn=arn)["executions"]
    assert len(executions) == 3
    results = [world.machines.wait(e["executionArn"]) for e in executions]
    assert {r.status for r in results} == {"SUCCEEDED"}
    assert {json.loads(json.dumps(r.input))["mode"] for r in results} == {"snapshot"}
    assert world.leftovers() == []


def test_rotating_sample_limits_each_run(world: DrillWorld) -> None:
    for number in range(5):
        world.fleet.instance(f"db{number}")
    functions = world.machines.functions
    world.machines.deploy("DrillStateMachine")
    months = []
    for scheduled in ("2026-12-08", "2027-01-08", "2027-02-08"):  # each delivered on time: 31 days apart
        event = {"mode": "snapshot", "dry_run": True, "scheduled_time": f"{scheduled}T06:00:00Z"}
        months.append(functions.invoke("DrillSchedulerFunction", event, environment={"DRILLS_PER_RUN": "2"}).result())
        world.machines.clock.advance(31 * 24 * 3600)
    assert [len(m["started"]) for m in months] == [2, 2, 2]
    assert {name.split("-")[0] for m in months for name in m["started"]} == {f"db{n}" for n in range(5)}


@pytest.mark.parametrize(
    ("event", "named"),
    [
        ({"mode": "sometimes"}, "mode: "),
        ({"mode": "pitr", "kind": "weekly"}, "'kind' applies to snapshot and cross-region drills"),
        ({"scheduled_time": "2026-12-08T06:00:00"}, "scheduled_time: "),
        ({"scheduled_time": "2190-01-01T00:00:00Z"}, "scheduled_time: "),
        ({"scheduled_time": "1971-01-01T00:00:00Z"}, "scheduled_time: "),
        ({"scheduled_time": 1_796_000_000}, "scheduled_time: "),
        ([], "must be a JSON object"),
    ],
)
def test_bad_schedule_events_start_nothing(world: DrillWorld, event: object, named: str) -> None:
    world.fleet.instance("orders-mysql")
    world.managed_snapshot("orders-mysql")
    arn = world.machines.deploy("DrillStateMachine")
    invocation = world.machines.functions.invoke("DrillSchedulerFunction", event)
    assert isinstance(invocation.error, InvalidRequestError)
    assert named in str(invocation.error)
    client = boto3.client("stepfunctions", region_name=SOURCE_REGION)
    assert client.list_executions(stateMachineArn=arn)["executions"] == []


def test_a_database_naming_an_unknown_policy_is_reported_and_never_drilled(world: DrillWorld) -> None:
    world.fleet.instance("orders-mysql")
    world.fleet.instance("typo-db", policy="wekly")
    for identifier in ("orders-mysql", "typo-db"):
        world.managed_snapshot(identifier)
    arn = world.machines.deploy("DrillStateMachine")

    result = world.machines.functions.invoke("DrillSchedulerFunction", sample("drill-schedule-monthly.json")).result()

    assert [name.split("-2026")[0] for name in result["started"]] == ["orders-mysql"]
    [skipped] = result["skipped"]
    assert skipped["database"] == "typo-db"
    assert "restorable:policy='wekly' names no policy" in skipped["reason"]
    client = boto3.client("stepfunctions", region_name=SOURCE_REGION)
    executions = client.list_executions(stateMachineArn=arn)["executions"]
    assert [e["name"] for e in executions] == result["started"]
    assert {world.machines.wait(e["executionArn"]).status for e in executions} == {"SUCCEEDED"}
    assert world.leftovers() == []


def test_janitor_dry_run_and_bad_events(world: DrillWorld) -> None:
    world.fleet.instance("orders-mysql")
    world.managed_snapshot("orders-mysql")
    world.failures["DeleteDBInstance"] = lambda params: "AccessDenied"
    world.run(sample("drill-snapshot.json"))
    del world.failures["DeleteDBInstance"]
    [left] = world.leftovers()
    world.machines.clock.advance(5 * 3600)
    functions = world.machines.functions
    dry = functions.invoke("DrillJanitorFunction", {"dry_run": True}).result()
    assert [d["reason"] for d in dry["deleted"]] == ["would delete (dry run)"]
    assert world.leftovers() == [left]
    assert isinstance(functions.invoke("DrillJanitorFunction", {"dry_run": "yes"}).error, InvalidRequestError)
    assert isinstance(functions.invoke("DrillJanitorFunction", {"everything": True}).error, InvalidRequestError)
    assert world.leftovers() == [left]
    # never a database without the drill tags, expired-looking or not
    world.fleet.instance("drill-lookalike", policy=None, tags={"restorable:expires-at": "2020-01-01T00:00:00Z"})
    real = functions.invoke("DrillJanitorFunction", sample("drill-janitor.json")).result()
    assert [d["resource"] for d in real["deleted"]] == [left.split(":", 1)[1]]
    assert world.rds.describe_db_instances(DBInstanceIdentifier="drill-lookalike")["DBInstances"]


def test_monthly_schedule_drills_protected_tables_from_their_weekly_backup(world: DrillWorld) -> None:
    from tests.drills.test_table_drills import drill_tables, make_table, managed_backup

    world.fleet.instance("orders-mysql")
    world.managed_snapshot("orders-mysql")
    make_table(world, "orders")
    managed_backup(world, "orders")
    make_table(world, "scratch-table", policy=None)
    functions = world.machines.functions
    arn = world.machines.deploy("DrillStateMachine")

    started = functions.invoke("DrillSchedulerFunction", sample("drill-schedule-monthly.json")).result()

    assert sorted(re.sub(r"-2026-12-[0-9a-f]{12}$", "", name) for name in started["started"]) == [
        "orders",
        "orders-mysql",
    ]
    client = boto3.client("stepfunctions", region_name=SOURCE_REGION)
    results = [
        world.machines.wait(e["executionArn"]) for e in client.list_executions(stateMachineArn=arn)["executions"]
    ]
    assert {r.status for r in results} == {"SUCCEEDED"}
    [table_drill] = [r.input for r in results if r.input.get("engine") == "dynamodb"]
    assert table_drill == {
        "source": "arn:aws:dynamodb:us-east-1:123456789012:table/orders",
        "mode": "backup",
        "engine": "dynamodb",
    }
    assert drill_tables(world) == []
    assert world.leftovers() == []


def test_a_cross_region_schedule_skips_tables_without_exports_and_says_why(world: DrillWorld) -> None:
    from tests.drills.test_table_drills import make_table

    make_table(world, "orders")
    world.machines.deploy("DrillStateMachine")
    event = sample("drill-schedule-monthly.json") | {"mode": "cross-region", "dry_run": True}
    result = world.machines.functions.invoke("DrillSchedulerFunction", event).result()
    assert result["started"] == []
    assert result["skipped"] == [
        {
            "database": "orders",
            "reason": "dynamodb drills cross-region from its export in the DR Region, and exports are off "
            "(DR_EXPORT_BUCKET is empty); not drilled by this schedule",
        }
    ]


def test_monthly_schedule_drills_protected_caches_and_reports_a_memcached_cluster(world: DrillWorld) -> None:
    client = boto3.client("elasticache", region_name=SOURCE_REGION)
    standard = [{"Key": "restorable:policy", "Value": "standard"}]
    client.create_replication_group(
        ReplicationGroupId="sessions",
        ReplicationGroupDescription="sessions",
        Engine="valkey",
        CacheNodeType="cache.t4g.small",
        Tags=standard,
    )
    client.create_cache_cluster(
        CacheClusterId="tokens-memcached", Engine="memcached", CacheNodeType="cache.t4g.small", NumCacheNodes=1
    )
    arn = "arn:aws:elasticache:us-east-1:123456789012:cluster:tokens-memcached"
    client.add_tags_to_resource(ResourceName=arn, Tags=standard)
    client.create_replication_group(
        ReplicationGroupId="scratch-cache",
        ReplicationGroupDescription="unprotected",
        Engine="valkey",
        CacheNodeType="cache.t4g.small",
    )
    world.machines.deploy("DrillStateMachine")
    event = sample("drill-schedule-monthly.json") | {"dry_run": True}

    result = world.machines.functions.invoke("DrillSchedulerFunction", event).result()

    assert [re.sub(r"-2026-12-[0-9a-f]{12}$", "", name) for name in result["started"]] == ["sessions"]
    assert result["skipped"] == [
        {"database": "tokens-memcached", "reason": "a Memcached cluster cannot be snapshotted; nothing to drill"}
    ]


def test_a_scheduled_cache_drill_is_a_snapshot_drill_of_its_engine() -> None:
    from restorable.drills.schedule import drill_input, parse_scheduled_request
    from restorable.models import Database, DatabaseType

    cache = Database(
        DatabaseType.CACHE_REPLICATION_GROUP,
        "sessions",
        "arn:aws:elasticache:us-east-1:123456789012:replicationgroup:sessions",
        "available",
        "valkey",
        {"restorable:policy": "standard"},
    )
    request = parse_scheduled_request(sample("drill-schedule-monthly.json"), datetime(2026, 12, 8, 6, tzinfo=UTC))
    document = drill_input(cache, request, {})
    assert document == {"source": cache.arn, "mode": "snapshot", "engine": "elasticache"}


def test_a_cross_region_schedule_drills_tables_from_their_exports_when_exports_are_on() -> None:
    from tests.drills.conftest import DR_REGION, drill_world_with
    from tests.drills.test_table_drills import drill_tables, make_table
    from tests.drills.test_table_import_drill import BUCKET, EXPORTS_ON, item, weekly_export

    for world in drill_world_with(EXPORTS_ON):
        boto3.client("s3", region_name=DR_REGION).create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": DR_REGION}
        )
        make_table(world, "orders")
        weekly_export(day="2026-12-06", items=[item(1, 1, "2026-12-05T10:00:00Z")])
        arn = world.machines.deploy("DrillStateMachine")
        event = sample("drill-schedule-monthly.json") | {"mode": "cross-region", "kind": "weekly"}

        result = world.machines.functions.invoke("DrillSchedulerFunction", event).result()

        assert result["skipped"] == []
        assert [re.sub(r"-2026-12-[0-9a-f]{12}$", "", name) for name in result["started"]] == ["orders"]
        client = boto3.client("stepfunctions", region_name=SOURCE_REGION)
        [execution] = client.list_executions(stateMachineArn=arn)["executions"]
        finished = world.machines.wait(execution["executionArn"])
        assert finished.status == "SUCCEEDED", finished.task_failures()
        # Only weekly points are exported: the input names no selector, and the drill imports the export.
        assert finished.input == {
            "source": "arn:aws:dynamodb:us-east-1:123456789012:table/orders",
            "mode": "cross-region",
            "engine": "dynamodb",
        }
        assert finished.output["plan"]["region"] == DR_REGION
        assert drill_tables(world) == []
