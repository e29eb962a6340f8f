"""Backup policies are data: a JSON document validated on load.

A policy names the snapshot kinds it wants (each with a retention and whether a DR copy
is made) and the automated-backup settings verification holds a database to. When each
scheduled kind fires is stack-wide (template parameters), not per policy.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from .errors import PolicyError
from .validation import describe_problems

KindName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9]{0,19}$")]
PolicyName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
ON_DEMAND_KINDS = frozenset({"predeploy"})
RESERVED_POLICY_NAMES = frozenset({"none"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class SnapshotRule(_Strict):
    """How long one kind of snapshot is kept, and whether it gets a DR copy."""

    retention_days: int = Field(ge=1, le=36500)
    dr_copy: bool


class AutomatedBackupRule(_Strict):
    """What verification expects of the database's own automated backups."""

    retention_days: int = Field(ge=1, le=35)
    dr_replication: bool = False


class PointInTimeRecoveryRule(_Strict):
    """What verification expects of a DynamoDB table's point-in-time recovery."""

    recovery_period_days: int = Field(ge=1, le=35)


class Policy(_Strict):
    """One policy for every engine: each engine uses the kinds it supports (``engines.ENGINES``)."""

    description: str = ""
    automated_backups: AutomatedBackupRule
    # DynamoDB tables; absent: a table under this policy is held to the service's maximum, 35 days.
    point_in_time_recovery: PointInTimeRecoveryRule = PointInTimeRecoveryRule(recovery_period_days=35)
    # Opt-in: turn on the backup settings the policy asks for (never loosening a stricter one).
    remediate: bool = False
    snapshots: dict[KindName, SnapshotRule]

    def rule_for(self, kind: str) -> SnapshotRule | None:
        return self.snapshots.get(kind)


class PolicyDocument(_Strict):
    version: int = Field(ge=1, le=1)
    policies: dict[PolicyName, Policy] = Field(min_length=1)

    def get(self, name: str) -> Policy | None:
        return self.policies.get(name)

    def kinds(self) -> frozenset[str]:
        return frozenset(kind for policy in self.policies.values() for kind in policy.snapshots)


def parse_policy_document(text: str, scheduled_kinds: frozenset[str] | None = None) -> PolicyDocument:
    """Parse and validate a policy document; raise ``PolicyError`` naming the bad field.

    When ``scheduled_kinds`` is given, every kind a policy uses must either have a
    schedule or be an on-demand kind (``predeploy``).
    """
    try:
        raw: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PolicyError(
            f"policy document is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    try:
        document = PolicyDocument.model_validate(raw)
    except ValidationError as exc:
        raise PolicyError(f"invalid policy document: {describe_problems(exc, top='(document)')}") from exc
    for name in document.policies:
        if name.lower() in RESERVED_POLICY_NAMES:
            raise PolicyError(f"invalid policy document: policies.{name}: '{name}' is reserved for unmanaged resources")
    if scheduled_kinds is not None:
        for name, policy in document.policies.items():
            for kind in policy.snapshots:
                if kind not in scheduled_kinds and kind not in ON_DEMAND_KINDS:
                    known = ", ".join(sorted(scheduled_kinds | ON_DEMAND_KINDS))
                    raise PolicyError(
                        f"invalid policy document: policies.{name}.snapshots.{kind}: "
                        f"no schedule is declared for kind '{kind}' (known kinds: {known})"
                    )
    return document


def default_policy_text() -> str:
    """The policy document shipped with the layer (``default_policies.json``)."""
    return resources.files(__package__).joinpath("default_policies.json").read_text(encoding="utf-8")
