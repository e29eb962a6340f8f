"""Find the deployed stack and read what it tells the command line: its outputs and the DR Region.

The stack name comes from ``--stack``, else ``RESTORABLE_STACK``, else ``samconfig.toml``'s
``stack_name`` (the ``default`` environment, as ``sam deploy`` uses it). Outputs are read with
CloudFormation ``DescribeStacks``; ``DrRegion`` is the stack's parameter of that name.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .errors import CliError

STACK_ENV = "RESTORABLE_STACK"
SAMCONFIG = "samconfig.toml"
SAMCONFIG_ENVIRONMENT = "default"
DR_REGION_PARAMETER = "DrRegion"
BAD_INPUT = 2

# Outputs of template.yaml the commands use.
SNAPSHOT_FUNCTION = "SnapshotFunctionName"
COPY_FUNCTION = "CopyFunctionName"
PRUNE_FUNCTION = "PruneFunctionName"
VERIFY_FUNCTION = "VerifyFunctionName"
DRILL_STATE_MACHINE = "DrillStateMachineArn"
DRILL_HISTORY_TABLE = "DrillHistoryTableName"
DRILL_REPORT_BUCKET = "DrillReportBucketName"


def find_samconfig(start: Path) -> Path | None:
    """``samconfig.toml`` in ``start`` or the nearest parent directory that has one."""
    for directory in (start, *start.parents):
        candidate = directory / SAMCONFIG
        if candidate.is_file():
            return candidate
    return None


def _samconfig_value(path: Path, command: str, key: str) -> str | None:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return None
    environment = document.get(SAMCONFIG_ENVIRONMENT, {})
    for section in (command, "global"):
        value = environment.get(section, {}).get("parameters", {}).get(key)
        if isinstance(value, str) and value:
            return value
    return None


def default_stack_name(environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> str | None:
    environ = os.environ if environ is None else environ
    if environ.get(STACK_ENV):
        return environ[STACK_ENV]
    samconfig = find_samconfig(cwd or Path.cwd())
    return _samconfig_value(samconfig, "deploy", "stack_name") if samconfig else None


def default_region(cwd: Path | None = None) -> str | None:
    """The Region ``sam deploy`` would use, for when neither ``--region`` nor the AWS config names one."""
    samconfig = find_samconfig(cwd or Path.cwd())
    return _samconfig_value(samconfig, "deploy", "region") if samconfig else None


@dataclass(frozen=True)
class Stack:
    name: str
    region: str
    dr_region: str
    outputs: Mapping[str, str] = field(default_factory=dict)

    def output(self, key: str) -> str:
        value = self.outputs.get(key)
        if not value:
            raise CliError(f"stack {self.name} has no output {key}: deploy the current template.yaml")
        return value


def load_stack(cloudformation: Any, name: str) -> Stack:
    """The stack named ``name`` in the client's Region; ``CliError`` if there is none."""
    region = str(cloudformation.meta.region_name)
    try:
        stacks = cloudformation.describe_stacks(StackName=name)["Stacks"]
    except ClientError as exc:
        message = exc.response.get("Error", {}).get("Message", "")
        if exc.response.get("Error", {}).get("Code") == "ValidationError" and "does not exist" in message:
            raise CliError(f"unknown stack {name!r} in {region}: give --stack (or set {STACK_ENV})", BAD_INPUT) from exc
        raise CliError(f"cannot read stack {name!r} in {region}: {message or exc}") from exc
    except BotoCoreError as exc:
        raise CliError(f"cannot read stack {name!r} in {region}: {exc}") from exc
    if not stacks:
        raise CliError(f"unknown stack {name!r} in {region}", BAD_INPUT)
    described = stacks[0]
    if str(described.get("StackStatus", "")).startswith("DELETE"):
        raise CliError(f"stack {name!r} in {region} is {described['StackStatus']}")
    outputs = {o["OutputKey"]: str(o.get("OutputValue", "")) for o in described.get("Outputs", [])}
    parameters = {p["ParameterKey"]: str(p.get("ParameterValue", "")) for p in described.get("Parameters", [])}
    return Stack(name=name, region=region, dr_region=parameters.get(DR_REGION_PARAMETER) or region, outputs=outputs)
