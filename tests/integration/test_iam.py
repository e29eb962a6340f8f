"""Least privilege, read from template.yaml: every write is conditioned or bounded, ownership tags cannot be forged.

The emulator does not evaluate IAM, so these tests read the statements the template declares. The rules
are written once (generic, for every role of the template); where AWS offers no condition key, the
exception is listed here with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from local_runtime.template import Template

STACK_REF = {"Ref": "AWS::StackName"}
READ_ACTION = re.compile(r"^[a-z0-9-]+:(Describe|List|Get|BatchGet|Query|Scan|Head)[A-Za-z]*$")
# A Resource that names every resource of a type (or everything): "*", "...:db:*", "...:secret:*", "key/*".
# "table/*/backup/*": every backup of every table.
_WILDCARD_TAIL = re.compile(r"(^\*$|:\*$|:[a-z-]+:\*$|:[a-z-]+/\*$|:[a-z-]+/\*/[a-z-]+/\*$)")
TAG_KEYS = "aws:TagKeys"
SNAPSHOT_KEYS = {
    "restorable:managed-by",
    "restorable:kind",
    "restorable:expires-at",
    "restorable:source",
    "restorable:policy",
}


@dataclass(frozen=True)
class Statement:
    role: str
    sid: str
    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    condition: dict[str, Any]

    def operator(self, name: str) -> dict[str, Any]:
        return dict(self.condition.get(name, {}))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _chosen(template: Template, raw: Any) -> Any:
    """A policy behind a condition (``Fn::If [cond, policy, AWS::NoValue]``) as the template's parameters decide."""
    if isinstance(raw, dict) and set(raw) == {"Fn::If"}:
        name, when_true, when_false = raw["Fn::If"]
        raw = when_true if template.conditions[name] else when_false
    return None if raw == {"Ref": "AWS::NoValue"} else raw


def _statements(template: Template) -> Iterator[Statement]:
    for logical_id, resource in template.resources.items():
        if resource["Type"] not in ("AWS::Serverless::Function", "AWS::Serverless::StateMachine"):
            continue
        for policy in (_chosen(template, item) for item in resource["Properties"].get("Policies", [])):
            if not isinstance(policy, dict) or "Statement" not in policy:
                continue  # SAM policy templates (LambdaInvokePolicy...) are scoped by their parameter
            for raw in policy["Statement"]:
                assert raw.get("Effect") in ("Allow", "Deny"), (logical_id, raw)
                yield Statement(
                    role=logical_id,
                    sid=str(raw.get("Sid", "")),
                    effect=str(raw["Effect"]),
                    actions=tuple(_as_list(raw["Action"])),
                    resources=tuple(str(template.resolve(r)) for r in _as_list(raw["Resource"])),
                    condition=dict(raw.get("Condition", {})),
                )


@pytest.fixture(scope="module")
def statements(template: Template) -> list[Statement]:
    return list(_statements(template))


def _find(statements: list[Statement], role: str, sid: str) -> Statement:
    [found] = [s for s in statements if s.role == role and s.sid == sid]
    return found


# Write statements with a wildcard resource and no condition, each with the reason AWS leaves no better choice.
UNCONDITIONED_WILDCARD_EXCEPTIONS = {
    ("PredeployFunction", "ReportCodePipelineJobResults"): (
        "codepipeline:PutJobSuccessResult/PutJobFailureResult support no resource-level permissions"
    ),
    ("DrillStateMachine", "DeliverExecutionLogs"): (
        "CloudWatch Logs log delivery actions (CreateLogDelivery, PutResourcePolicy...) support only Resource '*'"
    ),
    ("DrillStateMachine", "Traces"): "X-Ray PutTraceSegments/PutTelemetryRecords support only Resource '*'",
    ("DrillFunction", "RestoreTableBackupsOfThisRegion"): (
        "dynamodb:RestoreTableFromBackup is authorized on the backup, which has no condition keys (backups cannot "
        "be tagged); the target is bounded to drill tables by RestoreIntoAndReadDrillTablesOnly, and the backup's "
        "name proves it is this stack's backup of the source"
    ),
    ("PruneFunction", "DeleteTableBackupsOfThisRegion"): (
        "dynamodb:DeleteBackup's backup resource has no condition keys (backups cannot be tagged) and its ARN "
        "carries an id, not the name: the name contract, the holds store and the planner prove ownership"
    ),
}


def test_no_write_action_has_an_unconditioned_wildcard_resource(statements: list[Statement]) -> None:
    offenders = []
    for statement in statements:
        writes = [a for a in statement.actions if not READ_ACTION.match(a)]
        wildcard = [r for r in statement.resources if _WILDCARD_TAIL.search(r)]
        if writes and wildcard and not statement.condition:
            offenders.append((statement.role, statement.sid))
    unexplained = [o for o in offenders if o not in UNCONDITIONED_WILDCARD_EXCEPTIONS]
    assert unexplained == [], f"write actions on wildcard resources without a condition: {unexplained}"
    stale = set(UNCONDITIONED_WILDCARD_EXCEPTIONS) - set(offenders)
    assert not stale, f"exceptions that no longer apply (remove them): {sorted(stale)}"


def test_no_statement_grants_a_service_wildcard_action(statements: list[Statement]) -> None:
    assert [(s.role, s.sid) for s in statements if any(a.endswith(":*") or a == "*" for a in s.actions)] == []


def test_every_tag_write_names_this_stack_as_owner_and_never_relabels_another_owner(
    statements: list[Statement],
) -> None:
    """AddTagsToResource: either tag-on-create (request tag = this stack, existing owner must be this stack)
    or bookkeeping on recovery points this stack already owns (resource tag = this stack)."""
    tagging = [s for s in statements if {"rds:AddTagsToResource", "elasticache:AddTagsToResource"} & set(s.actions)]
    assert {s.role for s in tagging} >= {"SnapshotFunction", "PredeployFunction", "CopyFunction", "DrillFunction"}
    assert [
        s.sid for s in tagging if "elasticache:AddTagsToResource" in s.actions and s.role == "SnapshotFunction"
    ] == ["TagOnlyCacheSnapshotsItCreates"]
    for statement in tagging:
        equals = statement.operator("StringEquals")
        owned_already = equals.get("aws:ResourceTag/restorable:managed-by") == STACK_REF
        on_create = (
            equals.get("aws:RequestTag/restorable:managed-by") == STACK_REF
            and statement.operator("StringEqualsIfExists").get("aws:ResourceTag/restorable:managed-by") == STACK_REF
        )
        assert owned_already or on_create, (statement.role, statement.sid)
        assert not any(r.endswith(":*") for r in statement.resources if ":db:" in r or ":cluster:" in r), statement


