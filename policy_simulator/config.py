"""Build a simulator input from ``template.yaml`` (schedules, policies, Regions) and a fleet."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from local_runtime.fleet import FleetMember
from local_runtime.template import Template
from restorable.models import DatabaseType, Engine
from restorable.policy import PolicyDocument, default_policy_text, parse_policy_document
from restorable.prune_plan import BreakerLimits
from restorable.schedule import CronSchedule

from .model import Prices, SimulatorInput, SyntheticDatabase

DEFAULT_PRUNE_SCHEDULE = "cron(0 5 * * ? *)"
# If the template declares a prune schedule parameter, the simulator prunes when it says.
PRUNE_SCHEDULE_PARAMETER = "PruneSchedule"


def template_settings(template: Template) -> dict[str, Any]:
    """The stack-wide settings the functions get from the template's Globals environment."""
    variables = template.document.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    resolved = {name: template.resolve(value) for name, value in variables.items()}
    return {
        "timezone": str(resolved.get("SCHEDULE_TIMEZONE", "UTC")),
        "schedules": json.loads(str(resolved["SNAPSHOT_SCHEDULES"])),
        "policy_text": str(resolved.get("POLICY_DOCUMENT", "")).strip(),
        "dr_region": str(template.parameters.get("DrRegion", "us-west-2")),
    }


def databases_from_fleet(fleet: Sequence[FleetMember], region: str) -> list[SyntheticDatabase]:
    """The fleet members the stack in ``region`` sees (other Regions' databases are not its business)."""
    return [
        SyntheticDatabase(
            m.identifier, m.cluster, m.policy, float(m.size_gb), m.growth_gb_per_month, _RESOURCES.get(m.service)
        )
        for m in fleet
        if m.region == region
    ]


# A fleet's tables and caches as the simulator models them (an RDS member's type follows ``cluster``).
_RESOURCES = {Engine.DYNAMODB: DatabaseType.TABLE, Engine.ELASTICACHE: DatabaseType.CACHE_REPLICATION_GROUP}


def build_input(
    *,
    fleet: Sequence[FleetMember],
    start: datetime,
    days: int,
    region: str = "us-east-1",
    parameter_overrides: Mapping[str, str] | None = None,
    policy_text: str | None = None,
    prune_schedule: str | None = None,
    change_rate: float = 1.0,
    prices: Prices | None = None,
    breaker: BreakerLimits | None = None,
) -> SimulatorInput:
    template = Template.load(region=region, parameter_overrides=dict(parameter_overrides or {}))
    settings = template_settings(template)
    schedules = {kind: CronSchedule.parse(expr, settings["timezone"]) for kind, expr in settings["schedules"].items()}
    text = policy_text if policy_text is not None else (settings["policy_text"] or default_policy_text())
    policies: PolicyDocument = parse_policy_document(text, scheduled_kinds=frozenset(schedules))
    prune_expression = prune_schedule or str(template.parameters.get(PRUNE_SCHEDULE_PARAMETER, DEFAULT_PRUNE_SCHEDULE))
    return SimulatorInput(
        databases=databases_from_fleet(fleet, region),
        policies=policies,
        schedules=schedules,
        prune_schedule=CronSchedule.parse(prune_expression, settings["timezone"]),
        start=start,
        days=days,
        source_region=region,
        dr_region=settings["dr_region"],
        stack_name=template.stack_name,
        account_id=template.account_id,
        change_rate=change_rate,
        prices=prices or Prices(),
        breaker=breaker or BreakerLimits(),
    )
