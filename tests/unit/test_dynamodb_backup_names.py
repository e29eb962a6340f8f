from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from restorable import tags as tag_keys
from restorable.dynamodb_backup_names import (
    MAX_BACKUP_NAME_LENGTH,
    BackupName,
    parse_backup_name,
    predeploy_backup_name,
    recovery_point_tags,
    scheduled_backup_name,
    table_digest,
)

STACK = "restorable-prod"
TABLE_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"
EXPIRES = datetime(2027, 2, 20, 2, 0, tzinfo=UTC)
ALLOWED = re.compile(r"^[a-zA-Z0-9_.-]{3,255}$")

stacks = st.from_regex(r"\A[A-Za-z][A-Za-z0-9-]{0,127}\Z")
tables = st.from_regex(r"\A[A-Za-z0-9_.-]{3,255}\Z")
scheduled_kinds = st.sampled_from(["weekly", "monthly", "daily", "quarterly", "k" * 20])
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2199, 12, 31))
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2199, 12, 31), timezones=st.just(UTC)).map(
    lambda m: m.replace(microsecond=0)
)


def test_name_states_stack_kind_period_expiry_and_table() -> None:
    name = scheduled_backup_name(
        stack_name=STACK, table_name="orders", kind="weekly", period_date=date(2026, 11, 22), expires_at=EXPIRES
    )
    assert name == f"restorable.{STACK}.weekly.2026-11-22.expires-20270220T020000Z.{table_digest('orders')}.orders"


def test_predeploy_name_uses_the_request_time_in_utc() -> None:
    at = datetime(2026, 11, 22, 3, 4, 5, tzinfo=UTC) + timedelta(hours=0)
    name = predeploy_backup_name(stack_name=STACK, table_name="orders", at=at, expires_at=EXPIRES)
    parsed = parse_backup_name(name, STACK)
    assert parsed is not None
    assert parsed.kind == "predeploy"
    assert parsed.period == "20261122T030405Z"
    assert parsed.period_date is None


def test_a_scheduled_name_refuses_an_on_demand_kind() -> None:
    with pytest.raises(ValueError, match="on demand"):
        scheduled_backup_name(
            stack_name=STACK, table_name="orders", kind="predeploy", period_date=date(2026, 1, 1), expires_at=EXPIRES
        )


@pytest.mark.parametrize(
    ("stack", "table", "kind"),
    [("1stack", "orders", "weekly"), (STACK, "ab", "weekly"), (STACK, "orders", "Weekly"), (STACK, "a b c", "weekly")],
)
def test_bad_parts_are_refused(stack: str, table: str, kind: str) -> None:
    with pytest.raises(ValueError, match="is not a"):
        scheduled_backup_name(
            stack_name=stack, table_name=table, kind=kind, period_date=date(2026, 1, 1), expires_at=EXPIRES
        )


def test_longest_parts_still_fit_and_keep_a_readable_head() -> None:
    stack, table = "S" + "s" * 127, "t" * 255
    name = predeploy_backup_name(stack_name=stack, table_name=table, at=EXPIRES, expires_at=EXPIRES)
    assert len(name) == MAX_BACKUP_NAME_LENGTH
    parsed = parse_backup_name(name, stack)
    assert parsed is not None
    assert len(parsed.table_head) >= 42
    assert parsed.names_table(table)
    assert not parsed.names_table(table[:-1] + "u")  # same head, another table


def test_long_tables_sharing_a_prefix_get_different_names() -> None:
    first, second = "a" * 200 + "-first", "a" * 200 + "-second"
    make = lambda t: scheduled_backup_name(  # noqa: E731
        stack_name=STACK, table_name=t, kind="weekly", period_date=date(2026, 1, 4), expires_at=EXPIRES
    )
    assert make(first) != make(second)


@pytest.mark.parametrize(
    "foreign",
    [
        "orders-weekly-2026-11-22",  # a person's
        "awsbackup_orders_2026-11-22",  # looks like AWS Backup's
        "SYSTEM",
        "restorable.restorable-prod.weekly.2026-11-22",  # cut short
        f"Restorable.{STACK}.weekly.2026-11-22.expires-20270220T020000Z.{table_digest('orders')}.orders",
        f"restorable.{STACK}.weekly.2026-02-30.expires-20270220T020000Z.{table_digest('orders')}.orders",
        f"restorable.{STACK}.weekly.2026-11-22.expires-20271320T020000Z.{table_digest('orders')}.orders",
        f"restorable.{STACK}.predeploy.2026-11-22.expires-20270220T020000Z.{table_digest('orders')}.orders",
        f"restorable.{STACK}.weekly.20261122T000000Z.expires-20270220T020000Z.{table_digest('orders')}.orders",
        f"restorable.{STACK}.weekly.2026-11-22.expires-20270220T020000Z.{table_digest('orders').upper()}.orders",
        f"restorable.{STACK}.weekly.2026-11-22.expires-20270220T020000Z.{table_digest('orders')}.orderz",
        f"restorable.{STACK}.weekly.2026-11-22.expires-20270220T020000Z.{table_digest('orders')}.orders ",
    ],
)
def test_foreign_and_garbled_names_are_not_ours(foreign: str) -> None:
    assert parse_backup_name(foreign, STACK) is None


