"""DynamoDbGateway.describe_exports against botocore's Stubber (it validates each request against the service
model): ListExports paging, newest listed first, stopping when told, an export gone between list and describe.
moto returns one page and a malformed export ARN, and raises a server error for an unknown export."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from restorable.adapters.dynamodb import DynamoDbGateway
from restorable.errors import ThrottledError

TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("dynamodb", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def arn(n: int) -> str:
    return f"{TABLE}/export/0169535307600{n}-abcdef0{n}"


def description(n: int, status: str = "COMPLETED") -> dict[str, Any]:
    return {
        "ExportDescription": {
            "ExportArn": arn(n),
            "ExportStatus": status,
            "TableArn": TABLE,
            "S3Bucket": "dr-exports",
            "S3Prefix": f"dynamodb/restorable/orders/weekly/2026-11-{n:02d}",
        }
    }


def test_every_page_is_listed_and_the_newest_listed_is_described_first(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_response(
        "list_exports",
        {"ExportSummaries": [{"ExportArn": arn(1), "ExportStatus": "COMPLETED"}], "NextToken": "page-2"},
        {"TableArn": TABLE, "MaxResults": 25},
    )
    stubber.add_response(
        "list_exports",
        {"ExportSummaries": [{"ExportArn": arn(2), "ExportStatus": "FAILED"}, {"ExportArn": arn(3)}]},
        {"TableArn": TABLE, "MaxResults": 25, "NextToken": "page-2"},
    )
    stubber.add_response("describe_export", description(3, "IN_PROGRESS"), {"ExportArn": arn(3)})
    stubber.add_client_error(
        "describe_export", "ExportNotFoundException", "gone", 400, expected_params={"ExportArn": arn(2)}
    )
    stubber.add_response("describe_export", description(1), {"ExportArn": arn(1)})

    found = DynamoDbGateway(client).describe_exports(TABLE)

    assert [(e.arn, e.status) for e in found] == [(arn(3), "IN_PROGRESS"), (arn(1), "COMPLETED")]
    assert found[1].s3_prefix == "dynamodb/restorable/orders/weekly/2026-11-01"


def test_describing_stops_at_the_export_asked_for(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_response(
        "list_exports",
        {"ExportSummaries": [{"ExportArn": arn(1)}, {"ExportArn": arn(2)}]},
        {"TableArn": TABLE, "MaxResults": 25},
    )
    stubber.add_response("describe_export", description(2), {"ExportArn": arn(2)})

    found = DynamoDbGateway(client).describe_exports(TABLE, enough=lambda e: e.status == "COMPLETED")

    assert [e.arn for e in found] == [arn(2)]  # arn(1) never described


def test_a_throttled_listing_is_a_domain_error(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_client_error("list_exports", "ThrottlingException", "slow down", 400)
    with pytest.raises(ThrottledError):
        DynamoDbGateway(client).describe_exports(TABLE)
