"""DynamoDB table drills through the real drill definition on moto, Lambda tasks in-process.

moto 5.2 restores a point in time by copying the source's items as they are now, whatever the time, and
checks neither PITR nor the window: these tests never read old data out of a PITR restore. What a check
reads is shown with backup restores, whose items moto keeps as of the backup (as DynamoDB does).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends

from restorable.adapters.drill_dynamodb import DrillTableGateway
from restorable.dynamodb_backup_names import scheduled_backup_name
from restorable.errors import NotOwnedError
from tests.drills.conftest import DR_REGION, SOURCE_REGION, STACK, START, DrillWorld, request_body, sample

ACCOUNT = DEFAULT_ACCOUNT_ID
ORDERS_ARN = f"arn:aws:dynamodb:{SOURCE_REGION}:{ACCOUNT}:table/orders"
DRILL_TAG_KEYS = {
    "restorable:managed-by",
    "restorable:kind",
    "restorable:expires-at",
    "restorable:source",
    "restorable:drill-execution",
}


def _backend(region: str = SOURCE_REGION) -> Any:
    return dynamodb_backends[ACCOUNT][region]


def _client(world: DrillWorld, region: str = SOURCE_REGION) -> Any:
    import boto3

    return boto3.client("dynamodb", region_name=region)


def make_table(world: DrillWorld, name: str = "orders", policy: str | None = "standard", pitr: bool = True) -> str:
    client = _client(world)
    tags = [{"Key": "restorable:policy", "Value": policy}] if policy else []
    arn = client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
        Tags=tags,
    )["TableDescription"]["TableArn"]
    if pitr:
        client.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
    return str(arn)


def put_orders(world: DrillWorld, table: str = "orders", *updated: str) -> None:
    client = _client(world)
    for index, moment in enumerate(updated, start=1):
        client.put_item(
            TableName=table,
            Item={
                "pk": {"S": f"customer#{index}"},
                "sk": {"S": f"order#{1 if index == 1 else 7}"},
                "updated_at": {"S": moment},
            },
        )


def managed_backup(world: DrillWorld, table: str = "orders", kind: str = "weekly", day: str = "2026-12-06") -> str:
    """A backup as the snapshot job makes it (the name carries the contract), taken at 02:00 UTC on ``day``."""
    taken = datetime.fromisoformat(f"{day}T02:00:00+00:00")
    name = scheduled_backup_name(
        stack_name=STACK,
        table_name=table,
        kind=kind,
        period_date=taken.date(),
        expires_at=taken + timedelta(days=90),
    )
    arn = _client(world).create_backup(TableName=table, BackupName=name)["BackupDetails"]["BackupArn"]
    _backend().backups[arn].creation_date_time = taken
    return str(arn)


def set_pitr_window(table: str, earliest: datetime, latest: datetime) -> None:
    """The window DynamoDB would report (moto freezes it at the moment PITR was turned on)."""
    description = _backend().get_table(table).continuous_backups["PointInTimeRecoveryDescription"]
    description["EarliestRestorableDateTime"] = earliest.timestamp()
    description["LatestRestorableDateTime"] = latest.timestamp()


def report_drill_tables_as(status: str) -> None:
    """Make DescribeTable report ``status`` for the temporary tables (moto always reports ACTIVE)."""
    for name, table in _backend().tables.items():
        if name.startswith("drill.") and not hasattr(table, "reported_status"):
            real = table.describe

            def describe(base_key: str = "TableDescription", real: Any = real, table: Any = table) -> Any:
                described = real(base_key=base_key)
                described[base_key]["TableStatus"] = table.reported_status
                return described

            table.describe = describe
        if name.startswith("drill."):
            table.reported_status = status


def drill_tables(world: DrillWorld) -> list[str]:
    found = []
    for region in (SOURCE_REGION, DR_REGION):
        found += [f"{region}:{name}" for name in _backend(region).tables if name.startswith("drill.")]
    return found


def table_calls(world: DrillWorld, operation: str) -> list[dict[str, Any]]:
    return [body for _, op, body in world.calls if op == operation]


def restores(world: DrillWorld) -> list[tuple[str, dict[str, Any]]]:
    return [(op, body) for _, op, body in world.calls if op.startswith("RestoreTable")]


def _fail(world: DrillWorld, operation: str, code: str, times: int | None = None, only_drill_tables: bool = False):
    remaining = [times]

    def rule(params: dict[str, Any]) -> str | None:
        if only_drill_tables and not str(request_body(params).get("TableName", "")).startswith("drill."):
            return None
        if remaining[0] is None:
            return code
        if remaining[0] > 0:
            remaining[0] -= 1
            return code
        return None

    world.failures[operation] = rule


# ---------------------------------------------------------------- each mode, end to end


def test_pitr_drill_restores_tags_checks_records_and_deletes_the_table(world: DrillWorld) -> None:
    make_table(world)
    put_orders(world, "orders", "2026-12-08T05:10:00Z", "2026-12-08T05:40:00Z", "2026-12-08T05:20:00Z")

    result = world.run(sample("drill-table-pitr.json"))

    assert result.status == "SUCCEEDED", (result.error, result.cause, result.task_failures())
    drill = result.output
    plan = drill["plan"]
    assert (plan["engine"], plan["checks_via"], plan["mode"]) == ("dynamodb", "api", "pitr")
    assert plan["targets"] == {"rto_seconds": 1800, "rpo_seconds": 3600}
    target = plan["target"]["identifier"]
    assert target.startswith(f"drill.{STACK}.20261208T")
    assert target.endswith(".orders")
    assert len(target) <= 255

    [(operation, body)] = restores(world)
    assert operation == "RestoreTableToPointInTime"
    assert body["SourceTableName"] == "orders"
    assert body["TargetTableName"] == target
    assert body["UseLatestRestorableTime"] is True
    assert body["BillingModeOverride"] == "PAY_PER_REQUEST"
    [tagging] = table_calls(world, "TagResource")
    tags = {t["Key"]: t["Value"] for t in tagging["Tags"]}
    assert set(tags) == DRILL_TAG_KEYS
    assert tags["restorable:kind"] == "drill"
    assert tags["restorable:source"] == ORDERS_ARN
    assert tags["restorable:drill-execution"] == result.arn
    assert [b["TableName"] for b in table_calls(world, "DeleteTable")] == [target]
    assert drill_tables(world) == []

    states = result.states_entered()
    assert "RunApiChecks" in states
    assert "RunChecks" not in states
    checks = {c["name"]: c["status"] for c in drill["checks"]["results"]}
    assert checks == {
        "status": "passed",
        "encryption": "passed",
        "isolation": "passed",
        "item_count": "passed",
        "keys": "passed",
        "freshness": "passed",
    }
    item = world.history_item("orders")
    assert (item["mode"]["S"], item["outcome"]["S"]) == ("pitr", "passed")
    assert item["rto_target_seconds"]["N"] == "1800"
    [alert] = world.published()
    assert alert["subject"] == "Restorable drill passed: orders (pitr)"
    markdown = world.report(result, "markdown")
    assert f"- Source: `{ORDERS_ARN}` (dynamodb)" in markdown
    assert f"- Temporary table: `{target}`" in markdown


def test_pitr_drill_to_a_time_in_the_window(world: DrillWorld) -> None:
    make_table(world)
    set_pitr_window("orders", START - timedelta(days=35), START - timedelta(minutes=5))
    result = world.run(
        {"source": "orders", "engine": "dynamodb", "mode": "pitr", "restore_time": "2026-12-08T04:00:00Z"}
    )
    assert result.status == "SUCCEEDED", result.task_failures()
    [(_, body)] = restores(world)
    assert body["RestoreDateTime"] == datetime(2026, 12, 8, 4, tzinfo=UTC).timestamp()
    assert "UseLatestRestorableTime" not in body
    assert result.output["record"]["rpo_seconds"] == 0  # restored exactly to the targeted time
    assert drill_tables(world) == []


def test_backup_drill_restores_the_newest_weekly_backup_and_checks_what_it_holds(world: DrillWorld) -> None:
    make_table(world)
    put_orders(world, "orders", "2026-11-28T10:00:00Z")
    managed_backup(world, day="2026-11-29")
    put_orders(world, "orders", "2026-11-30T10:00:00Z", "2026-12-05T23:00:00Z")
    newest = managed_backup(world, day="2026-12-06")
    put_orders(world, "orders", "2026-12-07T09:00:00Z", "2026-12-07T10:00:00Z", "2026-12-08T05:00:00Z")  # after it

    drill_input = sample("drill-table-backup.json") | {
        "checks": {
            "table": {
                "min_items": 2,
                "keys": [{"pk": {"S": "customer#1"}, "sk": {"S": "order#1"}}],
                "freshness": {"attribute": "updated_at"},
            }
        }
    }
    result = world.run(drill_input)

    assert result.status == "SUCCEEDED", result.task_failures()
    drill = result.output
    assert drill["plan"]["recovery_point"]["arn"] == newest
    assert drill["plan"]["recovery_point"]["kind"] == "weekly"
    [(operation, body)] = restores(world)
    assert (operation, body["BackupArn"]) == ("RestoreTableFromBackup", newest)
    results = {c["name"]: c for c in drill["checks"]["results"]}
    # The items of the backup, not those written after it.
    assert results["item_count"]["value"] == 2
    assert results["freshness"]["value"] == "2026-12-05T23:00:00.000Z"
    # Data RPO: the newest item against the targeted time (the drill's start).
    newest_item = (START - datetime(2026, 12, 5, 23, tzinfo=UTC)).total_seconds()
    assert drill["checks"]["data_rpo_seconds"] == pytest.approx(newest_item, abs=60)  # the clock ticks
    backup_age = (START - datetime(2026, 12, 6, 2, tzinfo=UTC)).total_seconds()
    assert drill["record"]["rpo_seconds"] == pytest.approx(backup_age, abs=60)
    assert drill["plan"]["targets"]["rto_seconds"] == 3600
    assert drill_tables(world) == []


def test_a_named_backup_drill_and_failing_table_checks(world: DrillWorld) -> None:
    make_table(world)
    put_orders(world, "orders", "2026-11-01T10:00:00Z")
    chosen = managed_backup(world, day="2026-11-01")
    managed_backup(world, day="2026-12-06")
    result = world.run(
        {
            "source": ORDERS_ARN,
            "mode": "backup",
            "backup": {"identifier": chosen},
            "checks": {
                "table": {
                    "min_items": 5,
                    "count": "scan",
                    "keys": [{"pk": {"S": "customer#9"}, "sk": {"S": "order#9"}}],
                    "freshness": {"attribute": "updated_at", "max_age_seconds": 86400},
                }
            },
        }
    )
    assert result.status == "FAILED"
    assert result.error == "DrillFailed"
    item = world.history_item("orders")
    reasons = " | ".join(r["S"] for r in item["reasons"]["L"])
    assert "check item_count failed: 1 items (Scan; minimum 5)" in reasons
    assert "check keys failed: 0/1 keys present; missing pk=customer#9, sk=order#9" in reasons
    assert "check freshness failed" in reasons
    [(_, body)] = restores(world)
    assert body["BackupArn"] == chosen
    assert drill_tables(world) == []  # deleted after failed checks too


# ---------------------------------------------------------------- bad input: clear error, nothing created


OTHER_BACKUP = "other"


@pytest.mark.parametrize(
    ("drill_input", "message"),
    [
        ({"source": "ghost", "engine": "dynamodb", "mode": "pitr"}, "unknown source 'ghost': no DynamoDB table"),
        ({"source": "no-pitr", "engine": "dynamodb", "mode": "pitr"}, "has point-in-time recovery off"),
        (
            {"source": "orders", "engine": "dynamodb", "mode": "pitr", "restore_time": "2026-10-01T00:00:00Z"},
            "restore_time 2026-10-01T00:00:00.000Z is outside the restorable window of orders",
        ),
        (
            {"source": "orders", "engine": "dynamodb", "mode": "pitr", "restore_time": "2026-12-08T05:59:00Z"},
            "is outside the restorable window of orders (2026-11-03T06:00:00.000Z .. 2026-12-08T05:55:00.000Z)",
        ),
        (
            {"source": "orders", "engine": "dynamodb", "mode": "backup", "backup": {"identifier": OTHER_BACKUP}},
            "is a backup of",
        ),
        (
            {"source": "orders", "engine": "dynamodb", "mode": "backup", "backup": {"identifier": "by-hand"}},
            "is not a backup stack restorable made of orders",
        ),
        (
            {"source": "orders", "engine": "dynamodb", "mode": "backup", "backup": {"identifier": "orders-weekly"}},
            "is not a backup ARN",
        ),
        (
            {"source": "orders", "engine": "dynamodb", "mode": "backup", "backup": {"kind": "predeploy"}},
            "no available predeploy backup of orders in us-east-1 made by stack restorable",
        ),
        ({"source": "scratch", "engine": "dynamodb", "mode": "pitr"}, "source: table scratch is not protected"),
        ({"source": "orders", "engine": "dynamodb", "mode": "snapshot"}, "mode 'snapshot' is not a mode of dynamodb"),
        ({"source": "orders-mysql", "mode": "backup"}, "mode 'backup' is not a mode of rds drills"),
        (
            {
                "source": "orders",
                "engine": "dynamodb",
                "mode": "pitr",
                "checks": {"sql": {"database": "x", "queries": [{"name": "a", "sql": "select 1"}]}},
            },
            "'checks.sql' applies to RDS drills, not dynamodb",
        ),
        (
            {
                "source": "orders",
                "engine": "dynamodb",
                "mode": "pitr",
                "checks": {"table": {"keys": [{"pk": {"S": "a"}}]}},
            },
            "checks.table.keys.0: names pk; the key of orders is pk, sk",
        ),
        (
            {
                "source": "orders",
                "engine": "dynamodb",
                "mode": "pitr",
                "checks": {"table": {"keys": [{"pk": {"S": "a", "N": "1"}}]}},
            },
            "exactly one of S, N or B",
        ),
        (
            {"source": f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/orders", "mode": "pitr"},
            "is in Region eu-west-1, expected us-east-1",
        ),
        (
            {"source": f"drill.{STACK}.20261208T100000Z.0123456789abcdef.orders", "engine": "dynamodb", "mode": "pitr"},
            "is a drill's temporary table, not a protected table",
        ),
    ],
)
def test_bad_table_drill_input_is_rejected_before_anything_is_created(
    world: DrillWorld, drill_input: dict[str, Any], message: str
) -> None:
    make_table(world)
    set_pitr_window("orders", START - timedelta(days=35), START - timedelta(minutes=5))
    make_table(world, "no-pitr", pitr=False)
    make_table(world, "scratch", policy=None)
    make_table(world, "payments")
    managed_backup(world)
    other = managed_backup(world, table="payments")
    by_hand = _client(world).create_backup(TableName="orders", BackupName="orders-by-hand")["BackupDetails"][
        "BackupArn"
    ]
    backup = drill_input.get("backup", {})
    if backup.get("identifier") == OTHER_BACKUP:
        drill_input = drill_input | {"backup": {"identifier": other}}
    elif backup.get("identifier") == "by-hand":
        drill_input = drill_input | {"backup": {"identifier": by_hand}}

    result = world.run(drill_input)

    assert result.status == "FAILED"
    assert result.error == "DrillRejected"
    assert message in str(result.cause)
    assert restores(world) == []
    assert drill_tables(world) == []
    assert result.states_entered() == ["ValidateInput", "NotifyRejected", "Rejected"]


# ---------------------------------------------------------------- a failure at every step


@pytest.mark.parametrize(
    ("operation", "code", "failed_state", "error_name"),
    [
        ("RestoreTableToPointInTime", "LimitExceededException", "StartRestore", "QuotaExceededError"),
        ("TagResource", "AccessDeniedException", "StartRestore", "PermissionDeniedError"),
        ("DescribeTable", "AccessDeniedException", "CheckRestoreStatus", "PermissionDeniedError"),
        ("Scan", "AccessDeniedException", "RunApiChecks", "PermissionDeniedError"),
        ("BatchGetItem", "AccessDeniedException", "RunApiChecks", "PermissionDeniedError"),
    ],
)
def test_a_failing_step_still_deletes_the_table_and_records(
    world: DrillWorld, operation: str, code: str, failed_state: str, error_name: str
) -> None:
    make_table(world)
    put_orders(world, "orders", "2026-12-08T05:10:00Z", "2026-12-08T05:40:00Z", "2026-12-08T05:20:00Z")
    if operation == "DescribeTable":
        # once, on the temporary table, after the restore: the poll fails, the cleanup's own look succeeds
        calls = [0]

        def after_restore(params: dict[str, Any]) -> str | None:
            if str(request_body(params).get("TableName", "")).startswith("drill.") and table_calls(
                world, "TagResource"
            ):
                calls[0] += 1
                return code if calls[0] == 1 else None  # the poll's look, after the restore tagged the table
            return None

        world.failures[operation] = after_restore
    else:
        # the drill's own calls only (the test reads the history table with a Scan too)
        _fail(world, operation, code, only_drill_tables=operation == "Scan")

    result = world.run(sample("drill-table-pitr.json"))

    assert result.status == "FAILED"
    assert result.error == "DrillFailed"
    states = result.states_entered()
    assert states[states.index(failed_state) + 1] == "Cleanup"
    assert states[-3:] == ["DrillPassed", "NotifyFailure", "Failed"]
    assert drill_tables(world) == []
    item = world.history_item("orders")
    assert item["outcome"]["S"] == "failed"
    assert error_name in item["reasons"]["L"][0]["S"]
    if operation == "TagResource":
        # Restored but never tagged: deleted on the proof of its name and its restore source.
        [deleted] = table_calls(world, "DeleteTable")
        assert deleted["TableName"].startswith(f"drill.{STACK}.")


def test_a_table_that_fails_on_the_dynamodb_side_is_deleted(world: DrillWorld) -> None:
    make_table(world)

    world.machines.clock.listeners.append(lambda waited: report_drill_tables_as("INACCESSIBLE_ENCRYPTION_CREDENTIALS"))
    result = world.run({"source": "orders", "engine": "dynamodb", "mode": "pitr"})
    assert result.status == "FAILED"
    reason = world.history_item("orders")["reasons"]["L"][0]["S"]
    assert "RestoreFailedError" in reason
    assert "'INACCESSIBLE_ENCRYPTION_CREDENTIALS'" in reason
    assert drill_tables(world) == []


def test_a_slow_restore_fails_the_rto_target_but_is_measured(world: DrillWorld) -> None:
    make_table(world)

    world.machines.clock.listeners.append(
        lambda waited: report_drill_tables_as("ACTIVE" if waited >= 45 * 60 else "CREATING")
    )
    result = world.run({"source": "orders", "engine": "dynamodb", "mode": "pitr"})
    assert result.status == "FAILED"
    item = world.history_item("orders")
    rto = float(item["rto_seconds"]["N"])
    assert 45 * 60 <= rto <= 45 * 60 * 1.5  # the poll backoff's resolution
    assert "exceeds the target 1800s" in item["reasons"]["L"][0]["S"]
    assert world.history_item("orders")["rto_target_seconds"]["N"] == "1800"
    assert drill_tables(world) == []


def test_deleting_a_table_still_in_use_is_retried(world: DrillWorld) -> None:
    make_table(world)
    _fail(world, "DeleteTable", "ResourceInUseException", times=2)
    result = world.run({"source": "orders", "engine": "dynamodb", "mode": "pitr"})
    assert result.status == "SUCCEEDED", result.task_failures()
    assert len(table_calls(world, "DeleteTable")) == 3
    assert world.machines.clock.waits[-2:] == [60, 120]
    assert drill_tables(world) == []


def test_a_failed_cleanup_is_recorded_and_the_janitor_deletes_the_table_after_expiry(world: DrillWorld) -> None:
    make_table(world)
    _fail(world, "DeleteTable", "AccessDeniedException")
    result = world.run({"source": "orders", "engine": "dynamodb", "mode": "pitr"})
    assert result.status == "FAILED"
    [left] = drill_tables(world)
    assert "cleanup failed" in world.history_item("orders")["reasons"]["L"][-1]["S"]
    del world.failures["DeleteTable"]

    janitor = world.machines.functions
    before = janitor.invoke("DrillJanitorFunction", {}).result()
    assert before["deleted"] == []
    assert drill_tables(world) == [left]
    world.machines.clock.advance(3 * 3600)  # past the expiry: start + 2 x 30 min + 2 h
    after = janitor.invoke("DrillJanitorFunction", {}).result()
    assert [(d["resource"], d["type"]) for d in after["deleted"]] == [(left.split(":", 1)[1], "table")]
    assert drill_tables(world) == []


def test_the_janitor_deletes_untagged_drill_tables_by_their_name_and_nothing_else(world: DrillWorld) -> None:
    """A drill that died between the restore and its tagging left an untagged restored table: the name
    (this stack's drill form, with its expiry) and the restore summary are the proof. Look-alikes stay."""
    make_table(world)
    client = _client(world)
    expired = f"drill.{STACK}.20261208T070000Z.0123456789abcdef.orders"
    later = f"drill.{STACK}.20261209T070000Z.fedcba9876543210.orders"
    other_stack = "drill.other-stack.20261208T070000Z.0123456789abcdef.orders"
    created_by_hand = f"drill.{STACK}.20261208T070000Z.00000000000000aa.orders"
    tagged_by_owner = f"drill.{STACK}.20261208T070000Z.00000000000000bb.orders"
    for name in (expired, later, other_stack, tagged_by_owner):
        client.restore_table_to_point_in_time(
            SourceTableName="orders", TargetTableName=name, UseLatestRestorableTime=True
        )
    make_table(world, created_by_hand, policy=None, pitr=False)
    owner_arn = client.describe_table(TableName=tagged_by_owner)["Table"]["TableArn"]
    client.tag_resource(ResourceArn=owner_arn, Tags=[{"Key": "restorable:policy", "Value": "standard"}])

    world.machines.clock.advance(2 * 3600)
    dry = world.machines.functions.invoke("DrillJanitorFunction", {"dry_run": True}).result()
    assert [d["resource"] for d in dry["deleted"]] == [expired]
    result = world.machines.functions.invoke("DrillJanitorFunction", {}).result()
    assert [d["resource"] for d in result["deleted"]] == [expired]
    assert [k["resource"] for k in result["kept"]] == [later]
    remaining = {name.split(":", 1)[1] for name in drill_tables(world)}
    assert remaining == {later, other_stack, created_by_hand, tagged_by_owner}
    assert [b["TableName"] for b in table_calls(world, "DeleteTable")] == [expired]


def test_cleanup_never_deletes_a_table_without_proof(world: DrillWorld) -> None:
    make_table(world)
    result = world.run({"source": "orders", "engine": "dynamodb", "mode": "pitr"})
    plan = result.output["plan"]
    from restorable.drills.state import DrillPlan

    for name in ("orders", f"drill.{STACK}.20261208T070000Z.00000000000000aa.orders"):
        if name != "orders":
            make_table(world, name, policy=None, pitr=False)  # drill-named, but made by CreateTable
        forged = DrillPlan.model_validate({**plan, "target": {**plan["target"], "identifier": name}})
        with pytest.raises(NotOwnedError):
            DrillTableGateway(_client(world)).delete_target(forged, STACK)
    assert "orders" in _backend().tables
