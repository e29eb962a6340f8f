"""RemediateFunction through the template's wiring, on moto (RDS, DynamoDB, SNS) in two Regions.

moto lacks StartDBInstanceAutomatedBackupsReplication: the local runtime's documented hook
(``local_runtime.backup_replication``) answers it and shows the replication on the source
instance, as RDS does; its failure path is injected with ``tests.aws_faults`` in front of it,
so the code sees the error AWS would send. The request shape is checked against the real
service model with a botocore Stubber in ``tests/unit/test_remediation_adapters.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
import time_machine
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends

from local_runtime.backup_replication import BackupReplications, serve_backup_replication
from local_runtime.functions import Functions
from local_runtime.resources import provision_resources
from local_runtime.template import REPO_ROOT, Template
from restorable.errors import ConfigurationError, InvalidRequestError
from restorable.policy import default_policy_text
from tests.aws_faults import _hooks_on_default_session, failing_operation
from tests.conftest import DR_REGION, SOURCE_REGION
from tests.fleet import Fleet

NOW = datetime(2027, 3, 1, 6, 35, tzinfo=UTC)


def sample(name: str) -> dict[str, Any]:
    return dict(json.loads((REPO_ROOT / "events" / name).read_text()))


def opted_in_policies() -> str:
    """The built-in document with ``standard`` opted in to remediation; ``compliance`` left out."""
    document = json.loads(default_policy_text())
    document["policies"]["standard"]["remediate"] = True
    return json.dumps(document)


@pytest.fixture
def clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def replication(aws: None) -> Iterator[BackupReplications]:
    with serve_backup_replication() as served:
        yield served


class World:
    """A fleet short of the standard policy in every way remediation handles, and some it must not touch."""

    def __init__(self, fleet: Fleet, template: Template) -> None:
        self.fleet = fleet
        self.rds = fleet.rds
        self.dynamodb = boto3.client("dynamodb", region_name=SOURCE_REGION)
        self.template = template
        provision_resources(template, SOURCE_REGION)
        fleet.instance("orders-mysql")
        self.rds.modify_db_instance(
            DBInstanceIdentifier="orders-mysql",
            BackupRetentionPeriod=1,
            CopyTagsToSnapshot=False,
            ApplyImmediately=True,
        )
        fleet.instance("billing-pg", engine="postgres")
        self.rds.modify_db_instance(DBInstanceIdentifier="billing-pg", BackupRetentionPeriod=14, ApplyImmediately=True)
        fleet.instance("legacy-mysql")
        self.rds.modify_db_instance(DBInstanceIdentifier="legacy-mysql", BackupRetentionPeriod=0, ApplyImmediately=True)
        fleet.instance("scratch", policy=None)
        self.rds.modify_db_instance(
            DBInstanceIdentifier="scratch", BackupRetentionPeriod=1, CopyTagsToSnapshot=False, ApplyImmediately=True
        )
        fleet.instance("typo", policy="gold")
        self.rds.modify_db_instance(DBInstanceIdentifier="typo", BackupRetentionPeriod=1, ApplyImmediately=True)
        fleet.instance("regulated", policy="compliance")
        self.rds.modify_db_instance(DBInstanceIdentifier="regulated", BackupRetentionPeriod=1, ApplyImmediately=True)
        fleet.cluster("ledger")
        self.rds.modify_db_cluster(DBClusterIdentifier="ledger", BackupRetentionPeriod=1, ApplyImmediately=True)
        self.table("orders", "standard")
        self.table("sessions", None)
        self.table("events", "standard")
        self.dynamodb.update_continuous_backups(
            TableName="events",
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True, "RecoveryPeriodInDays": 35},
        )

    def table(self, name: str, policy: str | None) -> None:
        tags = [{"Key": "restorable:policy", "Value": policy}] if policy else []
        self.dynamodb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            Tags=tags,
        )

    def instance(self, identifier: str) -> dict[str, Any]:
        return dict(self.rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0])

    def settings(self) -> dict[str, Any]:
        """Every backup setting remediation may change, for comparing before and after."""
        found: dict[str, Any] = {}
        for item in self.rds.describe_db_instances()["DBInstances"]:
            if not item.get("DBClusterIdentifier"):
                found[item["DBInstanceIdentifier"]] = (
                    item["BackupRetentionPeriod"],
                    item["CopyTagsToSnapshot"],
                    len(item.get("DBInstanceAutomatedBackupsReplications", [])),
                )
        for cluster in self.rds.describe_db_clusters()["DBClusters"]:
            found[cluster["DBClusterIdentifier"]] = (cluster["BackupRetentionPeriod"], cluster["CopyTagsToSnapshot"])
        for name in ("orders", "sessions", "events"):
            pitr = self.dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
            found[name] = dict(pitr["PointInTimeRecoveryDescription"])
            found[name].pop("EarliestRestorableDateTime", None)
            found[name].pop("LatestRestorableDateTime", None)
        return found

    def pitr(self, name: str) -> dict[str, Any]:
        return dict(
            self.dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"][
                "PointInTimeRecoveryDescription"
            ]
        )

    def messages(self) -> list[tuple[str, str]]:
        topic = sns_backends[DEFAULT_ACCOUNT_ID][SOURCE_REGION].topics[self.template.ref("AlertTopic")]
        return [(subject, body) for _id, body, subject, _attributes, _group in topic.sent_notifications]


@pytest.fixture
def world(fleet: Fleet, template: Template, clock: None, replication: BackupReplications) -> World:
    return World(fleet, template)


def remediate(functions: Functions, event: dict[str, Any], **environment: str) -> dict[str, Any]:
    environment.setdefault("POLICY_DOCUMENT", opted_in_policies())
    payload = functions.invoke("RemediateFunction", event, environment).result()
    assert isinstance(payload, dict)
    return payload


def items(payload: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(item["resource"], item["kind"]): item for item in payload["items"]}


def test_the_schedule_fires_daily_after_verification_with_the_sample_event(functions: Functions) -> None:
    [schedule] = functions.spec("RemediateFunction").schedules
    assert schedule.expression == "cron(35 6 * * ? *)"
    assert schedule.event_for(NOW) == sample("remediate-daily.json")
    [verification] = functions.spec("VerifyFunction").schedules
    assert verification.expression == "cron(5 * * * ? *)"  # hourly at :05, so 06:05 runs before 06:35


def test_a_dry_run_shows_every_change_and_the_outage_and_changes_nothing(functions: Functions, world: World) -> None:
    before = world.settings()
    payload = remediate(functions, sample("remediate-dry-run.json"))
    assert world.settings() == before
    assert payload["dry_run"] is True
    assert payload["counts"]["remediated"] == 0
    planned = {key for key, item in items(payload).items() if item["outcome"] == "planned"}
    assert planned == {
        ("orders-mysql", "backup-retention+copy-tags-to-snapshot"),
        ("orders-mysql", "backup-replication"),
        ("billing-pg", "backup-replication"),
        ("ledger", "backup-retention+copy-tags-to-snapshot"),
        ("orders", "point-in-time-recovery"),
    }
    legacy = items(payload)[("legacy-mysql", "backup-retention")]
    assert legacy["outcome"] == "finding"
    assert "OUTAGE" in legacy["reason"]
    assert "--backup-retention-period 7" in legacy["reason"]
    assert world.messages() == []


def test_a_run_turns_on_what_the_policy_asks_and_never_loosens_or_touches_the_rest(
    functions: Functions, world: World, replication: BackupReplications
) -> None:
    payload = remediate(functions, sample("remediate-daily.json"))
    orders = world.instance("orders-mysql")
    assert (orders["BackupRetentionPeriod"], orders["CopyTagsToSnapshot"]) == (7, True)
    assert world.instance("billing-pg")["BackupRetentionPeriod"] == 14  # stricter than the policy: kept
    assert world.instance("legacy-mysql")["BackupRetentionPeriod"] == 0  # an outage: not allowed
    scratch = world.instance("scratch")
    assert (scratch["BackupRetentionPeriod"], scratch["CopyTagsToSnapshot"]) == (1, False)  # unprotected
    assert world.instance("typo")["BackupRetentionPeriod"] == 1  # names no known policy
    assert world.instance("regulated")["BackupRetentionPeriod"] == 1  # its policy does not opt in
    assert world.rds.describe_db_clusters(DBClusterIdentifier="ledger")["DBClusters"][0]["BackupRetentionPeriod"] == 7
    assert world.pitr("orders")["PointInTimeRecoveryStatus"] == "ENABLED"
    assert world.pitr("orders")["RecoveryPeriodInDays"] == 35
    assert world.pitr("sessions")["PointInTimeRecoveryStatus"] == "DISABLED"
    # Replication is started in the DR Region, with at least what the instance keeps itself.
    assert replication.destinations == {
        orders["DBInstanceArn"]: {DR_REGION},
        world.instance("billing-pg")["DBInstanceArn"]: {DR_REGION},
    }

    found = items(payload)
    assert found[("typo", "resource")]["outcome"] == "finding"
    assert "unknown policy 'gold'" in found[("typo", "resource")]["reason"]
    assert found[("scratch", "resource")]["outcome"] == "skipped"
    assert found[("legacy-mysql", "backup-replication")]["outcome"] == "finding"
    remediated = {(i["resource"], i["kind"]) for i in payload["remediated"]}
    assert remediated == {
        ("orders-mysql", "backup-retention+copy-tags-to-snapshot"),
        ("orders-mysql", "backup-replication"),
        ("billing-pg", "backup-replication"),
        ("ledger", "backup-retention+copy-tags-to-snapshot"),
        ("orders", "point-in-time-recovery"),
    }
    assert all(found[key]["outcome"] == "remediated" for key in remediated)
    assert found[("billing-pg", "backup-replication")]["region"] == DR_REGION
    assert payload["counts"]["remediated"] == 5

    [(subject, body)] = world.messages()
    assert "5 backup setting(s) remediated" in subject
    assert {(i["resource"], i["kind"]) for i in json.loads(body)["remediated"]} == remediated


def test_modify_calls_send_only_the_backup_settings(functions: Functions, world: World) -> None:
    """IAM cannot limit which parameters ModifyDB* changes: the code holds itself to these."""
    sent: list[tuple[str, dict[str, Any]]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        sent.append((model.name, dict(params.get("body") or {})))

    hooks = [(f"before-call.rds.{name}", record, f"record-{name}") for name in ("ModifyDBInstance", "ModifyDBCluster")]
    with _hooks_on_default_session(hooks):
        remediate(functions, sample("remediate-daily.json"))
    allowed = {"Action", "Version", "BackupRetentionPeriod", "CopyTagsToSnapshot", "ApplyImmediately"}
    assert sorted(name for name, _ in sent) == ["ModifyDBCluster", "ModifyDBInstance"]
    for name, body in sent:
        identifier = "DBClusterIdentifier" if name == "ModifyDBCluster" else "DBInstanceIdentifier"
        assert set(body) - allowed == {identifier}
        assert body["ApplyImmediately"] == "true"


def test_a_rerun_finds_it_done(functions: Functions, world: World) -> None:
    remediate(functions, sample("remediate-daily.json"))
    after = world.settings()
    again = remediate(functions, sample("remediate-daily.json"))
    assert world.settings() == after
    assert again["counts"]["remediated"] == 0
    assert again["counts"]["planned"] == 0
    assert again["remediated"] == []
    assert len(world.messages()) == 1  # nothing new to announce


def test_an_allowed_outage_turns_on_automated_backups_and_says_so(functions: Functions, world: World) -> None:
    payload = remediate(functions, sample("remediate-daily.json"), REMEDIATION_ALLOW_OUTAGE="true")
    assert world.instance("legacy-mysql")["BackupRetentionPeriod"] == 7
    legacy = items(payload)[("legacy-mysql", "backup-retention")]
    assert legacy["outcome"] == "remediated"
    assert "OUTAGE" in legacy["reason"]
    assert payload["outages"] == ["legacy-mysql"]


def test_a_failing_replication_is_reported_the_other_changes_go_on_and_the_next_run_converges(
    functions: Functions, world: World, replication: BackupReplications
) -> None:
    with failing_operation("rds", "StartDBInstanceAutomatedBackupsReplication", "Throttling") as failed:
        payload = remediate(functions, sample("remediate-daily.json"))
    assert {call.region for call in failed} == {DR_REGION}
    found = items(payload)
    for database in ("orders-mysql", "billing-pg"):
        item = found[(database, "backup-replication")]
        assert item["outcome"] == "failed"
        assert "Throttling" in item["reason"]
    assert replication.destinations == {}
    assert found[("orders", "point-in-time-recovery")]["outcome"] == "remediated"
    assert world.instance("orders-mysql")["BackupRetentionPeriod"] == 7
    assert payload["ok"] is False

    retried = remediate(functions, sample("remediate-daily.json"))
    assert {(i["resource"], i["kind"]) for i in retried["remediated"]} == {
        ("orders-mysql", "backup-replication"),
        ("billing-pg", "backup-replication"),
    }


def test_a_denied_modify_is_reported_and_the_tables_are_still_remediated(functions: Functions, world: World) -> None:
    with failing_operation("rds", "ModifyDBInstance", "AccessDenied"):
        payload = remediate(functions, sample("remediate-daily.json"))
    found = items(payload)
    assert found[("orders-mysql", "backup-retention+copy-tags-to-snapshot")]["outcome"] == "failed"
    assert world.instance("orders-mysql")["BackupRetentionPeriod"] == 1
    assert found[("orders", "point-in-time-recovery")]["outcome"] == "remediated"


def test_an_unreadable_engine_fails_alone(functions: Functions, world: World) -> None:
    with failing_operation("dynamodb", "ListTables", "InternalFailure"):
        payload = remediate(functions, sample("remediate-daily.json"))
    found = items(payload)
    assert found[(f"dynamodb:{SOURCE_REGION}", "inventory")]["outcome"] == "failed"
    assert found[("ledger", "backup-retention+copy-tags-to-snapshot")]["outcome"] == "remediated"


def test_without_an_opted_in_policy_nothing_is_changed(functions: Functions, world: World) -> None:
    before = world.settings()
    payload = remediate(functions, sample("remediate-daily.json"), POLICY_DOCUMENT="")
    assert world.settings() == before
    assert payload["counts"]["remediated"] == 0
    assert payload["counts"]["planned"] == 0


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"dry_run": "true"}, "dry_run"),
        ({"dry_run": 1}, "dry_run"),
        ({"dryrun": True}, "dryrun"),
        ({"scheduled_time": "2027-03-01T06:35:00"}, "scheduled_time"),
        ({"scheduled_time": "2026-01-01T06:35:00Z"}, "scheduled_time"),
    ],
)
def test_bad_input_is_rejected_naming_the_field_and_nothing_is_changed(
    functions: Functions, world: World, event: dict[str, Any], field: str
) -> None:
    before = world.settings()
    invocation = functions.invoke("RemediateFunction", event, {"POLICY_DOCUMENT": opted_in_policies()})
    assert isinstance(invocation.error, InvalidRequestError)
    assert field in str(invocation.error)
    assert world.settings() == before


def test_a_bad_outage_setting_is_a_configuration_error(functions: Functions, world: World) -> None:
    before = world.settings()
    invocation = functions.invoke(
        "RemediateFunction", sample("remediate-daily.json"), {"REMEDIATION_ALLOW_OUTAGE": "yes"}
    )
    assert isinstance(invocation.error, ConfigurationError)
    assert "REMEDIATION_ALLOW_OUTAGE" in str(invocation.error)
    assert world.settings() == before


def test_remediated_changes_are_logged_as_structured_fields_and_counted(functions: Functions, world: World) -> None:
    invocation = functions.invoke(
        "RemediateFunction", sample("remediate-daily.json"), {"POLICY_DOCUMENT": opted_in_policies()}
    )
    invocation.result()
    [summary] = [line for line in invocation.logs if line.get("message") == "remediation finished"]
    assert "orders:point-in-time-recovery" in summary["remediated"]
    item_lines = [line for line in invocation.logs if line.get("outcome") == "remediated"]
    assert {line["resource"] for line in item_lines} == {"orders-mysql", "billing-pg", "ledger", "orders"}
    assert all(line["job"] == "remediate" for line in item_lines)
    assert invocation.metric_values()["Remediated"] == 5


def test_unreadable_replicated_backups_are_a_note_and_change_nothing(functions: Functions, world: World) -> None:
    remediate(functions, sample("remediate-daily.json"))
    with failing_operation("rds", "DescribeDBInstanceAutomatedBackups", "AccessDenied", region=DR_REGION) as failed:
        payload = remediate(functions, sample("remediate-daily.json"))
    assert failed
    assert payload["counts"]["remediated"] == 0
    assert payload["counts"]["failed"] == 0
    [note] = payload["notes"]
    assert "AccessDenied" in note
