"""Every runbook's commands, in order, against the stack on the emulator: a page cannot drift from the tool.

The convention (placeholders, expected exits, scenarios) is documented in docs/runbooks/README.md.
"""

from __future__ import annotations

import contextlib
import json
import re
import shlex
import time
import types
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
import time_machine
from botocore import xform_name
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.s3.models import s3_backends

from local_runtime.template import REPO_ROOT
from tests.cache_export_env import DR_BUCKET, ExportHook, ExportWorld
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
    "seed-cache-from-dr-export.md",
}
# Pages whose steps are aws CLI commands (ElastiCache has no restorable command), with the scenario they need.
AWS_SCENARIOS = {"cache-dr-seed"}
SCENARIOS = {"source-deleted", "source-region-down"} | AWS_SCENARIOS
PLACEHOLDERS = {
    "<SOURCE>",
    "<TIME>",
    "<TARGET>",
    "<SNAPSHOT>",
    "<DR_REGION>",
    "<REASON>",
    "<CACHE>",
    "<DR_EXPORT_BUCKET>",
}
_BLOCK = re.compile(r"^```console\n(.*?)^```", re.MULTILINE | re.DOTALL)
_EXIT = re.compile(r"\s+#\s*exit\s+(\d+)\s*$")
_SCENARIO = re.compile(r"\A<!--\s*scenario:\s*([a-z-]+)\s*-->")
_FILE = re.compile(r"^<!--\s*file:\s*(\S+)\s*-->\n```[a-z]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
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
        tool = "aws" if scenario(page) in AWS_SCENARIOS else "restorable"
        for step in found:
            assert step.args[0] == tool, step.line
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


RESTORABLE_PAGES = [p for p in PAGES if scenario(p) not in AWS_SCENARIOS]
AWS_PAGES = [p for p in PAGES if scenario(p) in AWS_SCENARIOS]


@pytest.mark.parametrize("page", RESTORABLE_PAGES, ids=[p.stem for p in RESTORABLE_PAGES])
def test_a_runbook_runs_against_the_stack(deployed: Deployed, page: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    values = _world(deployed, page, monkeypatch)

    for step in steps(page):
        args = [values.get(word, word) for word in step.args[1:]]
        args = [re.sub(r"<[A-Z_]+>", lambda m: values[m[0]], word) for word in args]
        result = deployed.run(*args)
        assert result.exit_code == step.exit_code, (page.name, step.line, result.stdout[-2000:], result.stderr)


# ---- pages of aws commands


def files(page: Path) -> dict[str, str]:
    """The blocks a page marks ``<!-- file: NAME -->``, by name (what ``file://NAME`` reads)."""
    return {name: body for name, body in _FILE.findall(page.read_text(encoding="utf-8"))}


_CLI_SERVICES = {"s3api": "s3"}


def aws(args: list[str], page_files: dict[str, str]) -> tuple[int, Any]:
    """One ``aws SERVICE OPERATION --option value ...`` command as the botocore request it stands for.

    Options are the operation's input members in the CLI's spelling (``--snapshot-arns`` for
    ``SnapshotArns``): a list member takes the values up to the next option, a boolean is
    ``--flag`` / ``--no-flag``, an integer is converted, ``file://NAME`` is the page's file block.
    ``--region`` picks the client's Region. Exit codes as the CLI's: 0, 254 for a service error.
    """
    service, operation, *rest = args[1:]
    region = None
    options: dict[str, list[str]] = {}
    current = None
    for word in rest:
        if word.startswith("--"):
            current = word[2:]
            options[current] = []
        else:
            assert current is not None, f"value without an option: {word}"
            options[current].append(word)
    region = options.pop("region", [None])[0]
    client = boto3.client(_CLI_SERVICES.get(service, service), region_name=region)  # type: ignore[call-overload]
    model = client.meta.service_model
    names = {xform_name(name, "-"): name for name in model.operation_names}
    assert operation in names, f"{service} has no operation {operation}"
    shape = model.operation_model(names[operation]).input_shape
    members = {xform_name(name, "-"): name for name in shape.members} if shape is not None else {}
    params: dict[str, Any] = {}
    for option, values in options.items():
        negated = option.startswith("no-") and option[3:] in members
        name = members.get(option[3:] if negated else option)
        assert name is not None, f"{service} {operation} has no option --{option}"
        member = shape.members[name]
        if member.type_name == "boolean":
            params[name] = not negated
        elif member.type_name == "list":
            params[name] = values
        else:
            [value] = values
            if value.startswith("file://"):
                value = page_files[value.removeprefix("file://")]
            params[name] = int(value) if member.type_name == "integer" else value
    try:
        return 0, getattr(client, xform_name(names[operation]))(**params)
    except ClientError as exc:
        return 254, exc.response


@pytest.fixture
def exported() -> Iterator[ExportWorld]:
    """An opted-in cache whose newest daily snapshot CacheExportFunction exported and copied to the DR bucket."""
    with mock_aws(), time_machine.travel(datetime(2026, 12, 8, 4, 40, tzinfo=UTC), tick=False):
        world = ExportWorld.deploy(SOURCE_REGION, DR_REGION)
        with contextlib.contextmanager(ExportHook(SOURCE_REGION).install)():
            world.cache("sessions")
            world.daily_snapshot("sessions", datetime(2026, 12, 8, 3, 0, tzinfo=UTC))
            for _ in range(2):  # export, then copy and verify
                world.functions.invoke("CacheExportFunction", {"dry_run": False}).result()
            # The bucket has a policy of its own (the DR template's); moto evaluates bucket policies but not
            # aws:SecureTransport, so the stand-in holds no TLS-only deny.
            existing = {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "AccountReads",
                        "Effect": "Allow",
                        "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                        "Action": "s3:GetObject",
                        "Resource": f"arn:aws:s3:::{DR_BUCKET}/*",
                    }
                ],
            }
            boto3.client("s3", region_name=DR_REGION).put_bucket_policy(Bucket=DR_BUCKET, Policy=json.dumps(existing))
            yield world