@given(stack=stacks, table=tables, kind=scheduled_kinds, day=days, expires=moments)
def test_scheduled_round_trip(stack: str, table: str, kind: str, day: date, expires: datetime) -> None:
    name = scheduled_backup_name(stack_name=stack, table_name=table, kind=kind, period_date=day, expires_at=expires)
    assert ALLOWED.match(name)
    parsed = parse_backup_name(name, stack)
    assert parsed is not None
    assert (parsed.stack, parsed.kind, parsed.period_date, parsed.expires_at) == (stack, kind, day, expires)
    assert parsed.names_table(table)
    assert parsed.render() == name
    again = scheduled_backup_name(
        stack_name=stack, table_name=table, kind=kind, period_date=day, expires_at=expires + timedelta(days=30)
    )
    assert parse_backup_name(again, stack).key == parsed.key  # type: ignore[union-attr]


@given(stack=stacks, table=tables, at=moments, expires=moments)
def test_predeploy_round_trip(stack: str, table: str, at: datetime, expires: datetime) -> None:
    name = predeploy_backup_name(stack_name=stack, table_name=table, at=at, expires_at=expires)
    assert ALLOWED.match(name)
    parsed = parse_backup_name(name, stack)
    assert parsed is not None
    assert parsed.kind == "predeploy"
    assert parsed.expires_at == expires
    assert parsed.names_table(table)


@given(text=st.text(min_size=0, max_size=300) | st.from_regex(r"\A[A-Za-z0-9_.-]{3,255}\Z"), stack=stacks)
def test_arbitrary_text_parses_only_in_the_exact_form_we_write(text: str, stack: str) -> None:
    parsed = parse_backup_name(text, stack)
    assert parsed is None or parsed.render() == text


@given(ours=stacks, other=stacks, table=tables, day=days, expires=moments)
def test_another_stacks_name_is_never_ours(ours: str, other: str, table: str, day: date, expires: datetime) -> None:
    assume(ours != other)
    name = scheduled_backup_name(stack_name=other, table_name=table, kind="weekly", period_date=day, expires_at=expires)
    assert parse_backup_name(name, ours) is None


@given(table=tables, day=days, data=st.data())
def test_a_changed_structural_character_is_not_ours(table: str, day: date, data: st.DataObject) -> None:
    name = scheduled_backup_name(stack_name=STACK, table_name=table, kind="weekly", period_date=day, expires_at=EXPIRES)
    parsed = parse_backup_name(name, STACK)
    assert parsed is not None
    head_start = len(name) - len(parsed.table_head)
    kind_start = len(f"restorable.{STACK}.")
    kind_span = range(kind_start, kind_start + len("weekly"))
    # Digits of the period and expiry, and the kind's letters, may change into another valid name of ours.
    structural = [i for i, c in enumerate(name[:head_start]) if i not in kind_span and not c.isdigit()]
    position = data.draw(st.sampled_from(structural))
    replacement = data.draw(st.sampled_from("aZ9_.-").filter(lambda c: c != name[position]))
    garbled = name[:position] + replacement + name[position + 1 :]
    found = parse_backup_name(garbled, STACK)
    # A changed marker, separator or stack letter never parses as ours; a changed digest
    # may parse only when the head was cut, and then it no longer names the table.
    assert found is None or (found.table_digest != parsed.table_digest and not found.names_table(table))


@given(table=tables, extra=st.sampled_from("aZ9_.-"))
def test_an_appended_character_is_not_the_same_backup(table: str, extra: str) -> None:
    name = scheduled_backup_name(
        stack_name=STACK, table_name=table, kind="weekly", period_date=date(2026, 1, 4), expires_at=EXPIRES
    )
    found = parse_backup_name(name + extra, STACK)
    assert found is None or not found.names_table(table)


def test_recovery_point_tags_give_source_only_for_the_named_table() -> None:
    name = scheduled_backup_name(
        stack_name=STACK, table_name="orders", kind="weekly", period_date=date(2026, 11, 22), expires_at=EXPIRES
    )
    parsed = parse_backup_name(name, STACK)
    assert isinstance(parsed, BackupName)
    assert recovery_point_tags(parsed, table_name="orders", table_arn=TABLE_ARN) == {
        tag_keys.MANAGED_BY: STACK,
        tag_keys.KIND: "weekly",
        tag_keys.EXPIRES_AT: "2027-02-20T02:00:00Z",
        tag_keys.SOURCE: TABLE_ARN,
    }
    assert tag_keys.SOURCE not in recovery_point_tags(parsed, table_name="invoices", table_arn=TABLE_ARN)
