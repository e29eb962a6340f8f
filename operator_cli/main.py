"""``restorable``: fleet status, dry-run plans, restore drills and legal holds against a deployed stack.

Every command: parse the arguments -> find the stack and build gateways from its outputs -> call
the core and its adapters -> render a table, or JSON with ``--output json``. A problem is one line
on stderr and a non-zero exit: 1 when something failed, 2 for bad input (nothing was created).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import click
from botocore.exceptions import BotoCoreError

from restorable.adapters.backup_inventory import BackupInventory
from restorable.adapters.rds import RdsGateway
from restorable.dynamodb_models import TableBackup
from restorable.errors import RestorableError
from restorable.models import Database, RecoveryPoint
from restorable.naming import format_timestamp

from . import drills, holds, render, table_holds
from .errors import CliError
from .gateways import DrillHistoryTable, Executions, FunctionInvoker, ReportStore, TagRemover, caller_identity
from .recover import recover
from .session import Operator, common_options, connect, load_checks
from .stack import (
    BAD_INPUT,
    COPY_FUNCTION,
    DRILL_HISTORY_TABLE,
    DRILL_STATE_MACHINE,
    PRUNE_FUNCTION,
    SNAPSHOT_FUNCTION,
    VERIFY_FUNCTION,
)
from .status import VERDICTS, Filters, fleet_status

DEFAULT_KINDS = ("weekly", "monthly")
JOBS = ("snapshot", "copy", "prune")


class _Cli(click.Group):
    """Turns the commands' errors into one line on stderr and an exit status."""

    def invoke(self, ctx: click.Context) -> Any:
        render.bind(sys.stdout)
        try:
            return super().invoke(ctx)
        except CliError as exc:
            click.echo(f"restorable: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except RestorableError as exc:
            click.echo(f"restorable: {exc}", err=True)
            ctx.exit(1)
        except BotoCoreError as exc:
            click.echo(f"restorable: {exc}", err=True)
            ctx.exit(1)


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Operate a deployed Restorable stack: status, plans, restore drills, legal holds, recovery."""


cli.add_command(recover)


# ---------------------------------------------------------------- status


def _tag_filters(values: tuple[str, ...]) -> dict[str, str | None]:
    parsed: dict[str, str | None] = {}
    for value in values:
        key, sep, wanted = value.partition("=")
        if not key:
            raise CliError(f"--tag {value!r}: give KEY or KEY=VALUE", BAD_INPUT)
        parsed[key] = wanted if sep else None
    return parsed


@cli.command()
@click.option("--engine", help="Only databases whose engine contains this (e.g. postgres).")
@click.option("--tag", "tag_filters", multiple=True, help="Only databases with this tag: KEY or KEY=VALUE.")
@click.option("--verdict", type=click.Choice([v.lower() for v in VERDICTS], case_sensitive=False))
@click.option("--verify/--no-verify", default=True, help="Ask the verify function for verdicts (read-only).")
@common_options
def status(
    engine: str | None,
    tag_filters: tuple[str, ...],
    verdict: str | None,
    verify: bool,
    stack_name: str | None,
    region: str | None,
    profile: str | None,
    output: str,
) -> None:
    """The fleet at a glance: every protected database, its recovery points, PITR, last drill, verdict."""
    filters = Filters(engine=engine, tags=_tag_filters(tag_filters), verdict=verdict)
    operator = connect(stack_name, region, profile, output)
    stack = operator.stack
    source = BackupInventory(operator.client("rds"))
    dr = BackupInventory(operator.client("rds", stack.dr_region))
    databases = source.list_databases()
    history = DrillHistoryTable(operator.client("dynamodb"), stack.output(DRILL_HISTORY_TABLE))
    last_drills = {
        m.database.arn: history.newest(m.database.arn) for m in databases if m.database.policy_name is not None
    }
    verification = None
    if verify:
        verification = FunctionInvoker(operator.client("lambda")).invoke(
            stack.output(VERIFY_FUNCTION), {"notify": False}
        )
    report = fleet_status(
        databases,
        source.list_manual_snapshots(),
        dr.list_manual_snapshots(),
        last_drills,
        verification,
        stack_name=stack.name,
        now=operator.now(),
        filters=filters,
    )
    report = {"stack": stack.name, "region": stack.region, "dr_region": stack.dr_region, **report}
    if operator.json:
        render.emit_json(report)
        return
    rows = []
    for row in report["protected"]:
        points = [
            f"{kind}: {p['identifier']} ({render.text(p['age_hours'])} h)" for kind, p in row["recovery_points"].items()
        ]
        dr_copy = row["dr_copy"]
        drill = row["last_drill"]
        rows.append(
            [
                row["identifier"],
                f"{row['engine']} ({row['type']})",
                row["policy"],
                points or "none",
                f"{dr_copy['identifier']} ({render.text(dr_copy['age_hours'])} h)" if dr_copy else "none",
                row["pitr"]["latest_restorable_time"] or "no PITR",
                _drill_cell(drill),
                [row["verification"]["verdict"], *row["verification"]["findings"]],
            ]
        )
    columns = ["database", "engine", "policy", "newest recovery points", "DR copy", "PITR latest", "last drill"]
    out = render.console()
    out.print(
        render.table(
            f"{stack.name}: protected databases in {stack.region} (DR {stack.dr_region})", [*columns, "verdict"], rows
        )
    )
    out.print(
        f"unprotected: {report['unprotected']['count']} ({', '.join(report['unprotected']['identifiers']) or 'none'})"
    )
    if "verification" in report:
        counts = report["verification"]["counts"]
        out.print(f"verification: {report['verification']['status']} {json.dumps(counts, sort_keys=True)}")


def _drill_cell(drill: dict[str, Any] | None) -> str:
    if not drill:
        return "never"
    rto = render.against(drill["rto_seconds"], drill["rto_target_seconds"])
    rpo = render.against(drill["rpo_seconds"], drill["rpo_target_seconds"])
    return f"{drill['outcome']} {drill['started_at']}\nRTO {rto}\nRPO {rpo}"


# ---------------------------------------------------------------- plan


@cli.command()
@click.option("--kind", "kinds", multiple=True, help="Snapshot kinds to plan (default: weekly and monthly).")
@click.option("--only", "only", multiple=True, type=click.Choice(JOBS), help="Only these runs (default: all).")
@common_options
def plan(
    kinds: tuple[str, ...],
    only: tuple[str, ...],
    stack_name: str | None,
    region: str | None,
    profile: str | None,
    output: str,
) -> None:
    """What the next snapshot, copy and prune runs would do (their dry runs), and why each point stays."""
    operator = connect(stack_name, region, profile, output)
    stack = operator.stack
    invoker = FunctionInvoker(operator.client("lambda"))
    requests: dict[str, tuple[str, dict[str, Any]]] = {
        "snapshot": (SNAPSHOT_FUNCTION, {"kinds": list(kinds or DEFAULT_KINDS), "dry_run": True}),
        "copy": (COPY_FUNCTION, {"dry_run": True}),
        "prune": (PRUNE_FUNCTION, {"dry_run": True}),
    }
    results = {
        job: invoker.invoke(stack.output(output_key), payload)
        for job, (output_key, payload) in requests.items()
        if not only or job in only
    }
    if operator.json:
        render.emit_json({"stack": stack.name, "region": stack.region, **results})
        return
    out = render.console()
    for job, result in results.items():
        items = result.get("items", []) if isinstance(result, dict) else []
        rows = [
            [
                i.get("resource"),
                i.get("recovery_point"),
                i.get("region"),
                i.get("kind"),
                i.get("outcome"),
                i.get("reason"),
            ]
            for i in items
        ]
        counts = result.get("counts", {}) if isinstance(result, dict) else {}
        summary = ", ".join(f"{k} {v}" for k, v in counts.items() if v)
        out.print(
            render.table(
                f"{job} (dry run): {summary or 'nothing to do'}",
                ["resource", "recovery point", "region", "kind", "outcome", "reason"],
                rows,
            )
        )


# ---------------------------------------------------------------- drills


@cli.group()
def drill() -> None:
    """Restore drills: start one (and follow it), list them, show one."""


def _protected_source(operator: Operator, source: str) -> Database:
    identifier = drills.source_identifier(source)
    database = RdsGateway(operator.client("rds")).find_database(identifier)
    if database is None:
        raise CliError(
            f"unknown source {source!r}: no DB instance or DB cluster by that name in {operator.region}", BAD_INPUT
        )
    if database.policy_name is None:
        raise CliError(
            f"{database.identifier} is not protected (no restorable:policy tag): only protected databases are drilled",
            BAD_INPUT,
        )
    return database


@drill.command("start")
@click.argument("source")
@click.option("--mode", required=True, type=click.Choice(["snapshot", "pitr", "cross-region"]))
@click.option("--kind", help="Newest managed snapshot of this kind (snapshot, cross-region).")
@click.option("--snapshot", "snapshot_id", help="This snapshot (identifier or ARN) instead of the newest.")
@click.option("--restore-time", help="pitr: an ISO-8601 time with zone, or 'latest'.")
@click.option("--instance-class", help="Instance class of the temporary database (default: the source's).")
@click.option("--checks", "checks_file", type=click.Path(dir_okay=False), help='JSON file of checks ({"sql": ...}).')
@click.option("--rto-target", "rto_target", type=int, help="RTO target in seconds (default by mode).")
@click.option("--rpo-target", "rpo_target", type=int, help="RPO target in seconds.")
@click.option("--wait", is_flag=True, help="Follow the drill to its end and exit non-zero unless it passed.")
@click.option("--poll-seconds", default=10.0, show_default=True, help="How often --wait reads the history.")
@click.option("--timeout-minutes", default=600.0, show_default=True, help="How long --wait follows.")
@common_options
def drill_start(
    source: str,
    mode: str,
    kind: str | None,
    snapshot_id: str | None,
    restore_time: str | None,
    instance_class: str | None,
    checks_file: str | None,
    rto_target: int | None,
    rpo_target: int | None,
    wait: bool,
    poll_seconds: float,
    timeout_minutes: float,
    stack_name: str | None,
    region: str | None,
    profile: str | None,
    output: str,
) -> None:
    """Validate a drill of SOURCE here, start it, and (with --wait) follow it to its verdict."""
    try:
        request = drills.drill_input(
            source,
            mode,
            kind=kind,
            snapshot=snapshot_id,
            restore_time=restore_time,
            instance_class=instance_class,
            checks=load_checks(checks_file),
            rto_seconds=rto_target,
            rpo_seconds=rpo_target,
        )
    except RestorableError as exc:
        raise CliError(str(exc), BAD_INPUT) from exc
    operator = connect(stack_name, region, profile, output)
    stack = operator.stack
    database = _protected_source(operator, source)
    executions = Executions(operator.client("stepfunctions"))
    name = drills.execution_name(database.identifier, operator.now())
    execution_input = request.model_dump(mode="json", exclude_none=True)
    arn = executions.start(stack.output(DRILL_STATE_MACHINE), name, execution_input)
    if not wait:
        started = {"execution": arn, "name": name, "input": execution_input}
        if operator.json:
            render.emit_json(started)
        else:
            render.echo(f"started {arn}\nfollow it: restorable drill show {arn}")
        return
    described, history = _follow(operator, executions, arn, poll_seconds, timeout_minutes)
    output_document = json.loads(described["output"]) if described.get("output") else drills.last_state_output(history)
    result = drills.summary(described, output_document)
    result["progress"] = [state.to_dict() for state in drills.progress(history)]
    if operator.json:
        render.emit_json(result)
    else:
        _print_drill(result)
    if result["outcome"] != "passed":
        raise CliError(
            f"drill of {database.identifier} {result['outcome']}: {'; '.join(result['reasons']) or result['status']}"
        )


def _follow(
    operator: Operator, executions: Executions, arn: str, poll_seconds: float, timeout_minutes: float
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    deadline = time.monotonic() + timeout_minutes * 60
    shown: set[tuple[str, float]] = set()
    out = None if operator.json else render.console()
    while True:
        described = executions.describe(arn)
        history = executions.history(arn)
        states = drills.progress(history)
        if out is not None:
            for state in states:
                if (state.name, state.entered_seconds) not in shown:
                    out.print(f"{render.seconds(state.entered_seconds):>8}  {state.name}")
                    shown.add((state.name, state.entered_seconds))
        if described["status"] != "RUNNING":
            return described, history
        if time.monotonic() > deadline:
            raise CliError(
                f"{arn} still running after {timeout_minutes:g} minutes; follow it: restorable drill show {arn}"
            )
        time.sleep(poll_seconds)


def _print_drill(result: dict[str, Any]) -> None:
    render.console().print(
        render.key_values(
            f"drill {result['outcome'].upper()}",
            {
                "source": result["source"],
                "mode": result["mode"],
                "region": result["region"],
                "recovery point": result["recovery_point"],
                "RTO": render.against(result["rto_seconds"], result["rto_target_seconds"]),
                "RPO": render.against(result["rpo_seconds"], result["rpo_target_seconds"]),
                "reasons": result["reasons"] or "none",
                "report": result["report"]["markdown"] or result["report"]["json"],
                "execution": result["execution"],
            },
        )
    )


def _history(operator: Operator) -> DrillHistoryTable:
    return DrillHistoryTable(operator.client("dynamodb"), operator.stack.output(DRILL_HISTORY_TABLE))


@drill.command("list")
@click.option("--source", help="Only drills of this database (identifier or ARN).")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1))
@common_options
def drill_list(
    source: str | None, limit: int, stack_name: str | None, region: str | None, profile: str | None, output: str
) -> None:
    """Drills from the history table, newest first."""
    operator = connect(stack_name, region, profile, output)
    history = _history(operator)
    if source is not None:
        database = RdsGateway(operator.client("rds")).find_database(drills.source_identifier(source))
        arn = database.arn if database is not None else source if source.startswith("arn:") else None
        if arn is not None:
            items = history.drills_of(arn)
        else:  # a database deleted since: its drills are still recorded under its name
            items = [i for i in history.all_drills() if i.get("source_identifier") == source]
            if not items:
                raise CliError(
                    f"unknown source {source!r}: no DB instance or DB cluster by that name, and no drill of it",
                    BAD_INPUT,
                )
    else:
        items = history.all_drills()
    items = items[:limit]
    if operator.json:
        render.emit_json({"drills": items})
        return
    rows = [
        [
            i.get("started_at"),
            i.get("source_identifier"),
            i.get("mode"),
            i.get("outcome"),
            render.against(i.get("rto_seconds"), i.get("rto_target_seconds")),
            render.against(i.get("rpo_seconds"), i.get("rpo_target_seconds")),
            i.get("report_uri"),
        ]
        for i in items
    ]
    render.console().print(
        render.table("drills", ["started", "source", "mode", "outcome", "RTO", "RPO", "report"], rows)
    )


@drill.command("show")
@click.argument("target")
@click.option("--markdown", is_flag=True, help="Print the Markdown report instead.")
@common_options
def drill_show(
    target: str, markdown: bool, stack_name: str | None, region: str | None, profile: str | None, output: str
) -> None:
    """One drill: TARGET is an execution ARN, or a database (its newest drill). With its report."""
    operator = connect(stack_name, region, profile, output)
    history = _history(operator)
    if target.startswith("arn:aws:states:"):
        item = history.by_execution(target)
        if item is None:
            raise CliError(f"no drill recorded for {target} (yet): a drill is recorded when it starts", BAD_INPUT)
    else:
        database = RdsGateway(operator.client("rds")).find_database(drills.source_identifier(target))
        if database is None:
            raise CliError(
                f"unknown source {target!r}: no DB instance or DB cluster by that name in {operator.region}", BAD_INPUT
            )
        item = history.newest(database.arn)
        if item is None:
            raise CliError(f"{database.identifier} has never been drilled", BAD_INPUT)
    uri = str(item.get("report_uri") or "")
    reports = ReportStore(operator.client("s3"))
    if markdown:
        if not uri:
            raise CliError("this drill has no report (yet)")
        render.echo(reports.read(uri.removesuffix(".json") + ".md").decode())
        return
    report = json.loads(reports.read(uri)) if uri else None
    if operator.json:
        render.emit_json({"drill": item, "report": report})
        return
    render.console().print(
        render.key_values(
            f"drill of {item.get('source_identifier')}: {str(item.get('outcome')).upper()}",
            {
                "started": item.get("started_at"),
                "finished": item.get("finished_at"),
                "mode": item.get("mode"),
                "region": item.get("region"),
                "recovery point": item.get("recovery_point"),
                "RTO": render.against(item.get("rto_seconds"), item.get("rto_target_seconds")),
                "RPO": render.against(item.get("rpo_seconds"), item.get("rpo_target_seconds")),
                "reasons": item.get("reasons") or "none",
                "report": uri or "none yet",
                "execution": item.get("execution_id"),
            },
        )
    )


# ---------------------------------------------------------------- legal holds


@cli.group()
def hold() -> None:
    """Legal holds on recovery points: every copy, in both Regions."""


def _rds_copies(operator: Operator, point: str) -> list[RecoveryPoint]:
    identifier = drills.source_identifier(point)
    stack = operator.stack
    found: list[RecoveryPoint] = []
    for region in dict.fromkeys((stack.region, stack.dr_region)):
        found += RdsGateway(operator.client("rds", region)).describe_snapshots([identifier], [identifier])
    return found


def _unknown(operator: Operator, point: str) -> CliError:
    stack = operator.stack
    regions = " or ".join(dict.fromkeys((stack.region, stack.dr_region)))
    return CliError(
        f"unknown recovery point {point!r}: no DB snapshot or DB cluster snapshot by that name in {regions}, "
        f"and no DynamoDB backup by that name or ARN in {stack.region}",
        BAD_INPUT,
    )


def _table_holds(operator: Operator) -> table_holds.TableHolds:
    stack = operator.stack
    return table_holds.TableHolds(
        operator.client("dynamodb", stack.region), stack.output(table_holds.HOLDS_TABLE_OUTPUT), stack.name
    )


def _held_thing(
    operator: Operator, point: str
) -> tuple[list[RecoveryPoint], tuple[table_holds.TableHolds, TableBackup] | None]:
    """The RDS copies ``point`` names, or else the DynamoDB backup it names; neither is a ``BAD_INPUT`` error."""
    copies = [] if table_holds.names_a_backup(point) else _rds_copies(operator, point)
    if copies:
        return copies, None
    if not table_holds.names_a_backup(point) and not operator.stack.outputs.get(table_holds.HOLDS_TABLE_OUTPUT):
        raise _unknown(operator, point)  # a stack older than the holds table: RDS snapshots only
    store = _table_holds(operator)
    backup = store.find(point)
    if backup is None:
        raise _unknown(operator, point)
    return [], (store, backup)


def _each_copy(copies: list[RecoveryPoint], action: Callable[[RecoveryPoint], None], what: str) -> list[dict[str, str]]:
    done, failed = [], []
    for copy in copies:
        try:
            action(copy)
        except (RestorableError, CliError) as exc:
            failed.append(f"{copy.region}: {exc}")
        else:
            done.append({"region": copy.region, "arn": copy.arn})
    if failed:
        regions = ", ".join(c["region"] for c in done) or "none"
        raise CliError(f"{what} only on {regions}; failed on {'; '.join(failed)}")
    return done


@hold.command("add")
@click.argument("point")
@click.option("--reason", required=True, help=f"Why (a tag value: at most {holds.MAX_TAG_VALUE} characters).")
@click.option("--by", "holder", help="Who asked for it (default: your AWS identity).")
@common_options
def hold_add(
    point: str,
    reason: str,
    holder: str | None,
    stack_name: str | None,
    region: str | None,
    profile: str | None,
    output: str,
) -> None:
    """Put a legal hold on POINT (a snapshot identifier or ARN): every copy, both Regions."""
    operator = connect(stack_name, region, profile, output)
    now = operator.now()
    try:
        holds.hold_tags(reason, holder or "someone", now)  # bad input fails before any call
    except ValueError as exc:
        raise CliError(str(exc), BAD_INPUT) from exc
    copies, table_backup = _held_thing(operator, point)
    tags = holds.hold_tags(reason, holder or caller_identity(operator.client("sts")), now)
    if table_backup is not None:
        _hold_table_backup(operator, *table_backup, tags)
        return
    gateways = {c.region: RdsGateway(operator.client("rds", c.region)) for c in copies}
    done = _each_copy(copies, lambda c: gateways[c.region].add_tags(c, tags), f"held {point}")
    result = {"identifier": copies[0].identifier, "held": True, "copies": done, "tags": tags}
    if operator.json:
        render.emit_json(result)
    else:
        render.echo(f"held {result['identifier']} in {', '.join(c['region'] for c in done)}: {tags[holds.REASON_KEY]}")


def _hold_table_backup(
    operator: Operator, store: table_holds.TableHolds, backup: TableBackup, tags: dict[str, str]
) -> None:
    record = store.add(backup, reason=tags[holds.REASON_KEY], by=tags[holds.BY_KEY], at=operator.now())
    result = {
        "identifier": backup.name,
        "type": "table",
        "held": True,
        "copies": [{"region": store.region, "arn": backup.arn}],
        "record": {
            "backup_arn": record.backup_arn,
            "point": record.point,
            "state": record.state,
            "reason": record.reason,
            "held_by": record.held_by,
            "held_at": tags[holds.AT_KEY],
        },
    }
    if operator.json:
        render.emit_json(result)
    else:
        render.echo(f"held {backup.name} in {store.region} (holds table record): {record.reason}")


@hold.command("remove")
@click.argument("point")
@click.option("--by", "releaser", help="Who lifts it, for a DynamoDB backup's record (default: your AWS identity).")
@common_options
def hold_remove(
    point: str, releaser: str | None, stack_name: str | None, region: str | None, profile: str | None, output: str
) -> None:
    """Lift the legal hold on POINT from every copy (every letter case of the hold key)."""
    operator = connect(stack_name, region, profile, output)
    copies, table_backup = _held_thing(operator, point)
    if table_backup is not None:
        store, backup = table_backup
        by = releaser or caller_identity(operator.client("sts"))
        at = operator.now()
        record = store.remove(backup, by=by, at=at)
        result = {
            "identifier": backup.name,
            "type": "table",
            "held": False,
            "removed": {store.region: [record.backup_arn]},
            "released_by": by,
            "released_at": format_timestamp(at),
            "was_held_for": record.reason,
        }
        if operator.json:
            render.emit_json(result)
        else:
            render.echo(f"released {backup.name} in {store.region} (held since {format_timestamp(record.held_at)})")
        return
    removed: dict[str, list[str]] = {}

    def untag(copy: RecoveryPoint) -> None:
        keys = holds.hold_tag_keys(copy.tags)
        if keys:
            TagRemover(operator.client("rds", copy.region)).remove_tags(copy.arn, keys)
            removed[copy.region] = keys

    _each_copy(copies, untag, f"released {point}")
    result = {"identifier": copies[0].identifier, "held": False, "removed": removed}
    if operator.json:
        render.emit_json(result)
    elif removed:
        render.echo(f"released {result['identifier']} in {', '.join(sorted(removed))}")
    else:
        render.echo(f"{result['identifier']} was not held")


@hold.command("list")
@common_options
def hold_list(stack_name: str | None, region: str | None, profile: str | None, output: str) -> None:
    """Held recovery points in both Regions, odd values and letter cases included."""
    operator = connect(stack_name, region, profile, output)
    stack = operator.stack
    points: list[RecoveryPoint] = []
    for name in dict.fromkeys((stack.region, stack.dr_region)):
        points += RdsGateway(operator.client("rds", name)).list_manual_snapshots()
    held = [group.to_dict() for group in holds.held_points(points)]
    if stack.outputs.get(table_holds.HOLDS_TABLE_OUTPUT):  # a stack older than the holds table has no record
        held += [h.to_dict() for h in _table_holds(operator).held()]
    if operator.json:
        render.emit_json({"held": held})
        return
    rows = [
        [
            h["identifier"],
            h["source"],
            h["kind"],
            h["held_in"],
            h["not_held_in"] or "-",
            h["values"],
            h["reason"],
            h["by"],
            h["at"],
        ]
        for h in held
    ]
    columns = ["recovery point", "source", "kind", "held in", "copies without the tag", "values", "reason", "by", "at"]
    render.console().print(render.table(f"legal holds ({len(held)})", columns, rows))


def iter_commands() -> Iterator[str]:
    """Every command's full name (the docs test reads it)."""
    for name, command in sorted(cli.commands.items()):
        if isinstance(command, click.Group):
            yield from (f"{name} {sub}" for sub in sorted(command.commands))
        else:
            yield name
