"""Template guarantees for DR copies and pruning: deletes only what carries this stack's tag, in both Regions."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from local_runtime.functions import Functions
from local_runtime.template import REPO_ROOT, Template


def statements(template: Template, function: str) -> list[dict[str, Any]]:
    return list(template.resources[function]["Properties"]["Policies"][0]["Statement"])


def actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def resources(statement: dict[str, Any]) -> list[Any]:
    resource = statement["Resource"]
    return resource if isinstance(resource, list) else [resource]


def subs(statement: dict[str, Any]) -> list[str]:
    return [r["Fn::Sub"] for r in resources(statement) if isinstance(r, dict) and "Fn::Sub" in r]


@pytest.mark.parametrize(
    ("action", "resource_type", "condition_key"),
    [
        ("rds:DeleteDBSnapshot", "snapshot", "rds:snapshot-tag/restorable:managed-by"),
        ("rds:DeleteDBClusterSnapshot", "cluster-snapshot", "rds:cluster-snapshot-tag/restorable:managed-by"),
    ],
)
def test_prune_deletes_only_snapshots_tagged_with_this_stack_in_both_regions(
    template: Template, action: str, resource_type: str, condition_key: str
) -> None:
    allows = [s for s in statements(template, "PruneFunction") if s["Effect"] == "Allow" and action in actions(s)]
    assert len(allows) == 1
    [allow] = allows
    assert allow["Condition"] == {"StringEquals": {condition_key: {"Ref": "AWS::StackName"}}}
    assert sorted(subs(allow)) == sorted(
        [
            f"arn:${{AWS::Partition}}:rds:${{AWS::Region}}:${{AWS::AccountId}}:{resource_type}:*",
            f"arn:${{AWS::Partition}}:rds:${{DrRegion}}:${{AWS::AccountId}}:{resource_type}:*",
        ]
    )
    assert len(resources(allow)) == 2  # nothing but those two ARN patterns


def test_prune_can_never_delete_a_held_recovery_point_nor_touch_anything_else(template: Template) -> None:
    policy = statements(template, "PruneFunction")
    [deny] = [s for s in policy if s["Effect"] == "Deny"]
    assert set(actions(deny)) == {
        "rds:DeleteDBSnapshot",
        "rds:DeleteDBClusterSnapshot",
        "elasticache:DeleteSnapshot",
        "elasticache:DeleteServerlessCacheSnapshot",
    }
    # deny whenever the hold tag is present (key in any case: IAM compares aws:ResourceTag keys that way) unless
    # its value is "false" in any case: at least as strict as the code, which reads every other value as held
    assert deny["Condition"] == {
        "Null": {"aws:ResourceTag/restorable:legal-hold": "false"},
        "StringNotEqualsIgnoreCase": {"aws:ResourceTag/restorable:legal-hold": "false"},
    }
    allowed = {a for s in policy if s["Effect"] == "Allow" for a in actions(s)}
    destructive = {a for a in allowed if a.startswith(("rds:Delete", "rds:Modify", "rds:Create", "rds:Copy"))}
    assert destructive == {"rds:DeleteDBSnapshot", "rds:DeleteDBClusterSnapshot"}
    assert not any(a.endswith("*") for a in allowed if a.startswith("rds:"))


def test_copy_function_cannot_delete_and_creates_only_owned_copies(template: Template) -> None:
    policy = statements(template, "CopyFunction")
    allowed = [a for s in policy for a in actions(s)]
    assert not [a for a in allowed if a.startswith(("rds:Delete", "rds:Modify", "rds:Restore"))]
    for statement in policy:
        if any(a.startswith(("rds:Copy", "rds:AddTags")) for a in actions(statement)):
            assert statement["Resource"] != "*"
            condition = statement["Condition"]["StringEquals"]
            assert condition.get("aws:RequestTag/restorable:managed-by") == {"Ref": "AWS::StackName"} or condition.get(
                "aws:ResourceTag/restorable:managed-by"
            ) == {"Ref": "AWS::StackName"}, statement["Sid"]
    [attempts] = [s for s in policy if s["Sid"] == "CountCopyAttemptsOnOwnedSourceSnapshots"]
    assert attempts["Condition"]["ForAllValues:StringEquals"] == {"aws:TagKeys": ["restorable:copy-attempts"]}


def test_copy_function_kms_use_is_only_through_rds_in_each_region(template: Template) -> None:
    kms = [s for s in statements(template, "CopyFunction") if any(a.startswith("kms:") for a in actions(s))]
    assert kms
    via = {}
    for statement in kms:
        assert statement["Condition"]["StringEquals"]["kms:ViaService"]["Fn::Sub"] in (
            "rds.${DrRegion}.amazonaws.com",
            "rds.${AWS::Region}.amazonaws.com",
        )
        region = "dr" if "${DrRegion}" in statement["Resource"]["Fn::Sub"] else "source"
        assert statement["Condition"]["StringEquals"]["kms:ViaService"]["Fn::Sub"] == (
            "rds.${DrRegion}.amazonaws.com" if region == "dr" else "rds.${AWS::Region}.amazonaws.com"
        )
        if "kms:CreateGrant" in actions(statement):
            assert statement["Condition"]["Bool"] == {"kms:GrantIsForAWSResource": "true"}
        via.setdefault(region, set()).update(actions(statement))
    assert {"kms:CreateGrant", "kms:DescribeKey", "kms:GenerateDataKey*"} <= via["dr"]
    assert via["source"] == {"kms:CreateGrant", "kms:DescribeKey", "kms:Decrypt"}
    assert not any(a in ("kms:*", "kms:ScheduleKeyDeletion", "kms:PutKeyPolicy") for s in kms for a in actions(s))


def test_alert_topic_is_encrypted_and_wired_to_prune(template: Template, functions: Functions) -> None:
    topic = template.resources["AlertTopic"]
    assert topic["Properties"]["KmsMasterKeyId"] == {"Ref": "StackKey"}
    assert functions.environment("PruneFunction")["ALERT_TOPIC_ARN"] == template.arn("AlertTopic")


def test_breaker_limits_are_template_parameters(functions: Functions) -> None:
    environment = functions.environment("PruneFunction")
    assert (environment["PRUNE_MAX_SHARE_PERCENT"], environment["PRUNE_MAX_COUNT"]) == ("20", "0")
    assert functions.environment("CopyFunction")["COPY_MAX_ATTEMPTS"] == "3"


@pytest.mark.parametrize(
    ("schedule_name", "event_file"),
    [("CopyReconcile", "copy-reconcile.json"), ("DailyPrune", "prune-daily.json")],
)
def test_sample_events_are_what_the_schedule_delivers(
    functions: Functions, schedule_name: str, event_file: str
) -> None:
    sample = json.loads((REPO_ROOT / "events" / event_file).read_text())
    [schedule] = [s for s in functions.schedules() if s.name == schedule_name]
    assert schedule.event_for(datetime.fromisoformat(sample["scheduled_time"].replace("Z", "+00:00"))) == sample


def test_copy_rules_match_on_the_created_event_ids(functions: Functions) -> None:
    patterns = {r.name: r.pattern for r in functions.rules() if r.function == "CopyFunction"}
    assert patterns["DbSnapshotCreated"]["detail"] == {"EventID": ["RDS-EVENT-0042"]}
    assert patterns["ClusterSnapshotCreated"]["detail"] == {"EventID": ["RDS-EVENT-0075"]}


def _iam_denies(condition: dict[str, Any], tags: dict[str, str]) -> bool:
    """Evaluate the deny statement's condition the way IAM does for one resource: every operator must match;
    aws:ResourceTag/<key> finds the tag whose key equals <key> ignoring case (no trimming)."""
    verdicts = []
    for operator, tests in condition.items():
        for condition_key, wanted in tests.items():
            tag_key = condition_key.removeprefix("aws:ResourceTag/")
            values = [v for k, v in tags.items() if k.lower() == tag_key.lower()]
            value = values[0] if values else None
            if operator == "Null":
                verdicts.append((value is None) == (wanted == "true"))
            elif operator == "StringNotEqualsIgnoreCase":
                # a missing key makes a negated operator true; the Null test above then decides
                verdicts.append(value is None or value.lower() != wanted.lower())
            elif operator == "StringEqualsIgnoreCase":
                verdicts.append(value is not None and value.lower() == wanted.lower())
            else:
                raise AssertionError(f"operator {operator} not modelled")
    return all(verdicts)


HOLD_KEYS = ["restorable:legal-hold", "Restorable:Legal-Hold", "RESTORABLE:LEGAL-HOLD"]
HOLD_VALUES = ["true", "TRUE", " true", "", "no", "0", "yes", "ｆａｌｓｅ", "falsе", "false", "FALSE", "False"]


@pytest.mark.parametrize("key", HOLD_KEYS)
@pytest.mark.parametrize("value", HOLD_VALUES)
def test_iam_denies_every_delete_the_code_holds(template: Template, key: str, value: str) -> None:
    from restorable.models import DatabaseType, RecoveryPoint
    from restorable.tags import iam_denies_delete

    [deny] = [s for s in statements(template, "PruneFunction") if s["Effect"] == "Deny"]
    tags = {"restorable:managed-by": "restorable", key: value}
    point = RecoveryPoint(DatabaseType.INSTANCE, "p", "arn:p", "db", "available", "manual", "us-east-1", tags=tags)
    denied = _iam_denies(deny["Condition"], tags)
    # the code's model of the deny (the prune job relies on it to read a denial as a hold) matches the template
    assert iam_denies_delete(tags) is denied
    if point.legal_hold:
        assert denied, f"code holds {key}={value!r} but IAM would allow the delete"
    # exactly "false" in any case releases the hold in both
    assert denied is (value.lower() != "false")
    assert _iam_denies(deny["Condition"], {"restorable:managed-by": "restorable"}) is False


def test_where_iam_cannot_follow_the_code_the_code_keeps_or_the_job_reads_the_denial_as_a_hold(
    template: Template,
) -> None:
    from restorable.tags import iam_denies_delete, is_held

    [deny] = [s for s in statements(template, "PruneFunction") if s["Effect"] == "Deny"]
    # IAM cannot trim: a padded "false" is released in code but denied by IAM (the job then reports it kept)
    assert not is_held({"restorable:legal-hold": " false "})
    assert _iam_denies(deny["Condition"], {"restorable:legal-hold": " false "})
    assert iam_denies_delete({"restorable:legal-hold": " false "})
    # IAM cannot match a padded key: the code holds it by itself, and never asks IAM to delete it
    assert is_held({" restorable:legal-hold ": "true"})
    assert not _iam_denies(deny["Condition"], {" restorable:legal-hold ": "true"})
