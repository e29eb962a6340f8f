"""The cache export function's settings: the staging bucket, and the DR bucket with its key (empty: off)."""

from __future__ import annotations

import json

import pytest

from restorable.errors import ConfigurationError
from restorable.settings import CacheExportSettings

KEY = "arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ENV = {
    "AWS_REGION": "us-east-1",
    "STACK_NAME": "restorable",
    "DR_REGION": "us-west-2",
    "DR_KMS_KEY_ID": "",
    "SCHEDULE_TIMEZONE": "UTC",
    "SNAPSHOT_SCHEDULES": json.dumps(
        {"weekly": "cron(0 2 ? * SUN *)", "monthly": "cron(0 4 1 * ? *)", "daily": "cron(0 3 * * ? *)"}
    ),
    "POLICY_DOCUMENT": "",
    "CACHE_EXPORT_BUCKET": "restorable-cacheexportbucket",
    "DR_EXPORT_BUCKET": "restorable-dr-exports",
    "DR_EXPORT_KMS_KEY_ARN": KEY,
}


def test_exports_on_with_bucket_and_key() -> None:
    settings = CacheExportSettings.from_environ(ENV)
    assert settings.exports_on
    assert settings.dr_export_kms_key_arn == KEY


def test_an_empty_dr_bucket_turns_exports_off() -> None:
    settings = CacheExportSettings.from_environ({**ENV, "DR_EXPORT_BUCKET": "", "DR_EXPORT_KMS_KEY_ARN": ""})
    assert not settings.exports_on


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"DR_EXPORT_KMS_KEY_ARN": ""}, "DR_EXPORT_KMS_KEY_ARN must name the DR bucket's KMS key"),
        ({"DR_EXPORT_KMS_KEY_ARN": "alias/dr"}, "is not a KMS key ARN"),
        ({"DR_EXPORT_KMS_KEY_ARN": KEY.replace("us-west-2", "eu-west-1")}, "not the DR Region us-west-2"),
        ({"DR_EXPORT_BUCKET": "Not_A_Bucket"}, "DR_EXPORT_BUCKET: 'Not_A_Bucket' is not an S3 bucket name"),
        ({"CACHE_EXPORT_BUCKET": ""}, "CACHE_EXPORT_BUCKET is missing or empty"),
    ],
)
def test_bad_settings_name_the_variable(changes: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        CacheExportSettings.from_environ({**ENV, **changes})


def test_the_dr_bucket_must_be_set_even_when_empty() -> None:
    env = {k: v for k, v in ENV.items() if k != "DR_EXPORT_BUCKET"}
    with pytest.raises(ConfigurationError, match=r"DR_EXPORT_BUCKET is missing \(set it empty to turn exports"):
        CacheExportSettings.from_environ(env)
