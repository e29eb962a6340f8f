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


def _statements(template: Template) -> Iterator[Statement]:
    for logical_id, resource in template.resources.items():
        if resource["Type"] not in ("AWS::Serverless::Function", "AWS::Serverless::StateMachine"):
            continue
        for policy in resource["Properties"].get("Policies", []):
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
    assert [(s.role, s.sid) for s in creating] == [("SnapshotFunction", "BackUpOnlyProtectedTables")]
    [statement] = creating
    assert statement.actions == ("dynamodb:CreateBackup",)
    assert statement.resources == ("arn:aws:dynamodb:us-east-1:123456789012:table/*",)
    assert statement.operator("Null") == {"aws:ResourceTag/restorable:policy": "false"}


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
    assert [(s.role, s.sid) for s in creating] == [("SnapshotFunction", "SnapshotOnlyProtectedCaches")]
    [statement] = creating
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