@pytest.mark.parametrize(
    ("role", "sid", "keys"),
    [
        (
            "SnapshotFunction",
            "TagOnlySnapshotsItCreates",
            {
                "restorable:managed-by",
                "restorable:kind",
                "restorable:expires-at",
                "restorable:source",
                "restorable:policy",
            },
        ),
        (
            "SnapshotFunction",
            "CreateSnapshotsOwnedByThisStack",
            {
                "restorable:managed-by",
                "restorable:kind",
                "restorable:expires-at",
                "restorable:source",
                "restorable:policy",
            },
        ),
        (
            "PredeployFunction",
            "TagOnlySnapshotsItCreates",
            {
                "restorable:managed-by",
                "restorable:kind",
                "restorable:expires-at",
                "restorable:source",
                "restorable:policy",
                "restorable:job-id",
            },
        ),
        ("CopyFunction", "CountCopyAttemptsOnOwnedSourceSnapshots", {"restorable:copy-attempts"}),
        (
            "DrillFunction",
            "RestoreIntoTaggedDrillResourcesOnly",
            {
                "restorable:managed-by",
                "restorable:kind",
                "restorable:expires-at",
                "restorable:source",
                "restorable:drill-execution",
            },
        ),
    ],
)
def test_tag_keys_are_limited_to_the_contract_keys_each_role_needs(
    statements: list[Statement], role: str, sid: str, keys: set[str]
) -> None:
    statement = _find(statements, role, sid)
    assert set(statement.operator("ForAllValues:StringEquals")[TAG_KEYS]) == keys
    assert "restorable:legal-hold" not in keys


def test_created_snapshot_names_are_bounded_to_what_each_role_creates(statements: list[Statement]) -> None:
    for role, pattern in (("SnapshotFunction", "-????-??-??"), ("PredeployFunction", "-predeploy-??????????????")):
        for sid in ("CreateSnapshotsOwnedByThisStack", "TagOnlySnapshotsItCreates"):
            statement = _find(statements, role, sid)
            assert statement.resources, (role, sid)
            assert all(r.endswith(pattern) for r in statement.resources), (role, sid)
    copies = _find(statements, "CopyFunction", "CreateCopiesOwnedByThisStackInDrRegion")
    assert copies.resources
    assert all(":us-west-2:" in r and not r.endswith(":*") for r in copies.resources)
    # The copy keeps the original's tags (owner-set keys included): the key set is not limited, the owner is.
    assert copies.operator("StringEquals")["aws:RequestTag/restorable:managed-by"] == STACK_REF


DRILL_REQUEST_TAGS = {
    "aws:RequestTag/restorable:kind": "drill",
    "aws:RequestTag/restorable:managed-by": STACK_REF,
}
DRILL_TAG_KEYS = {
    "restorable:managed-by",
    "restorable:kind",
    "restorable:expires-at",
    "restorable:source",
    "restorable:drill-execution",
}
CREATES_A_DATABASE = {
    "rds:RestoreDBInstanceFromDBSnapshot",
    "rds:RestoreDBInstanceToPointInTime",
    "rds:RestoreDBClusterFromSnapshot",
    "rds:RestoreDBClusterToPointInTime",
    "rds:CreateDBInstance",
}


def _creating(statements: list[Statement]) -> list[Statement]:
    return [s for s in statements if s.effect == "Allow" and CREATES_A_DATABASE & set(s.actions)]


@pytest.mark.parametrize(
    ("resource_type", "sid", "tag_key"),
    [
        ("snapshot", "RestoreOnlySnapshotsOfThisStack", "rds:snapshot-tag"),
        ("cluster-snapshot", "RestoreOnlyClusterSnapshotsOfThisStack", "rds:cluster-snapshot-tag"),
    ],
)
def test_snapshot_restores_need_a_snapshot_this_stack_owns(
    statements: list[Statement], resource_type: str, sid: str, tag_key: str
) -> None:
    """Ownership is read from the snapshot resource by its own key, so no other resource of the request can
    stand in for it; the statement names only snapshots of that type."""
    from_snapshot = {"rds:RestoreDBInstanceFromDBSnapshot", "rds:RestoreDBClusterFromSnapshot"}
    on_type = [
        s for s in statements if from_snapshot & set(s.actions) and any(f":{resource_type}:" in r for r in s.resources)
    ]
    assert [s.sid for s in on_type] == [sid]
    [statement] = on_type
    assert statement.resources
    assert all(f":{resource_type}:" in r for r in statement.resources)
    assert statement.operator("StringEquals")[f"{tag_key}/restorable:managed-by"] == STACK_REF
    assert statement.operator("Null")[f"{tag_key}/restorable:source"] == "false"
    assert statement.operator("Null")[f"{tag_key}/restorable:policy"] == "false"


def test_point_in_time_restores_read_only_protected_sources(statements: list[Statement]) -> None:
    """PITR authorizes source and target under one resource type (db or cluster): a statement naming any
    database but drill-named ones is the source statement, and it needs the protection tag on the source."""
    pitr = {"rds:RestoreDBInstanceToPointInTime", "rds:RestoreDBClusterToPointInTime"}
    sources = []
    for statement in (s for s in statements if pitr & set(s.actions)):
        databases = [r for r in statement.resources if re.search(r":(db|cluster):", r)]
        if databases and not all(re.search(r":(db|cluster):drill-\*$", r) for r in databases):
            sources.append(statement)
    assert [(s.role, s.sid) for s in sources] == [("DrillFunction", "RestoreFromProtectedSourcesToPointInTime")]
    [source] = sources
    assert set(source.actions) == pitr
    assert source.operator("Null")["aws:ResourceTag/restorable:policy"] == "false"
    assert all(":us-east-1:" in r for r in source.resources), "PITR reads sources in the stack's Region only"


def test_restores_create_only_drill_named_and_drill_tagged_databases(statements: list[Statement]) -> None:
    statement = _find(statements, "DrillFunction", "RestoreIntoTaggedDrillResourcesOnly")
    assert statement.resources
    assert all(re.search(r":(db|cluster):drill-\*$", r) for r in statement.resources)
    assert statement.operator("StringEquals") == DRILL_REQUEST_TAGS
    assert set(statement.operator("ForAllValues:StringEquals")[TAG_KEYS]) == DRILL_TAG_KEYS


