"""API calls of one verification pass (and of an event-triggered run) over N protected databases.

Each database has a weekly and a monthly snapshot and their DR copies; the first pass
announces nothing (all healthy) so the figures are the steady-state cost of an hourly run.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import time_machine
from moto import mock_aws

import local_runtime  # noqa: F401 - puts the core layer on the path
from local_runtime.functions import Functions
from local_runtime.template import Template
from tests.verify_env import VerifyEnvironment

from .api_calls import measure_invocation

SUNDAY = datetime(2026, 11, 22, 2, tzinfo=UTC)
SOURCE, DR = "us-east-1", "us-west-2"


def _fleet(rds: Any, size: int, env: VerifyEnvironment) -> None:
    for number in range(size):
        identifier = f"db{number:04d}"
        rds.create_db_instance(
            DBInstanceIdentifier=identifier,
            DBInstanceClass="db.t3.micro",
            Engine="postgres",
            AllocatedStorage=20,
            MasterUsername="u",
            MasterUserPassword="password-1",
            StorageEncrypted=True,
            BackupRetentionPeriod=7,
            PreferredBackupWindow="03:00-04:00",
            CopyTagsToSnapshot=True,
            Tags=[{"Key": "restorable:policy", "Value": "standard"}],
        )
        env.set_replication(identifier, DR)


def verification_api_calls(fleet_size: int) -> dict[str, object]:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ["MOTO_RDS_SNAPSHOT_LIMIT"] = "1000000"
    template = Template.load(region=SOURCE)
    functions = Functions(template)
    with mock_aws(), time_machine.travel(SUNDAY, tick=False) as clock:
        env = VerifyEnvironment(template, SOURCE, DR)
        env.create()
        for _ in env.install():
            rds = boto3.client("rds", region_name=SOURCE)
            _fleet(rds, fleet_size, env)
            for name in ("WeeklySnapshots", "MonthlySnapshots"):
                [spec] = [s for s in functions.schedules() if s.name == name]
                functions.invoke("SnapshotFunction", spec.event_for(SUNDAY)).result()
            dr = boto3.client("rds", region_name=DR)
            for page in rds.get_paginator("describe_db_snapshots").paginate(SnapshotType="manual"):
                for snap in page["DBSnapshots"]:
                    dr.copy_db_snapshot(
                        SourceDBSnapshotIdentifier=snap["DBSnapshotArn"],
                        TargetDBSnapshotIdentifier=snap["DBSnapshotIdentifier"],
                        CopyTags=True,
                        SourceRegion=SOURCE,
                    )
            clock.move_to(SUNDAY + timedelta(hours=1, minutes=5))
            [hourly] = [s for s in functions.schedules() if s.name == "HourlyVerification"]
            run = measure_invocation(functions, "VerifyFunction", hourly.event_for(SUNDAY + timedelta(hours=1)))
            event = {
                "source": "aws.rds",
                "detail-type": "RDS DB Instance Event",
                "detail": {"EventID": "RDS-EVENT-0002", "SourceArn": f"arn:aws:rds:{SOURCE}:123456789012:db:db0000"},
            }
            event_run = measure_invocation(functions, "VerifyFunction", event)
            return {
                "databases": fleet_size,
                "snapshots_per_region": 2 * fleet_size,
                "status": run.payload["status"],
                **run.figures(),
                "event_run_api_calls": sum(event_run.calls.values()),
                "event_run_api_calls_as_aws_pages": event_run.calls.as_aws_would_page(),
                "event_run_by_operation": dict(sorted(event_run.calls.items())),
            }
    raise AssertionError("unreachable")
