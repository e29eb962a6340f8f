"""The command line against a stack "deployed" on moto through template.yaml's wiring.

moto cannot deploy the SAM template itself, so the local runtime creates the template's run-time
resources and functions (``StateMachines.provision`` / ``deploy``) and the stack is registered in
moto's CloudFormation with the template's own ``Outputs`` (resolved to those resources) and its
``DrRegion`` parameter: the CLI reads them through a real ``DescribeStacks``. Its ``lambda:Invoke``
and Step Functions executions run the real handlers in-process (``StateMachines.running``).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from unittest import mock

import boto3
import pytest
from click.testing import CliRunner, Result
from moto import mock_aws

from local_runtime.functions import Functions
from local_runtime.statemachines import StateMachines
from local_runtime.template import Template
from local_runtime.world import RdsWorld
from operator_cli.main import cli
from tests.aws_faults import error_response
from tests.drills.conftest import DR_REGION, SOURCE_REGION, START, STATE_MACHINE, DrillWorld
from tests.fleet import Fleet

STACK = "restorable"


def register_stack(template: Template) -> dict[str, str]:
    """A CloudFormation stack in moto whose outputs and DrRegion are the local deployment's."""
    outputs = {
        key: str(template.resolve(spec["Value"]))
        for key, spec in template.document.get("Outputs", {}).items()
        if not spec.get("Condition") or template.conditions.get(spec["Condition"])
    }
    body = {
        "Parameters": {"DrRegion": {"Type": "String"}},
        "Resources": {"Deployed": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    with warnings.catch_warnings():  # moto names the placeholder resource "not supported", and keeps it
        warnings.simplefilter("ignore", UserWarning)
        boto3.client("cloudformation", region_name=template.region).create_stack(
            StackName=template.stack_name,
            TemplateBody=json.dumps(body),
            Parameters=[{"ParameterKey": "DrRegion", "ParameterValue": str(template.parameters["DrRegion"])}],
        )
    return outputs


@dataclass
class Deployed:
    world: DrillWorld
    outputs: dict[str, str]
    runner: CliRunner

    @property
    def fleet(self) -> Fleet:
        return self.world.fleet

    def run(self, *args: str, env: dict[str, str] | None = None) -> Result:
        return self.runner.invoke(cli, list(args), env={"COLUMNS": "250", **(env or {})}, catch_exceptions=False)

    def json(self, *args: str) -> Any:
        result = self.run(*args, "--output", "json")
        assert result.exit_code == 0, (result.stdout, result.stderr)
        return json.loads(result.stdout)

    def executions(self) -> list[dict[str, Any]]:
        client = boto3.client("stepfunctions", region_name=SOURCE_REGION)
        arn = self.outputs["DrillStateMachineArn"]
        return list(client.list_executions(stateMachineArn=arn)["executions"])

    def snapshot_tags(self, region: str, identifier: str, cluster: bool = False) -> dict[str, str]:
        client = boto3.client("rds", region_name=region)
        if cluster:
            [item] = client.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=identifier)["DBClusterSnapshots"]
        else:
            [item] = client.describe_db_snapshots(DBSnapshotIdentifier=identifier)["DBSnapshots"]
        return {t["Key"]: t["Value"] for t in item.get("TagList", [])}


def one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


@pytest.fixture
def deployed() -> Iterator[Deployed]:
    with mock_aws():
        template = Template.load(region=SOURCE_REGION)
        machines = StateMachines(Functions(template))
        quotas = RdsWorld([SOURCE_REGION, DR_REGION]).serve_account_quotas()  # DescribeAccountAttributes: not in moto
        with machines.running(simulate_time=True, start=START), quotas:
            rds = boto3.client("rds", region_name=SOURCE_REGION)
            dr_rds = boto3.client("rds", region_name=DR_REGION)
            machines.provision()
            machines.deploy(STATE_MACHINE)
            outputs = register_stack(template)
            world = DrillWorld(machines=machines, fleet=Fleet(rds), rds=rds, dr_rds=dr_rds)

            def hook(event_name: str, params: dict[str, Any], **_: Any) -> Any:
                operation = event_name.split(".", 2)[2]
                rule = world.failures.get(operation)
                code = rule(params) if rule is not None else None
                return error_response(code) if code else None

            make_session = boto3.Session

            def session_with_faults(*args: Any, **kwargs: Any) -> boto3.Session:
                """The CLI's own sessions fail the same calls as the handlers' default session."""
                session = make_session(*args, **kwargs)
                session.events.register("before-call.*.*", hook, unique_id="cli-faults")
                return session

            default = boto3._get_default_session()
            default.events.register("before-call.*.*", hook, unique_id="cli-faults")
            try:
                with mock.patch.object(boto3, "Session", session_with_faults):
                    yield Deployed(world=world, outputs=outputs, runner=CliRunner())
            finally:
                default.events.unregister("before-call.*.*", unique_id="cli-faults")


def manual_snapshot_ids(regions: Sequence[str] = (SOURCE_REGION, DR_REGION)) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for region in regions:
        client = boto3.client("rds", region_name=region)
        ids = [s["DBSnapshotIdentifier"] for s in client.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]]
        ids += [
            s["DBClusterSnapshotIdentifier"]
            for s in client.describe_db_cluster_snapshots(SnapshotType="manual")["DBClusterSnapshots"]
        ]
        found[region] = sorted(ids)
    return found