def test_every_statement_a_restore_needs_requires_the_drill_request_tags(statements: list[Statement]) -> None:
    """Source, snapshot, groups and target are authorized in one request: each of their statements requires
    the new database to be tagged as this stack's drill of one execution, so none of them lends itself to a
    restore into anything else."""
    creating = _creating(statements)
    assert {s.role for s in creating} == {"DrillFunction"}
    assert len(creating) >= 6
    for statement in creating:
        equals = statement.operator("StringEquals")
        assert {k: equals.get(k) for k in DRILL_REQUEST_TAGS} == DRILL_REQUEST_TAGS, statement.sid
        assert statement.operator("Null").get("aws:RequestTag/restorable:drill-execution") == "false", statement.sid


def test_request_tags_never_carry_a_protection_policy(statements: list[Statement]) -> None:
    """A drill is not protected: where a statement limits the keys, restorable:policy is not among them, so a
    restore cannot label its target as a protected source of a later point-in-time restore."""
    limited = [s for s in _creating(statements) if TAG_KEYS in s.operator("ForAllValues:StringEquals")]
    assert {s.sid for s in limited} >= {
        "RestoreIntoTaggedDrillResourcesOnly",
        "RestoreFromProtectedSourcesToPointInTime",
    }
    for statement in limited:
        assert set(statement.operator("ForAllValues:StringEquals")[TAG_KEYS]) == DRILL_TAG_KEYS, statement.sid


def test_cluster_members_are_added_only_to_drill_clusters(statements: list[Statement]) -> None:
    statement = _find(statements, "DrillFunction", "AddInstanceToDrillClusterOnly")
    assert statement.actions == ("rds:CreateDBInstance",)
    assert statement.resources
    assert all(re.search(r":cluster:drill-\*$", r) for r in statement.resources)
    equals = statement.operator("StringEquals")
    assert equals["aws:ResourceTag/restorable:kind"] == "drill"
    assert equals["aws:ResourceTag/restorable:managed-by"] == STACK_REF


@pytest.mark.parametrize("action", ["rds:DeleteDBInstance", "rds:DeleteDBCluster"])
def test_drill_deletes_need_the_drill_tags(statements: list[Statement], action: str) -> None:
    deleting = [s for s in statements if action in s.actions]
    assert {s.role for s in deleting} == {"DrillFunction", "DrillJanitorFunction"}
    for statement in deleting:
        assert all(re.search(r":(db|cluster):drill-\*$", r) for r in statement.resources)
        assert statement.operator("StringEquals") == {
            "aws:ResourceTag/restorable:kind": "drill",
            "aws:ResourceTag/restorable:managed-by": STACK_REF,
        }


def test_snapshot_deletes_need_this_stacks_ownership(statements: list[Statement]) -> None:
    deleting = [s for s in statements if {"rds:DeleteDBSnapshot", "rds:DeleteDBClusterSnapshot"} & set(s.actions)]
    assert deleting
    owner_keys = {
        "aws:ResourceTag/restorable:managed-by",
        "rds:snapshot-tag/restorable:managed-by",
        "rds:cluster-snapshot-tag/restorable:managed-by",
    }
    allowing = [s for s in deleting if s.effect == "Allow"]
    assert allowing
    for statement in allowing:
        equals = statement.operator("StringEquals")
        assert [equals[k] for k in owner_keys & set(equals)] == [STACK_REF], statement.sid


def test_the_check_role_reads_only_secrets_of_drill_instances_or_shared_with_drills(
    statements: list[Statement],
) -> None:
    reading = [s for s in statements if "secretsmanager:GetSecretValue" in s.actions]
    assert {s.role for s in reading} == {"DrillCheckFunction"}
    by_sid = {s.sid: s for s in reading}
    managed = by_sid.pop("ReadManagedSecretsOfDrillInstances")
    assert managed.resources == ("arn:aws:secretsmanager:*:123456789012:secret:rds!*",)
    assert managed.operator("StringLike") == {
        "secretsmanager:ResourceTag/aws:rds:primaryDBInstanceArn": {
            "Fn::Sub": "arn:${AWS::Partition}:rds:*:${AWS::AccountId}:db:drill-*"
        }
    }
    shared = by_sid.pop("ReadSecretsSharedWithDrills")
    assert shared.operator("StringEquals") == {"secretsmanager:ResourceTag/restorable:drill-access": "true"}
    assert by_sid == {}


# ---- DynamoDB ----

DYNAMODB_WRITES = {"dynamodb:CreateBackup", "dynamodb:DeleteBackup", "dynamodb:PutItem", "dynamodb:UpdateItem"}


def test_table_backups_are_created_only_of_protected_tables_of_this_region(statements: list[Statement]) -> None:
    creating = [s for s in statements if "dynamodb:CreateBackup" in s.actions]
    assert sorted((s.role, s.sid) for s in creating) == [
        ("PredeployFunction", "BackUpOnlyProtectedTables"),
        ("SnapshotFunction", "BackUpOnlyProtectedTables"),
    ]
    for statement in creating:
        assert statement.actions == ("dynamodb:CreateBackup",)
        assert statement.resources == ("arn:aws:dynamodb:us-east-1:123456789012:table/*",)
        assert statement.operator("Null") == {"aws:ResourceTag/restorable:policy": "false"}


def test_the_predeploy_function_reads_tables_and_its_backups_only_in_this_region(statements: list[Statement]) -> None:
    granted = {a for s in statements if s.role == "PredeployFunction" for a in s.actions if a.startswith("dynamodb:")}
    assert granted & DYNAMODB_WRITES == {"dynamodb:CreateBackup"}  # never a delete, never the holds table
    assert _find(statements, "PredeployFunction", "ListTables").resources == ("*",)  # no resource-level permissions
    reading = _find(statements, "PredeployFunction", "ReadTables")
    assert set(reading.actions) == {"dynamodb:DescribeTable", "dynamodb:ListTagsOfResource"}
    assert reading.resources == ("arn:aws:dynamodb:us-east-1:123456789012:table/*",)
    backups = _find(statements, "PredeployFunction", "ReadTableBackups")
    assert backups.actions == ("dynamodb:DescribeBackup",)
    assert backups.resources == ("arn:aws:dynamodb:us-east-1:123456789012:table/*/backup/*",)


