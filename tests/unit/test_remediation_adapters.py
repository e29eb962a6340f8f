"""The replication call, which moto lacks: request shapes and errors against botocore's real service model (Stubber)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import Stubber

from restorable.adapters.remediation import RdsBackupSettingsGateway
from restorable.errors import QuotaExceededError, ResourceBusyError, ThrottledError

SOURCE_ARN = "arn:aws:rds:us-east-1:123456789012:db:orders"


@pytest.fixture
def dr() -> Iterator[tuple[RdsBackupSettingsGateway, Stubber]]:
    client = boto3.client("rds", region_name="us-west-2")
    with Stubber(client) as stubber:
        yield RdsBackupSettingsGateway(client), stubber
        stubber.assert_no_pending_responses()


def _started() -> dict[str, object]:
    return {"DBInstanceAutomatedBackup": {"DBInstanceArn": SOURCE_ARN, "Region": "us-east-1", "Status": "pending"}}


def test_replication_of_an_encrypted_instance_is_started_with_the_retention_and_the_dr_key(
    dr: tuple[RdsBackupSettingsGateway, Stubber],
) -> None:
    gateway, stubber = dr
    stubber.add_response(
        "start_db_instance_automated_backups_replication",
        _started(),
        {"SourceDBInstanceArn": SOURCE_ARN, "BackupRetentionPeriod": 14, "KmsKeyId": "alias/aws/rds"},
    )
    gateway.start_backup_replication(SOURCE_ARN, retention_days=14, kms_key_id="alias/aws/rds")


def test_replication_of_an_unencrypted_instance_names_no_key(dr: tuple[RdsBackupSettingsGateway, Stubber]) -> None:
    gateway, stubber = dr
    stubber.add_response(
        "start_db_instance_automated_backups_replication",
        _started(),
        {"SourceDBInstanceArn": SOURCE_ARN, "BackupRetentionPeriod": 7},
    )
    gateway.start_backup_replication(SOURCE_ARN, retention_days=7, kms_key_id=None)


@pytest.mark.parametrize(
    ("code", "status", "error"),
    [
        ("DBInstanceAutomatedBackupQuotaExceeded", 400, QuotaExceededError),
        ("Throttling", 400, ThrottledError),
        ("InvalidDBInstanceState", 400, ResourceBusyError),
    ],
)
def test_a_failing_replication_call_is_a_domain_error_naming_the_instance_and_region(
    dr: tuple[RdsBackupSettingsGateway, Stubber], code: str, status: int, error: type[Exception]
) -> None:
    gateway, stubber = dr
    stubber.add_client_error(
        "start_db_instance_automated_backups_replication", service_error_code=code, http_status_code=status
    )
    with pytest.raises(error) as raised:
        gateway.start_backup_replication(SOURCE_ARN, retention_days=7, kms_key_id=None)
    assert SOURCE_ARN in str(raised.value)
    assert "us-west-2" in str(raised.value)
    assert code in str(raised.value)


def test_replication_is_never_called_in_the_source_region() -> None:
    gateway = RdsBackupSettingsGateway(boto3.client("rds", region_name="us-east-1"))
    with pytest.raises(ValueError, match="DR Region"):
        gateway.start_backup_replication(SOURCE_ARN, retention_days=7, kms_key_id=None)


def test_replicated_retention_is_read_from_the_dr_regions_automated_backups(
    dr: tuple[RdsBackupSettingsGateway, Stubber],
) -> None:
    gateway, stubber = dr
    window = {"EarliestTime": datetime(2027, 2, 20, tzinfo=UTC), "LatestTime": datetime(2027, 3, 1, tzinfo=UTC)}
    stubber.add_response(
        "describe_db_instance_automated_backups",
        {
            "DBInstanceAutomatedBackups": [
                # Replicated from the source Region: its retention counts.
                {
                    "DBInstanceArn": SOURCE_ARN,
                    "Region": "us-east-1",
                    "BackupRetentionPeriod": 3,
                    "RestoreWindow": window,
                },
                # The DR Region's own instance's automated backups: not a replication.
                {
                    "DBInstanceArn": "arn:aws:rds:us-west-2:123456789012:db:local",
                    "Region": "us-west-2",
                    "BackupRetentionPeriod": 9,
                },
            ]
        },
        {"MaxRecords": 100},
    )
    assert gateway.replicated_retention() == {SOURCE_ARN: 3}
