"""Adapters the commands use beside the core's: function invokes, drill history and reports,
Step Functions executions, and removing tags. AWS errors become ``CliError`` with one sentence."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from restorable.adapters.errors import translate
from restorable.errors import RestorableError

from .errors import CliError


def _fail(exc: ClientError | BotoCoreError, operation: str) -> CliError:
    if isinstance(exc, ClientError):
        error: RestorableError = translate(exc, operation)
        return CliError(str(error))
    return CliError(f"{operation}: {exc}")


class FunctionInvoker:
    """Synchronous ``lambda:Invoke`` of a deployed function; its JSON result."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def invoke(self, function_name: str, payload: dict[str, Any]) -> Any:
        try:
            response = self._client.invoke(
                FunctionName=function_name, InvocationType="RequestResponse", Payload=json.dumps(payload).encode()
            )
        except (ClientError, BotoCoreError) as exc:
            raise _fail(exc, f"invoke {function_name}") from exc
        body = response["Payload"].read()
        result = json.loads(body) if body else None
        if response.get("FunctionError"):
            message = result.get("errorMessage") if isinstance(result, dict) else result
            error_type = result.get("errorType", "Error") if isinstance(result, dict) else "Error"
            raise CliError(f"{function_name} failed: {error_type}: {message}")
        return result


def _plain(attribute: dict[str, Any]) -> Any:
    """A DynamoDB attribute value as plain JSON (numbers as int or float)."""
    if "S" in attribute:
        return attribute["S"]
    if "N" in attribute:
        number = float(attribute["N"])
        return int(number) if number.is_integer() else number
    if "BOOL" in attribute:
        return bool(attribute["BOOL"])
    if "L" in attribute:
        return [_plain(v) for v in attribute["L"]]
    if "M" in attribute:
        return {k: _plain(v) for k, v in attribute["M"].items()}
    if "NULL" in attribute:
        return None
    return None


class DrillHistoryTable:
    """The drill history table (key ``source_arn`` + ``started_at``), read only."""

    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self.table = table

    def _items(self, operation: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        try:
            for page in self._client.get_paginator(operation).paginate(TableName=self.table, **kwargs):
                for item in page.get("Items", []):
                    yield {k: _plain(v) for k, v in item.items()}
        except (ClientError, BotoCoreError) as exc:
            raise _fail(exc, f"read drill history {self.table}") from exc

    def drills_of(self, source_arn: str) -> list[dict[str, Any]]:
        """Newest first."""
        items = self._items(
            "query",
            KeyConditionExpression="source_arn = :arn",
            ExpressionAttributeValues={":arn": {"S": source_arn}},
            ScanIndexForward=False,
        )
        return list(items)

    def newest(self, source_arn: str) -> dict[str, Any] | None:
        """The newest drill of a database (one read), or None."""
        try:
            items = self._client.query(
                TableName=self.table,
                KeyConditionExpression="source_arn = :arn",
                ExpressionAttributeValues={":arn": {"S": source_arn}},
                ScanIndexForward=False,
                Limit=1,
            ).get("Items", [])
        except (ClientError, BotoCoreError) as exc:
            raise _fail(exc, f"read drill history {self.table}") from exc
        return {k: _plain(v) for k, v in items[0].items()} if items else None

    def by_execution(self, execution_arn: str) -> dict[str, Any] | None:
        items = self._items(
            "scan",
            FilterExpression="execution_id = :execution",
            ExpressionAttributeValues={":execution": {"S": execution_arn}},
        )
        return next(iter(items), None)

    def all_drills(self) -> list[dict[str, Any]]:
        """Every drill, newest first."""
        return sorted(self._items("scan"), key=lambda item: str(item.get("started_at", "")), reverse=True)


class ReportStore:
    """Drill reports in S3, by their ``s3://bucket/key`` location."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def read(self, uri: str) -> bytes:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        try:
            return bytes(self._client.get_object(Bucket=bucket, Key=key)["Body"].read())
        except (ClientError, BotoCoreError) as exc:
            raise _fail(exc, f"read report {uri}") from exc


class Executions:
    """Step Functions executions of the drill state machine."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def start(self, state_machine_arn: str, name: str, execution_input: dict[str, Any]) -> str:
        try:
            return str(
                self._client.start_execution(
                    stateMachineArn=state_machine_arn, name=name, input=json.dumps(execution_input)
                )["executionArn"]
            )
        except (ClientError, BotoCoreError) as exc:
            raise _fail(exc, f"start drill {name}") from exc

    def describe(self, execution_arn: str) -> dict[str, Any]:
        try:
            return dict(self._client.describe_execution(executionArn=execution_arn))
        except (ClientError, BotoCoreError) as exc:
            raise _fail(exc, f"describe execution {execution_arn}") from exc

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        try:
            for page in self._client.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
                events.extend(dict(event) for event in page["events"])
        except (ClientError, BotoCoreError) as exc:
            raise _fail(exc, f"read execution history {execution_arn}") from exc
        return events


class TagRemover:
    """``RemoveTagsFromResource`` on a recovery point (the core's gateway only adds tags)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def remove_tags(self, arn: str, keys: Sequence[str]) -> None:
        try:
            self._client.remove_tags_from_resource(ResourceName=arn, TagKeys=list(keys))
        except (ClientError, BotoCoreError) as exc:
            raise _fail(exc, f"untag {arn}") from exc


def caller_identity(client: Any) -> str:
    """The ARN of who runs the command (recorded with a hold)."""
    try:
        return str(client.get_caller_identity()["Arn"])
    except (ClientError, BotoCoreError) as exc:
        raise _fail(exc, "sts get-caller-identity") from exc
