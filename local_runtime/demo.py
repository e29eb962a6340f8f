"""Set up the emulator as the template declares it, create a fleet, and run the simulation.

``run_demo`` is what ``python -m local_runtime`` (``make demo``) calls, and what the tests and
the benchmark call with a shorter period or another fleet. The caller provides the moto
context (``mock_aws``) so it can inspect the emulator afterwards.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

import boto3

from restorable.adapters import clients as handler_clients
from restorable.models import Engine

from .backup_replication import serve_backup_replication
from .client_context import quick_context_copies
from .collector import long_lived_frozen
from .findings import FindingEpisode, FindingsTracker, ObservedFunctions
from .fleet import DR_REGION, SAMPLE_FLEET, FleetMember, create_fleet
from .functions import Functions, Invocation
from .planted import AppliedChange, PlantedProblem, PlantedWorld
from .read_cache import ReadCache
from .report import KNOWN_GAP
from .resources import Deployment, deploy_resources
from .restore_model import RestoreDurationModel
from .simulation import Simulation, SimulationResult
from .statemachine_hook import StateMachineRunner, connect_runner
from .statemachines import SimulationRunner
from .template import Template
from .user_agent import remembered_user_agent
from .world import EngineSample, RdsWrites

DEFAULT_START = "2026-11-01T00:00:00+00:00"
# What explains a dr-export finding when the run deploys no DR companion stack (DrExportBucket empty, as by
# default): the stack is told there is nowhere to export to, and verification says so, as it would on AWS.
NO_DR_EXPORTS = f"{KNOWN_GAP} this run deploys no DR companion stack (DrExportBucket is empty; docs/deploy.md)"


@dataclass
class Demo:
    template: Template
    functions: Functions
    deployment: Deployment
    fleet: list[FleetMember]
    result: SimulationResult
    runner_connected: bool
    findings: FindingsTracker = field(default_factory=FindingsTracker)
    planted: list[PlantedProblem] = field(default_factory=list)
    applied: list[AppliedChange] = field(default_factory=list)
    restore_model: RestoreDurationModel | None = None
    engine_samples: list[EngineSample] = field(default_factory=list)
    read_cache: ReadCache | None = None


def local_credentials() -> None:
    """Fake credentials so boto3 never looks for real ones (moto answers every call)."""
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local-runtime")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local-runtime")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")


def run_demo(
    *,
    days: float,
    start: datetime,
    fleet: Sequence[FleetMember] = SAMPLE_FLEET,
    region: str = "us-east-1",
    parameter_overrides: Mapping[str, str] | None = None,
    warm: bool = True,
    runner: StateMachineRunner | None = None,
    progress: TextIO | None = None,
    progress_bar: bool = False,
    planted: Sequence[PlantedProblem] = (),
    restore_model: RestoreDurationModel | None = None,
    cache: bool | ReadCache = True,
) -> Demo:
    """Deploy the template on moto (already active), create ``fleet``, simulate ``days`` from ``start``.

    The DR Region is the template's ``DrRegion`` parameter. The clock is set to ``start`` before
    anything is created, so creation times are simulated times too. ``planted`` problems are made
    in the world when their time comes; ``restore_model`` sets how long drill restores take.
    Every verification result is collected into finding episodes (``Demo.findings``).

    The handlers' clients start afresh (this is a new emulator) and, with ``cache`` (the default),
    repeated identical reads are answered from the emulator's read cache (``local_runtime.read_cache``):
    same answers, less work (pass a ``ReadCache`` to use that one, e.g. one in check mode). botocore
    remembers the User-Agent header it built for the same inputs (``local_runtime.user_agent``): same headers;
    and copies its per-call context field by field (``local_runtime.client_context``): the same copies.
    """
    local_credentials()
    read_cache = cache if isinstance(cache, ReadCache) else ReadCache() if cache else None
    handler_clients.reset()
    try:
        installed = (
            read_cache.installed(boto3._get_default_session()) if read_cache is not None else contextlib.nullcontext()
        )
        rds_writes = RdsWrites()
        with (
            serve_backup_replication(),
            installed,
            rds_writes.installed(boto3._get_default_session()),
            remembered_user_agent(),
            quick_context_copies(),
        ):
            return _run(
                days,
                start,
                fleet,
                region,
                parameter_overrides,
                warm,
                runner,
                progress,
                progress_bar,
                planted,
                restore_model,
                read_cache,
                rds_writes,
            )
    finally:
        handler_clients.reset()


def _run(
    days: float,
    start: datetime,
    fleet: Sequence[FleetMember],
    region: str,
    parameter_overrides: Mapping[str, str] | None,
    warm: bool,
    runner: StateMachineRunner | None,
    progress: TextIO | None,
    progress_bar: bool,
    planted: Sequence[PlantedProblem],
    restore_model: RestoreDurationModel | None,
    read_cache: ReadCache | None,
    rds_writes: RdsWrites,
) -> Demo:
    import time_machine

    tracker = FindingsTracker()

    def observe(_logical_id: str, invocation: Invocation) -> None:
        tracker.observe(datetime.now(UTC), invocation.payload)

    with time_machine.travel(start, tick=False):
        template = Template.load(region=region, parameter_overrides=dict(parameter_overrides or {}))
        dr_region = str(template.parameters.get("DrRegion", DR_REGION))
        deployment = deploy_resources(template, lambda service: boto3.client(service, region_name=region))  # type: ignore[call-overload]
        functions = ObservedFunctions(template, warm=warm, observer=observe)
        clients: dict[str, Any] = {}

        def rds_in(name: str) -> Any:
            if name not in clients:
                clients[name] = boto3.client("rds", region_name=name)
            return clients[name]

        created = create_fleet(rds_in, fleet, replicate_to=dr_region)
    connected = runner if runner is not None else connect_runner(template, functions)
    world = PlantedWorld(
        [region, dr_region],
        planted,
        engines={m.identifier: m.engine for m in created},
        sizes={m.identifier: float(m.size_gb) for m in created if m.service is not Engine.RDS},
        listeners=[read_cache.world_changed] if read_cache is not None else [],
        replicas={(m.region, m.identifier): {dr_region: "ACTIVE"} for m in created if m.global_table},
        rds_writes=rds_writes,
    )
    if restore_model is not None and isinstance(connected, SimulationRunner):
        model = restore_model

        def hold(_waited: object) -> None:
            # The model changes drill databases' states in moto's memory, which no call shows.
            model.hold(world.regions)
            if read_cache is not None:
                read_cache.world_changed("restore-model")

        connected.machines.clock.listeners.append(hold)
    simulation = Simulation(
        functions,
        world,
        unprotected=[
            (m.region, m.identifier)
            for m in created
            if m.service is Engine.RDS and (not m.protected or m.region != region)
        ],
        runner=connected,
        progress=progress,
        progress_bar=progress_bar,
    )
    with long_lived_frozen():
        result = simulation.run(start, days)
    world.sample_engines(result.end)
    tracker.link_alerts(result.alerts)
    explanations: list[tuple[str, Callable[[FindingEpisode], bool]]] = [(p.name, p.explains) for p in planted]
    if not template.parameters.get("DrExportBucket"):
        explanations.append((NO_DR_EXPORTS, lambda e: e.check.startswith("dr-export:")))
    tracker.attribute(explanations)
    return Demo(
        template,
        functions,
        deployment,
        created,
        result,
        connected is not None,
        findings=tracker,
        planted=list(planted),
        applied=list(world.applied),
        restore_model=restore_model,
        engine_samples=list(world.engine_samples),
        read_cache=read_cache,
    )
