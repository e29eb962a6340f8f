"""The export planner: one export per table and period, only for tables that want one; by example and at random."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from restorable.dynamodb_export_plan import (
    COMPLETED,
    FAILED,
    IN_PROGRESS,
    MAX_EXPORT_ATTEMPTS,
    ExportAction,
    TableExportFacts,
    export_client_token,
    export_prefix,
    plan_exports,
    select_tables,
)
from restorable.dynamodb_models import ContinuousBackups, Table, TableExport
from restorable.policy import parse_policy_document
from restorable.snapshot_plan import Period

STACK = "restorable"
BUCKET = "dr-exports"
AT = datetime(2026, 11, 22, 2, tzinfo=UTC)
PERIOD = Period("weekly", AT, date(2026, 11, 22))
POLICIES = parse_policy_document(
    json.dumps(
        {
            "version": 1,
            "policies": {
                "standard": {
                    "automated_backups": {"retention_days": 7},
                    "snapshots": {"weekly": {"retention_days": 90, "dr_copy": True}},
                },
                "local-only": {
                    "automated_backups": {"retention_days": 7},
                    "snapshots": {"weekly": {"retention_days": 90, "dr_copy": False}},
                },
                "monthly-only": {
                    "automated_backups": {"retention_days": 7},
                    "snapshots": {"monthly": {"retention_days": 365, "dr_copy": True}},
                },
            },
        }
    ),
    frozenset({"weekly", "monthly"}),
)
WINDOW = ContinuousBackups(True, "ENABLED", 35, AT - timedelta(days=30), AT + timedelta(hours=2))


def table(name: str = "orders", policy: str | None = "standard", status: str = "ACTIVE") -> Table:
    tags = {} if policy is None else {"restorable:policy": policy}
    return Table(name, f"arn:aws:dynamodb:us-east-1:123456789012:table/{name}", status, tags=tags)


def export(
    name: str, status: str, *, bucket: str = BUCKET, period: date = PERIOD.local_date, n: int = 0
) -> TableExport:
    return TableExport(
        arn=f"arn:aws:dynamodb:us-east-1:123456789012:table/{name}/export/{n:013d}-{status.lower()}",
        status=status,
        s3_bucket=bucket,
        s3_prefix=export_prefix(stack_name=STACK, table_name=name, kind="weekly", period_date=period),
    )


def plan_one(facts: TableExportFacts, **kwargs: object) -> tuple[ExportAction, str]:
    [decision] = plan_exports([facts], period=PERIOD, stack_name=STACK, bucket=BUCKET, **kwargs)  # type: ignore[arg-type]
    return decision.action, decision.reason


def test_a_table_without_an_export_of_the_period_gets_one_as_of_the_scheduled_time() -> None:
    [decision] = plan_exports(
        [TableExportFacts(table(), WINDOW, [export("orders", COMPLETED, period=date(2026, 11, 15))])],
        period=PERIOD,
        stack_name=STACK,
        bucket=BUCKET,
    )
    assert decision.action is ExportAction.START
    assert decision.export_time == AT
    assert decision.prefix == "dynamodb/restorable/orders/weekly/2026-11-22"
    assert decision.client_token == export_client_token(decision.prefix, table().arn, 1)


@pytest.mark.parametrize(
    ("status", "action"), [(IN_PROGRESS, ExportAction.IN_PROGRESS), (COMPLETED, ExportAction.COMPLETED)]
)
def test_an_export_of_the_period_is_found_by_its_prefix(status: str, action: ExportAction) -> None:
    assert plan_one(TableExportFacts(table(), None, [export("orders", status)]))[0] is action


def test_an_export_into_another_bucket_is_not_the_copy() -> None:
    assert plan_one(TableExportFacts(table(), WINDOW, [export("orders", COMPLETED, bucket="elsewhere")]))[0] is (
        ExportAction.START
    )


def test_failed_exports_are_retried_with_a_new_token_then_reported() -> None:
    failed = [export("orders", FAILED, n=i) for i in range(MAX_EXPORT_ATTEMPTS - 1)]
    [decision] = plan_exports(
        [TableExportFacts(table(), WINDOW, failed)], period=PERIOD, stack_name=STACK, bucket=BUCKET
    )
    assert decision.action is ExportAction.START
    assert decision.attempt == MAX_EXPORT_ATTEMPTS
    assert decision.client_token != export_client_token(decision.prefix, table().arn, 1)
    failed.append(export("orders", FAILED, n=9))
    assert plan_one(TableExportFacts(table(), WINDOW, failed))[0] is ExportAction.FINDING


@pytest.mark.parametrize(
    ("facts", "action", "words"),
    [
        (ContinuousBackups(False, "DISABLED"), ExportAction.FINDING, "point-in-time recovery is disabled"),
        (ContinuousBackups(True, "ENABLED", 35, AT + timedelta(minutes=1), AT + timedelta(hours=1)),
         ExportAction.FINDING, "before the earliest restorable time"),
        (ContinuousBackups(True, "ENABLED", 35, AT - timedelta(days=1), AT - timedelta(minutes=4)),
         ExportAction.WAITING, "has not reached the export time"),
        (None, ExportAction.FINDING, "point-in-time recovery unreadable"),
    ],
)  # fmt: skip
def test_pitr_off_or_outside_the_window_is_a_finding_or_a_wait(
    facts: ContinuousBackups | None, action: ExportAction, words: str
) -> None:
    found, reason = plan_one(TableExportFacts(table(), facts, [], error="denied"))
    assert found is action
    assert words in reason


def test_unreadable_exports_start_nothing_and_a_busy_table_waits() -> None:
    assert plan_one(TableExportFacts(table(), WINDOW, None, error="throttled"))[0] is ExportAction.FINDING
    assert plan_one(TableExportFacts(table(status="CREATING"), WINDOW, []))[0] is ExportAction.WAITING


def test_only_tables_whose_weekly_rule_wants_a_dr_copy_are_selected() -> None:
    tables = [
        table("a"),
        table("b", "local-only"),
        table("c", "monthly-only"),
        table("d", None),
        table("e", "none"),
        table("f", "platinum"),
    ]
    selection = select_tables(tables, POLICIES)
    assert [t.name for t in selection.wanted] == ["a"]
    assert [t.name for t in selection.unknown_policy] == ["f"]


# ---- at random ----

NAMES = ["orders", "ledger", "carts"]
STATUSES = [IN_PROGRESS, COMPLETED, FAILED]
exports_of = st.lists(
    st.builds(
        export,
        st.sampled_from(NAMES),
        st.sampled_from(STATUSES),
        bucket=st.sampled_from([BUCKET, "other-bucket"]),
        period=st.sampled_from([PERIOD.local_date, date(2026, 11, 15)]),
        n=st.integers(0, 50),
    ),
    max_size=8,
)
# Offsets around the export time, the edges included: a window that starts after it or ends before it.
OFFSETS = [timedelta(hours=-2), timedelta(minutes=-1), timedelta(0), timedelta(minutes=1), timedelta(days=30)]
windows = st.one_of(
    st.none(),
    st.just(ContinuousBackups(False, "DISABLED")),
    st.builds(
        lambda before, after: ContinuousBackups(True, "ENABLED", 35, AT - before, AT + after),
        st.sampled_from(OFFSETS),
        st.sampled_from(OFFSETS),
    ),
)
tables_of = st.lists(
    st.builds(
        table,
        st.sampled_from(NAMES),
        st.sampled_from(["standard", "local-only", "monthly-only", "none", "platinum", None]),
        st.sampled_from(["ACTIVE", "UPDATING", "CREATING", "DELETING"]),
    ),
    max_size=6,
)


@settings(max_examples=1500, deadline=None)
@given(tables=tables_of, exports=exports_of, window=windows)
def test_never_two_exports_per_table_and_period_never_one_for_a_table_that_does_not_want_it(
    tables: list[Table], exports: list[TableExport], window: ContinuousBackups | None
) -> None:
    selection = select_tables(tables, POLICIES)
    facts = [
        TableExportFacts(t, window, [e for e in exports if e.arn.split("/")[1] == t.name]) for t in selection.wanted
    ]
    decisions = plan_exports(facts, period=PERIOD, stack_name=STACK, bucket=BUCKET)
    started = [d for d in decisions if d.action is ExportAction.START]

    # At most one decision, so at most one export, per table in one pass.
    assert len({d.table.arn for d in decisions}) == len(decisions)
    for decision in started:
        policy = POLICIES.get(decision.table.policy_name or "")
        rule = policy.rule_for("weekly") if policy is not None else None
        assert rule is not None, decision.table
        assert rule.dr_copy, decision.table
        assert decision.table.status in ("ACTIVE", "UPDATING")
        ours = [
            e
            for e in exports
            if e.arn.split("/")[1] == decision.table.name and e.s3_bucket == BUCKET and e.s3_prefix == decision.prefix
        ]
        # Never a second export of the period beside one that is running or done; never past the attempts.
        assert all(e.status == FAILED for e in ours)
        assert len(ours) < MAX_EXPORT_ATTEMPTS
        # Only inside the PITR window.
        assert window is not None
        assert window.pitr_enabled
        assert window.earliest_restorable is not None
        assert window.earliest_restorable <= decision.export_time
        assert window.latest_restorable is not None
        assert decision.export_time <= window.latest_restorable