def test_table_backups_are_deleted_only_by_the_prune_and_only_in_this_region(statements: list[Statement]) -> None:
    deleting = [s for s in statements if "dynamodb:DeleteBackup" in s.actions]
    assert [(s.role, s.sid) for s in deleting] == [("PruneFunction", "DeleteTableBackupsOfThisRegion")]
    [statement] = deleting
    assert statement.actions == ("dynamodb:DeleteBackup",)
    assert statement.resources == ("arn:aws:dynamodb:us-east-1:123456789012:table/*/backup/*",)


@pytest.mark.parametrize("role", ["SnapshotFunction", "PruneFunction"])
def test_only_listing_tables_and_backups_takes_every_resource(statements: list[Statement], role: str) -> None:
    listing = _find(statements, role, "ListTablesAndBackups")
    assert set(listing.actions) == {"dynamodb:ListTables", "dynamodb:ListBackups"}  # no resource-level permissions
    assert listing.resources == ("*",)


def test_only_the_snapshot_function_reads_tables_and_only_in_this_region(statements: list[Statement]) -> None:
    """The prune needs only which tables exist (ListTables); the snapshot function reads their policy tags."""
    reading = [s for s in statements if {"dynamodb:DescribeTable", "dynamodb:ListTagsOfResource"} & set(s.actions)]
    assert [(s.role, s.sid) for s in reading if s.role in ("SnapshotFunction", "PruneFunction")] == [
        ("SnapshotFunction", "ReadTables")
    ]
    [statement] = [s for s in reading if s.role == "SnapshotFunction"]
    assert set(statement.actions) == {"dynamodb:DescribeTable", "dynamodb:ListTagsOfResource"}
    assert statement.resources == ("arn:aws:dynamodb:us-east-1:123456789012:table/*",)


def test_the_prune_reads_the_holds_store_and_never_writes_it(statements: list[Statement]) -> None:
    holds = _find(statements, "PruneFunction", "ReadLegalHolds")
    assert holds.actions == ("dynamodb:Scan",)
    assert holds.resources == ("arn:aws:dynamodb:us-east-1:123456789012:table/restorable-HoldsTable",)
    prune_dynamodb = {
        a for s in statements if s.role == "PruneFunction" for a in s.actions if a.startswith("dynamodb:")
    }
    assert prune_dynamodb & DYNAMODB_WRITES == {"dynamodb:DeleteBackup"}


# ---- DynamoDB exports to the DR Region ----

EXPORT_BUCKET = "restorable-dr-exports-123456789012"
EXPORT_KEY = "arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.fixture(scope="module")
def exporting() -> list[Statement]:
    """The statements with exports on (the default template, DrExportBucket empty, does not deploy the function)."""
    return list(
        _statements(
            Template.load(
                region="us-east-1",
                parameter_overrides={"DrExportBucket": EXPORT_BUCKET, "DrExportKmsKeyArn": EXPORT_KEY},
            )
        )
    )


def test_only_the_export_function_exports_and_only_protected_tables_of_this_region(
    exporting: list[Statement],
) -> None:
    """DynamoDB's table resource takes aws:ResourceTag conditions (ABAC): an untagged table cannot be exported."""
    starting = [s for s in exporting if "dynamodb:ExportTableToPointInTime" in s.actions]
    assert [(s.role, s.sid) for s in starting] == [("ExportFunction", "ExportOnlyProtectedTables")]
    [statement] = starting
    assert statement.actions == ("dynamodb:ExportTableToPointInTime",)
    assert statement.resources == ("arn:aws:dynamodb:us-east-1:123456789012:table/*",)
    assert statement.operator("Null") == {"aws:ResourceTag/restorable:policy": "false"}


def test_exports_are_written_only_under_this_stacks_dynamodb_prefix_of_the_dr_bucket(
    exporting: list[Statement],
) -> None:
    writing = [s for s in exporting if any(a.startswith("s3:Put") for a in s.actions) and s.role == "ExportFunction"]
    assert [s.sid for s in writing] == ["WriteExportsUnderThisStacksPrefix"]
    [statement] = writing
    assert set(statement.actions) == {"s3:PutObject", "s3:AbortMultipartUpload", "s3:PutObjectAcl"}
    assert statement.resources == (f"arn:aws:s3:::{EXPORT_BUCKET}/dynamodb/restorable/*",)
    # The elasticache/ prefix (cache exports) and the bucket itself are out of reach.
    assert not any(a.startswith(("s3:Delete", "s3:Get", "s3:List")) for s in writing for a in s.actions)


def test_the_export_key_is_used_only_through_s3_in_the_dr_region(exporting: list[Statement]) -> None:
    statement = _find(exporting, "ExportFunction", "EncryptExportsWithTheDrKeyThroughS3")
    assert set(statement.actions) == {"kms:GenerateDataKey", "kms:Decrypt"}
    assert statement.resources == (EXPORT_KEY,)
    assert statement.operator("StringEquals") == {"kms:ViaService": {"Fn::Sub": "s3.${DrRegion}.amazonaws.com"}}
    kms_roles = {
        s.sid for s in exporting if s.role == "ExportFunction" and any(a.startswith("kms:") for a in s.actions)
    }
    assert kms_roles == {"EncryptExportsWithTheDrKeyThroughS3"}


def test_the_export_function_reads_but_never_backs_up_deletes_or_writes_items(exporting: list[Statement]) -> None:
    actions = {a for s in exporting if s.role == "ExportFunction" for a in s.actions if a.startswith("dynamodb:")}
    assert actions == {
        "dynamodb:ListTables",
        "dynamodb:ListExports",
        "dynamodb:DescribeTable",
        "dynamodb:ListTagsOfResource",
        "dynamodb:DescribeContinuousBackups",
        "dynamodb:DescribeExport",
        "dynamodb:ExportTableToPointInTime",
    }
    described = _find(exporting, "ExportFunction", "ReadExports")
    assert described.resources == ("arn:aws:dynamodb:us-east-1:123456789012:table/*/export/*",)
    listing = _find(exporting, "ExportFunction", "ListTablesAndExports")
    assert listing.resources == ("*",)  # ListTables and ListExports support no resource-level permissions


def test_verification_reads_exports_and_never_starts_one(exporting: list[Statement]) -> None:
    verify = {a for s in exporting if s.role == "VerifyFunction" for a in s.actions}
    assert {"dynamodb:ListExports", "dynamodb:DescribeExport"} <= verify
    # It reads the DR bucket's cache exports; it never writes, deletes or starts an export.
    assert {a for a in verify if a.startswith("s3:")} <= {"s3:ListBucket", "s3:GetObject"}
    assert "dynamodb:ExportTableToPointInTime" not in verify


