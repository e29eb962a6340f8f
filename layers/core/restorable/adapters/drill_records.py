"""Where drills are recorded: the report in S3 (JSON + Markdown) and the history item in DynamoDB."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from .errors import translate

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
else:
    DynamoDBClient = Any
    S3Client = Any


def _attribute(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float | Decimal):
        return {"N": str(Decimal(str(value)))}
    if isinstance(value, list):
        return {"L": [_attribute(v) for v in value]}
    return {"S": str(value)}


class DrillRecordStore:
    def __init__(self, s3: S3Client, dynamodb: DynamoDBClient, bucket: str, table: str) -> None:
        self._s3 = s3
        self._dynamodb = dynamodb
        self.bucket = bucket
        self.table = table

    def put_report(self, key: str, document: dict[str, Any], markdown: str) -> dict[str, str]:
        try:
            self._s3.put_object(
                Bucket=self.bucket,
                Key=f"{key}/report.json",
                Body=json.dumps(document, indent=2, default=str).encode(),
                ContentType="application/json",
            )
            self._s3.put_object(
                Bucket=self.bucket,
                Key=f"{key}/report.md",
                Body=markdown.encode(),
                ContentType="text/markdown; charset=utf-8",
            )
        except ClientError as exc:
            raise translate(exc, f"write report s3://{self.bucket}/{key}") from exc
        return {"json": f"s3://{self.bucket}/{key}/report.json", "markdown": f"s3://{self.bucket}/{key}/report.md"}

    def put_history(self, item: dict[str, Any]) -> None:
        try:
            self._dynamodb.put_item(TableName=self.table, Item={k: _attribute(v) for k, v in item.items()})
        except ClientError as exc:
            raise translate(exc, f"write drill history to {self.table}") from exc
