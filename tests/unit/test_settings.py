from __future__ import annotations

import json

import pytest

from restorable.errors import ConfigurationError, PolicyError
from restorable.settings import AWS_MANAGED_RDS_KEY, CoreSettings

VALID = {
    "STACK_NAME": "restorable",
    "AWS_REGION": "us-east-1",
    "DR_REGION": "us-west-2",
    "DR_KMS_KEY_ID": "",
    "SCHEDULE_TIMEZONE": "UTC",
    "SNAPSHOT_SCHEDULES": json.dumps({"weekly": "cron(0 2 ? * SUN *)", "monthly": "cron(0 4 1 * ? *)"}),
    "POLICY_DOCUMENT": "",
}


def test_valid_environment_loads_with_the_built_in_policies() -> None:
    settings = CoreSettings.from_environ(VALID)
    assert settings.dr_kms_key_id == AWS_MANAGED_RDS_KEY
    assert settings.scheduled_kinds == {"weekly", "monthly"}
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