# ---- ElastiCache (pre-deploy) ----

PREDEPLOY_CACHE_SNAPSHOT_KEYS = SNAPSHOT_KEYS | {"restorable:job-id", "restorable:created-at"}


def test_the_predeploy_function_snapshots_only_protected_caches_into_predeploy_names_it_owns(
    statements: list[Statement],
) -> None:
    protected = _find(statements, "PredeployFunction", "SnapshotOnlyProtectedCaches")
    assert set(protected.actions) == {"elasticache:CreateSnapshot", "elasticache:CreateServerlessCacheSnapshot"}
    assert protected.operator("Null") == {"aws:ResourceTag/restorable:policy": "false"}
    assert all(
        r.startswith("arn:aws:elasticache:us-east-1:123456789012:") and r.split(":")[-2] in CACHE_TYPES
        for r in protected.resources
    )
    for sid in ("CreateCacheSnapshotsOwnedByThisStack", "TagOnlyCacheSnapshotsItCreates"):
        statement = _find(statements, "PredeployFunction", sid)
        assert statement.resources
        assert all(r.endswith(":*-predeploy-??????????????") for r in statement.resources), sid
        assert statement.operator("StringEquals")["aws:RequestTag/restorable:managed-by"] == STACK_REF
        assert set(statement.operator("ForAllValues:StringEquals")[TAG_KEYS]) == PREDEPLOY_CACHE_SNAPSHOT_KEYS
    tagging = _find(statements, "PredeployFunction", "TagOnlyCacheSnapshotsItCreates")
    assert tagging.actions == ("elasticache:AddTagsToResource",)
    assert tagging.operator("StringEqualsIfExists")["aws:ResourceTag/restorable:managed-by"] == STACK_REF
    granted = {
        a for s in statements if s.role == "PredeployFunction" for a in s.actions if a.startswith("elasticache:")
    }
    assert not {a for a in granted if a.split(":")[1].startswith(("Delete", "Modify", "Copy", "Export"))}


CACHE_TYPES = {"replicationgroup", "cluster", "serverlesscache"}


# ---- ElastiCache exports to the DR Region

DR_EXPORT_KEY = "arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
EXPORTS_ON = {"DrExportBucket": "restorable-dr-exports", "DrExportKmsKeyArn": DR_EXPORT_KEY}


@pytest.fixture(scope="module")
def exports_on() -> list[Statement]:
    return list(_statements(Template.load(region="us-east-1", parameter_overrides=EXPORTS_ON)))


@pytest.mark.parametrize(
    ("action", "sid", "resource"),
    [
        (
            "elasticache:CopySnapshot",
            "ExportOnlySnapshotsOwnedByThisStack",
            "arn:aws:elasticache:us-east-1:123456789012:snapshot:*-daily-????-??-??",
        ),
        (
            "elasticache:ExportServerlessCacheSnapshot",
            "ExportOnlyServerlessSnapshotsOwnedByThisStack",
            "arn:aws:elasticache:us-east-1:123456789012:serverlesscachesnapshot:*-daily-????-??-??",
        ),
    ],
)
def test_only_this_stacks_daily_cache_snapshots_are_exported(
    exports_on: list[Statement], action: str, sid: str, resource: str
) -> None:
    """CopySnapshot with TargetBucket writes a snapshot's data out of ElastiCache: only ours, by tag."""
    exporting = [s for s in exports_on if action in s.actions]
    assert [(s.role, s.sid) for s in exporting] == [("CacheExportFunction", sid)]
    [statement] = exporting
    assert statement.actions == (action,)
    assert statement.resources == (resource,)
    assert statement.operator("StringEquals") == {"aws:ResourceTag/restorable:managed-by": STACK_REF}


def test_the_export_role_reaches_only_the_staging_bucket_and_the_dr_buckets_cache_prefix(
    exports_on: list[Statement],
) -> None:
    staging = "arn:aws:s3:::restorable-cacheexportbucket"
    dr = "arn:aws:s3:::restorable-dr-exports"
    s3 = [s for s in exports_on if s.role == "CacheExportFunction" and any(a.startswith("s3:") for a in s.actions)]
    assert s3
    for statement in s3:
        if statement.actions == ("s3:ListAllMyBuckets",):  # CopySnapshot's check; no resource-level permission
            continue
        for resource in statement.resources:
            assert resource in (staging, dr) or resource.startswith((f"{staging}/", f"{dr}/elasticache/")), (
                statement.sid,
                resource,
            )
        if statement.resources == (dr,):
            assert statement.actions == ("s3:ListBucket",)
            assert statement.operator("StringLike") == {"s3:prefix": "elasticache/*"}
    [write] = [s for s in s3 if "s3:PutObject" in s.actions and any(r.startswith(dr) for r in s.resources)]
    assert write.actions == ("s3:PutObject",)
    assert write.operator("StringEqualsIfExists") == {
        "s3:x-amz-server-side-encryption": "aws:kms",
        "s3:x-amz-server-side-encryption-aws-kms-key-id": {"Ref": "DrExportKmsKeyArn"},
    }
    deleting = [s for s in exports_on if "s3:DeleteObject" in s.actions]
    assert [(s.role, s.resources) for s in deleting] == [
        ("CacheExportFunction", (f"{staging}/*-daily-????-??-??*.rdb",))
    ], "only staged exports are ever deleted; the DR copies expire by the DR bucket's lifecycle"


def test_the_export_role_uses_only_the_dr_key_and_only_through_s3(exports_on: list[Statement]) -> None:
    kms = [s for s in exports_on if s.role == "CacheExportFunction" and any(a.startswith("kms:") for a in s.actions)]
    assert [s.sid for s in kms] == ["EncryptDrExportsThroughS3"]
    [statement] = kms
    assert statement.resources == (DR_EXPORT_KEY,)
    assert set(statement.actions) == {"kms:GenerateDataKey", "kms:Decrypt"}
    assert statement.operator("StringEquals") == {"kms:ViaService": {"Fn::Sub": "s3.${DrRegion}.amazonaws.com"}}


