"""``restorable recover pitr|snapshot|region``: restore to a NEW database, wait, check it, report RTO and RPO.

Every command validates everything first (bad input: exit 2, nothing created), then restores, waits with
progress, runs the drill's checks on the new database and leaves it running for the cut-over.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

import click

from restorable import recovery_plan as rp
from restorable.errors import InvalidRequestError

from . import render
from .errors import CliError
from .gateways import DrillHistoryTable
from .recovery import Options, Recovery, parse_checks
from .recovery_model import (
    Outcome,
    RecoveryError,
    RecoveryPlan,
    considered_rows,
    dry_run_document,
    poll_command,
    result_document,
)
from .session import F, Operator, common_options, connect, load_checks
from .stack import BAD_INPUT, DRILL_HISTORY_TABLE, Stack

Planner = Callable[[Recovery, Options], RecoveryPlan]


@click.group()
def recover() -> None:
    """Recover a protected database to a NEW database: a point in time, a snapshot, or the DR Region."""


def recovery_options(command: F) -> F:
    options = [
        click.option("--target", help="Name of the new database (default: {source}-rec-{UTC minute}); must be new."),
        click.option("--instance-class", help="Instance class of the new database (default: the source's)."),
        click.option("--subnet-group", help="DB subnet group (default: the source's; in the DR Region: RDS's)."),
        click.option("--security-group", "security_groups", multiple=True, help="VPC security group id (repeat)."),
        click.option("--checks", "checks_file", type=click.Path(dir_okay=False), help="JSON file of SQL checks."),
        click.option("--dry-run", is_flag=True, help="Show what would be restored and why; create nothing."),
        click.option("--wait/--no-wait", default=True, show_default=True, help="Wait until available, then check."),
        click.option("--poll-seconds", default=15.0, show_default=True, help="How often the wait looks."),
        click.option("--timeout-minutes", default=240.0, show_default=True, help="How long the wait lasts."),
    ]
    for option in reversed(options):
        command = option(command)
    return common_options(command)


def _bad_input(action: Callable[[], Any]) -> Any:
    try:
        return action()
    except InvalidRequestError as exc:
        raise CliError(str(exc), BAD_INPUT) from exc


def _run(operator: Operator, planner: Planner, flags: dict[str, Any]) -> None:
    checks = _bad_input(lambda: parse_checks(load_checks(flags["checks_file"])))
    options = Options(
        target=flags["target"],
        instance_class=flags["instance_class"],
        subnet_group=flags["subnet_group"],
        security_groups=tuple(flags["security_groups"]),
        checks=checks,
    )
    stack = _stack(operator, flags.get("dr_region"))
    recovery = Recovery(
        stack_name=stack.name,
        rds=operator.client("rds"),
        dr_rds=operator.client("rds", stack.dr_region),
        history=lambda: DrillHistoryTable(operator.client("dynamodb"), stack.output(DRILL_HISTORY_TABLE)),
        secrets=lambda region: operator.client("secretsmanager", region),
        now=operator.now,
    )
    plan: RecoveryPlan = _bad_input(lambda: planner(recovery, options))
    if flags["dry_run"]:
        _show_plan(operator, plan)
        return
    try:
        outcome = recovery.restore(plan)
    except RecoveryError as exc:
        raise CliError(str(exc)) from exc
    if not flags["wait"]:
        _show_result(operator, outcome)
        return
    try:
        with _progress(operator, plan) as report:
            recovery.wait(
                outcome,
                poll_seconds=flags["poll_seconds"],
                timeout_seconds=flags["timeout_minutes"] * 60,
                progress=report,
            )
    except RecoveryError as exc:
        raise CliError(str(exc)) from exc
    recovery.check(outcome, checks)
    _show_result(operator, outcome)
    if not outcome.checks_passed:
        failed = [f"{c['name']}: {c.get('detail')}" for c in outcome.checks if c.get("status") != "passed"]
        raise CliError(
            f"{plan.target.identifier} is available but its checks failed ({'; '.join(failed)}); "
            "it is left running for inspection"
        )


def _stack(operator: Operator, dr_region: str | None) -> Stack:
    """The stack; for a region recovery with ``--dr-region``, also when its Region does not answer."""
    try:
        stack = operator.stack
    except CliError as exc:
        if dr_region is None or exc.exit_code == BAD_INPUT:
            raise
        return Stack(name=operator.stack_name, region=operator.region, dr_region=dr_region)
    if dr_region is not None and dr_region != stack.dr_region:
        raise CliError(f"--dr-region {dr_region}: stack {stack.name} copies to {stack.dr_region}", BAD_INPUT)
    return stack


class _progress:  # noqa: N801 - used as a context manager, like rich's own
    """A rich status line with the elapsed time (on a terminal) and one printed line per status change."""

    def __init__(self, operator: Operator, plan: RecoveryPlan) -> None:
        self.quiet = operator.json
        self.plan = plan
        self.console = render.console()
        self.last: str | None = None
        self.status: Any = None

    def __enter__(self) -> Callable[[str, float], None]:
        if not self.quiet:
            target = self.plan.target
            self.console.print(f"restoring {target.identifier} in {target.region} from {_point_text(self.plan)}")
            self.status = self.console.status(f"{target.identifier}: starting")
            self.status.__enter__()
        return self.report

    def report(self, status: str, elapsed: float) -> None:
        if self.quiet:
            return
        self.status.update(f"{self.plan.target.identifier}: {status} ({render.seconds(elapsed)})")
        if status != self.last:
            self.console.print(f"{render.seconds(elapsed):>8}  {status}")
            self.last = status

    def __exit__(self, *exc: object) -> Literal[False]:
        if self.status is not None:
            self.status.__exit__(None, None, None)
        return False


def _point_text(plan: RecoveryPlan) -> str:
    point = plan.point
    if point.type == "snapshot":
        return f"snapshot {point.identifier} ({rp.iso(point.time) if point.time else 'time unknown'})"
    return f"{plan.source.identifier} at {rp.iso(point.time) if point.time else 'the latest restorable time'}"


def _plan_rows(plan: RecoveryPlan) -> dict[str, Any]:
    target = plan.target
    return {
        "mode": plan.mode.value,
        "source": f"{plan.source.identifier} ({plan.source.type.value}, {plan.source.engine})"
        + ("" if plan.source.live else " - no longer live"),
        "note": plan.source.note or "-",
        "recovery point": _point_text(plan),
        "why": plan.reason,
        "new database": f"{target.identifier} ({target.type.value}) in {target.region}"
        + (f", instance {target.instance_identifier}" if target.instance_identifier else ""),
        "instance class": target.instance_class or "the snapshot's",
        "tags": [f"{k}={v}" for k, v in plan.tags.items()],
    }


def _show_plan(operator: Operator, plan: RecoveryPlan) -> None:
    if operator.json:
        render.emit_json(dry_run_document(plan))
        return
    out = render.console()
    out.print(render.key_values("recovery plan (dry run: nothing created)", _plan_rows(plan)))
    _print_considered(plan)


def _print_considered(plan: RecoveryPlan) -> None:
    rows = considered_rows(plan)
    if rows:
        render.console().print(
            render.table("recovery points considered", ["recovery point", "created", "eligible", "reason"], rows)
        )


def _show_result(operator: Operator, outcome: Outcome) -> None:
    document = result_document(outcome)
    if operator.json:
        render.emit_json(document)
        return
    plan = outcome.plan
    out = render.console()
    if outcome.recovered is None:
        out.print(render.key_values(f"restore of {plan.target.identifier} started", _plan_rows(plan)))
        render.echo(f"poll it: {poll_command(plan)}")
        return
    endpoint = document["endpoint"] or {}
    checks = [f"{c['name']}: {c['status']} ({c.get('detail')})" for c in outcome.checks]
    rows = {
        **_plan_rows(plan),
        "endpoint": f"{endpoint.get('address')}:{endpoint.get('port')}",
        "RTO": f"{render.seconds(outcome.rto_seconds)} (restore start -> available)",
        "RPO": f"{render.seconds(outcome.rpo_seconds)} (recovery point -> {rp.iso(plan.rpo_reference)})",
        "checks": checks,
    }
    verdict = "AVAILABLE" if outcome.checks_passed else "AVAILABLE, CHECKS FAILED"
    out.print(render.key_values(f"recovered {plan.target.identifier}: {verdict}", rows))
    render.echo(
        f"{plan.target.identifier} is left running: cut over by pointing clients (DNS or configuration) at "
        f"{endpoint.get('address')}"
    )


def _time(value: str | None, option: str) -> datetime | None:
    return None if value is None else _bad_input(lambda: rp.parse_time(value, option=option))


@recover.command("pitr")
@click.argument("source")
@click.option("--to", "to", required=True, help="ISO-8601 time with a zone (2026-12-08T01:30:00Z), or latest.")
@recovery_options
def recover_pitr(
    source: str, to: str, stack_name: str | None, region: str | None, profile: str | None, output: str, **flags: Any
) -> None:
    """Restore SOURCE as it was at --to (inside its point-in-time window) to a new database."""
    restore_to = _bad_input(lambda: rp.parse_restore_time(to))
    operator = connect(stack_name, region, profile, output)
    _run(operator, lambda recovery, options: recovery.plan_pitr(source, restore_to, options), flags)


@recover.command("snapshot")
@click.argument("source")
@click.option("--before", help="The newest clean point created strictly before this time (ISO-8601 with a zone).")
@click.option("--snapshot", "snapshot_id", help="This recovery point of SOURCE (identifier or ARN).")
@click.option("--allow-undrilled", is_flag=True, help="With --before: accept a point never drilled.")
@recovery_options
def recover_snapshot(
    source: str,
    before: str | None,
    snapshot_id: str | None,
    allow_undrilled: bool,
    stack_name: str | None,
    region: str | None,
    profile: str | None,
    output: str,
    **flags: Any,
) -> None:
    """Restore a recovery point of SOURCE to a new database: the newest, one before a time, or a named one."""
    before_time = _time(before, "--before")
    if before_time is not None and snapshot_id is not None:
        raise CliError("give --before or --snapshot, not both", BAD_INPUT)
    if allow_undrilled and before_time is None:
        raise CliError("--allow-undrilled applies to --before only", BAD_INPUT)
    operator = connect(stack_name, region, profile, output)
    _run(
        operator,
        lambda recovery, options: recovery.plan_snapshot(
            source, options, before=before_time, snapshot=snapshot_id, allow_undrilled=allow_undrilled
        ),
        flags,
    )


@recover.command("region")
@click.argument("source")
@click.option("--dr-region", help="The DR Region, to go on when the stack's Region does not answer.")
@recovery_options
def recover_region(
    source: str, stack_name: str | None, region: str | None, profile: str | None, output: str, **flags: Any
) -> None:
    """Restore the newest DR copy of SOURCE in the DR Region to a new database."""
    operator = connect(stack_name, region, profile, output)
    _run(operator, lambda recovery, options: recovery.plan_region(source, options), flags)
