"""Finding the stack, and bad input: one clear line on stderr, a non-zero exit, nothing created."""

from __future__ import annotations

from pathlib import Path

import pytest

from operator_cli.main import cli
from operator_cli.stack import default_stack_name
from tests.cli.conftest import Deployed, manual_snapshot_ids, one_line


def test_the_outputs_come_from_describe_stacks_of_the_named_stack(deployed: Deployed) -> None:
    deployed.fleet.instance("orders-mysql")

    by_flag = deployed.json("status", "--no-verify", "--stack", "restorable", "--region", "us-east-1")
    by_env = deployed.run("status", "--no-verify", "--output", "json", env={"RESTORABLE_STACK": "restorable"})

    assert by_flag["stack"] == "restorable"
    assert by_flag["dr_region"] == "us-west-2"  # the stack's DrRegion parameter
    assert by_env.exit_code == 0, by_env.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("status",),
        ("plan",),
        ("drill", "list"),
        ("drill", "start", "orders-mysql", "--mode", "snapshot"),
        ("hold", "list"),
        ("hold", "add", "orders-mysql-weekly-2026-12-06", "--reason", "audit"),
    ],
)
def test_an_unknown_stack_is_one_line_and_creates_nothing(deployed: Deployed, args: tuple[str, ...]) -> None:
    deployed.fleet.instance("orders-mysql")
    deployed.world.managed_snapshot("orders-mysql", "weekly", "2026-12-06")
    before = manual_snapshot_ids()

    result = deployed.run(*args, "--stack", "no-such-stack")

    assert result.exit_code == 2
    assert one_line(result.stderr) == (
        "restorable: unknown stack 'no-such-stack' in us-east-1: give --stack (or set RESTORABLE_STACK)"
    )
    assert result.stdout == ""
    assert deployed.executions() == []
    assert manual_snapshot_ids() == before
    assert deployed.snapshot_tags("us-east-1", "orders-mysql-weekly-2026-12-06").get("restorable:legal-hold") is None


def test_no_stack_name_anywhere_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RESTORABLE_STACK", raising=False)
    result = CliRunner().invoke(cli, ["status"])
    assert result.exit_code == 2
    assert "no stack: give --stack" in one_line(result.stderr)


def test_the_stack_name_defaults_to_the_environment_then_samconfig(tmp_path: Path) -> None:
    (tmp_path / "samconfig.toml").write_text(
        'version = 0.1\n[default.global.parameters]\nstack_name = "from-samconfig"\n'
        '[default.deploy.parameters]\nregion = "eu-west-1"\n'
    )
    nested = tmp_path / "functions" / "snapshot"
    nested.mkdir(parents=True)

    assert default_stack_name({}, nested) == "from-samconfig"  # found in a parent directory
    assert default_stack_name({"RESTORABLE_STACK": "from-env"}, nested) == "from-env"
    assert default_stack_name({}, Path("/")) is None


def test_an_unknown_profile_is_one_line(deployed: Deployed) -> None:
    result = deployed.run("status", "--profile", "no-such-profile")
    assert result.exit_code == 2
    assert "no-such-profile" in one_line(result.stderr)
