"""Secrets Manager for drill checks: a secret is read in the Region its ARN names.

Every ``ClientError`` becomes a domain error through the common table (``errors.translate``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..arns import parse_arn
from .errors import BOTO_ERRORS, translate

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient
else:
    SecretsManagerClient = Any


def secret_region(secret_arn: str) -> str:
    return parse_arn(secret_arn, field="checks.sql.secret_arn").region


class SecretsManagerStore:
    """``client_for(region)``: the Secrets Manager client of a Region (built on first use by the caller)."""

    def __init__(self, client_for: Callable[[str], SecretsManagerClient]) -> None:
        self._client_for = client_for

    def describe(self, secret_arn: str) -> None:
        try:
            self._client_for(secret_region(secret_arn)).describe_secret(SecretId=secret_arn)
        except BOTO_ERRORS as exc:
            raise translate(exc, f"describe secret {secret_arn}") from exc

    def secret_string(self, secret_arn: str) -> str:
        """The secret's text (empty when it holds only binary data)."""
        try:
            value = self._client_for(secret_region(secret_arn)).get_secret_value(SecretId=secret_arn)
        except BOTO_ERRORS as exc:
            raise translate(exc, f"read secret {secret_arn}") from exc
        return value.get("SecretString") or ""  # a binary secret has none: not credentials either
