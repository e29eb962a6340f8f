"""DynamoDB table drills, the pure parts: temporary table names, the proof a table is one, the table checks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from restorable import tags as tag_keys
from restorable.drills.dynamodb import SCAN_BUDGET_SECONDS, TableChecker, TablePlanner
from restorable.drills.model import RestoredDatabase, ScanPage, SourceTable
from restorable.drills.plan import Checks, DrillMode, DrillRequest, TableChecks, drill_tags
from restorable.drills.state import DrillPlan
from restorable.drills.table_names import (
    drill_table_name,
    drill_table_proof,
    is_drill_table_name,
    parse_drill_table_name,
    table_name_prefix,
)
from restorable.dynamodb_models import TableExport
from restorable.errors import InvalidRequestError
from restorable.policy import PolicyDocument, default_policy_text, parse_policy_document

EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:restorable-DrillStateMachine:{}"
STACK = "restorable"

stacks = st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,127}", fullmatch=True)
tables = st.from_regex(r"[A-Za-z0-9_.-]{3,255}", fullmatch=True).filter(lambda name: not is_drill_table_name(name))
executions = st.from_regex(r"[A-Za-z0-9_-]{1,80}", fullmatch=True).map(EXECUTION.format)
expiries = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2099, 1, 1), timezones=st.just(UTC)).map(
    lambda moment: moment.replace(microsecond=0)
)
tag_maps = st.dictionaries(
    st.sampled_from(
        [
            tag_keys.MANAGED_BY,
            tag_keys.KIND,
            tag_keys.EXPIRES_AT,
            tag_keys.POLICY,
            tag_keys.SOURCE,
            "Restorable:Managed-By",
            "team",
        ]
    ),
    st.sampled_from([STACK, "drill", "other-stack", "standard", ""]),
    max_size=5,
)


@given(stacks, tables, executions, executions, expiries)
def test_temporary_table_names_never_collide_and_never_name_the_source(
    stack: str, source: str, first: str, second: str, expires_at: datetime
) -> None:
    one = drill_table_name(stack_name=stack, source_table=source, execution_id=first, expires_at=expires_at)
    other = drill_table_name(stack_name=stack, source_table=source, execution_id=second, expires_at=expires_at)
    assert one != source
    assert (one == other) == (first == second)
    assert len(one) <= 255
    assert one.startswith(table_name_prefix(stack))
    parsed = parse_drill_table_name(one, stack)
    assert parsed is not None
    assert parsed.expires_at == expires_at
    assert source.startswith(parsed.source_head)
    assert is_drill_table_name(one)


@given(stacks, stacks, tables, executions, expiries)
def test_a_name_belongs_to_one_stack_only(stack: str, other: str, source: str, execution: str, at: datetime) -> None:
    name = drill_table_name(stack_name=stack, source_table=source, execution_id=execution, expires_at=at)
    assert (parse_drill_table_name(name, other) is not None) == (stack == other)


@given(tables, tag_maps, st.booleans())
def test_the_janitor_never_has_proof_for_a_table_it_did_not_name(
    name: str, tags: dict[str, str], restored: bool
) -> None:
    """A source table (any name that is not a drill table's) is never deletable, whatever its tags."""
    assert drill_table_proof(name, tags, restored=restored, stack_name=STACK) is None


@given(stacks, tables, executions, expiries, tag_maps, st.booleans())
def test_proof_needs_this_stacks_drill_tags_or_a_restored_table_without_any_of_ours(
    stack: str, source: str, execution: str, at: datetime, tags: dict[str, str], restored: bool
) -> None:
    name = drill_table_name(stack_name=stack, source_table=source, execution_id=execution, expires_at=at)
    proof = drill_table_proof(name, tags, restored=restored, stack_name=STACK)
    ours = [k for k in tags if k.lower().startswith("restorable:")]
    if stack != STACK:
        assert proof is None
    elif proof == "tagged":
        assert tags.get(tag_keys.MANAGED_BY) == STACK
        assert tags.get(tag_keys.KIND) == "drill"
        assert tag_keys.POLICY not in tags
    elif proof == "named":
        assert restored
        assert ours == []
    else:
        assert ours or not restored


def test_a_drill_table_is_never_a_source() -> None:
    name = drill_table_name(
        stack_name=STACK, source_table="orders", execution_id=EXECUTION.format("x"), expires_at=datetime.now(UTC)
    )
    with pytest.raises(ValueError, match="is itself a drill table"):
        drill_table_name(
            stack_name=STACK, source_table=name, execution_id=EXECUTION.format("y"), expires_at=datetime.now(UTC)
        )


# ---------------------------------------------------------------- the table checks, on a hand-made reader

STARTED = datetime(2026, 12, 8, 6, tzinfo=UTC)


class Reader:
    def __init__(self, pages: list[ScanPage], item_count: int | None = None, missing: int = 0) -> None:
        self.pages = pages
        self.count = item_count
        self.missing = missing
        self.scanned: list[str | None] = []

    def item_count(self, table_name: str) -> int | None:
        return self.count

    def scan(self, table_name: str, attribute: str | None) -> Iterator[ScanPage]:
        self.scanned.append(attribute)
        yield from self.pages

    def missing_keys(self, table_name: str, keys: list[dict[str, dict[str, str]]]) -> list[dict[str, dict[str, str]]]:
        return keys[: self.missing]


def _plan() -> DrillPlan:
    return DrillPlan.model_validate(
        {
            "execution_id": EXECUTION.format("x"),
            "execution_name": "x",
            "started_at": STARTED.isoformat(),
            "engine": "dynamodb",
            "checks_via": "api",
            "mode": DrillMode.PITR.value,
            "region": "us-east-1",
            "source": {
                "type": "table",
                "identifier": "orders",
                "arn": "arn:aws:dynamodb:us-east-1:123456789012:table/orders",
                "engine": "dynamodb",
                "engine_version": "",
                "encrypted": False,
            },
            "recovery_point": {"type": "point-in-time", "region": "us-east-1"},
            "recovery_point_time": STARTED.isoformat(),
            "targeted_time": STARTED.isoformat(),
            "target": {"type": "table", "identifier": "drill.restorable.x", "region": "us-east-1"},
            "tags": drill_tags(STACK, "arn:aws:dynamodb:us-east-1:123456789012:table/orders", "x", STARTED),
            "targets": {"rto_seconds": 1800, "rpo_seconds": 3600},
            "deadline": (STARTED + timedelta(hours=1)).isoformat(),
            "expires_at": (STARTED + timedelta(hours=3)).isoformat(),
        }
    )


def _run(
    reader: Reader, table: dict[str, object], clock: list[float] | None = None
) -> tuple[dict[str, object], float | None]:
    ticks = iter(clock or [0.0] * 100)
    checker = TableChecker(reader, clock=lambda: next(ticks))
    restored = RestoredDatabase(identifier="drill.restorable.x", status="ACTIVE")
    results, data_rpo = checker.run(_plan(), restored, Checks(table=TableChecks.model_validate(table)))
    return {r.name: r for r in results}, data_rpo


def test_one_scan_counts_items_and_finds_the_newest_value_in_each_format() -> None:
    for form, values in (
        ("iso8601", ("2026-12-08T05:00:00Z", "2026-12-08T05:30:00Z")),
        ("epoch_seconds", (str(STARTED.timestamp() - 3600), str(STARTED.timestamp() - 1800))),
        ("epoch_milliseconds", (str((STARTED.timestamp() - 3600) * 1000), str((STARTED.timestamp() - 1800) * 1000))),
    ):
        reader = Reader([ScanPage(2, (*values[:1], "not a time")), ScanPage(1, values[1:])])
        results, data_rpo = _run(reader, {"min_items": 3, "freshness": {"attribute": "updated_at", "format": form}})
        assert reader.scanned == ["updated_at"]  # one pass for both checks
        assert results["item_count"].status == "passed"
        assert results["freshness"].status == "passed", results["freshness"].detail
        assert data_rpo == 1800
        assert "1 values not a time" in results["freshness"].detail


def test_a_scan_past_its_budget_proves_only_a_lower_bound() -> None:
    pages = [ScanPage(10), ScanPage(10), ScanPage(10)]
    over = [0.0, 1.0, SCAN_BUDGET_SECONDS + 1, SCAN_BUDGET_SECONDS + 2]
    enough, _ = _run(Reader(pages), {"min_items": 15}, clock=over)
    assert enough["item_count"].status == "passed"
    assert enough["item_count"].detail.startswith("at least 20 items")
    short, _ = _run(Reader(pages), {"min_items": 100}, clock=over)
    assert short["item_count"].status == "error"
    unknown, rpo = _run(Reader(pages), {"freshness": {"attribute": "updated_at"}}, clock=over)
    assert unknown["freshness"].status == "error"
    assert rpo is None


def test_describe_counts_and_missing_keys() -> None:
    results, _ = _run(Reader([], item_count=None), {"min_items": 1, "count": "describe"})
    assert results["item_count"].status == "error"
    stale, _ = _run(Reader([], item_count=0), {"min_items": 1, "count": "describe"})
    assert stale["item_count"].status == "failed"
    keys = [{"pk": {"S": f"c#{i}"}} for i in range(7)]
    found, _ = _run(Reader([], missing=6), {"keys": keys})
    assert found["keys"].status == "failed"
    assert found["keys"].detail.startswith("1/7 keys present; missing pk=c#0; pk=c#1")
    assert found["keys"].detail.endswith(" ...")


def test_table_checks_need_something_to_check() -> None:
    with pytest.raises(ValueError, match="give min_items, keys or freshness"):
        TableChecks.model_validate({})


# ---- the cross-region drill's choice of export: only a completed one of this table, stack and bucket

SOURCE_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"
DR_BUCKET = "restorable-dr-exports"


class Exports:
    """A source Region whose table ``orders`` has the given exports (the planner's ``TableSources``)."""

    region = "us-east-1"

    def __init__(self, exports: list[TableExport]) -> None:
        self.exports = exports

    def find_table(self, name: str) -> SourceTable:
        return SourceTable(
            name="orders",
            arn=SOURCE_ARN,
            status="ACTIVE",
            tags={tag_keys.POLICY: "standard"},
            key_attributes=("pk",),
            encrypted=True,
            pitr_enabled=True,
            earliest_restorable_time=None,
            latest_restorable_time=None,
            key_schema=(("pk", "S", "HASH"),),
        )

    def describe_exports(self, table_arn: str) -> list[TableExport]:
        return list(self.exports)

    def get_export(self, export_arn: str) -> TableExport:
        return next(e for e in self.exports if e.arn == export_arn)

    def get_backup(self, backup_arn: str) -> Any:
        raise AssertionError("a cross-region drill reads no backup")

    def list_backups(self, table_name: str) -> list[Any]:
        raise AssertionError("a cross-region drill reads no backup")


exports = st.builds(
    TableExport,
    arn=st.integers(0, 10**6).map(lambda n: f"{SOURCE_ARN}/export/{n:013d}-0000abcd"),
    status=st.sampled_from(["COMPLETED", "IN_PROGRESS", "FAILED"]),
    table_arn=st.sampled_from([SOURCE_ARN, SOURCE_ARN.replace("orders", "payments")]),
    export_time=st.one_of(st.none(), expiries),
    s3_bucket=st.sampled_from([DR_BUCKET, "someone-elses"]),
    s3_prefix=st.sampled_from(
        [
            f"dynamodb/{STACK}/orders/weekly/2026-12-06",
            f"dynamodb/{STACK}/orders-v2/weekly/2026-12-06",
            "dynamodb/other-stack/orders/weekly/2026-12-06",
            "by-hand/orders",
        ]
    ),
)


def _fits(export: TableExport, *, named: bool = False) -> bool:
    """What a drill may import: the newest needs a known export time; a named export need not say it."""
    return (
        export.status == "COMPLETED"
        and (named or export.export_time is not None)
        and export.table_arn == SOURCE_ARN
        and export.s3_bucket == DR_BUCKET
        and export.s3_prefix.startswith(f"dynamodb/{STACK}/orders/")
    )


def _locate(found: list[TableExport], export_arn: str | None = None) -> Any:
    planner = TablePlanner(
        tables=Exports(found),
        policies=_policies(),
        stack_name=STACK,
        account="123456789012",
        dr_region="us-west-2",
        export_bucket=DR_BUCKET,
    )
    request = DrillRequest.model_validate(
        {"source": "orders", "engine": "dynamodb", "mode": "cross-region"}
        | ({"export_arn": export_arn} if export_arn else {})
    )
    now = datetime(2026, 12, 8, 6, tzinfo=UTC)
    return planner.locate(request, execution_id=EXECUTION.format("x"), started_at=now, expires_at=now, now=now)


def _policies() -> PolicyDocument:
    return parse_policy_document(default_policy_text())


@given(st.lists(exports, max_size=8, unique_by=lambda e: e.arn))
def test_the_newest_fitting_export_is_imported_and_nothing_else_ever_is(found: list[TableExport]) -> None:
    fitting = [e for e in found if _fits(e)]
    if not fitting:
        with pytest.raises(InvalidRequestError, match="no completed export of orders"):
            _locate(found)
        return
    located = _locate(found)
    newest = max(e.export_time for e in fitting if e.export_time is not None)
    chosen = next(e for e in found if e.arn == located.recovery_point.arn)
    assert _fits(chosen)
    assert chosen.export_time == newest
    assert located.region == "us-west-2"
    assert located.target.region == "us-west-2"
    assert located.target.table_import is not None
    assert located.target.table_import.data_prefix.startswith(f"{chosen.s3_prefix}/AWSDynamoDB/")


@given(exports)
def test_a_named_export_is_imported_only_when_it_fits(export: TableExport) -> None:
    if _fits(export, named=True):
        located = _locate([export], export.arn)
        assert located.recovery_point.arn == export.arn
    else:
        with pytest.raises(InvalidRequestError):
            _locate([export], export.arn)
