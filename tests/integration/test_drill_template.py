"""The drill's wiring in template.yaml: definition, substitutions, least privilege, encryption, schedules."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from local_runtime.functions import Functions
from local_runtime.statemachines import StateMachines
from local_runtime.template import REPO_ROOT, Template

DEFINITION = REPO_ROOT / "statemachines" / "drill.asl.json"


def _statelint() -> str | None:
    for candidate in (os.environ.get("STATELINT"), str(REPO_ROOT / ".venv-tools" / "bin" / "statelint")):
        if candidate and Path(candidate).is_file():
            return candidate
    return shutil.which("statelint")


def test_definition_passes_statelint() -> None:
    statelint = _statelint()
    assert statelint is not None, "statelint is not installed: run the tests with `make test` (it installs the tools)"
    run = subprocess.run([statelint, str(DEFINITION)], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr


def _states() -> dict[str, Any]:
    return dict(json.loads(DEFINITION.read_text())["States"])


def test_every_task_retries_and_catches() -> None:
    tasks = {name: state for name, state in _states().items() if state["Type"] == "Task"}
    assert len(tasks) >= 8
    for name, state in tasks.items():
        assert state.get("Retry"), name
        assert any("States.ALL" in c["ErrorEquals"] for c in state.get("Catch", [])), name


def test_rds_work_runs_in_lambda_and_every_path_after_the_restore_reaches_cleanup() -> None:
    states = _states()
    resources = {s.get("Resource") for s in states.values() if s["Type"] == "Task"}
    assert not any(str(r).startswith("arn:aws:states:::aws-sdk:") for r in resources)
    assert resources <= {
        "arn:aws:states:::lambda:invoke",
        "arn:aws:states:::sns:publish",
        "arn:aws:states:::dynamodb:putItem",
    }
    for name in ("StartRestore", "CheckRestoreStatus", "RunChecks"):
        assert [c["Next"] for c in states[name]["Catch"]] == ["Cleanup"], name
    assert states["RunChecks"]["Next"] == "Cleanup"
    assert states["Cleanup"]["Catch"][0]["Next"] == "RecordDrill"
    assert states["WaitForRestore"]["SecondsPath"] == "$.poll.wait_seconds"
    assert states["ValidateInput"]["Catch"][0]["Next"] == "NotifyRejected"


def test_state_machine_wiring(template: Template) -> None:
    machine = template.resources["DrillStateMachine"]["Properties"]
    assert machine["Type"] == "STANDARD"
    assert machine["DefinitionUri"] == "statemachines/drill.asl.json"
    assert machine["Tracing"] == {"Enabled": True}
    assert machine["Logging"]["Level"] == "ALL"
    group = machine["Logging"]["Destinations"][0]["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    assert template.resources[group]["Properties"]["KmsKeyId"]
    machines = StateMachines(Functions(template))
    definition = json.loads(machines.definition("DrillStateMachine"))  # every ${...} has a substitution
    assert definition["States"]["StartRestore"]["Parameters"]["FunctionName"] == template.arn("DrillFunction")


def _statements(template: Template, function: str) -> list[dict[str, Any]]:
    return [
        s for p in template.resources[function]["Properties"]["Policies"] if "Statement" in p for s in p["Statement"]
    ]


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


@pytest.mark.parametrize("function", ["DrillFunction", "DrillJanitorFunction"])
def test_drill_functions_delete_only_tagged_drill_resources(template: Template, function: str) -> None:
    statements = _statements(template, function)
    destructive = [s for s in statements if any(a.startswith(("rds:Delete", "rds:Modify")) for a in _actions(s))]
    assert destructive
    for statement in destructive:
        condition = statement["Condition"]["StringEquals"]
        assert condition["aws:ResourceTag/restorable:kind"] == "drill"
        assert condition["aws:ResourceTag/restorable:managed-by"] == {"Ref": "AWS::StackName"}
        assert all(":db:drill-*" in str(r) or ":cluster:drill-*" in str(r) for r in statement["Resource"])


def test_restores_must_tag_what_they_create(template: Template) -> None:
    statements = _statements(template, "DrillFunction")
    into_drills = next(s for s in statements if s["Sid"] == "RestoreIntoTaggedDrillResourcesOnly")
    assert into_drills["Condition"]["StringEquals"]["aws:RequestTag/restorable:kind"] == "drill"
    # the other restore statements name only sources, snapshots and groups: a new db/cluster needs the tag
    for statement in statements:
        if statement["Sid"] == "RestoreIntoTaggedDrillResourcesOnly" or not any(
            a.startswith("rds:Restore") for a in _actions(statement)
        ):
            continue
        for resource in statement["Resource"]:
            text = json.dumps(resource)
            if ":db:*" in text or ":cluster:*" in text:
                assert statement["Condition"]["Null"]["aws:ResourceTag/restorable:policy"] == "false"


def test_records_are_encrypted_and_private(template: Template) -> None:
    table = template.resources["DrillHistoryTable"]["Properties"]
    assert table["SSESpecification"]["SSEType"] == "KMS"
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert [k["AttributeName"] for k in table["KeySchema"]] == ["source_arn", "started_at"]
    bucket = template.resources["DrillReportBucket"]["Properties"]
    assert (
        bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"][
            "SSEAlgorithm"
        ]
        == "aws:kms"
    )
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    [deny] = template.resources["DrillReportBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert template.resources["AlertTopic"]["Properties"]["KmsMasterKeyId"] == {"Ref": "StackKey"}


def test_history_table_is_visible_to_every_function(functions: Functions, template: Template) -> None:
    for name in functions.names():
        assert functions.spec(name).environment["DRILL_HISTORY_TABLE"] == template.physical_name("DrillHistoryTable")


def test_drill_sample_events_are_valid_drill_inputs() -> None:
    from restorable.drills.plan import parse_drill_request

    for path in (REPO_ROOT / "events").glob("drill-*.json"):
        if path.name.startswith(("drill-schedule", "drill-janitor")):
            continue
        parse_drill_request(json.loads(path.read_text()))
