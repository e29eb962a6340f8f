"""The template itself: schedules valid for EventBridge, handlers that exist, logs kept, events that match."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from aws_cron_expression_validator.validator import AWSCronExpressionValidator

from local_runtime.functions import Functions
from local_runtime.template import REPO_ROOT, Template

EVENTS = REPO_ROOT / "events"


def test_every_schedule_expression_is_valid_for_eventbridge(functions: Functions) -> None:
    schedules = functions.schedules()
    assert schedules, "the template declares no schedules"
    for schedule in schedules:
        assert schedule.expression.startswith("cron("), schedule
        AWSCronExpressionValidator.validate(schedule.expression[len("cron(") : -1])


def test_every_cron_parameter_default_is_valid(template: Template) -> None:
    for spec in template.document["Parameters"].values():
        default = str(spec.get("Default", ""))
        if default.startswith("cron("):
            AWSCronExpressionValidator.validate(default[5:-1])


def test_every_handler_and_code_uri_exists(functions: Functions) -> None:
    assert functions.names()
    for name in functions.names():
        spec = functions.spec(name)
        assert spec.code_uri.is_dir(), f"{name}: CodeUri {spec.code_uri} missing"
        assert spec.module_path.is_file(), f"{name}: handler module {spec.module_path} missing"
        source = spec.module_path.read_text()
        assert f"def {spec.handler_name}(" in source, f"{name}: no function {spec.handler_name}"
        for layer in spec.layer_dirs:
            assert (layer / "requirements.txt").is_file(), f"{name}: layer {layer} has no requirements.txt"


def test_every_function_has_its_own_log_group_with_retention(template: Template) -> None:
    resources = template.resources
    functions = [k for k, v in resources.items() if v["Type"] == "AWS::Serverless::Function"]
    groups_used = set()
    for name in functions:
        logging = resources[name]["Properties"].get("LoggingConfig", {})
        assert "LogGroup" in logging, f"{name} has no LoggingConfig.LogGroup"
        group = logging["LogGroup"]["Ref"]
        assert resources[group]["Type"] == "AWS::Logs::LogGroup"
        properties = resources[group]["Properties"]
        assert properties.get("RetentionInDays"), f"{group} keeps logs forever"
        assert properties.get("KmsKeyId"), f"{group} is not encrypted with the stack key"
        groups_used.add(group)
    assert len(groups_used) == len(functions), "functions share a log group"


def test_globals_pin_runtime_architecture_and_tracing(template: Template) -> None:
    function_globals = template.document["Globals"]["Function"]
    assert function_globals["Runtime"] == "python3.13"
    assert function_globals["Architectures"] == ["arm64"]
    assert function_globals["Tracing"] == "Active"


def test_schedules_retry_and_dead_letter(template: Template) -> None:
    for name, resource in template.resources.items():
        for event_name, event in resource.get("Properties", {}).get("Events", {}).items():
            if event["Type"] != "ScheduleV2":
                continue
            props = event["Properties"]
            assert props["RetryPolicy"]["MaximumRetryAttempts"] >= 1, (name, event_name)
            assert "Arn" in props["DeadLetterConfig"], (name, event_name)
            assert props["ScheduleExpressionTimezone"] == {"Ref": "ScheduleTimezone"}, (name, event_name)


@pytest.mark.parametrize(
    ("schedule_name", "event_file"),
    [
        ("WeeklySnapshots", "snapshot-weekly.json"),
        ("MonthlySnapshots", "snapshot-monthly.json"),
        ("DailySnapshots", "snapshot-daily.json"),
        ("CatchUpSnapshots", "snapshot-catch-up.json"),
    ],
)
def test_sample_events_are_what_the_schedule_delivers(
    functions: Functions, schedule_name: str, event_file: str
) -> None:
    sample = json.loads((EVENTS / event_file).read_text())
    [schedule] = [s for s in functions.schedules() if s.name == schedule_name]
    scheduled_time = datetime.fromisoformat(sample["scheduled_time"].replace("Z", "+00:00"))
    assert schedule.event_for(scheduled_time) == sample


def test_create_snapshot_permissions_are_tag_conditioned(template: Template) -> None:
    statements = template.resources["SnapshotFunction"]["Properties"]["Policies"][0]["Statement"]
    creates = [s for s in statements if any(a.startswith("rds:Create") for a in _actions(s))]
    assert creates
    for statement in creates:
        assert "Condition" in statement, statement["Sid"]
        assert statement["Resource"] != "*", statement["Sid"]
    destructive = [a for s in statements for a in _actions(s) if a.startswith(("rds:Delete", "rds:Modify"))]
    assert destructive == []


def test_dr_region_must_differ_from_the_stack_region(template: Template) -> None:
    assertion = template.document["Rules"]["DrRegionDiffersFromSource"]["Assertions"][0]["Assert"]
    assert assertion == {"Fn::Not": [{"Fn::Equals": [{"Ref": "DrRegion"}, {"Ref": "AWS::Region"}]}]}


def _actions(statement: dict[str, object]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)  # type: ignore[arg-type]


def test_every_sample_event_is_json() -> None:
    for path in Path(EVENTS).glob("*.json"):
        json.loads(path.read_text())


def test_every_parameter_is_documented_in_the_deploy_guide(template: Template) -> None:
    guide = (REPO_ROOT / "docs" / "deploy.md").read_text()
    missing = [name for name in template.document["Parameters"] if f"| `{name}` |" not in guide]
    assert not missing, f"docs/deploy.md does not document: {missing}"


def test_every_destructive_rds_permission_is_tag_conditioned(template: Template) -> None:
    """No function may delete, modify or restore over RDS resources without a tag condition.

    A restore is authorized on its source too (snapshot, subnet/parameter/option groups); those
    are only read, so a statement whose resources are all such sources needs no condition: the
    statement for the new database (db:/cluster:) does.
    """
    destructive = ("rds:Delete", "rds:Modify", "rds:Restore", "rds:RemoveTags")
    read_only_sources = (":snapshot:", ":cluster-snapshot:", ":subgrp:", ":og:", ":pg:", ":cluster-pg:", ":secgrp:")
    unguarded = []
    for name, resource in template.resources.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for policy in resource["Properties"].get("Policies", []):
            for statement in policy.get("Statement", []) if isinstance(policy, dict) else []:
                risky = [a for a in _actions(statement) if a.startswith(destructive) or a in ("rds:*", "*")]
                resources = statement.get("Resource", [])
                resources = [json.dumps(r) for r in (resources if isinstance(resources, list) else [resources])]
                only_sources = all(any(t in r for t in read_only_sources) for r in resources)
                if only_sources and all(a.startswith("rds:Restore") or a == "rds:CreateDBInstance" for a in risky):
                    continue
                if risky and statement.get("Effect", "Allow") == "Allow":
                    condition = json.dumps(statement.get("Condition", {}))
                    if "Tag/restorable:" not in condition and "tag/restorable:" not in condition:
                        unguarded.append((name, statement.get("Sid"), risky))
    assert not unguarded, unguarded
