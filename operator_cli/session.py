"""The session every command runs in: the stack, its Region and clients, the common options."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import boto3
import click
from botocore.exceptions import ProfileNotFound

from . import render
from .errors import CliError
from .stack import BAD_INPUT, STACK_ENV, Stack, default_region, default_stack_name, load_stack

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Operator:
    session: boto3.Session
    stack_name: str
    output: str
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    _stack: Stack | None = None

    @property
    def region(self) -> str:
        return str(self.session.region_name)

    def client(self, service: str, region: str | None = None) -> Any:
        return self.session.client(service, region_name=region or self.region)  # type: ignore[call-overload]

    @property
    def stack(self) -> Stack:
        if self._stack is None:
            self._stack = load_stack(self.client("cloudformation"), self.stack_name)
        return self._stack

    @property
    def json(self) -> bool:
        return self.output == render.JSON


def connect(stack_name: str | None, region: str | None, profile: str | None, output: str) -> Operator:
    name = stack_name or default_stack_name()
    if not name:
        raise CliError(f"no stack: give --stack, set {STACK_ENV}, or run where samconfig.toml names one", BAD_INPUT)
    try:
        session = boto3.Session(profile_name=profile, region_name=region)
    except ProfileNotFound as exc:
        raise CliError(str(exc), BAD_INPUT) from exc
    if session.region_name is None:
        fallback = default_region(Path.cwd())
        if fallback is None:
            raise CliError("no Region: give --region (or configure a default Region)", BAD_INPUT)
        session = boto3.Session(profile_name=profile, region_name=fallback)
    return Operator(session=session, stack_name=name, output=output)


def common_options(command: F) -> F:
    """``--stack``, ``--region``, ``--profile``, ``--output`` on every command."""
    options = [
        click.option("--stack", "stack_name", help=f"Stack name (default: ${STACK_ENV}, else samconfig.toml)."),
        click.option("--region", help="Region of the stack (default: the AWS configuration's)."),
        click.option("--profile", help="AWS named profile."),
        click.option(
            "--output", type=click.Choice([render.TABLE, render.JSON]), default=render.TABLE, show_default=True
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def load_checks(path: str | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        checks = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CliError(f"--checks {path}: {exc}", BAD_INPUT) from exc
    if not isinstance(checks, dict):
        raise CliError(f'--checks {path}: expected a JSON object like {{"sql": {{...}}}}', BAD_INPUT)
    return checks
