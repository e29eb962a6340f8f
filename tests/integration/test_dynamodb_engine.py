"""DynamoDB as an engine: SnapshotFunction and PruneFunction through the template's wiring, on moto with tables."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import pytest
import time_machine

from local_runtime.functions import Functions
from local_runtime.template import REPO_ROOT
from restorable.adapters.dynamodb_holds import HoldStore
from restorable.dynamodb_backup_names import scheduled_backup_name
from tests.aws_faults import failing_calls, failing_operation
from tests.conftest import SOURCE_REGION
from tests.fleet import Fleet

STACK = "restorable"
SUNDAY = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
PRUNE_NOW = datetime(2027, 3, 1, 6, 0, tzinfo=UTC)
HOLDS_TABLE = f"{STACK}-HoldsTable"
# Every table a prune test makes keeps its newest backup; a share of 100 % keeps the breaker out of the way.
NO_BREAKER = {"PRUNE_MAX_SHARE_PERCENT": "100"}


def sample(name: str) -> dict[str, Any]:
    return dict(json.loads((REPO_ROOT / "events" / name).read_text()))


class Tables:
    def __init__(self) -> None:
        self.client = boto3.client("dynamodb", region_name=SOURCE_REGION)

    def table(self, name: str, policy: str | None = "standard") -> str:
        tags = [] if policy is None else [{"Key": "restorable:policy", "Value": policy}]
        created = self.client.create_table(
            TableName=name,
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
            **({"Tags": tags} if tags else {}),
        )
        return str(created["TableDescription"]["TableArn"])

    def holds_table(self) -> None:
        self.client.create_table(
            TableName=HOLDS_TABLE,
            AttributeDefinitions=[{"AttributeName": "backup_arn", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "backup_arn", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )

    def backups(self) -> dict[str, str]:
        """Backup name -> ARN, every backup of the Region."""
        summaries = self.client.list_backups()["BackupSummaries"]
        return {s["BackupName"]: s["BackupArn"] for s in summaries}

    def backup(self, table: str, name: str) -> str:
        return str(self.client.create_backup(TableName=table, BackupName=name)["BackupDetails"]["BackupArn"])


def weekly_name(table: str, period: date, expires_at: datetime) -> str:
    return scheduled_backup_name(
        stack_name=STACK, table_name=table, kind="weekly", period_date=period, expires_at=expires_at
    )


@pytest.fixture
def tables(aws: None) -> Tables:
    return Tables()


# ---- weekly backups ----


@pytest.fixture
def sunday() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(SUNDAY + timedelta(hours=4), tick=False) as traveller:
        yield traveller


@pytest.fixture
def mixed(tables: Tables, fleet: Fleet, sunday: time_machine.Coordinates) -> Tables:
    tables.table("orders")
    tables.table("ledger", policy="compliance")
    tables.table("scratch", policy=None)
    tables.table("opted-out", policy="none")
    tables.table("mystery", policy="platinum")
    fleet.instance("orders-mysql")
    return tables


def snapshot(functions: Functions, event: dict[str, Any]) -> dict[str, Any]:
    payload: dict[str, Any] = functions.invoke("SnapshotFunction", event).result()
    return payload


def by_resource(payload: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(item["resource"], item["kind"]): item["outcome"] for item in payload["items"]}


def test_weekly_run_backs_up_each_protected_table_once_with_the_contract_name(
    functions: Functions, mixed: Tables
) -> None:
    payload = snapshot(functions, sample("snapshot-weekly.json"))
    expires = SUNDAY + timedelta(days=90)  # both policies keep weekly points 90 days
    assert set(mixed.backups()) == {
        weekly_name("orders", date(2026, 11, 22), expires),
        weekly_name("ledger", date(2026, 11, 22), expires),
    }
    outcomes = by_resource(payload)
    assert outcomes[("orders", "weekly")] == "created"
    assert outcomes[("ledger", "weekly")] == "created"
    assert outcomes[("orders-mysql", "weekly")] == "created"  # the RDS engine runs beside it
    assert outcomes[("mystery", "*")] == "finding"
    assert not {"scratch", "opted-out"} & {resource for resource, _ in outcomes}


def test_rerun_finds_its_backup_and_creates_nothing(functions: Functions, mixed: Tables) -> None:
    snapshot(functions, sample("snapshot-weekly.json"))
    before = mixed.backups()
    payload = snapshot(functions, sample("snapshot-weekly.json"))
    assert mixed.backups() == before
    assert by_resource(payload)[("orders", "weekly")] == "already_exists"


def test_monthly_is_not_a_kind_of_a_table(functions: Functions, mixed: Tables) -> None:
    payload = snapshot(functions, {"kind": "monthly"})
    assert mixed.backups() == {}
    assert not [item for item in payload["items"] if item["resource"] in ("orders", "ledger")]


def test_dry_run_plans_the_backups_and_creates_nothing(functions: Functions, mixed: Tables) -> None:
    payload = snapshot(functions, sample("snapshot-dry-run.json"))
    assert mixed.backups() == {}
    planned = {item["resource"]: item for item in payload["items"] if item["outcome"] == "planned"}
    assert planned["orders"]["recovery_point"] == weekly_name("orders", date(2026, 11, 22), SUNDAY + timedelta(days=90))


def test_one_tables_failed_backup_stops_neither_the_other_tables_nor_rds(functions: Functions, mixed: Tables) -> None:
    def choose(body: Any) -> str | None:
        request = json.loads(body) if isinstance(body, bytes | str) else body
        return "InternalServerError" if request.get("TableName") == "orders" else None

    with failing_calls(["CreateBackup"], choose, service="dynamodb"):
        payload = snapshot(functions, sample("snapshot-weekly.json"))
    outcomes = by_resource(payload)
    assert outcomes[("orders", "weekly")] == "failed"
    assert outcomes[("ledger", "weekly")] == "created"
    assert outcomes[("orders-mysql", "weekly")] == "created"
    assert [name for name in mixed.backups() if name.endswith(".ledger")]


def test_an_unreadable_table_inventory_is_reported_and_rds_goes_on(functions: Functions, mixed: Tables) -> None:
    with failing_operation("dynamodb", "ListTables", "AccessDeniedException"):
        payload = snapshot(functions, sample("snapshot-weekly.json"))
    outcomes = by_resource(payload)
    assert outcomes[("dynamodb", "*")] == "failed"
    assert outcomes[("orders-mysql", "weekly")] == "created"
    assert mixed.backups() == {}


# ---- pruning ----


class Backups:
    """Backups of ours (and others) made at chosen times, before the prune runs at PRUNE_NOW."""

    def __init__(self, tables: Tables, clock: time_machine.Coordinates) -> None:
        self.tables = tables
        self.clock = clock

    def ours(self, table: str, *, age_days: int, expires_in_days: int) -> str:
        made_at = PRUNE_NOW - timedelta(days=age_days)
        name = weekly_name(table, made_at.date(), PRUNE_NOW + timedelta(days=expires_in_days))
        return self.made(table, name, made_at)

    def made(self, table: str, name: str, made_at: datetime) -> str:
        self.clock.move_to(made_at)
        arn = self.tables.backup(table, name)
        self.clock.move_to(PRUNE_NOW)
        return arn


@pytest.fixture
def backups(tables: Tables, fleet: Fleet) -> Iterator[Backups]:
    with time_machine.travel(PRUNE_NOW, tick=False) as clock:
        tables.table("orders")
        tables.holds_table()
        yield Backups(tables, clock)


def prune(functions: Functions, event: dict[str, Any] | None = None, **environment: str) -> dict[str, Any]:
    invocation = functions.invoke(
        "PruneFunction", sample("prune-daily.json") if event is None else event, {**NO_BREAKER, **environment}
    )
    payload: dict[str, Any] = invocation.result()
    return payload


def test_prune_deletes_only_an_expired_backup_of_ours(functions: Functions, backups: Backups, tables: Tables) -> None:
    expired = backups.ours("orders", age_days=100, expires_in_days=-10)
    newest = backups.ours("orders", age_days=3, expires_in_days=87)
    payload = prune(functions)
    assert set(tables.backups().values()) == {newest}
    [deleted] = [item for item in payload["items"] if item["outcome"] == "deleted"]
    assert deleted["resource"] == "orders"
    summary = payload["regions"][SOURCE_REGION]
    assert summary["engines"]["dynamodb"]["deleted"] == 1
    assert summary["engines"]["rds"]["deleted"] == 0
    assert expired not in tables.backups().values()


def test_prune_dry_run_deletes_nothing(functions: Functions, backups: Backups, tables: Tables) -> None:
    backups.ours("orders", age_days=100, expires_in_days=-10)
    backups.ours("orders", age_days=3, expires_in_days=87)
    before = tables.backups()
    payload = prune(functions, sample("prune-dry-run.json"))
    assert tables.backups() == before
    assert [item["outcome"] for item in payload["items"]].count("planned") == 1


def test_a_hold_record_keeps_an_expired_backup(functions: Functions, backups: Backups, tables: Tables) -> None:
    held = backups.ours("orders", age_days=100, expires_in_days=-10)
    backups.ours("orders", age_days=3, expires_in_days=87)
    HoldStore(tables.client, HOLDS_TABLE).add(
        backup_arn=held, point="", reason="litigation", held_by="legal@example.com", held_at=PRUNE_NOW
    )
    payload = prune(functions)
    assert held in tables.backups().values()
    [kept] = [item for item in payload["items"] if item.get("recovery_point", "").startswith("restorable.")]
    assert kept["reason"] == "kept: legal-hold"


def test_an_unreadable_holds_store_keeps_every_backup_and_says_why(
    functions: Functions, backups: Backups, tables: Tables
) -> None:
    backups.ours("orders", age_days=100, expires_in_days=-10)
    backups.ours("orders", age_days=3, expires_in_days=87)
    before = tables.backups()
    with failing_operation("dynamodb", "Scan", "AccessDeniedException"):
        payload = prune(functions)
    assert tables.backups() == before
    [finding] = [item for item in payload["items"] if item["resource"] == "dynamodb"]
    assert finding["outcome"] == "finding"
    assert "holds store cannot be read" in finding["reason"]


def test_a_missing_holds_store_keeps_every_backup(functions: Functions, backups: Backups, tables: Tables) -> None:
    backups.ours("orders", age_days=100, expires_in_days=-10)
    backups.ours("orders", age_days=3, expires_in_days=87)
    before = tables.backups()
    prune(functions, DYNAMODB_HOLDS_TABLE="no-such-table")
    assert tables.backups() == before


def test_a_deleted_table_keeps_its_newest_backup_and_is_reported(
    functions: Functions, backups: Backups, tables: Tables
) -> None:
    tables.table("retired")
    old = backups.ours("retired", age_days=200, expires_in_days=-100)
    last = backups.ours("retired", age_days=150, expires_in_days=-60)
    tables.client.delete_table(TableName="retired")
    payload = prune(functions)
    remaining = set(tables.backups().values())
    assert last in remaining
    assert old not in remaining
    orphans = payload["regions"][SOURCE_REGION]["engines"]["dynamodb"]["orphaned_sources"]
    assert [arn.rsplit("/", 1)[-1] for arn in orphans] == ["retired"]


@pytest.mark.parametrize(
    "name",
    [
        "orders-before-migration",  # a person's
        weekly_name("orders", date(2026, 11, 1), PRUNE_NOW - timedelta(days=10)).replace(
            "restorable.restorable.", "restorable.other-stack."
        ),
        weekly_name("orders", date(2026, 11, 1), PRUNE_NOW - timedelta(days=10)).replace(".orders", ".orderz"),
    ],
)
def test_backups_not_named_by_this_stack_for_their_table_are_never_touched(
    functions: Functions, backups: Backups, tables: Tables, name: str
) -> None:
    foreign = backups.made("orders", name, PRUNE_NOW - timedelta(days=400))
    backups.ours("orders", age_days=3, expires_in_days=87)
    prune(functions)
    assert foreign in tables.backups().values()


# ---- template ----


def test_the_holds_store_is_encrypted_recoverable_and_outlives_the_stack(functions: Functions) -> None:
    template = functions.template
    holds = template.resources["HoldsTable"]
    assert (holds["DeletionPolicy"], holds["UpdateReplacePolicy"]) == ("Retain", "Retain")
    properties = holds["Properties"]
    assert properties["SSESpecification"] == {
        "SSEEnabled": True,
        "SSEType": "KMS",
        "KMSMasterKeyId": {"Ref": "StackKey"},
    }
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["KeySchema"] == [{"AttributeName": "backup_arn", "KeyType": "HASH"}]
    assert functions.environment("PruneFunction")["DYNAMODB_HOLDS_TABLE"] == HOLDS_TABLE


def test_a_malformed_hold_record_still_holds_and_is_reported(
    functions: Functions, backups: Backups, tables: Tables
) -> None:
    held = backups.ours("orders", age_days=100, expires_in_days=-10)
    backups.ours("orders", age_days=3, expires_in_days=87)
    tables.client.put_item(TableName=HOLDS_TABLE, Item={"backup_arn": {"S": held}, "state": {"S": "held"}})
    payload = prune(functions)
    assert held in tables.backups().values()
    [finding] = [item for item in payload["items"] if item["resource"] == "dynamodb"]
    assert finding["outcome"] == "finding"
    assert "malformed" in finding["reason"]


def test_the_circuit_breaker_guards_the_tables_on_their_own(
    functions: Functions, backups: Backups, tables: Tables
) -> None:
    """Half of the managed backups expired at once: beyond the default 20 %, nothing of DynamoDB is deleted."""
    for name in ("billing", "events"):
        tables.table(name)
    for name in ("orders", "billing", "events"):
        backups.ours(name, age_days=100, expires_in_days=-10)
        backups.ours(name, age_days=3, expires_in_days=87)
    before = tables.backups()
    invocation = functions.invoke("PruneFunction", sample("prune-daily.json"), {"ALERT_TOPIC_ARN": ""})
    payload = invocation.result()
    assert tables.backups() == before
    region = payload["regions"][SOURCE_REGION]
    assert region["engines"]["dynamodb"]["breaker_tripped"] is True
    assert region["engines"]["rds"]["breaker_tripped"] is False
    assert region["breaker_tripped"] is True
    tripped = [line for line in invocation.logs if str(line.get("message", "")).startswith("circuit breaker tripped")]
    assert [line["engine"] for line in tripped] == ["dynamodb"]
