"""``restorable hold`` on DynamoDB backups: records in the stack's holds table, read back by the prune's rule."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from restorable.adapters.dynamodb_holds import HoldStore
from restorable.dynamodb_backup_names import parse_backup_name, scheduled_backup_name
from restorable.dynamodb_holds import point_key
from tests.cli.conftest import STACK, Deployed, one_line

REGION = "us-east-1"
WEEKLY = scheduled_backup_name(
    stack_name=STACK,
    table_name="orders",
    kind="weekly",
    period_date=datetime(2026, 12, 6).date(),
    expires_at=datetime(2027, 3, 6, 2, 0, tzinfo=UTC),
)


class Backups:
    def __init__(self, deployed: Deployed) -> None:
        self.client = boto3.client("dynamodb", region_name=REGION)
        self.holds_table = deployed.outputs["HoldsTableName"]

    def table(self, name: str) -> None:
        self.client.create_table(
            TableName=name,
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
            Tags=[{"Key": "restorable:policy", "Value": "standard"}],
        )

    def backup(self, table: str, name: str) -> str:
        return str(self.client.create_backup(TableName=table, BackupName=name)["BackupDetails"]["BackupArn"])

    def record(self, arn: str) -> dict[str, Any] | None:
        return HoldStore(self.client, self.holds_table).item(arn)

    def held_by_the_prune_rule(self, arn: str, name: str) -> bool:
        return HoldStore(self.client, self.holds_table).read().holds(arn, parse_backup_name(name, STACK))

    def items(self) -> list[dict[str, Any]]:
        return list(self.client.scan(TableName=self.holds_table)["Items"])


@pytest.fixture
def backups(deployed: Deployed) -> Backups:
    found = Backups(deployed)
    found.table("orders")
    return found


@pytest.mark.parametrize("by", ["name", "arn"])
def test_hold_add_writes_a_record_with_who_why_and_when_that_the_prune_reads_as_held(
    deployed: Deployed, backups: Backups, by: str
) -> None:
    arn = backups.backup("orders", WEEKLY)

    held = deployed.json(
        "hold", "add", WEEKLY if by == "name" else arn, "--reason", "case 4711: litigation", "--by", "alice@example.com"
    )

    assert held["identifier"] == WEEKLY
    assert held["type"] == "table"
    assert held["copies"] == [{"region": REGION, "arn": arn}]
    record = backups.record(arn)
    assert record is not None
    assert record["state"] == "held"
    assert record["reason"] == "case 4711: litigation"
    assert record["held_by"] == "alice@example.com"
    assert str(record["held_at"]).startswith("2026-12-08T06:")
    parsed = parse_backup_name(WEEKLY, STACK)
    assert parsed is not None
    assert record["point"] == point_key(parsed)  # holds the DR export of the same point too
    assert backups.held_by_the_prune_rule(arn, WEEKLY)


def test_the_holder_defaults_to_the_callers_identity(deployed: Deployed, backups: Backups) -> None:
    arn = backups.backup("orders", WEEKLY)
    caller = boto3.client("sts", region_name=REGION).get_caller_identity()["Arn"]

    deployed.json("hold", "add", arn, "--reason", "audit")

    record = backups.record(arn)
    assert record is not None
    assert record["held_by"] == caller


def test_hold_remove_releases_the_record_attributed_and_dated_and_keeps_it(
    deployed: Deployed, backups: Backups
) -> None:
    arn = backups.backup("orders", WEEKLY)
    deployed.json("hold", "add", WEEKLY, "--reason", "audit", "--by", "alice@example.com")

    removed = deployed.json("hold", "remove", WEEKLY, "--by", "bob@example.com")

    assert removed["held"] is False
    assert removed["removed"] == {REGION: [arn]}
    record = backups.record(arn)
    assert record is not None
    assert (record["state"], record["released_by"]) == ("released", "bob@example.com")
    assert str(record["released_at"]).startswith("2026-12-08T06:")
    assert record["held_by"] == "alice@example.com"  # who held it stays on record
    assert not backups.held_by_the_prune_rule(arn, WEEKLY)
    assert deployed.json("hold", "list")["held"] == []


def test_removing_a_hold_that_does_not_exist_is_a_clear_error_and_changes_nothing(
    deployed: Deployed, backups: Backups
) -> None:
    arn = backups.backup("orders", WEEKLY)

    never_held = deployed.run("hold", "remove", arn)

    assert never_held.exit_code == 2
    assert f"no legal hold on DynamoDB backup {WEEKLY} ({arn}): nothing removed" in one_line(never_held.stderr)
    assert backups.items() == []

    deployed.json("hold", "add", arn, "--reason", "audit", "--by", "alice@example.com")
    deployed.json("hold", "remove", arn, "--by", "bob@example.com")
    before = backups.record(arn)
    twice = deployed.run("hold", "remove", arn, "--by", "carol@example.com")
    assert twice.exit_code == 2
    assert "already released by bob@example.com" in one_line(twice.stderr)
    assert backups.record(arn) == before


def test_hold_list_shows_table_holds_beside_snapshot_holds_and_malformed_records(
    deployed: Deployed, backups: Backups
) -> None:
    held_arn = backups.backup("orders", WEEKLY)
    released_arn = backups.backup("orders", "restorable-by-hand.before-migration")
    deployed.json("hold", "add", held_arn, "--reason", "audit", "--by", "alice@example.com")
    deployed.json("hold", "add", released_arn, "--reason", "migration")
    deployed.json("hold", "remove", released_arn)
    backups.client.put_item(
        TableName=backups.holds_table,
        Item={"backup_arn": {"S": "arn:aws:dynamodb:us-east-1:123456789012:table/orders/backup/0-typo"}},
    )
    deployed.fleet.instance("orders-mysql")
    deployed.world.managed_snapshot("orders-mysql", "weekly", "2026-12-06")
    deployed.json("hold", "add", "orders-mysql-weekly-2026-12-06", "--reason", "audit")

    listed = {h["identifier"]: h for h in deployed.json("hold", "list")["held"]}

    assert sorted(listed) == [
        "arn:aws:dynamodb:us-east-1:123456789012:table/orders/backup/0-typo",
        "orders-mysql-weekly-2026-12-06",
        WEEKLY,
    ]
    table_hold = listed[WEEKLY]
    assert (table_hold["type"], table_hold["source"], table_hold["kind"]) == ("table", "orders", "weekly")
    assert (table_hold["reason"], table_hold["by"], table_hold["held_in"]) == ("audit", "alice@example.com", [REGION])
    assert "malformed" in listed["arn:aws:dynamodb:us-east-1:123456789012:table/orders/backup/0-typo"]["reason"]
    text = deployed.run("hold", "list")
    assert text.exit_code == 0
    assert "legal holds (3)" in text.stdout


def test_a_backup_name_shared_by_two_backups_needs_the_arn(deployed: Deployed, backups: Backups) -> None:
    first = backups.backup("orders", "before-release_1")
    second = backups.backup("orders", "before-release_1")

    result = deployed.run("hold", "add", "before-release_1", "--reason", "audit")

    assert result.exit_code == 2
    line = one_line(result.stderr)
    assert "2 DynamoDB backups are named 'before-release_1': give the ARN" in line
    assert first in line
    assert second in line
    assert backups.items() == []


def test_unknown_or_foreign_backups_are_refused_and_nothing_is_written(deployed: Deployed, backups: Backups) -> None:
    backups.backup("orders", WEEKLY)
    missing_arn = "arn:aws:dynamodb:us-east-1:123456789012:table/orders/backup/01765000000000-deadbeef"

    unknown_name = deployed.run("hold", "add", "restorable.gone.backup", "--reason", "audit")
    unknown_arn = deployed.run("hold", "add", missing_arn, "--reason", "audit")
    other_region = deployed.run("hold", "add", missing_arn.replace("us-east-1", "eu-west-1"), "--reason", "audit")
    not_a_backup = deployed.run(
        "hold", "add", "arn:aws:dynamodb:us-east-1:123456789012:table/orders", "--reason", "audit"
    )

    for result in (unknown_name, unknown_arn, other_region, not_a_backup):
        assert result.exit_code == 2, result.stderr
        assert one_line(result.stderr).startswith("restorable: ")
    assert "no DynamoDB backup by that name or ARN in us-east-1" in unknown_name.stderr
    assert "unknown recovery point" in unknown_arn.stderr
    assert "is in eu-west-1" in other_region.stderr
    assert "is not a DynamoDB backup ARN" in not_a_backup.stderr
    assert backups.items() == []
