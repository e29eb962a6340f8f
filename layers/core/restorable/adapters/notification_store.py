"""DynamoDB for verification: notification state and drill history."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ..drills.plan import DRILL_PASSED
from ..naming import format_timestamp, parse_timestamp
from ..notifications import NotificationState
from ..verification.checks import Severity
from . import paginators
from .errors import BOTO_ERRORS, translate

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

BATCH_SIZE = 25  # BatchWriteItem limit
MAX_BATCH_ATTEMPTS = 5


def _state(item: dict[str, Any]) -> NotificationState | None:
    try:
        first = parse_timestamp(item["first_seen_at"]["S"])
        last = parse_timestamp(item["last_notified_at"]["S"])
        severity = Severity[item["severity"]["S"]]
    except KeyError:
        return None
    if first is None or last is None:
        return None
    return NotificationState(
        key=item["resource_key"]["S"],
        check=item["check"]["S"],
        resource=item.get("resource", {}).get("S", item["resource_key"]["S"]),
        severity=severity,
        first_seen_at=first,
        last_notified_at=last,
    )


class NotificationStateStore:
    """Table keyed by ``resource_key`` (hash) and ``check`` (range); one item per open finding."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self.table_name = table_name

    def _items(self, operation: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        try:
            for page in paginators.paginator(self._client, operation).paginate(TableName=self.table_name, **kwargs):
                yield from page.get("Items", [])
        except BOTO_ERRORS as exc:
            raise translate(exc, f"{operation} {self.table_name}") from exc

    def load_all(self) -> dict[tuple[str, str], NotificationState]:
        return self._collect(self._items("scan"))

    def load_for(self, keys: Iterable[str]) -> dict[tuple[str, str], NotificationState]:
        states: dict[tuple[str, str], NotificationState] = {}
        for key in keys:
            states.update(
                self._collect(
                    self._items(
                        "query",
                        KeyConditionExpression="resource_key = :key",
                        ExpressionAttributeValues={":key": {"S": key}},
                    )
                )
            )
        return states

    @staticmethod
    def _collect(items: Iterable[dict[str, Any]]) -> dict[tuple[str, str], NotificationState]:
        states = {}
        for item in items:
            state = _state(item)
            if state is not None:  # an unreadable item is treated as absent: the finding is announced again
                states[state.identity] = state
        return states

    def apply(self, writes: Iterable[NotificationState], deletes: Iterable[tuple[str, str]]) -> None:
        requests: list[dict[str, Any]] = [
            {
                "PutRequest": {
                    "Item": {
                        "resource_key": {"S": state.key},
                        "check": {"S": state.check},
                        "resource": {"S": state.resource},
                        "severity": {"S": state.severity.label},
                        "first_seen_at": {"S": format_timestamp(state.first_seen_at)},
                        "last_notified_at": {"S": format_timestamp(state.last_notified_at)},
                    }
                }
            }
            for state in writes
        ]
        requests.extend(
            {"DeleteRequest": {"Key": {"resource_key": {"S": key}, "check": {"S": check}}}} for key, check in deletes
        )
        for start in range(0, len(requests), BATCH_SIZE):
            self._write_batch(requests[start : start + BATCH_SIZE])

    def _write_batch(self, batch: list[dict[str, Any]]) -> None:
        pending = {self.table_name: batch}
        for _ in range(MAX_BATCH_ATTEMPTS):
            try:
                response = self._client.batch_write_item(RequestItems=pending)  # type: ignore[arg-type]
            except BOTO_ERRORS as exc:
                raise translate(exc, f"batch_write_item {self.table_name}") from exc
            pending = dict(response.get("UnprocessedItems") or {})  # type: ignore[arg-type]
            if not pending:
                return
        raise translate(
            ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "unprocessed items after retries"}},
                "BatchWriteItem",
            ),
            f"batch_write_item {self.table_name}",
        )


class DrillHistoryReader:
    """The drill history table (written by restore drills): newest successful drill per database.

    Item shape: ``source_arn`` (S, hash key: the protected database's ARN), ``finished_at``
    (S, range key: ISO-8601 UTC such as ``2026-11-22T05:12:00Z``), ``outcome`` (S:
    ``passed``, ``failed`` or ``running``); other attributes are ignored. Read with one paginated Scan.
    """

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self.table_name = table_name

    def last_successes(self) -> dict[str, datetime]:
        newest: dict[str, datetime] = {}
        try:
            pages = paginators.paginator(self._client, "scan").paginate(
                TableName=self.table_name,
                ProjectionExpression="source_arn, finished_at",
                FilterExpression="outcome = :ok",
                ExpressionAttributeValues={":ok": {"S": DRILL_PASSED}},
            )
            for page in pages:
                for item in page.get("Items", []):
                    arn = item.get("source_arn", {}).get("S")
                    finished = parse_timestamp(item.get("finished_at", {}).get("S", ""))
                    if arn and finished and (arn not in newest or finished > newest[arn]):
                        newest[arn] = finished
        except BOTO_ERRORS as exc:
            raise translate(exc, f"scan {self.table_name}") from exc
        return newest
