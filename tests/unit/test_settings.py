from __future__ import annotations

import json

import pytest

from restorable.drills.cache_model import CacheNetwork
from restorable.drills.model import Network
from restorable.drills.settings import DrillSchedulerSettings, DrillStepSettings
from restorable.errors import ConfigurationError, PolicyError
from restorable.settings import AWS_MANAGED_RDS_KEY, CopySettings, CoreSettings, PruneSettings, RegionSettings
from restorable.verification.settings import VerifySettings

VALID = {
    "STACK_NAME": "restorable",
    "AWS_REGION": "us-east-1",
    "DR_REGION": "us-west-2",
    "DR_KMS_KEY_ID": "",
    "SCHEDULE_TIMEZONE": "UTC",
    "SNAPSHOT_SCHEDULES": json.dumps(
        {"weekly": "cron(0 2 ? * SUN *)", "monthly": "cron(0 4 1 * ? *)", "daily": "cron(0 3 * * ? *)"}
    ),
    "POLICY_DOCUMENT": "",
}


def test_valid_environment_loads_with_the_built_in_policies() -> None:
    settings = CoreSettings.from_environ(VALID)
    assert settings.dr_kms_key_id == AWS_MANAGED_RDS_KEY
    assert settings.scheduled_kinds == {"weekly", "monthly", "daily"}
    assert set(settings.policies.policies) == {"standard", "compliance"}
    assert settings.schedules["weekly"].expression == "cron(0 2 ? * SUN *)"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"STACK_NAME": ""}, "STACK_NAME is missing"),
        ({"DR_REGION": "us-east-1"}, "DR_REGION must differ"),
        ({"DR_REGION": "moon-base-1x"}, "DR_REGION: 'moon-base-1x' is not an AWS Region"),
        ({"SCHEDULE_TIMEZONE": "Nowhere/City"}, "SCHEDULE_TIMEZONE: unknown time zone"),
        ({"SNAPSHOT_SCHEDULES": "weekly"}, "SNAPSHOT_SCHEDULES is not JSON"),
        ({"SNAPSHOT_SCHEDULES": '{"weekly": "cron(0 2 * * SUN *)"}'}, "kind 'weekly'"),
    ],
)
def test_invalid_settings_name_the_variable(changes: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        CoreSettings.from_environ({**VALID, **changes})


def test_missing_policy_variable_is_not_silently_defaulted() -> None:
    env = dict(VALID)
    del env["POLICY_DOCUMENT"]
    with pytest.raises(ConfigurationError, match="POLICY_DOCUMENT is missing"):
        CoreSettings.from_environ(env)


def test_custom_policy_document_replaces_the_built_in_one() -> None:
    custom = {
        "version": 1,
        "policies": {
            "gold": {
                "automated_backups": {"retention_days": 14},
                "snapshots": {"weekly": {"retention_days": 30, "dr_copy": False}},
            }
        },
    }
    settings = CoreSettings.from_environ({**VALID, "POLICY_DOCUMENT": json.dumps(custom)})
    assert set(settings.policies.policies) == {"gold"}


def test_unparsable_policy_document_is_a_policy_error() -> None:
    with pytest.raises(PolicyError, match="not valid JSON"):
        CoreSettings.from_environ({**VALID, "POLICY_DOCUMENT": "{"})


def test_optional_variables_may_be_unset_and_say_what_that_means() -> None:
    env = {k: v for k, v in VALID.items() if k != "DR_KMS_KEY_ID"}
    settings = CoreSettings.from_environ(env)
    assert settings.dr_kms_key_id == AWS_MANAGED_RDS_KEY
    assert settings.alert_topic_arn == ""
    declared = CoreSettings.model_fields["alert_topic_arn"].json_schema_extra
    assert isinstance(declared, dict)
    assert "log line" in str(declared["unset_means"])


def test_values_are_stripped_and_only_declared_variables_are_read() -> None:
    settings = CoreSettings.from_environ({**VALID, "STACK_NAME": "  restorable \n", "UNRELATED": "x"})
    assert settings.stack_name == "restorable"


def test_region_alone_is_read_for_the_pipeline_report() -> None:
    assert RegionSettings.from_environ({"AWS_REGION": "eu-west-1"}).region == "eu-west-1"
    with pytest.raises(ConfigurationError, match="AWS_REGION is missing"):
        RegionSettings.from_environ({})


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "COPY_MAX_ATTEMPTS is missing"),
        ("0", "COPY_MAX_ATTEMPTS: '0' must be a whole number at least 1 and at most 100"),
        ("101", "at most 100"),
        ("three", "COPY_MAX_ATTEMPTS: 'three'"),
    ],
)
def test_copy_attempts_must_be_a_bounded_whole_number(value: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        CopySettings.from_environ({**VALID, "COPY_MAX_ATTEMPTS": value})


def test_copy_attempts_are_read() -> None:
    assert CopySettings.from_environ({**VALID, "COPY_MAX_ATTEMPTS": "5"}).copy_max_attempts == 5


PRUNE = {**VALID, "DYNAMODB_HOLDS_TABLE": "restorable-HoldsTable"}


def test_prune_settings_carry_the_breaker_limits() -> None:
    settings = PruneSettings.from_environ({**PRUNE, "PRUNE_MAX_SHARE_PERCENT": "20", "PRUNE_MAX_COUNT": "0"})
    assert settings.breaker_limits.max_share == pytest.approx(0.2)
    assert settings.breaker_limits.max_count == 0
    with pytest.raises(ConfigurationError, match="PRUNE_MAX_COUNT is missing"):
        PruneSettings.from_environ({**PRUNE, "PRUNE_MAX_SHARE_PERCENT": "20"})


def test_prune_settings_need_the_holds_table() -> None:
    limits = {"PRUNE_MAX_SHARE_PERCENT": "20", "PRUNE_MAX_COUNT": "0"}
    assert PruneSettings.from_environ({**PRUNE, **limits}).dynamodb_holds_table == "restorable-HoldsTable"
    with pytest.raises(ConfigurationError, match="DYNAMODB_HOLDS_TABLE is missing or empty"):
        PruneSettings.from_environ({**VALID, **limits})
    with pytest.raises(ConfigurationError, match="DYNAMODB_HOLDS_TABLE: 'a b' is not a DynamoDB table name"):
        PruneSettings.from_environ({**PRUNE, **limits, "DYNAMODB_HOLDS_TABLE": "a b"})


VERIFY = {
    **VALID,
    "ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:alerts",
    "NOTIFICATION_STATE_TABLE": "state",
    "NOTIFICATION_REPEAT_HOURS": "24",
    "DRILL_HISTORY_TABLE": "",
    "RPO_WARNING_MINUTES": "15",
    "RPO_CRITICAL_MINUTES": "60",
    "DR_LAG_WARNING_HOURS": "6",
    "DR_LAG_CRITICAL_HOURS": "24",
    "SNAPSHOT_MAX_AGE_DAYS": json.dumps({"weekly": 8, "monthly": 32, "daily": 2}),
    "QUOTA_WARNING_PERCENT": "80",
    "DRILL_MAX_AGE_DAYS": "35",
}


def test_verify_settings_build_the_thresholds() -> None:
    settings = VerifySettings.from_environ(VERIFY)
    assert settings.thresholds.rpo_critical.total_seconds() == 3600
    assert settings.thresholds.snapshot_max_age["monthly"].days == 32
    assert settings.repeat_after.total_seconds() == 24 * 3600
    assert settings.drill_history_table == ""


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ALERT_TOPIC_ARN": ""}, "ALERT_TOPIC_ARN is missing"),
        ({"RPO_WARNING_MINUTES": "90"}, "RPO_WARNING_MINUTES must be below RPO_CRITICAL_MINUTES"),
        ({"QUOTA_WARNING_PERCENT": "lots"}, "QUOTA_WARNING_PERCENT: 'lots' is not a number"),
        ({"DRILL_MAX_AGE_DAYS": "0"}, "DRILL_MAX_AGE_DAYS: 0 is outside 1..3660"),
        ({"SNAPSHOT_MAX_AGE_DAYS": '{"weekly": true}'}, "SNAPSHOT_MAX_AGE_DAYS: must map kind names to days"),
        ({"SNAPSHOT_MAX_AGE_DAYS": '{"weekly": 8}'}, "no maximum age for scheduled kind.s. daily, monthly"),
    ],
)
def test_invalid_verify_settings_name_the_variable(changes: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        VerifySettings.from_environ({**VERIFY, **changes})


def test_a_variable_that_may_be_empty_must_still_be_set() -> None:
    env = {k: v for k, v in VERIFY.items() if k != "DRILL_HISTORY_TABLE"}
    with pytest.raises(ConfigurationError, match=r"DRILL_HISTORY_TABLE is missing \(set it empty to turn off\)"):
        VerifySettings.from_environ(env)


DRILL_STEP = {
    **VALID,
    "DRILL_HISTORY_TABLE": "history",
    "DRILL_REPORT_BUCKET": "reports",
    "DR_EXPORT_BUCKET": "",
    "DR_EXPORT_KMS_KEY_ARN": "",
}


def test_drill_networks_default_to_the_account_default_when_unset() -> None:
    settings = DrillStepSettings.from_environ(
        {**DRILL_STEP, "DR_DRILL_SUBNET_GROUP": "dr-drills", "DR_DRILL_SECURITY_GROUP_IDS": "sg-0123456789abcdef0, "}
    )
    assert settings.network(in_dr_region=False) == Network(subnet_group="", security_group_ids=())
    assert settings.network(in_dr_region=True) == Network(
        subnet_group="dr-drills", security_group_ids=("sg-0123456789abcdef0",)
    )
    with pytest.raises(ConfigurationError, match="DRILL_SECURITY_GROUP_IDS: default is not a security group id"):
        DrillStepSettings.from_environ({**DRILL_STEP, "DRILL_SECURITY_GROUP_IDS": "default"})
    with pytest.raises(ConfigurationError, match="DRILL_REPORT_BUCKET is missing"):
        DrillStepSettings.from_environ({**DRILL_STEP, "DRILL_REPORT_BUCKET": ""})


def test_cache_drill_network_and_user_group() -> None:
    settings = DrillStepSettings.from_environ(
        {
            **DRILL_STEP,
            "DRILL_SECURITY_GROUP_IDS": "sg-0123456789abcdef0",
            "DRILL_CACHE_SUBNET_GROUP": "drill-caches",
            "DRILL_CACHE_SUBNET_IDS": "subnet-0123456789abcdef0, subnet-0123456789abcdef1",
            "DRILL_CACHE_USER_GROUP_ID": "restorable-drill",
        }
    )
    assert settings.cache_network() == CacheNetwork(
        subnet_group="drill-caches",
        subnet_ids=("subnet-0123456789abcdef0", "subnet-0123456789abcdef1"),
        security_group_ids=("sg-0123456789abcdef0",),
        user_group_id="restorable-drill",
    )
    assert DrillStepSettings.from_environ(DRILL_STEP).cache_network() == CacheNetwork()
    with pytest.raises(ConfigurationError, match="DRILL_CACHE_SUBNET_IDS: subnet-x is not a subnet id"):
        DrillStepSettings.from_environ({**DRILL_STEP, "DRILL_CACHE_SUBNET_IDS": "subnet-x"})
    with pytest.raises(ConfigurationError, match="DRILL_CACHE_USER_GROUP_ID: '-bad' is not an ElastiCache user group"):
        DrillStepSettings.from_environ({**DRILL_STEP, "DRILL_CACHE_USER_GROUP_ID": "-bad"})


def test_drill_scheduler_settings() -> None:
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:restorable-drill"
    settings = DrillSchedulerSettings.from_environ({**VALID, "DRILL_STATE_MACHINE_ARN": arn, "DR_EXPORT_BUCKET": ""})
    assert (settings.drills_per_run, settings.checks) == (0, {})
    with pytest.raises(ConfigurationError, match="DRILL_STATE_MACHINE_ARN is missing"):
        DrillSchedulerSettings.from_environ(VALID)
    with pytest.raises(ConfigurationError, match="DRILLS_PER_RUN: '-1' must be a whole number at least 0"):
        DrillSchedulerSettings.from_environ(
            {**VALID, "DRILL_STATE_MACHINE_ARN": arn, "DR_EXPORT_BUCKET": "", "DRILLS_PER_RUN": "-1"}
        )
    with pytest.raises(ConfigurationError, match="DRILL_CHECKS is not JSON"):
        DrillSchedulerSettings.from_environ(
            {**VALID, "DRILL_STATE_MACHINE_ARN": arn, "DR_EXPORT_BUCKET": "", "DRILL_CHECKS": "{"}
        )


def test_the_same_variables_give_the_same_validated_settings_and_other_values_are_read_afresh() -> None:
    first = CoreSettings.from_environ(VALID)
    assert CoreSettings.from_environ(dict(VALID)) is first  # a warm function re-reads the same values
    assert CoreSettings.from_environ({**VALID, "UNRELATED": "x"}) is first  # only declared variables count
    other = CoreSettings.from_environ({**VALID, "DR_REGION": "eu-west-1"})
    assert other is not first
    assert other.dr_region == "eu-west-1"
    prune = {**PRUNE, "PRUNE_MAX_SHARE_PERCENT": "20", "PRUNE_MAX_COUNT": "0"}
    assert type(PruneSettings.from_environ(prune)) is PruneSettings  # one model's settings never stand for another's
    assert type(CoreSettings.from_environ(prune)) is CoreSettings


def test_an_invalid_environment_fails_every_time_it_is_read() -> None:
    broken = {**VALID, "DR_REGION": "moon-base-1x"}
    for _ in range(2):
        with pytest.raises(ConfigurationError, match="DR_REGION"):
            CoreSettings.from_environ(broken)