@pytest.mark.parametrize("page", AWS_PAGES, ids=[p.stem for p in AWS_PAGES])
def test_a_cache_runbook_runs_on_the_emulator(exported: ExportWorld, page: Path) -> None:
    snapshot = "sessions-daily-2026-12-08"
    assert set(exported.dr_objects()) == {f"elasticache/sessions/{snapshot}/{snapshot}-0001.rdb"}
    values = {
        "<CACHE>": "sessions",
        "<SNAPSHOT>": snapshot,
        "<TARGET>": "sessions-dr",
        "<DR_REGION>": DR_REGION,
        "<DR_EXPORT_BUCKET>": DR_BUCKET,
    }

    def substitute(text: str) -> str:
        return re.sub(r"<[A-Z_]+>", lambda m: values[m[0]], text)

    page_files = {name: substitute(body) for name, body in files(page).items()}
    answers = []
    for step in steps(page):
        code, answer = aws([substitute(word) for word in step.args], page_files)
        assert code == step.exit_code, (page.name, step.line, answer)
        answers.append(answer)
    [listed] = [a for a in answers if "Contents" in a]
    assert [o["Key"] for o in listed["Contents"]] == [f"elasticache/sessions/{snapshot}/{snapshot}-0001.rdb"]
    [head] = [a for a in answers if "Metadata" in a]
    assert head["Metadata"]["restorable-object-count"] == "1"
    [read_back] = [a for a in answers if "Policy" in a]
    assert json.loads(read_back["Policy"])["Statement"][0]["Sid"] == "AccountReads"
    # read from the emulator's store: the policy now denies requests moto cannot tell are TLS
    policy = json.loads(s3_backends[DEFAULT_ACCOUNT_ID]["global"].buckets[DR_BUCKET].policy)
    [grant] = [s for s in policy["Statement"] if s.get("Sid") == "ElastiCacheSeedsFromExports"]
    assert grant["Principal"] == {"Service": f"{DR_REGION}.elasticache-snapshot.amazonaws.com"}
    assert {s["Sid"] for s in policy["Statement"]} == {"DenyInsecureTransport", "ElastiCacheSeedsFromExports"}
    [group] = boto3.client("elasticache", region_name=DR_REGION).describe_replication_groups(
        ReplicationGroupId="sessions-dr"
    )["ReplicationGroups"]
    assert group["ReplicationGroupId"] == "sessions-dr"
