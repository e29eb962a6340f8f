"""Alarms, rules, topic and state table as the template declares them, tied to what the code emits."""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto.events.models import EventPattern

from local_runtime.functions import Functions
from local_runtime.template import REPO_ROOT, Template
from restorable.verification import request as verify_request
from restorable.verification.metrics import ALARM_METRICS, DASHBOARD_METRICS
from tests.fleet import Fleet
from tests.integration.test_verify_function import clock, env, healthy  # noqa: F401 - fixtures
from tests.verify_env import VerifyEnvironment

NAMESPACE = "Restorable"
FUNCTION_TYPES = ("AWS::Serverless::Function",)
STATE_MACHINE_TYPES = ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine")


def alarms(template: Template) -> dict[str, dict[str, Any]]:
    return {
        name: resource["Properties"]
        for name, resource in template.resources.items()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    }


def dimensions(alarm: dict[str, Any]) -> dict[str, Any]:
    return {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}


def sample(name: str) -> dict[str, Any]:
    return dict(json.loads((REPO_ROOT / "events" / name).read_text()))


@pytest.mark.parametrize("metric", ["Errors", "Throttles"])
def test_every_function_has_error_and_throttle_alarms(template: Template, metric: str) -> None:
    """Add an Errors and a Throttles alarm (AWS/Lambda, FunctionName: !Ref YourFunction) with each new function."""
    functions = [k for k, v in template.resources.items() if v["Type"] in FUNCTION_TYPES]
    assert functions
    watched = {
        dimensions(alarm).get("FunctionName", {}).get("Ref")
        for alarm in alarms(template).values()
        if alarm.get("Namespace") == "AWS/Lambda" and alarm.get("MetricName") == metric
    }
    missing = sorted(set(functions) - watched)
    assert not missing, f"functions without a {metric} alarm: {missing}"


def test_every_state_machine_has_a_failed_executions_alarm(template: Template) -> None:
    machines = [k for k, v in template.resources.items() if v["Type"] in STATE_MACHINE_TYPES]
    watched = {
        dimensions(alarm).get("StateMachineArn", {}).get("Ref")
        for alarm in alarms(template).values()
        if alarm.get("Namespace") == "AWS/States" and alarm.get("MetricName") == "ExecutionsFailed"
    }
    missing = sorted(set(machines) - watched)
    assert not missing, f"state machines without an ExecutionsFailed alarm: {missing}"


def test_every_alarm_notifies_the_alert_topic(template: Template) -> None:
    for name, alarm in alarms(template).items():
        assert {"Ref": "AlertTopic"} in alarm["AlarmActions"], name


def test_restorable_alarms_watch_metrics_the_code_emits_with_its_dimensions(
    template: Template, functions: Functions
) -> None:
    service = functions.spec("VerifyFunction").environment["POWERTOOLS_SERVICE_NAME"]
    watched = [a for a in alarms(template).values() if a.get("Namespace") == NAMESPACE]
    assert {a["MetricName"] for a in watched} >= {
        "MaxRecoveryPointAgeMinutes",
        "MaxSnapshotAgeDays",
        "MaxDrLagHours",
        "MaxSnapshotQuotaUsedPercent",
    }
    for alarm in watched:
        name = alarm["MetricName"]
        assert name in ALARM_METRICS, f"{name} is not a metric the verification function emits"
        dims = dimensions(alarm)
        assert set(dims) == {*ALARM_METRICS[name], "service"}, name
        assert dims["service"] == service


def test_alarm_thresholds_follow_the_parameters(template: Template) -> None:
    by_metric = {a["MetricName"]: a for a in alarms(template).values() if a.get("Namespace") == NAMESPACE}
    assert by_metric["MaxRecoveryPointAgeMinutes"]["Threshold"] == {"Ref": "RpoCriticalMinutes"}
    assert by_metric["MaxSnapshotAgeDays"]["Threshold"] == {"Ref": "WeeklySnapshotMaxAgeDays"}
    assert dimensions(by_metric["MaxSnapshotAgeDays"])["Kind"] == "weekly"
    assert by_metric["MaxDrLagHours"]["Threshold"] == {"Ref": "DrLagWarningHours"}
    assert by_metric["MaxSnapshotQuotaUsedPercent"]["Threshold"] == {"Ref": "QuotaWarningPercent"}
    assert by_metric["VerificationRuns"]["TreatMissingData"] == "breaching"


