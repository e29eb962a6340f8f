"""Every runbook's commands, in order, against the stack on the emulator: a page cannot drift from the tool.

The convention (placeholders, expected exits, scenarios) is documented in docs/runbooks/README.md.
"""

from __future__ import annotations

import re
import shlex
import time
import types
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

import boto3
import pytest

from local_runtime.template import REPO_ROOT
from tests.cli.conftest import Deployed
from tests.drills.conftest import DR_REGION, SOURCE_REGION

RUNBOOKS = REPO_ROOT / "docs" / "runbooks"
PAGES = sorted(p for p in RUNBOOKS.glob("*.md") if p.name != "README.md")
EXPECTED_PAGES = {
    "accidental-deletion.md",
    "data-corruption.md",
    "failed-or-missing-backups.md",
    "ransomware.md",
    "region-outage.md",
}
SCENARIOS = {"source-deleted", "source-region-down"}
PLACEHOLDERS = {"<SOURCE>", "<TIME>", "<TARGET>", "<SNAPSHOT>", "<DR_REGION>", "<REASON>"}
_BLOCK = re.compile(r"^```console\n(.*?)^```", re.MULTILINE | re.DOTALL)
_EXIT = re.compile(r"\s+#\s*exit\s+(\d+)\s*$")
_SCENARIO = re.compile(r"\A<!--\s*scenario:\s*([a-z-]+)\s*-->")
SOURCE = "orders-mysql"


@dataclass(frozen=True)
class Step:
    line: str
    args: list[str]
    exit_code: int


def steps(page: Path) -> list[Step]:
    found: list[Step] = []
    for block in _BLOCK.findall(page.read_text(encoding="utf-8")):
        for line in block.splitlines():
            if not line.startswith("$ "):
                continue
            command = line.removeprefix("$ ")
            expected = _EXIT.search(command)
            command = _EXIT.sub("", command)
            words = shlex.split(command)
            found.append(Step(line=line, args=words, exit_code=int(expected[1]) if expected else 0))
    return found


def scenario(page: Path) -> str | None:
    match = _SCENARIO.match(page.read_text(encoding="utf-8"))
    return match[1] if match else None


def test_there_is_a_page_per_scenario_and_every_step_is_a_restorable_command() -> None:
    assert {p.name for p in PAGES} == EXPECTED_PAGES
    readme = (RUNBOOKS / "README.md").read_text(encoding="utf-8")
    for placeholder in PLACEHOLDERS:
        assert f"`{placeholder}`" in readme, placeholder
    for page in PAGES:
        found = steps(page)
        assert found, page.name
        for step in found:
            assert step.args[0] == "restorable", step.line
            used = set(re.findall(r"<[A-Z_]+>", step.line))
            assert used <= PLACEHOLDERS, (page.name, step.line)
        assert scenario(page) in SCENARIOS | {None}, page.name


def _world(deployed: Deployed, page: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A protected instance with two weekly snapshots (the older one drilled and passed) and DR copies."""
    deployed.fleet.instance(SOURCE)
    older = deployed.world.managed_snapshot(SOURCE, "weekly", "2026-11-29")
    newer = deployed.world.managed_snapshot(SOURCE, "weekly", "2026-12-06")
    deployed.world.dr_copy(older)
    deployed.world.dr_copy(newer)
    # the operator's waits poll every few seconds; here they look again almost at once
    real_sleep = time.sleep
    quick = types.SimpleNamespace(sleep=lambda seconds: real_sleep(min(seconds, 0.05)), monotonic=time.monotonic)
    monkeypatch.setattr("operator_cli.main.time", quick)
    monkeypatch.setattr("operator_cli.recovery.time", quick)
    drilled = deployed.run("drill", "start", SOURCE, "--mode", "snapshot", "--snapshot", older, "--wait")
    assert drilled.exit_code == 0, drilled.stderr
    rds = boto3.client("rds", region_name=SOURCE_REGION)
    created = rds.describe_db_instances(DBInstanceIdentifier=SOURCE)["DBInstances"][0]["InstanceCreateTime"]
    values = {
        "<SOURCE>": SOURCE,
        "<TIME>": created.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "<TARGET>": f"{page.stem[:20]}-recovered",
        "<SNAPSHOT>": newer.rsplit(":", 1)[-1],
        "<DR_REGION>": DR_REGION,
        "<REASON>": "incident review",
    }
    if scenario(page) == "source-deleted":
        rds.delete_db_instance(DBInstanceIdentifier=SOURCE, SkipFinalSnapshot=True)
    if scenario(page) == "source-region-down":
        deployed.world.failures["DescribeStacks"] = lambda params: "InternalFailure"
        deployed.world.failures["DescribeDBInstances"] = lambda params: (
            "InternalFailure" if params.get("body", {}).get("DBInstanceIdentifier") == SOURCE else None
        )
    return values


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_a_runbook_runs_against_the_stack(deployed: Deployed, page: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    values = _world(deployed, page, monkeypatch)

    for step in steps(page):
        args = [values.get(word, word) for word in step.args[1:]]
        args = [re.sub(r"<[A-Z_]+>", lambda m: values[m[0]], word) for word in args]
        result = deployed.run(*args)
        assert result.exit_code == step.exit_code, (page.name, step.line, result.stdout[-2000:], result.stderr)
