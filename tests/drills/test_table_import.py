"""The requests of the cross-region table drill: ImportTable of a DR-Region export into a drill table.

botocore's Stubber checks each request against DynamoDB's real service model (moto accepts any shape); the
drill itself runs on moto in test_table_import_drill.py.
"""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import Stubber

from restorable.adapters.drill_dynamodb import DrillTableGateway
from restorable.drills.model import ExportSource
from restorable.errors import AlreadyExistsError, QuotaExceededError

DR_REGION = "us-west-2"
EXPORT = ExportSource(
    export_arn="arn:aws:dynamodb:us-east-1:123456789012:table/orders/export/01733630400000-abcdef12",
    region=DR_REGION,
    bucket="restorable-dr-exports-123456789012",
    bucket_owner="123456789012",
    data_prefix="tables/orders/2026-12-06/AWSDynamoDB/01733630400000-abcdef12/data/",
    export_time=datetime(2026, 12, 6, 2, tzinfo=UTC),
    key_schema=(("pk", "S", "HASH"), ("sk", "S", "RANGE")),
)
TARGET = "drill.restorable.20261208T100000Z.0123456789abcdef.orders"
IMPORT_ARN = f"arn:aws:dynamodb:{DR_REGION}:123456789012:table/{TARGET}/import/01733652000000-1234abcd"


@pytest.fixture
def stubbed() -> tuple[DrillTableGateway, Stubber]:
    client = boto3.client("dynamodb", region_name=DR_REGION, aws_access_key_id="x", aws_secret_access_key="x")
    return DrillTableGateway(client), Stubber(client)


def test_an_import_drill_imports_the_export_data_into_an_on_demand_drill_table(
    stubbed: tuple[DrillTableGateway, Stubber],
) -> None:
    gateway, stubber = stubbed
    stubber.add_response(
        "import_table",
        {"ImportTableDescription": {"ImportArn": IMPORT_ARN, "ImportStatus": "IN_PROGRESS"}},
        {
            "ClientToken": "drill-0123456789abcdef",
            "S3BucketSource": {
                "S3Bucket": EXPORT.bucket,
                "S3BucketOwner": EXPORT.bucket_owner,
                "S3KeyPrefix": EXPORT.data_prefix,
            },
            "InputFormat": "DYNAMODB_JSON",
            "InputCompressionType": "GZIP",
            "TableCreationParameters": {
                "TableName": TARGET,
                "AttributeDefinitions": [
                    {"AttributeName": "pk", "AttributeType": "S"},
                    {"AttributeName": "sk", "AttributeType": "S"},
                ],
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                "BillingMode": "PAY_PER_REQUEST",
            },
        },
    )
    stubber.add_response(
        "describe_import",
        {
            "ImportTableDescription": {
                "ImportArn": IMPORT_ARN,
                "ImportStatus": "FAILED",
                "TableArn": f"arn:aws:dynamodb:{DR_REGION}:123456789012:table/{TARGET}",
                "ErrorCount": 3,
                "ImportedItemCount": 10,
                "FailureCode": "ItemValidationError",
                "FailureMessage": "3 items could not be parsed",
            }
        },
        {"ImportArn": IMPORT_ARN},
    )
    with stubber:
        started = gateway.start_import(TARGET, EXPORT, "drill-0123456789abcdef")
        progress = gateway.import_progress(IMPORT_ARN)
    assert (started.import_arn, started.status) == (IMPORT_ARN, "IN_PROGRESS")
    assert progress.status == "FAILED"
    assert (progress.imported_items, progress.error_count) == (10, 3)
    assert progress.failure == "ItemValidationError 3 items could not be parsed"
    assert progress.table_arn.endswith(f"table/{TARGET}")


@pytest.mark.parametrize(
    ("code", "error"), [("ImportConflictException", AlreadyExistsError), ("LimitExceededException", QuotaExceededError)]
)
def test_import_errors_become_domain_errors(stubbed: tuple[DrillTableGateway, Stubber], code: str, error: type) -> None:
    gateway, stubber = stubbed
    stubber.add_client_error("import_table", service_error_code=code, http_status_code=400)
    with stubber, pytest.raises(error):
        gateway.start_import(TARGET, EXPORT, "drill-0123456789abcdef")


def test_an_export_of_another_region_is_refused_before_any_call(stubbed: tuple[DrillTableGateway, Stubber]) -> None:
    gateway, stubber = stubbed
    elsewhere = ExportSource(**{**EXPORT.__dict__, "region": "eu-west-1"})
    with stubber, pytest.raises(ValueError, match="is in eu-west-1, not us-west-2"):
        gateway.start_import(TARGET, elsewhere, "drill-0123456789abcdef")
    stubber.assert_no_pending_responses()
