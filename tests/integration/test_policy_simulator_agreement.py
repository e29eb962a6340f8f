"""The policy simulator and the emulator agree on the same fleet, period, policy and schedules.

Both read the schedules and policies from ``template.yaml``; the emulator runs the real
handlers on moto, the simulator only the planning core. Day by day, the source Region holds
the same number of snapshots, and at the end the same identifiers.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from moto import mock_aws

from local_runtime.demo import run_demo
from local_runtime.fleet import FleetMember
from local_runtime.world import RdsWorld
from policy_simulator.config import build_input
from policy_simulator.model import simulate

START = datetime(2026, 11, 27, tzinfo=UTC)  # a month boundary inside the period
DAYS = 12
FLEET = [
    FleetMember("orders-mysql", "mysql", "standard", size_gb=30),
    FleetMember("audit-postgres", "postgres", "compliance", size_gb=60),
    FleetMember("ledger-aurora", "aurora-postgresql", "standard", size_gb=90, cluster=True),
    FleetMember("scratch-postgres", "postgres", None, size_gb=10),
]


def test_simulator_counts_match_the_emulator_run() -> None:
    with mock_aws():
        demo = run_demo(days=DAYS, start=START, fleet=FLEET)
        emulated: dict[str, set[str]] = {"us-east-1": set(), "us-west-2": set()}
        for record in RdsWorld(["us-east-1", "us-west-2"]).inventory().snapshots.values():
            emulated[record.region].add(record.identifier)
    simulated = simulate(build_input(fleet=FLEET, start=START, days=DAYS))

    assert emulated["us-east-1"]  # the comparison is about something
    assert simulated.final_identifiers["us-east-1"] == emulated["us-east-1"]
    emulator_daily = [sample.snapshots["us-east-1"] for sample in demo.result.samples[:DAYS]]
    simulator_daily = [
        sample.counts[("us-east-1", "instance")] + sample.counts[("us-east-1", "cluster")]
        for sample in simulated.samples
    ]
    assert simulator_daily == emulator_daily
    assert simulated.created[("us-east-1", "weekly")] == demo.result.created[("us-east-1", "weekly")]
    assert simulated.created[("us-east-1", "monthly")] == demo.result.created[("us-east-1", "monthly")]

    # The DR Region: the policy asks for copies. Until the template deploys a function allowed to
    # copy snapshots (the DR copy function), the emulator has none and only the simulator does.
    if "rds:CopyDBSnapshot" in json.dumps(demo.template.document):
        assert simulated.final_identifiers["us-west-2"] == emulated["us-west-2"]
    else:
        assert emulated["us-west-2"] == set()
        assert simulated.final_identifiers["us-west-2"] == simulated.final_identifiers["us-east-1"]
