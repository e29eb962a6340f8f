"""The DR export check of DynamoDB tables over hand-made inventories: each finding fires, with its fix, and clears."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from restorable.verification.checks import Severity
from restorable.verification.dynamodb_checks import MonitoredTable
from tests.unit.test_verification_engines import (
    CONTEXT,
    NOW,
    _document,
    check_tables,
    pitr,
    table,
    weekly_export,
)

CHECK = "dr-export:weekly"


def export_check(*exports: object, created_days: int = 400, **inventory: object) -> tuple[Severity, str, str]:
    monitored = MonitoredTable(
        table(),
        pitr(),
        created_at=NOW - timedelta(days=created_days),
        exports=list(exports),  # type: ignore[arg-type]
    )
    found = check_tables(monitored, **inventory)[CHECK]
    return found.severity, found.observed, found.fix


@pytest.mark.parametrize(
    ("age", "severity"),
    [(timedelta(days=7), Severity.OK), (timedelta(days=9), Severity.WARNING), (timedelta(days=17), Severity.CRITICAL)],
)
def test_the_newest_completed_export_is_judged_against_the_weekly_maximum_age(
    age: timedelta, severity: Severity
) -> None:
    found, observed, fix = export_check(weekly_export(age), weekly_export(age + timedelta(days=7)))
    assert found is severity
    assert "s3://dr-exports/dynamodb/restorable/orders/weekly/" in observed
    assert (fix == "") is (severity is Severity.OK)


def test_with_exports_off_every_table_that_wants_a_dr_copy_is_reported_with_the_deploy_steps() -> None:
    severity, observed, fix = export_check(export_bucket="")
    assert severity is Severity.WARNING
    assert "DR exports are off" in observed
    assert "dr-template.yaml" in fix
    assert "DrExportBucket" in fix


def test_a_failed_newest_export_is_a_finding_with_its_reason() -> None:
    severity, observed, fix = export_check(
        weekly_export(timedelta(days=1), "FAILED"), weekly_export(timedelta(days=8, hours=-1))
    )
    assert severity is Severity.WARNING
    assert "FAILED: S3NoSuchBucket" in observed
    assert '{"tables": ["orders"]}' in fix
    assert export_check(weekly_export(timedelta(days=1), "FAILED"))[0] is Severity.CRITICAL


def test_a_missing_export_is_critical_unless_the_table_is_young() -> None:
    severity, observed, _ = export_check()
    assert severity is Severity.CRITICAL
    assert "no COMPLETED export" in observed
    assert export_check(weekly_export(timedelta(hours=1), "IN_PROGRESS"))[1].endswith("(one is in progress)")
    assert export_check(created_days=3)[0] is Severity.OK


def test_exports_elsewhere_do_not_count() -> None:
    other_bucket = weekly_export(bucket="someone-elses")
    other_stack = replace(weekly_export(), s3_prefix="dynamodb/other-stack/orders/weekly/2026-11-20")
    assert export_check(other_bucket, other_stack)[0] is Severity.CRITICAL


def test_unreadable_exports_are_unknown() -> None:
    monitored = MonitoredTable(
        table(), pitr(), created_at=NOW - timedelta(days=400), exports=None, export_error="exports unreadable: denied"
    )
    found = check_tables(monitored)[CHECK]
    assert found.severity is Severity.UNKNOWN
    assert "denied" in found.observed


def test_a_policy_without_a_weekly_dr_copy_is_not_checked() -> None:
    local_only = replace(CONTEXT, policies=_document({"weekly": {"retention_days": 90, "dr_copy": False}}))
    assert CHECK not in check_tables(context=local_only, export_bucket="")
