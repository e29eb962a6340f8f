"""The holds store: a DynamoDB table of the stack, one item per held DynamoDB backup (key ``backup_arn``).

``read`` never raises: a store it cannot read in full is an unreadable ``HoldBook``, which holds
every backup. ``add`` writes a hold; ``release`` marks it released and keeps the item, so the
store says who held and who released.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from ..dynamodb_holds import HELD, RELEASED, HoldBook, HoldRecord
from ..naming import format_timestamp
from . import paginators
from .dynamodb import translate_dynamodb
from .errors import BOTO_ERRORS

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

_TO_PLAIN = TypeDeserializer()
_TO_ITEM = TypeSerializer()


class HoldStore:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self.table_name = table_name

    def read(self) -> HoldBook:
        """Every record, read consistently; any failure gives an unreadable book (everything held)."""
        items: list[Mapping[str, object]] = []
        try:
            paginator = paginators.paginator(self._client, "scan")
            for page in paginator.paginate(TableName=self.table_name, ConsistentRead=True):
                items.extend(
                    {key: _TO_PLAIN.deserialize(value) for key, value in raw.items()} for raw in page.get("Items", [])
                )
        except BOTO_ERRORS as exc:
            error = translate_dynamodb(exc, f"read the holds store {self.table_name}")
            return HoldBook.unreadable(str(error))
        return HoldBook.from_items(items)

    def items(self) -> list[dict[str, object]]:
        """Every record as stored (plain values), read consistently; a failure raises the domain error.

        For a person listing holds: the prune reads through ``read``, which never raises.
        """
        try:
            paginator = paginators.paginator(self._client, "scan")
            return [
                {key: _TO_PLAIN.deserialize(value) for key, value in raw.items()}
                for page in paginator.paginate(TableName=self.table_name, ConsistentRead=True)
                for raw in page.get("Items", [])
            ]
        except BOTO_ERRORS as exc:
            raise translate_dynamodb(exc, f"read the holds store {self.table_name}") from exc

    def item(self, backup_arn: str) -> dict[str, object] | None:
        """The record of one backup as stored (plain values), or None when there is none."""
        try:
            found = self._client.get_item(
                TableName=self.table_name, Key={"backup_arn": {"S": backup_arn}}, ConsistentRead=True
            ).get("Item")
        except BOTO_ERRORS as exc:
            raise translate_dynamodb(exc, f"read the hold on {backup_arn}") from exc
        return {key: _TO_PLAIN.deserialize(value) for key, value in found.items()} if found else None

    def add(self, *, backup_arn: str, point: str, reason: str, held_by: str, held_at: datetime) -> HoldRecord:
        record = HoldRecord(
            backup_arn=backup_arn, point=point, state=HELD, reason=reason, held_by=held_by, held_at=held_at
        )
        item = {
            "backup_arn": record.backup_arn,
            "point": record.point,
            "state": HELD,
            "reason": record.reason,
            "held_by": record.held_by,
            "held_at": format_timestamp(record.held_at),
        }
        try:
            self._client.put_item(
                TableName=self.table_name,
                Item={key: _TO_ITEM.serialize(value) for key, value in item.items()},
            )
        except BOTO_ERRORS as exc:
            raise translate_dynamodb(exc, f"hold {backup_arn}") from exc
        return record

    def release(self, *, backup_arn: str, released_by: str, released_at: datetime) -> None:
        """Mark an existing hold released (a release of a backup never held is refused by the condition)."""
        try:
            self._client.update_item(
                TableName=self.table_name,
                Key={"backup_arn": {"S": backup_arn}},
                UpdateExpression="SET #state = :released, released_by = :by, released_at = :at",
                ConditionExpression="attribute_exists(backup_arn)",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={
                    ":released": {"S": RELEASED},
                    ":by": {"S": released_by},
                    ":at": {"S": format_timestamp(released_at)},
                },
            )
        except BOTO_ERRORS as exc:
            raise translate_dynamodb(exc, f"release the hold on {backup_arn}") from exc