def test_dead_letter_queue_and_backup_storage_alarms(template: Template) -> None:
    everything = alarms(template).values()
    [dlq] = [a for a in everything if a.get("Namespace") == "AWS/SQS"]
    assert dimensions(dlq)["QueueName"] == {"Fn::GetAtt": ["ScheduleDeadLetterQueue", "QueueName"]}
    [storage] = [a for a in everything if "Metrics" in a]
    assert "TotalBackupStorageBilled" in storage["Metrics"][0]["Expression"]
    assert storage["Threshold"] == {"Ref": "BackupStorageAlarmBytes"}
    assert template.document["Parameters"]["BackupStorageAlarmBytes"]["Default"] == 100 * 1024**3


def test_alarm_metrics_are_emitted_with_exactly_those_dimensions(
    functions: Functions,
    template: Template,
    healthy: Fleet,  # noqa: F811
    env: VerifyEnvironment,  # noqa: F811
) -> None:
    invocation = functions.invoke("VerifyFunction", sample("verify-hourly.json"))
    invocation.result()
    emitted: dict[str, set[tuple[str, ...]]] = {}
    for blob in invocation.metrics:
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            assert directive["Namespace"] == NAMESPACE
            for metric in directive["Metrics"]:
                for dims in directive["Dimensions"]:
                    emitted.setdefault(metric["Name"], set()).add(tuple(sorted(dims)))
    for alarm in alarms(template).values():
        if alarm.get("Namespace") != NAMESPACE or alarm["MetricName"] == "NotificationFailures":
            continue
        assert tuple(sorted(dimensions(alarm))) in emitted[alarm["MetricName"]], alarm["MetricName"]
    for name, dims in DASHBOARD_METRICS.items():
        assert tuple(sorted((*dims, "service"))) in emitted[name], name
        assert name in template.resources["BackupDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]


def test_rds_rule_matches_the_sample_events_and_nothing_else(functions: Functions) -> None:
    [rule] = [r for r in functions.rules() if r.function == "VerifyFunction"]
    pattern = EventPattern.load(json.dumps(rule.pattern))
    for name in (
        "rds-event-0002-backup-finished.json",
        "rds-event-0004-instance-shutdown.json",
        "rds-event-0028-backups-disabled.json",
    ):
        assert pattern.matches_event(sample(name)), name
    assert not pattern.matches_event(sample("rds-event-0001-backing-up.json"))
    assert not pattern.matches_event(sample("rds-event-without-event-id.json"))
    foreign = sample("rds-event-0002-backup-finished.json")
    foreign["source"] = "custom.rds"
    assert not pattern.matches_event(foreign)
    snapshot_event = sample("rds-event-0002-backup-finished.json")
    snapshot_event["detail-type"] = "RDS DB Snapshot Event"
    assert not pattern.matches_event(snapshot_event)
    # the rule and the code agree on which events are handled
    assert set(rule.pattern["detail"]["EventID"]) == verify_request.HANDLED_EVENT_IDS
    assert rule.pattern["detail-type"] == [verify_request.INSTANCE_EVENT]


def test_hourly_sample_is_what_the_schedule_delivers(functions: Functions) -> None:
    from datetime import datetime

    [hourly] = [s for s in functions.schedules() if s.name == "HourlyVerification"]
    event = sample("verify-hourly.json")
    assert hourly.event_for(datetime.fromisoformat(event["scheduled_time"].replace("Z", "+00:00"))) == event


def test_topic_and_state_table_are_encrypted_and_recoverable(template: Template) -> None:
    resources = template.resources
    assert resources["AlertTopic"]["Properties"]["KmsMasterKeyId"] == {"Ref": "StackKey"}
    table = resources["NotificationStateTable"]["Properties"]
    assert table["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": {"Ref": "StackKey"}}
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert resources["AlertEmailSubscription"]["Condition"] == "HasAlertEmail"
    assert Template.load().conditions["HasAlertEmail"] is False
    assert Template.load(parameter_overrides={"AlertEmail": "ops@example.com"}).conditions["HasAlertEmail"] is True
    key_statements = resources["StackKey"]["Properties"]["KeyPolicy"]["Statement"]
    [alarms_statement] = [s for s in key_statements if s["Principal"].get("Service") == "cloudwatch.amazonaws.com"]
    assert "kms:*" not in alarms_statement["Action"]


def test_verify_function_is_read_only_on_rds(template: Template) -> None:
    statements = template.resources["VerifyFunction"]["Properties"]["Policies"][0]["Statement"]
    actions = [a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]
    assert all(a.startswith("rds:Describe") for a in actions if a.startswith("rds:"))
    assert not any(a.endswith("*") for a in actions)
