"""The installed ``restorable`` command and its documentation."""

from __future__ import annotations

import importlib
import tomllib

import click

from local_runtime.template import REPO_ROOT
from operator_cli.main import iter_commands


def test_the_console_script_names_the_cli_group() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    module, _, attribute = project["project"]["scripts"]["restorable"].partition(":")
    assert isinstance(getattr(importlib.import_module(module), attribute), click.Group)
    found = project["tool"]["setuptools"]["packages"]["find"]
    assert "layers/core" in found["where"]  # the core package is installed with the command
    assert {"restorable", "operator_cli"} <= set(found["include"])


def test_every_command_is_documented_with_an_example() -> None:
    docs = (REPO_ROOT / "docs" / "cli.md").read_text()
    commands = list(iter_commands())
    assert commands == [
        "drill list",
        "drill show",
        "drill start",
        "hold add",
        "hold list",
        "hold remove",
        "plan",
        "recover pitr",
        "recover region",
        "recover snapshot",
        "status",
    ]
    for command in commands:
        assert f"restorable {command}" in docs, command
