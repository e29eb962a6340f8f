"""Set up the emulator as the template declares it, create a fleet, and run the simulation.

``run_demo`` is what ``python -m local_runtime`` (``make demo``) calls, and what the tests and
the benchmark call with a shorter period or another fleet. The caller provides the moto
context (``mock_aws``) so it can inspect the emulator afterwards.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

import boto3

from restorable.adapters import clients as handler_clients

from .fleet import DR_REGION, SAMPLE_FLEET, FleetMember, create_fleet
from .functions import Functions
from .read_cache import ReadCache
from .resources import Deployment, deploy_resources
from .simulation import Simulation, SimulationResult
from .statemachine_hook import StateMachineRunner, connect_runner
from .template import Template
from .world import RdsWorld

DEFAULT_START = "2026-11-01T00:00:00+00:00"


@dataclass
class Demo:
    template: Template
    functions: Functions
    deployment: Deployment
    fleet: list[FleetMember]
    result: SimulationResult
    runner_connected: bool
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
    cache: bool | ReadCache = True,
) -> Demo:
    """Deploy the template on moto (already active), create ``fleet``, simulate ``days`` from ``start``.

    The DR Region is the template's ``DrRegion`` parameter. The clock is set to ``start`` before
    anything is created, so creation times are simulated times too. The handlers' clients start
    afresh (this is a new emulator) and, with ``cache`` (the default), repeated identical reads are
    answered from the emulator's read cache (``local_runtime.read_cache``): same answers, less work
    (pass a ``ReadCache`` to use that one, e.g. one in check mode).
    """
    local_credentials()
    read_cache = cache if isinstance(cache, ReadCache) else ReadCache() if cache else None
    handler_clients.reset()
    try:
        installed = (
            read_cache.installed(boto3._get_default_session()) if read_cache is not None else contextlib.nullcontext()
        )
        with installed:
            demo = _deploy_and_run(
                days=days,
                start=start,
                fleet=fleet,
                region=region,
                parameter_overrides=parameter_overrides,
                warm=warm,
                runner=runner,
                progress=progress,
                read_cache=read_cache,
            )
    finally:
        handler_clients.reset()
    return demo


def _deploy_and_run(
    *,
    days: float,
    start: datetime,
    fleet: Sequence[FleetMember],
    region: str,
    parameter_overrides: Mapping[str, str] | None,
    warm: bool,
    runner: StateMachineRunner | None,
    progress: TextIO | None,
    read_cache: ReadCache | None,
) -> Demo:
    import time_machine

    with time_machine.travel(start, tick=False):
        template = Template.load(region=region, parameter_overrides=dict(parameter_overrides or {}))
        dr_region = str(template.parameters.get("DrRegion", DR_REGION))
        deployment = deploy_resources(template, lambda service: boto3.client(service, region_name=region))  # type: ignore[call-overload]
        functions = Functions(template, warm=warm)
        clients: dict[str, Any] = {}

        def rds_in(name: str) -> Any:
            if name not in clients:
                clients[name] = boto3.client("rds", region_name=name)
            return clients[name]

        created = create_fleet(rds_in, fleet)
    connected = runner if runner is not None else connect_runner(template, functions)
    world = RdsWorld([region, dr_region], listeners=[read_cache.invalidate] if read_cache is not None else [])
    simulation = Simulation(
        functions,
        world,
        unprotected=[(m.region, m.identifier) for m in created if not m.protected or m.region != region],
        runner=connected,
        progress=progress,
    )
    result = simulation.run(start, days)
    return Demo(template, functions, deployment, created, result, connected is not None, read_cache)
