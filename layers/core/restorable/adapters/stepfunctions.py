"""Step Functions for the drill scheduler: start one execution of the drill state machine.

Every ``ClientError`` becomes a domain error through the common table (``errors.translate``);
``ExecutionAlreadyExists`` (a finished execution of that name) is an ``AlreadyExistsError``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pydantic import JsonValue

from .errors import BOTO_ERRORS, translate

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient
else:
    SFNClient = Any


class StateMachineStarter:
    def __init__(self, client: SFNClient, state_machine_arn: str) -> None:
        self._client = client
        self.state_machine_arn = state_machine_arn

    def start(self, name: str, document: dict[str, JsonValue]) -> str:
        """Start the execution ``name`` with ``document`` as its input; its ARN."""
        try:
            started = self._client.start_execution(
                stateMachineArn=self.state_machine_arn, name=name, input=json.dumps(document)
            )
        except BOTO_ERRORS as exc:
            raise translate(exc, f"start execution {name}") from exc
        return started["executionArn"]