def test_verification_reads_the_dr_exports_only_when_they_are_on(
    exports_on: list[Statement], statements: list[Statement]
) -> None:
    reading = [s for s in exports_on if s.role == "VerifyFunction" and any(a.startswith("s3:") for a in s.actions)]
    assert {(s.sid, s.actions, s.resources) for s in reading} == {
        ("ListCacheExportsInDrBucket", ("s3:ListBucket",), ("arn:aws:s3:::restorable-dr-exports",)),
        ("ReadCacheExportsInDrBucket", ("s3:GetObject",), ("arn:aws:s3:::restorable-dr-exports/elasticache/*",)),
    }
    [listing] = [s for s in reading if s.sid == "ListCacheExportsInDrBucket"]
    assert listing.operator("StringLike") == {"s3:prefix": "elasticache/*"}
    assert not [s for s in statements if s.role == "VerifyFunction" and any(a.startswith("s3:") for a in s.actions)]


# ---- cache drills (ElastiCache)

CREATES_A_CACHE = {"elasticache:CreateReplicationGroup", "elasticache:CreateServerlessCache"}
CACHE_DELETES = {"elasticache:DeleteReplicationGroup", "elasticache:DeleteServerlessCache"}


def _creating_caches(statements: list[Statement]) -> list[Statement]:
    return [s for s in statements if s.effect == "Allow" and CREATES_A_CACHE & set(s.actions)]


def test_cache_restores_create_only_drill_named_encrypted_caches_without_an_auth_token(
    statements: list[Statement],
) -> None:
    group = _find(statements, "DrillFunction", "RestoreIntoEncryptedTaggedDrillCachesOnly")
    assert group.actions == ("elasticache:CreateReplicationGroup",)
    assert group.resources
    assert all(re.search(r":us-east-1:\d{12}:replicationgroup:drill-\*$", r) for r in group.resources)
    assert group.operator("Bool") == {
        "elasticache:TransitEncryptionEnabled": "true",
        "elasticache:AtRestEncryptionEnabled": "true",
        "elasticache:AuthTokenEnabled": "false",
    }
    serverless = _find(statements, "DrillFunction", "RestoreIntoTaggedServerlessDrillCachesOnly")
    assert serverless.actions == ("elasticache:CreateServerlessCache",)
    assert serverless.resources
    assert all(re.search(r":us-east-1:\d{12}:serverlesscache:drill-\*$", r) for r in serverless.resources)
    for statement in (group, serverless):
        assert statement.operator("StringEquals") == DRILL_REQUEST_TAGS
        assert set(statement.operator("ForAllValues:StringEquals")[TAG_KEYS]) == DRILL_TAG_KEYS


def test_every_statement_a_cache_restore_needs_requires_the_drill_request_tags(statements: list[Statement]) -> None:
    """The new cache, its members, the snapshot and the groups are authorized in one request: none of their
    statements lends itself to creating anything but this stack's drill cache of one execution."""
    creating = _creating_caches(statements)
    assert {s.role for s in creating} == {"DrillFunction"}
    assert len(creating) >= 5
    for statement in creating:
        equals = statement.operator("StringEquals")
        assert {k: equals.get(k) for k in DRILL_REQUEST_TAGS} == DRILL_REQUEST_TAGS, statement.sid
        assert statement.operator("Null").get("aws:RequestTag/restorable:drill-execution") == "false", statement.sid
        keys = statement.operator("ForAllValues:StringEquals").get(TAG_KEYS)
        assert keys is None or set(keys) == DRILL_TAG_KEYS, statement.sid  # never restorable:policy
        named = [r for r in statement.resources if re.search(r":(replicationgroup|serverlesscache|cluster):", r)]
        assert all(r.endswith(":drill-*") for r in named), statement.sid


def test_cache_restores_need_a_snapshot_this_stack_owns(statements: list[Statement]) -> None:
    on_snapshots = [
        s
        for s in _creating_caches(statements)
        if any(re.search(r":(snapshot|serverlesscachesnapshot):", r) for r in s.resources)
    ]
    assert [s.sid for s in on_snapshots] == ["RestoreOnlyCacheSnapshotsOfThisStack"]
    [statement] = on_snapshots
    assert all(re.search(r":(snapshot|serverlesscachesnapshot):\*$", r) for r in statement.resources)
    assert statement.operator("StringEquals")["aws:ResourceTag/restorable:managed-by"] == STACK_REF
    assert statement.operator("Null")["aws:ResourceTag/restorable:source"] == "false"
    assert statement.operator("Null")["aws:ResourceTag/restorable:policy"] == "false"


def test_cache_tag_writes_name_this_stack_as_owner_and_never_relabel_another_owner(
    statements: list[Statement],
) -> None:
    tagging = [s for s in statements if "elasticache:AddTagsToResource" in s.actions]
    assert "DrillFunction" in {s.role for s in tagging}
    for statement in tagging:
        equals = statement.operator("StringEquals")
        owned_already = equals.get("aws:ResourceTag/restorable:managed-by") == STACK_REF
        on_create = (
            equals.get("aws:RequestTag/restorable:managed-by") == STACK_REF
            and statement.operator("StringEqualsIfExists").get("aws:ResourceTag/restorable:managed-by") == STACK_REF
        )
        assert owned_already or on_create, (statement.role, statement.sid)
    drill = _find(statements, "DrillFunction", "TagOnlyDrillCachesItCreates")
    assert drill.resources
    assert all(r.endswith(":drill-*") for r in drill.resources)
    assert set(drill.operator("ForAllValues:StringEquals")[TAG_KEYS]) == DRILL_TAG_KEYS


@pytest.mark.parametrize("action", sorted(CACHE_DELETES))
def test_drill_cache_deletes_need_the_drill_tags(statements: list[Statement], action: str) -> None:
    deleting = [s for s in statements if action in s.actions and s.effect == "Allow"]
    assert {s.role for s in deleting} == {"DrillFunction", "DrillJanitorFunction"}
    for statement in deleting:
        assert statement.resources
        assert all(re.search(r":(replicationgroup|serverlesscache):drill-\*$", r) for r in statement.resources)
        assert statement.operator("StringEquals") == {
            "aws:ResourceTag/restorable:kind": "drill",
            "aws:ResourceTag/restorable:managed-by": STACK_REF,
        }


def test_serverless_cache_endpoints_are_made_only_through_elasticache(statements: list[Statement]) -> None:
    statement = _find(statements, "DrillFunction", "ServerlessCacheEndpointsThroughElastiCacheOnly")
    assert set(statement.operator("ForAnyValue:StringEquals")["aws:CalledVia"]) == {
        "elasticache.amazonaws.com",
        "ec.amazonaws.com",
    }
    assert all(a.startswith("ec2:") for a in statement.actions)


