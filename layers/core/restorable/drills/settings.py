"""Drill settings from the function's environment (template.yaml wires them); missing values fail loudly."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from ..adapters.drill_rds import Network
from ..errors import ConfigurationError

_SECURITY_GROUP = re.compile(r"^sg-[0-9a-f]{8,17}$")
_STATE_MACHINE_ARN = re.compile(r"^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}$")


@dataclass(frozen=True)
class DrillSettings:
    source_network: Network
    dr_network: Network
    history_table: str
    report_bucket: str
    state_machine_arn: str
    drills_per_run: int

    def network(self, in_dr_region: bool) -> Network:
        return self.dr_network if in_dr_region else self.source_network

    def require(self, name: str) -> str:
        """A setting a step cannot do without (the record step needs the table and the bucket)."""
        value = {
            "DRILL_HISTORY_TABLE": self.history_table,
            "DRILL_REPORT_BUCKET": self.report_bucket,
            "DRILL_STATE_MACHINE_ARN": self.state_machine_arn,
        }[name]
        if not value:
            raise ConfigurationError(f"environment variable {name} is missing or empty")
        return value


def _security_groups(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    groups = tuple(g.strip() for g in env.get(name, "").split(",") if g.strip())
    bad = [g for g in groups if not _SECURITY_GROUP.match(g)]
    if bad:
        raise ConfigurationError(f"environment variable {name}: {', '.join(bad)} is not a security group id")
    return groups


def load_drill_settings(environ: Mapping[str, str] | None = None) -> DrillSettings:
    env = os.environ if environ is None else environ
    state_machine_arn = env.get("DRILL_STATE_MACHINE_ARN", "").strip()
    if state_machine_arn and not _STATE_MACHINE_ARN.match(state_machine_arn):
        raise ConfigurationError(f"environment variable DRILL_STATE_MACHINE_ARN: '{state_machine_arn}' is not one")
    raw_per_run = env.get("DRILLS_PER_RUN", "").strip() or "0"
    try:
        drills_per_run = int(raw_per_run)
    except ValueError as exc:
        raise ConfigurationError(f"environment variable DRILLS_PER_RUN: '{raw_per_run}' is not a number") from exc
    if drills_per_run < 0:
        raise ConfigurationError("environment variable DRILLS_PER_RUN must be 0 (all) or more")
    return DrillSettings(
        source_network=Network(
            subnet_group=env.get("DRILL_SUBNET_GROUP", "").strip(),
            security_group_ids=_security_groups(env, "DRILL_SECURITY_GROUP_IDS"),
        ),
        dr_network=Network(
            subnet_group=env.get("DR_DRILL_SUBNET_GROUP", "").strip(),
            security_group_ids=_security_groups(env, "DR_DRILL_SECURITY_GROUP_IDS"),
        ),
        history_table=env.get("DRILL_HISTORY_TABLE", "").strip(),
        report_bucket=env.get("DRILL_REPORT_BUCKET", "").strip(),
        state_machine_arn=state_machine_arn,
        drills_per_run=drills_per_run,
    )
