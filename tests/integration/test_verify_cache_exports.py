"""VerifyFunction's DR export check through the template, against what CacheExportFunction left in the DR bucket.

On moto: the caches, snapshots, both buckets and the copies (the export itself by ``tests/cache_export_env``'s
hook, as in ``test_cache_export_function.py``). The check reads the DR bucket the template names, with the
template's parameters for exports on.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from local_runtime.template import REPO_ROOT
from tests.cache_export_env import ExportHook, ExportWorld
from tests.conftest import DR_REGION, SOURCE_REGION
from tests.verify_env import VerifyEnvironment

EXPORTED_AT = datetime(2026, 12, 8, 4, 40, tzinfo=UTC)
CHECK = "dr-export:daily"


def sample(name: str) -> dict[str, Any]:
    return dict(json.loads((REPO_ROOT / "events" / name).read_text()))


@pytest.fixture
def clock(aws: None) -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(EXPORTED_AT - timedelta(days=3), tick=False) as traveller:
        yield traveller


@pytest.fixture
def world(clock: time_machine.Coordinates) -> Iterator[ExportWorld]:
    world = ExportWorld.deploy(SOURCE_REGION, DR_REGION)
    verify = VerifyEnvironment(world.template, SOURCE_REGION, DR_REGION)
    with contextlib.ExitStack() as installed:
        installed.enter_context(contextlib.contextmanager(ExportHook(SOURCE_REGION).install)())
        installed.enter_context(contextlib.contextmanager(verify.install)())
        world.cache("sessions")  # created three days before the export: old enough to need one
        yield world


def dr_export(world: ExportWorld) -> dict[str, str]:
    [hourly] = [s for s in world.functions.schedules() if s.name == "HourlyVerification"]
    payload = world.functions.invoke("VerifyFunction", hourly.event_for(datetime.now(UTC))).result()
    return {f["resource"]: f["severity"] for f in payload["findings"] if f["check"] == CHECK}


def test_a_missing_export_is_critical_then_a_fresh_one_clears_then_it_goes_stale(
    world: ExportWorld, clock: time_machine.Coordinates
) -> None:
    clock.move_to(EXPORTED_AT)
    assert dr_export(world) == {"sessions": "CRITICAL"}
    world.daily_snapshot("sessions", EXPORTED_AT - timedelta(hours=1, minutes=40))
    for _ in range(2):  # export, then copy and verify
        world.functions.invoke("CacheExportFunction", sample("cache-export-reconcile.json")).result()
    assert world.dr_objects()
    clock.move_to(EXPORTED_AT + timedelta(hours=1))
    assert dr_export(world) == {}  # OK results are not findings
    clock.move_to(EXPORTED_AT + timedelta(days=3))
    assert dr_export(world) == {"sessions": "WARNING"}
    clock.move_to(EXPORTED_AT + timedelta(days=5))
    assert dr_export(world) == {"sessions": "CRITICAL"}
