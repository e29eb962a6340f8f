"""The export function's settings: the DR bucket and its key, both or neither, the key in the DR Region."""

from __future__ import annotations

import pytest

from restorable.errors import ConfigurationError
from restorable.settings import ExportSettings
from restorable.verification.settings import VerifySettings
from tests.unit.test_settings import VALID

KEY = "arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ON = {**VALID, "DR_EXPORT_BUCKET": "restorable-dr-exports", "DR_EXPORT_KMS_KEY_ARN": KEY}


def test_bucket_and_key_turn_exports_on() -> None:
    settings = ExportSettings.from_environ(ON)
    assert settings.exports_enabled
    assert (settings.dr_export_bucket, settings.dr_export_kms_key_arn) == ("restorable-dr-exports", KEY)


def test_both_empty_is_exports_off() -> None:
    settings = ExportSettings.from_environ({**ON, "DR_EXPORT_BUCKET": "", "DR_EXPORT_KMS_KEY_ARN": ""})
    assert not settings.exports_enabled


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"DR_EXPORT_KMS_KEY_ARN": ""},
            "DR_EXPORT_KMS_KEY_ARN must name the DR bucket's KMS key when DR_EXPORT_BUCKET is set",
        ),
        ({"DR_EXPORT_KMS_KEY_ARN": "alias/aws/s3"}, "is not a KMS key ARN"),
        (
            {"DR_EXPORT_KMS_KEY_ARN": KEY.replace("us-west-2", "us-east-1")},
            "not the DR Region us-west-2",
        ),
        ({"DR_EXPORT_BUCKET": "Not_A_Bucket"}, "DR_EXPORT_BUCKET: 'Not_A_Bucket' is not an S3 bucket name"),
    ],
)
def test_bad_values_name_the_variable(changes: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        ExportSettings.from_environ({**ON, **changes})


@pytest.mark.parametrize("name", ["DR_EXPORT_BUCKET", "DR_EXPORT_KMS_KEY_ARN"])
def test_an_unset_variable_is_a_configuration_error(name: str) -> None:
    environment = {k: v for k, v in ON.items() if k != name}
    with pytest.raises(ConfigurationError, match=f"{name} is missing"):
        ExportSettings.from_environ(environment)


def test_verification_reads_the_bucket_and_treats_unset_as_exports_off() -> None:
    verify = {
        **VALID,
        "ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:alerts",
        "NOTIFICATION_STATE_TABLE": "state",
        "NOTIFICATION_REPEAT_HOURS": "24",
        "DRILL_HISTORY_TABLE": "",
        "RPO_WARNING_MINUTES": "15",
        "RPO_CRITICAL_MINUTES": "60",
        "DR_LAG_WARNING_HOURS": "6",
        "DR_LAG_CRITICAL_HOURS": "24",
        "SNAPSHOT_MAX_AGE_DAYS": '{"weekly": 8, "monthly": 32, "daily": 2}',
        "QUOTA_WARNING_PERCENT": "80",
        "DRILL_MAX_AGE_DAYS": "35",
    }
    assert VerifySettings.from_environ(verify).dr_export_bucket == ""
    assert VerifySettings.from_environ({**verify, "DR_EXPORT_BUCKET": "dr-exports"}).dr_export_bucket == "dr-exports"
    with pytest.raises(ConfigurationError, match="DR_EXPORT_BUCKET"):
        VerifySettings.from_environ({**verify, "DR_EXPORT_BUCKET": "Bad Bucket"})
