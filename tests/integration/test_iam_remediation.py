"""Least privilege of the remediation role, read from template.yaml (the emulator does not evaluate IAM)."""

from __future__ import annotations

import pytest

from local_runtime.template import Template
from tests.integration.test_iam import READ_ACTION, Statement, _statements

REMEDIATION_WRITES = {
    "rds:ModifyDBInstance": "arn:aws:rds:us-east-1:123456789012:db:*",
    "rds:ModifyDBCluster": "arn:aws:rds:us-east-1:123456789012:cluster:*",
    # Called in the DR Region; authorised on the source instance.
    "rds:StartDBInstanceAutomatedBackupsReplication": "arn:aws:rds:us-east-1:123456789012:db:*",
    "dynamodb:UpdateContinuousBackups": "arn:aws:dynamodb:us-east-1:123456789012:table/*",
}


@pytest.fixture(scope="module")
def statements(template: Template) -> list[Statement]:
    return list(_statements(template))


@pytest.mark.parametrize("action", sorted(REMEDIATION_WRITES))
def test_backup_settings_change_only_on_protected_resources_of_this_region(
    statements: list[Statement], action: str
) -> None:
    granting = [s for s in statements if action in s.actions and s.effect == "Allow"]
    assert [s.role for s in granting] == ["RemediateFunction"]
    [statement] = granting
    assert statement.actions == (action,)
    assert statement.resources == (REMEDIATION_WRITES[action],)
    # The policy tag is present and is not "none" (in any case): an unprotected resource is refused by IAM too.
    assert statement.operator("Null") == {"aws:ResourceTag/restorable:policy": "false"}
    assert statement.operator("StringNotEqualsIgnoreCase") == {"aws:ResourceTag/restorable:policy": "none"}


def test_the_remediation_role_uses_dr_keys_only_through_rds_there(
    statements: list[Statement], template: Template
) -> None:
    [kms] = [s for s in statements if s.role == "RemediateFunction" and "kms:CreateGrant" in s.actions]
    assert set(kms.actions) == {"kms:CreateGrant", "kms:DescribeKey"}
    assert kms.resources == ("arn:aws:kms:us-west-2:123456789012:key/*",)
    via = template.resolve(kms.operator("StringEquals")["kms:ViaService"])
    assert via == "rds.us-west-2.amazonaws.com"


def test_the_remediation_role_creates_deletes_and_tags_nothing(statements: list[Statement]) -> None:
    actions = {a for s in statements if s.role == "RemediateFunction" for a in s.actions if not READ_ACTION.match(a)}
    forbidden = [a for a in actions if any(verb in a for verb in ("Create", "Delete", "Tag", "Restore", "Stop"))]
    assert forbidden == ["kms:CreateGrant"]
