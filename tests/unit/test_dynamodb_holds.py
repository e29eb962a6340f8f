from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from restorable.dynamodb_backup_names import parse_backup_name, scheduled_backup_name
from restorable.dynamodb_holds import HoldBook, HoldRecord, point_key
from restorable.dynamodb_models import TableBackup, backup_recovery_point
from restorable.models import DatabaseType
from restorable.prune_plan import KeepRule, plan_prune

STACK = "restorable-prod"
REGION = "us-east-1"
TABLE_ARN = f"arn:aws:dynamodb:{REGION}:123456789012:table/orders"
NOW = datetime(2027, 6, 1, tzinfo=UTC)
HELD_AT = "2027-01-02T03:04:05Z"
# Stands in for the table member DatabaseType does not have yet (the prune reads only its value).
POINT_TYPE = DatabaseType.INSTANCE


def backup_arn(n: int) -> str:
    return f"{TABLE_ARN}/backup/0170000000000-{n:08x}"


def record(arn: str, **changes: object) -> dict[str, object]:
    item: dict[str, object] = {
        "backup_arn": arn,
        "point": "",
        "state": "held",
        "reason": "litigation 2027-14",
        "held_by": "arn:aws:iam::123456789012:user/legal",
        "held_at": HELD_AT,
    }
    item.update(changes)
    return item


def released(arn: str) -> dict[str, object]:
    return record(arn, state="released", released_by="legal", released_at="2027-03-01T00:00:00Z")


def test_a_hold_holds_its_backup_only() -> None:
    book = HoldBook.from_items([record(backup_arn(1))])
    assert book.holds(backup_arn(1))
    assert book.holds(backup_arn(1).upper())
    assert not book.holds(backup_arn(2))
    assert book.problems == ()


def test_a_clear_release_releases() -> None:
    assert not HoldBook.from_items([released(backup_arn(1))]).holds(backup_arn(1))


def test_a_release_without_author_or_time_still_holds() -> None:
    book = HoldBook.from_items(
        [
            record(backup_arn(1), state="released"),
            record(backup_arn(2), state="released", released_by="legal"),
            record(backup_arn(3), state="released", released_at="2027-03-01T00:00:00Z"),
            record(backup_arn(4), state="released", released_by="  ", released_at="2027-03-01T00:00:00Z"),
        ]
    )
    assert all(book.holds(backup_arn(n)) for n in range(1, 5))


@given(state=st.text(max_size=20).filter(lambda s: s.strip().lower() != "released"))
def test_any_state_but_released_holds(state: str) -> None:
    book = HoldBook.from_items([record(backup_arn(1), state=state or "x", released_by="a", released_at=HELD_AT)])
    assert book.holds(backup_arn(1))


def test_a_malformed_record_holds_and_is_reported() -> None:
    book = HoldBook.from_items([{"backup_arn": backup_arn(1), "state": "released"}])
    assert book.readable
    assert book.holds(backup_arn(1))
    assert not book.holds(backup_arn(2))
    assert len(book.problems) == 1


def test_a_record_naming_no_backup_makes_the_book_unreadable() -> None:
    book = HoldBook.from_items([record(backup_arn(1)), {"state": "held", "reason": "x"}])
    assert not book.readable
    assert book.holds(backup_arn(99))


@given(arn=st.text(max_size=200))
def test_an_unreadable_book_holds_everything(arn: str) -> None:
    book = HoldBook.unreadable("AccessDeniedException")
    assert book.holds(arn)
    assert book.hold_tags(arn) == {"restorable:legal-hold": "true"}


def test_a_hold_on_the_point_holds_every_copy() -> None:
    name = parse_backup_name(_name("orders", date(2027, 1, 3)), STACK)
    assert name is not None
    book = HoldBook.from_items([record(backup_arn(1), point=point_key(name))])
    export_arn = f"{TABLE_ARN}/export/01700000000000-abcdef"
    assert book.holds(export_arn, name)
    other = parse_backup_name(_name("orders", date(2027, 1, 10)), STACK)
    assert not book.holds(export_arn, other)


def test_record_model_reads_the_stored_times() -> None:
    parsed = HoldRecord.model_validate(released(backup_arn(1)))
    assert parsed.released
    assert parsed.held_at == datetime(2027, 1, 2, 3, 4, 5, tzinfo=UTC)


# ---- the prune rules read DynamoDB backups unchanged ----


def _name(table: str, day: date, expires: datetime | None = None) -> str:
    return scheduled_backup_name(
        stack_name=STACK,
        table_name=table,
        kind="weekly",
        period_date=day,
        expires_at=expires or datetime.combine(day, datetime.min.time(), UTC) + timedelta(days=90),
    )


def _backup(n: int, name: str, table: str = "orders", backup_type: str = "USER") -> TableBackup:
    created = datetime(2027, 1, 3, 2, tzinfo=UTC) + timedelta(weeks=n)
    return TableBackup(
        arn=backup_arn(n),
        name=name,
        table_name=table,
        table_arn=f"arn:aws:dynamodb:{REGION}:123456789012:table/{table}",
        status="AVAILABLE",
        backup_type=backup_type,
        region=REGION,
        created_at=created,
    )


def _fleet() -> list[TableBackup]:
    weekly = [_backup(n, _name("orders", date(2027, 1, 3) + timedelta(weeks=n))) for n in range(20)]
    return [
        *weekly,
        _backup(100, "orders-by-hand-2027-01-03"),
        _backup(101, _name("orders", date(2027, 1, 3)).replace(STACK, "restorable-test")),
        _backup(102, _name("orders", date(2026, 12, 27)), table="invoices"),  # its name is for another table
        _backup(103, _name("orders", date(2026, 12, 20)), backup_type="SYSTEM"),
    ]


def _plan(book: HoldBook) -> dict[str, str]:
    points = [backup_recovery_point(b, stack_name=STACK, point_type=POINT_TYPE, holds=book) for b in _fleet()]
    plan = plan_prune(
        points,
        stack_name=STACK,
        now=NOW,
        existing_sources=[TABLE_ARN],
        region=REGION,
        override_breaker=True,
    )
    decided = {p.arn: "delete" for p in plan.deletions}
    decided.update({k.point.arn: k.rule.value for k in plan.kept})
    return decided


def test_prune_deletes_only_expired_backups_of_ours() -> None:
    decided = _plan(HoldBook.from_items([]))
    expired = {backup_arn(n) for n in range(20) if date(2027, 1, 3) + timedelta(weeks=n, days=90) <= NOW.date()}
    assert expired
    assert {arn for arn, what in decided.items() if what == "delete"} == expired
    assert decided[backup_arn(100)] == KeepRule.NOT_MANAGED.value
    assert decided[backup_arn(101)] == KeepRule.NOT_MANAGED.value
    assert decided[backup_arn(102)] == KeepRule.INCOMPLETE_TAGS.value
    assert decided[backup_arn(103)] == KeepRule.NOT_MANAGED.value  # SYSTEM backups are never parsed as ours


def test_prune_keeps_a_held_backup() -> None:
    decided = _plan(HoldBook.from_items([record(backup_arn(0))]))
    assert decided[backup_arn(0)] == KeepRule.LEGAL_HOLD.value
    assert decided[backup_arn(1)] == "delete"


def test_prune_deletes_nothing_when_the_holds_store_is_unreadable() -> None:
    decided = _plan(HoldBook.unreadable("ResourceNotFoundException"))
    assert "delete" not in decided.values()
