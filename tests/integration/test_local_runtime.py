"""The demo, run for a short period on moto, does what the template and the default policy say.

One 16-day run (module-scoped, so the suite stays fast) is shared by the assertions below; it
covers the monthly drills of Nov 8, which run through the real state machine definition.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local_runtime.demo import DEFAULT_START, Demo, run_demo
from local_runtime.fleet import SAMPLE_FLEET, FleetMember
from local_runtime.functions import Functions, RuleSpec
from local_runtime.report import summary_lines, write_report
from local_runtime.simulation import Simulation, SimulationResult, fire_times
from local_runtime.template import Template
from local_runtime.world import RdsWorld, rds_event
from restorable.naming import parse_timestamp

START = datetime(2026, 11, 1, tzinfo=UTC)  # a Sunday, and the first of a month
DAYS = 16


def _template_copies_snapshots(template: Template) -> bool:
    """Whether the template deploys a function allowed to copy snapshots (the DR copy function)."""
    text = json.dumps(template.document)
    return "rds:CopyDBSnapshot" in text


@pytest.fixture(scope="module")
def demo() -> Iterator[tuple[Demo, dict[str, dict[str, dict[str, str]]]]]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        with mock_aws():
            result = run_demo(days=DAYS, start=START, fleet=SAMPLE_FLEET)
            world = RdsWorld(["us-east-1", "us-west-2"])
            snapshots: dict[str, dict[str, dict[str, str]]] = {"us-east-1": {}, "us-west-2": {}}
            for record in world.inventory().snapshots.values():
                snapshots[record.region][record.identifier] = record.tag_map
            yield result, snapshots


def test_every_protected_database_has_exactly_the_weekly_and_monthly_snapshots_the_policy_wants(demo: Any) -> None:
    run, snapshots = demo
    expected = {
        # The first catch-up run (00:30 on Nov 1) takes the periods current then: the weekly of
        # Sunday Oct 25 and the monthly of Oct 1; the schedules then fire on Nov 1, 8 and 15.
        f"{db}-{kind}-{day}"
        for db in ("shop-mysql", "billing-postgres", "ledger-aurora")
        for kind, day in [
            ("weekly", "2026-10-25"),
            ("weekly", "2026-11-01"),
            ("weekly", "2026-11-08"),
            ("weekly", "2026-11-15"),
            ("monthly", "2026-10-01"),
            ("monthly", "2026-11-01"),
        ]
    }
    # reporting-mysql was stopped: RDS restarts it after seven days (Nov 8 00:00) and the next
    # catch-up takes the periods current then (weekly Nov 1, monthly Nov 1); then Nov 8 and 15.
    expected |= {
        "reporting-mysql-weekly-2026-11-01",
        "reporting-mysql-monthly-2026-11-01",
        "reporting-mysql-weekly-2026-11-08",
        "reporting-mysql-weekly-2026-11-15",
    }
    assert set(snapshots["us-east-1"]) == expected
    assert run.result.restarts == [(datetime(2026, 11, 8, tzinfo=UTC), "us-east-1/reporting-mysql")]
    for identifier, tags in snapshots["us-east-1"].items():
        kind = tags["restorable:kind"]
        assert identifier.split("-")[-4] == kind
        assert tags["restorable:managed-by"] == "restorable"
        retention = {"weekly": 90, "monthly": 2555 if identifier.startswith("billing") else 365}[kind]
        expires = parse_timestamp(tags["restorable:expires-at"])
        assert expires is not None
        day = datetime.fromisoformat(identifier[-10:]).date()
        assert (expires.date() - day).days == retention


def test_dr_region_holds_copies_only_when_the_template_copies(demo: Any) -> None:
    run, snapshots = demo
    if _template_copies_snapshots(run.template):
        assert set(snapshots["us-west-2"]) == set(snapshots["us-east-1"])
    else:
        assert snapshots["us-west-2"] == {}
        assert sum(run.result.copied.values()) == 0


def test_nothing_unprotected_was_touched(demo: Any) -> None:
    run, snapshots = demo
    assert run.result.untouched == {"us-east-1/sandbox-postgres": True, "us-west-2/analytics-replica": True}
    everything = [*snapshots["us-east-1"], *snapshots["us-west-2"]]
    assert not [s for s in everything if s.startswith(("sandbox-postgres", "analytics-replica"))]


def test_counts_events_and_samples_are_read_back_from_the_emulator(demo: Any) -> None:
    run, snapshots = demo
    result = run.result
    assert result.errors == []
    created = sum(n for (region, _), n in result.created.items() if region == "us-east-1")
    assert created == len(snapshots["us-east-1"]) == sum(result.kept[k] for k in result.kept if k[0] == "us-east-1")
    instance_snapshots = [s for s in snapshots["us-east-1"] if not s.startswith("ledger-aurora")]
    assert result.events_emitted[("us-east-1", "RDS-EVENT-0042")] == len(instance_snapshots)
    assert result.events_emitted[("us-east-1", "RDS-EVENT-0075")] == len(snapshots["us-east-1"]) - len(
        instance_snapshots
    )
    # Daily backups in the window: shop, billing and sandbox every day, reporting from its restart.
    assert result.events_emitted[("us-east-1", "RDS-EVENT-0002")] == 3 * DAYS + (DAYS - 7)
    assert result.events_emitted[("us-west-2", "RDS-EVENT-0002")] == DAYS
    assert len(result.samples) == DAYS + 1
    assert result.samples[-1].snapshots["us-east-1"] == len(snapshots["us-east-1"])
    assert result.samples[-1].storage_gb["us-east-1"] == (50 * 6 + 100 * 6 + 200 * 6 + 80 * 4)


def test_every_function_schedule_fired_as_its_cron_says(demo: Any) -> None:
    run, _ = demo
    end = START.replace(day=START.day + DAYS)
    expected = sum(len(fire_times(s, START, end)) for s in run.functions.schedules() if s.enabled)
    scheduled = [job for job in run.result.jobs if job.trigger.startswith("schedule:")]
    assert len(scheduled) == expected
    assert expected >= 24 * DAYS  # the hourly catch-up alone


PROTECTED = (
    "billing-postgres",
    "ledger-aurora",
    "reporting-mysql",
    "shop-mysql",
    "orders-table",
    "carts-global",
    "sessions-cache",
)


def test_monthly_drills_ran_through_the_state_machine_recorded_and_cleaned_up(demo: Any) -> None:
    run, _ = demo
    drills = run.result.drills
    assert sorted(d.figures["source"] for d in drills) == sorted(PROTECTED)  # DrillsPerRun 10 >= 7 candidates
    history_table = run.template.physical_name("DrillHistoryTable")
    items = {
        item["execution_id"]["S"]: item
        for item in boto3.client("dynamodb", region_name="us-east-1").scan(TableName=history_table)["Items"]
    }
    bucket = run.template.physical_name("DrillReportBucket")
    reports = {
        o["Key"] for o in boto3.client("s3", region_name="us-east-1").list_objects_v2(Bucket=bucket).get("Contents", [])
    }
    for drill in drills:
        figures = drill.figures
        assert drill.trigger == "function:DrillSchedulerFunction"
        assert drill.state_machine == "DrillStateMachine"
        assert (drill.status, figures["outcome"]) == ("SUCCEEDED", "passed"), figures["reasons"]
        assert datetime(2026, 11, 8, 6, tzinfo=UTC) <= drill.at < datetime(2026, 11, 8, 7, tzinfo=UTC)
        # Measured in simulated time: at least the first status poll's Wait (60 s), never real seconds.
        assert 60 <= figures["rto_seconds"] <= figures["rto_target_seconds"] == 3600
        assert figures["rpo_seconds"] > 0
        assert figures["cleanup"] == "deleted"
        item = items[drill.detail["execution"]]
        assert item["outcome"]["S"] == "passed"
        assert item["source_identifier"]["S"] == figures["source"]
        assert float(item["rto_seconds"]["N"]) == figures["rto_seconds"]
        report_uri = item["report_uri"]["S"]
        assert report_uri.startswith(f"s3://{bucket}/drills/{figures['source']}/")
        assert report_uri.removeprefix(f"s3://{bucket}/") in reports
        assert figures["report"].removeprefix(f"s3://{bucket}/") in reports
    assert len(items) == len(drills)
    subjects = [a.subject for a in run.result.alerts]
    assert sorted(s for s in subjects if s.startswith("Restorable drill passed")) == sorted(
        f"Restorable drill passed: {source} ({'backup' if source.endswith(('-table', '-global')) else 'snapshot'})"
        for source in PROTECTED
    )


def test_no_drill_database_is_left_in_either_region(demo: Any) -> None:
    run, _ = demo
    assert run.result.drills
    for region in ("us-east-1", "us-west-2"):
        rds = boto3.client("rds", region_name=region)
        instances = [d["DBInstanceIdentifier"] for d in rds.describe_db_instances()["DBInstances"]]
        clusters = [c["DBClusterIdentifier"] for c in rds.describe_db_clusters()["DBClusters"]]
        assert [i for i in [*instances, *clusters] if i.startswith("drill-")] == [], region


def test_the_default_demo_period_includes_a_monthly_drill() -> None:
    template = Template.load(region="us-east-1")
    [drill_schedule] = [s for s in Functions(template).schedules() if s.function == "DrillSchedulerFunction"]
    start = datetime.fromisoformat(DEFAULT_START)
    assert fire_times(drill_schedule, start, start + timedelta(days=100))


def test_report_and_summary_are_written(demo: Any, tmp_path: Path) -> None:
    run, _ = demo
    lines = summary_lines(run.result, run.runner_connected)
    assert any("us-east-1   weekly" in line for line in lines)
    path = write_report(run.result, tmp_path, run.runner_connected)
    text = path.read_text()
    assert "## Snapshots at the end" in text
    assert "shop-mysql-weekly-2026-11-15" in text
    assert "## Restore drills" in text
    # Four databases and the cache are snapshot drills; the two tables are backup drills.
    drill_lines = [line for line in lines if "(snapshot, us-east-1): PASSED [SUCCEEDED]" in line]
    assert len(drill_lines) == 5
    assert all("RTO 1m00s (target 1h00m) met" in line and "cleanup deleted" in line for line in drill_lines)
    assert (tmp_path / "snapshots.png").stat().st_size > 1000
    assert (tmp_path / "storage.png").stat().st_size > 1000


class _RecordingSimulation(Simulation):
    """Records the invocations dispatch asks for instead of running handlers."""

    invoked: list[tuple[str, Any]]

    def _invoke(self, function: str, event: Any, trigger: str, at: datetime, result: Any, depth: int) -> Any:
        self.invoked.append((function, event))


def test_rds_events_reach_exactly_the_rules_whose_pattern_matches(aws: None) -> None:
    """Generic dispatch: a rule of the template gets the events its pattern matches, in its own Region only."""
    functions = Functions(Template.load(region="us-east-1"), warm=True)
    rule = RuleSpec("SnapshotFunction", "OnBackup", {"source": ["aws.rds"], "detail": {"EventID": ["RDS-EVENT-0002"]}})
    functions.rules = lambda: [rule]  # type: ignore[method-assign]
    simulation = _RecordingSimulation(functions, RdsWorld(["us-east-1", "us-west-2"]), progress=None)
    simulation.invoked = []
    arn = "arn:aws:rds:us-east-1:123456789012:db:shop-mysql"
    backup = rds_event(
        "DB_INSTANCE", "RDS-EVENT-0002", "backup", "Finished DB instance backup", arn, "shop-mysql", START
    )
    created = rds_event(
        "SNAPSHOT", "RDS-EVENT-0042", "creation", "created", arn.replace(":db:", ":snapshot:"), "s", START
    )
    elsewhere = rds_event(
        "DB_INSTANCE", "RDS-EVENT-0002", "backup", "done", arn.replace("us-east-1", "us-west-2"), "x", START
    )
    result = SimulationResult(START, START, ["us-east-1", "us-west-2"], "us-east-1")
    simulation._dispatch([backup, created, elsewhere], START, result, depth=1)
    assert simulation.invoked == [("SnapshotFunction", backup)]
    assert backup["detail-type"] == "RDS DB Instance Event"
    assert backup["detail"]["SourceArn"] == arn
    assert result.events_emitted == {
        ("us-east-1", "RDS-EVENT-0002"): 1,
        ("us-east-1", "RDS-EVENT-0042"): 1,
        ("us-west-2", "RDS-EVENT-0002"): 1,
    }


def test_sample_fleet_is_data_the_simulator_can_share() -> None:
    assert {m.region for m in SAMPLE_FLEET} == {"us-east-1", "us-west-2"}
    assert all(isinstance(m, FleetMember) for m in SAMPLE_FLEET)
