"""The DynamoDB adapter against the emulator (moto) where it models the API, and against botocore's
Stubber where it does not: paging (moto ignores it), backup types (moto makes every backup USER) and
the exact export request. Stubber validates every request against the real service model."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from restorable import tags as tag_keys
from restorable.adapters.dynamodb import DynamoDbGateway
from restorable.adapters.dynamodb_holds import HoldStore
from restorable.dynamodb_backup_names import (
    parse_backup_name,
    scheduled_backup_name,
)
from restorable.dynamodb_export_plan import export_client_token, export_prefix
from restorable.dynamodb_holds import HoldBook
from restorable.dynamodb_models import Table, TableBackup, backup_recovery_point
from restorable.errors import (
    AlreadyExistsError,
    AwsError,
    InvalidParameterError,
    QuotaExceededError,
    ResourceBusyError,
    ResourceNotFoundError,
    ServiceUnavailableError,
    ThrottledError,
)
from restorable.models import DatabaseType

REGION = "us-east-1"
DR_REGION = "us-west-2"
ACCOUNT = "123456789012"
STACK = "restorable-prod"
EXPIRES = datetime(2027, 2, 20, 2, 0, tzinfo=UTC)
KEY_ARN = f"arn:aws:kms:{DR_REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("dynamodb", region_name=REGION)


def make_table(client: Any, name: str, tags: dict[str, str] | None = None) -> None:
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        Tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()],
    )


def weekly_name(table: str, day: date = date(2026, 11, 22)) -> str:
    return scheduled_backup_name(stack_name=STACK, table_name=table, kind="weekly", period_date=day, expires_at=EXPIRES)


# ---- on the emulator ----


def test_tables_come_with_their_tags_and_facts(dynamodb: Any) -> None:
    make_table(dynamodb, "orders", {tag_keys.POLICY: "standard", "team": "shop"})
    make_table(dynamodb, "sessions", {tag_keys.POLICY: "none"})
    make_table(dynamodb, "scratch")

    tables = {t.name: t for t in DynamoDbGateway(dynamodb).list_tables()}

    assert set(tables) == {"orders", "sessions", "scratch"}
    orders = tables["orders"]
    assert orders.arn == f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders"
    assert orders.status == "ACTIVE"
    assert orders.can_back_up
    assert orders.tags == {tag_keys.POLICY: "standard", "team": "shop"}
    assert orders.policy_name == "standard"
    assert tables["sessions"].policy_name is None
    assert tables["scratch"].policy_name is None
    assert orders.replicas == ()


def test_a_missing_table_is_not_found(dynamodb: Any) -> None:
    with pytest.raises(ResourceNotFoundError):
        DynamoDbGateway(dynamodb).describe_table("nope")


def test_pitr_facts(dynamodb: Any) -> None:
    make_table(dynamodb, "orders")
    gateway = DynamoDbGateway(dynamodb)
    assert not gateway.describe_continuous_backups("orders").pitr_enabled

    dynamodb.update_continuous_backups(
        TableName="orders",
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True, "RecoveryPeriodInDays": 35},
    )
    facts = gateway.describe_continuous_backups("orders")

    assert facts.pitr_enabled
    assert facts.recovery_period_days == 35
    assert facts.keeps(35)
    assert not facts.keeps(36)
    assert isinstance(facts.earliest_restorable, datetime)
    assert isinstance(facts.latest_restorable, datetime)


def test_backup_create_list_describe_delete(dynamodb: Any) -> None:
    make_table(dynamodb, "orders")
    gateway = DynamoDbGateway(dynamodb)
    table = gateway.describe_table("orders")

    made = gateway.create_backup(table, weekly_name("orders"))
    dynamodb.create_backup(TableName="orders", BackupName="before-the-migration")

    listed = {b.name: b for b in gateway.list_backups("orders")}
    assert set(listed) == {weekly_name("orders"), "before-the-migration"}
    ours = listed[weekly_name("orders")]
    assert ours.arn == made.arn
    assert ours.table_arn == table.arn
    assert ours.parsed_name(STACK) is not None
    assert listed["before-the-migration"].parsed_name(STACK) is None

    described = gateway.describe_backup(made.arn)
    assert (described.name, described.table_name, described.table_arn) == (made.name, "orders", table.arn)

    point = backup_recovery_point(ours, stack_name=STACK, point_type=DatabaseType.INSTANCE, holds=HoldBook(True))
    assert (point.managed_by, point.kind, point.source_arn, point.expires_at) == (STACK, "weekly", table.arn, EXPIRES)
    assert not point.is_automated

    gateway.delete_backup(made)
    assert [b.name for b in gateway.list_backups("orders")] == ["before-the-migration"]
    with pytest.raises(ResourceNotFoundError):
        gateway.delete_backup(made)


def test_backup_of_a_missing_table_is_not_found(dynamodb: Any) -> None:
    gone = Table(name="gone", arn=f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/gone", status="ACTIVE")
    with pytest.raises(ResourceNotFoundError):
        DynamoDbGateway(dynamodb).create_backup(gone, weekly_name("gone"))


def test_export_to_a_bucket_of_the_dr_region(dynamodb: Any) -> None:
    make_table(dynamodb, "orders")
    s3 = boto3.client("s3", region_name=DR_REGION)
    s3.create_bucket(Bucket="dr-exports", CreateBucketConfiguration={"LocationConstraint": DR_REGION})
    gateway = DynamoDbGateway(dynamodb)
    table = gateway.describe_table("orders")
    arguments: dict[str, Any] = {
        "export_time": datetime(2026, 11, 22, 2, tzinfo=UTC),
        "bucket": "dr-exports",
        "bucket_owner": ACCOUNT,
        "prefix": export_prefix(stack_name=STACK, table_name="orders", kind="weekly", period_date=date(2026, 11, 22)),
        "kms_key_id": KEY_ARN,
        "client_token": export_client_token("dynamodb/restorable-prod/orders/weekly/2026-11-22", "orders", 1),
    }

    with pytest.raises(ResourceBusyError, match="PointInTimeRecoveryUnavailable"):
        gateway.export_to_point_in_time(table, **arguments)

    dynamodb.update_continuous_backups(
        TableName="orders", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    export = gateway.export_to_point_in_time(table, **arguments)

    assert export.arn  # the emulator's export ARNs are malformed: only their identity is compared
    assert (export.s3_bucket, export.s3_prefix, export.table_arn) == ("dr-exports", arguments["prefix"], table.arn)
    assert [e.arn for e in gateway.list_exports(table.arn)] == [export.arn]


def test_holds_store_add_read_release(dynamodb: Any) -> None:
    dynamodb.create_table(
        TableName="restorable-prod-holds",
        KeySchema=[{"AttributeName": "backup_arn", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "backup_arn", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    store = HoldStore(dynamodb, "restorable-prod-holds")
    arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders/backup/01700000000000-aaaaaaaa"
    at = datetime(2027, 1, 2, tzinfo=UTC)
    name = parse_backup_name(weekly_name("orders"), STACK)
    assert name is not None

    store.add(backup_arn=arn, point="/".join(name.key), reason="litigation", held_by="legal", held_at=at)
    assert store.read().holds(arn)

    store.release(backup_arn=arn, released_by="legal", released_at=at)
    book = store.read()
    assert book.readable
    assert not book.holds(arn)

    with pytest.raises(AwsError):
        store.release(backup_arn=arn + "-never-held", released_by="legal", released_at=at)


def test_an_unreadable_holds_store_holds_everything(dynamodb: Any) -> None:
    book = HoldStore(dynamodb, "no-such-table").read()
    assert not book.readable
    assert "ResourceNotFoundException" in book.unreadable_reason
    assert book.holds("arn:aws:dynamodb:us-east-1:123456789012:table/orders/backup/x")


# ---- on the Stubber: what the emulator does not model ----


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("dynamodb", region_name=REGION)
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def summary(n: int, backup_type: str = "USER") -> dict[str, Any]:
    table_arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders"
    return {
        "TableName": "orders",
        "TableArn": table_arn,
        "BackupArn": f"{table_arn}/backup/01700000000000-{n:08x}",
        "BackupName": weekly_name("orders", date(2020, 1, 5)) if n == 0 else f"backup-{n}",
        "BackupCreationDateTime": datetime(2026, 1, 1, tzinfo=UTC),
        "BackupStatus": "AVAILABLE",
        "BackupType": backup_type,
    }


def test_list_backups_follows_every_page_and_keeps_user_backups_only(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    pages = [
        [summary(n) for n in range(0, 100)],
        [summary(n) for n in range(100, 199)] + [summary(199, "SYSTEM")],
        [summary(200, "AWS_BACKUP"), summary(201)],
    ]
    start: dict[str, str] = {}
    for index, page in enumerate(pages):
        response: dict[str, Any] = {"BackupSummaries": page}
        if index < len(pages) - 1:
            response["LastEvaluatedBackupArn"] = page[-1]["BackupArn"]
        stubber.add_response("list_backups", response, {"BackupType": "USER", "Limit": 100, **start})
        start = {"ExclusiveStartBackupArn": page[-1]["BackupArn"]}

    backups = DynamoDbGateway(client).list_backups()

    assert len(backups) == 200
    assert {b.backup_type for b in backups} == {"USER"}
    assert backups[-1].name == "backup-201"
    assert [b.name for b in backups if b.parsed_name(STACK)] == [weekly_name("orders", date(2020, 1, 5))]


def test_list_tables_and_their_tags_follow_every_page(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    names = [f"t{n:03d}" for n in range(101)]
    stubber.add_response("list_tables", {"TableNames": names[:100], "LastEvaluatedTableName": "t099"}, {"Limit": 100})
    stubber.add_response("list_tables", {"TableNames": names[100:]}, {"Limit": 100, "ExclusiveStartTableName": "t099"})
    arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/t000"
    stubber.add_response("describe_table", {"Table": {"TableName": "t000", "TableArn": arn, "TableStatus": "ACTIVE"}})
    stubber.add_response(
        "list_tags_of_resource",
        {"Tags": [{"Key": tag_keys.POLICY, "Value": "standard"}], "NextToken": "more"},
        {"ResourceArn": arn},
    )
    stubber.add_response(
        "list_tags_of_resource", {"Tags": [{"Key": "team", "Value": "shop"}]}, {"ResourceArn": arn, "NextToken": "more"}
    )
    gateway = DynamoDbGateway(client)

    assert gateway.list_table_names() == names
    assert gateway.describe_table("t000").tags == {tag_keys.POLICY: "standard", "team": "shop"}


def test_replicas_are_read(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders"
    table = {
        "TableName": "orders",
        "TableArn": arn,
        "TableStatus": "ACTIVE",
        "TableSizeBytes": 2048,
        "ItemCount": 12,
        "Replicas": [
            {"RegionName": DR_REGION, "ReplicaStatus": "ACTIVE"},
            {"RegionName": "eu-west-1", "ReplicaStatus": "INACCESSIBLE_ENCRYPTION_CREDENTIALS"},
        ],
    }
    stubber.add_response("describe_table", {"Table": table}, {"TableName": "orders"})

    found = DynamoDbGateway(client).describe_table("orders", with_tags=False)

    assert (found.size_bytes, found.item_count) == (2048, 12)
    assert [(r.region, r.is_healthy) for r in found.replicas] == [(DR_REGION, True), ("eu-west-1", False)]


def test_export_request_shape(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders"
    at = datetime(2026, 11, 22, 2, tzinfo=UTC)
    prefix = f"{STACK}/{weekly_name('orders')}"
    expected = {
        "TableArn": arn,
        "ExportTime": at,
        "ClientToken": "token-1",
        "S3Bucket": "dr-exports",
        "S3BucketOwner": ACCOUNT,
        "S3Prefix": prefix,
        "S3SseAlgorithm": "KMS",
        "S3SseKmsKeyId": KEY_ARN,
        "ExportFormat": "DYNAMODB_JSON",
        "ExportType": "FULL_EXPORT",
    }
    stubber.add_response(
        "export_table_to_point_in_time",
        {"ExportDescription": {"ExportArn": f"{arn}/export/1", "ExportStatus": "IN_PROGRESS", **expected}},
        expected,
    )
    export = DynamoDbGateway(client).export_to_point_in_time(
        Table(name="orders", arn=arn, status="ACTIVE"),
        export_time=at,
        bucket="dr-exports",
        bucket_owner=ACCOUNT,
        prefix=prefix,
        kms_key_id=KEY_ARN,
        client_token="token-1",
    )
    assert (export.status, export.sse_algorithm, export.kms_key_id) == ("IN_PROGRESS", "KMS", KEY_ARN)


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("BackupNotFoundException", 400, ResourceNotFoundError),
        ("TableNotFoundException", 400, ResourceNotFoundError),
        ("BackupInUseException", 400, ResourceBusyError),
        ("TableInUseException", 400, ResourceBusyError),
        ("ContinuousBackupsUnavailableException", 400, ResourceBusyError),
        ("LimitExceededException", 400, QuotaExceededError),  # from the shared table
        ("ThrottlingException", 400, ThrottledError),
        ("InternalServerError", 500, ServiceUnavailableError),
        ("TableAlreadyExistsException", 400, AlreadyExistsError),
        ("InvalidExportTimeException", 400, InvalidParameterError),
    ],
)
def test_error_codes_become_domain_errors(
    stubbed: tuple[Any, Stubber], code: str, status: int, expected: type[AwsError]
) -> None:
    client, stubber = stubbed
    backup = TableBackup(
        arn=summary(1)["BackupArn"],
        name="n",
        table_name="orders",
        table_arn="",
        status="AVAILABLE",
        backup_type="USER",
        region=REGION,
    )
    stubber.add_client_error(
        "delete_backup", service_error_code=code, http_status_code=status, expected_params={"BackupArn": backup.arn}
    )

    with pytest.raises(expected) as raised:
        DynamoDbGateway(client).delete_backup(backup)
    assert raised.value.code == code