# ---- DynamoDB table drills ----

DRILL_TABLES = "arn:aws:dynamodb:{region}:123456789012:table/drill.restorable.*"


def test_table_drills_write_only_tables_named_as_this_stacks_drill_tables(statements: list[Statement]) -> None:
    """The restore's item permissions, the checks' reads and the tagging name only ``drill.{stack}.*``."""
    item_writes = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}
    drill_writes = [s for s in statements if s.role == "DrillFunction" and item_writes & set(s.actions)]
    history = [s for s in drill_writes if s.sid == "WriteHistory"]
    [target] = [s for s in drill_writes if s.sid != "WriteHistory"]
    assert history
    assert history[0].actions == ("dynamodb:PutItem",)
    assert target.sid == "RestoreIntoAndReadDrillTablesOnly"
    assert target.resources == (DRILL_TABLES.format(region="us-east-1"),)
    # What AWS documents a restore needs on its target table, and the checks' reads.
    assert set(target.actions) >= item_writes | {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan"}
    assert set(target.actions) >= {"dynamodb:RestoreTableToPointInTime", "dynamodb:RestoreTableFromBackup"}


def test_point_in_time_table_restores_read_only_protected_tables(statements: list[Statement]) -> None:
    restoring = [s for s in statements if "dynamodb:RestoreTableToPointInTime" in s.actions]
    sources = [s for s in restoring if s.resources != (DRILL_TABLES.format(region="us-east-1"),)]
    assert [(s.role, s.sid) for s in sources] == [("DrillFunction", "RestoreProtectedTablesToPointInTime")]
    [source] = sources
    assert source.actions == ("dynamodb:RestoreTableToPointInTime",)
    assert source.resources == ("arn:aws:dynamodb:us-east-1:123456789012:table/*",)
    assert source.operator("Null") == {"aws:ResourceTag/restorable:policy": "false"}


def test_table_backup_restores_read_only_backups_of_this_region(statements: list[Statement]) -> None:
    restoring = [s for s in statements if "dynamodb:RestoreTableFromBackup" in s.actions]
    assert {s.role for s in restoring} == {"DrillFunction"}
    backups = [s for s in restoring if any("/backup/" in r for r in s.resources)]
    assert [s.sid for s in backups] == ["RestoreTableBackupsOfThisRegion"]
    assert backups[0].resources == ("arn:aws:dynamodb:us-east-1:123456789012:table/*/backup/*",)


def test_drill_tables_are_tagged_only_with_the_drill_contract(statements: list[Statement]) -> None:
    tagging = [s for s in statements if "dynamodb:TagResource" in s.actions]
    assert [(s.role, s.sid) for s in tagging] == [("DrillFunction", "TagDrillTablesWithTheDrillContractOnly")]
    [statement] = tagging
    # The Region's drill tables and the DR Region's (a cross-region drill's imported table).
    assert statement.resources == (DRILL_TABLES.format(region="us-east-1"), DRILL_TABLES.format(region="us-west-2"))
    assert statement.operator("StringEquals") == DRILL_REQUEST_TAGS
    assert statement.operator("StringEqualsIfExists") == {"aws:ResourceTag/restorable:managed-by": STACK_REF}
    assert statement.operator("Null") == {"aws:RequestTag/restorable:drill-execution": "false"}
    assert set(statement.operator("ForAllValues:StringEquals")[TAG_KEYS]) == DRILL_TAG_KEYS


def test_table_deletes_need_a_drill_name_and_this_stacks_tags_or_no_tags_at_all(statements: list[Statement]) -> None:
    deleting = [s for s in statements if "dynamodb:DeleteTable" in s.actions]
    assert {s.role for s in deleting} == {"DrillFunction", "DrillJanitorFunction"}
    for statement in deleting:
        assert statement.actions == ("dynamodb:DeleteTable",)
        assert statement.resources == (DRILL_TABLES.format(region="*"),), statement.sid
        if statement.sid == "DeleteTaggedDrillTablesOnly":
            assert statement.operator("StringEquals") == {
                "aws:ResourceTag/restorable:kind": "drill",
                "aws:ResourceTag/restorable:managed-by": STACK_REF,
            }
        else:
            assert statement.sid == "DeleteUntaggedDrillTablesOnly"
            # Untagged only: any owner's, kind or protection tag makes the statement not apply.
            assert statement.operator("Null") == {
                "aws:ResourceTag/restorable:managed-by": "true",
                "aws:ResourceTag/restorable:kind": "true",
                "aws:ResourceTag/restorable:policy": "true",
            }
            assert set(statement.condition) == {"Null"}
    assert {(s.role, s.sid) for s in deleting} == {
        (role, sid)
        for role in ("DrillFunction", "DrillJanitorFunction")
        for sid in ("DeleteTaggedDrillTablesOnly", "DeleteUntaggedDrillTablesOnly")
    }


# ---- ElastiCache ----

CACHE_SNAPSHOT_KEYS = SNAPSHOT_KEYS | {"restorable:created-at"}
CACHE_ARN = "arn:aws:elasticache:us-east-1:123456789012:"


@pytest.mark.parametrize("sid", ["CreateCacheSnapshotsOwnedByThisStack", "TagOnlyCacheSnapshotsItCreates"])
def test_cache_snapshots_are_created_and_tagged_only_with_the_contract_and_this_stack_as_owner(
    statements: list[Statement], sid: str
) -> None:
    statement = _find(statements, "SnapshotFunction", sid)
    assert statement.resources == (
        f"{CACHE_ARN}snapshot:*-????-??-??",
        f"{CACHE_ARN}serverlesscachesnapshot:*-????-??-??",
    )
    assert statement.operator("StringEquals") == {"aws:RequestTag/restorable:managed-by": STACK_REF}
    assert set(statement.operator("ForAllValues:StringEquals")[TAG_KEYS]) == CACHE_SNAPSHOT_KEYS
    if "elasticache:AddTagsToResource" in statement.actions:
        assert statement.operator("StringEqualsIfExists") == {"aws:ResourceTag/restorable:managed-by": STACK_REF}


def test_only_protected_caches_of_this_region_are_snapshotted(statements: list[Statement]) -> None:
    creating = [
        s
        for s in statements
        if {"elasticache:CreateSnapshot", "elasticache:CreateServerlessCacheSnapshot"} & set(s.actions)
        and any(re.search(r":(replicationgroup|cluster|serverlesscache):", r) for r in s.resources)
    ]
    # The scheduled snapshots and the pre-deploy ones; each only of protected caches.
    assert sorted((s.role, s.sid) for s in creating) == [
        ("PredeployFunction", "SnapshotOnlyProtectedCaches"),
        ("SnapshotFunction", "SnapshotOnlyProtectedCaches"),
    ]
    [statement] = [s for s in creating if s.role == "SnapshotFunction"]
    assert set(statement.actions) == {"elasticache:CreateSnapshot", "elasticache:CreateServerlessCacheSnapshot"}
    assert statement.resources == (
        f"{CACHE_ARN}replicationgroup:*",
        f"{CACHE_ARN}cluster:*",
        f"{CACHE_ARN}serverlesscache:*",
    )
    assert statement.operator("Null") == {"aws:ResourceTag/restorable:policy": "false"}


def test_cache_snapshots_are_deleted_only_by_the_prune_and_only_when_this_stack_owns_them(
    statements: list[Statement],
) -> None:
    cache_deletes = {"elasticache:DeleteSnapshot", "elasticache:DeleteServerlessCacheSnapshot"}
    deleting = [s for s in statements if cache_deletes & set(s.actions)]
    allowing = [s for s in deleting if s.effect == "Allow"]
    assert [(s.role, s.sid) for s in allowing] == [("PruneFunction", "DeleteOnlyCacheSnapshotsOwnedByThisStack")]
    [allow] = allowing
    assert set(allow.actions) == cache_deletes
    assert allow.resources == (f"{CACHE_ARN}snapshot:*", f"{CACHE_ARN}serverlesscachesnapshot:*")
    assert allow.operator("StringEquals") == {"aws:ResourceTag/restorable:managed-by": STACK_REF}
    [deny] = [s for s in deleting if s.effect == "Deny"]
    assert (deny.role, deny.sid) == ("PruneFunction", "NeverDeleteHeldRecoveryPoints")
    assert set(deny.actions) >= cache_deletes
    assert deny.operator("Null") == {"aws:ResourceTag/restorable:legal-hold": "false"}
    assert deny.operator("StringNotEqualsIgnoreCase") == {"aws:ResourceTag/restorable:legal-hold": "false"}


@pytest.mark.parametrize("role", ["SnapshotFunction", "PruneFunction"])
def test_cache_reads_are_describes_on_every_resource_and_tag_reads_in_this_region(
    statements: list[Statement], role: str
) -> None:
    describe = _find(statements, role, "ReadCachesAndCacheSnapshots")
    assert all(a.startswith("elasticache:Describe") for a in describe.actions)
    assert describe.resources == ("*",)
    tags = [s for s in statements if s.role == role and "elasticache:ListTagsForResource" in s.actions]
    assert [s.actions for s in tags] == [("elasticache:ListTagsForResource",)]
    assert all(r.startswith(CACHE_ARN) for r in tags[0].resources)
    # The prune reads which caches exist from the listings and the tags of snapshots only.
    if role == "PruneFunction":
        assert all(re.search(r":(snapshot|serverlesscachesnapshot):\*$", r) for r in tags[0].resources)


# ---- the cross-region table drill: ImportTable of a DR-Region export


def test_imports_and_their_reads_reach_only_drill_tables_in_the_dr_region(statements: list[Statement]) -> None:
    importing = [s for s in statements if {"dynamodb:ImportTable", "dynamodb:DescribeImport"} & set(s.actions)]
    assert [(s.role, s.sid) for s in importing] == [("DrillFunction", "ImportIntoAndReadDrillTablesInDrRegionOnly")]
    [statement] = importing
    assert statement.resources == (DRILL_TABLES.format(region="us-west-2"),)
    # Creates a table and reads it: nothing that writes or deletes an existing table's items.
    writes = {a for a in statement.actions if not READ_ACTION.match(a)}
    assert writes == {"dynamodb:ImportTable"}


def test_exports_are_read_only_where_the_source_lives(statements: list[Statement]) -> None:
    describing = _find(statements, "DrillFunction", "ReadTableExports")
    assert describing.actions == ("dynamodb:DescribeExport",)
    assert describing.resources == ("arn:aws:dynamodb:us-east-1:123456789012:table/*/export/*",)
    listing = _find(statements, "DrillFunction", "ListTableExports")
    assert listing.actions == ("dynamodb:ListExports",)


def test_the_import_logs_only_to_dynamodbs_own_log_groups_in_the_dr_region(statements: list[Statement]) -> None:
    logging = _find(statements, "DrillFunction", "ImportLogsInDrRegion")
    assert all(a.startswith("logs:") for a in logging.actions)
    assert logging.resources == ("arn:aws:logs:us-west-2:123456789012:log-group:/aws-dynamodb/*",)


def test_without_exports_the_drill_role_reads_no_export_bucket(statements: list[Statement]) -> None:
    drill = [s for s in statements if s.role == "DrillFunction"]
    assert not [s.sid for s in drill if any(a.startswith("s3:") and a != "s3:PutObject" for a in s.actions)]
    assert not [s.sid for s in drill if s.resources == (DR_EXPORT_KEY,)]


def test_with_exports_the_drill_role_reads_only_this_stacks_table_exports(exports_on: list[Statement]) -> None:
    bucket = "arn:aws:s3:::restorable-dr-exports"
    listing = _find(exports_on, "DrillFunction", "ListTableExportsInDrBucket")
    assert (listing.actions, listing.resources) == (("s3:ListBucket",), (bucket,))
    assert listing.operator("StringLike") == {"s3:prefix": {"Fn::Sub": "dynamodb/${AWS::StackName}/*"}}
    reading = _find(exports_on, "DrillFunction", "ReadTableExportsInDrBucket")
    assert (reading.actions, reading.resources) == (("s3:GetObject",), (f"{bucket}/dynamodb/restorable/*",))
    decrypting = _find(exports_on, "DrillFunction", "DecryptTableExportsThroughS3")
    assert (decrypting.actions, decrypting.resources) == (("kms:Decrypt",), (DR_EXPORT_KEY,))
    assert decrypting.operator("StringEquals") == {"kms:ViaService": {"Fn::Sub": "s3.${DrRegion}.amazonaws.com"}}
    # Nothing of the drill role writes to the export bucket.
    writes = [
        s.sid
        for s in exports_on
        if s.role == "DrillFunction"
        and any(r.startswith(bucket) for r in s.resources)
        and any(not READ_ACTION.match(a) for a in s.actions)
    ]
    assert writes == []
