"""The read cache's copies: equal to the kept answer, in its key order, sharing nothing a caller can change."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from local_runtime.read_cache import _frozen, _request_key, _thawed

LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=8),
    st.binary(max_size=8),
    st.datetimes(timezones=st.just(UTC)),
    st.dates(),
    st.decimals(allow_nan=False),
)
# What botocore parses (dicts, lists, leaves) and what a hook might add (sets, tuples of lists).
ANSWERS = st.recursive(
    LEAVES,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(st.text(max_size=6), children, max_size=5),
        st.frozensets(st.integers(), max_size=3).map(set),
        st.tuples(st.lists(st.integers(), max_size=3)),
    ),
    max_leaves=30,
)


def _containers(value: Any) -> list[Any]:
    """Every object in ``value`` a caller could change in place."""
    found: list[Any] = []
    if isinstance(value, dict):
        found.append(value)
        for item in value.values():
            found.extend(_containers(item))
    elif isinstance(value, (list, tuple)):
        if not isinstance(value, tuple):
            found.append(value)
        for item in value:
            found.extend(_containers(item))
    elif isinstance(value, set):
        found.append(value)
    return found


def _key_orders(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [list(value)] + [order for item in value.values() for order in _key_orders(item)]
    if isinstance(value, (list, tuple)):
        return [order for item in value for order in _key_orders(item)]
    return []


@given(ANSWERS)
def test_a_copy_equals_the_answer_in_its_key_order_and_shares_no_container(answer: Any) -> None:
    kept = _frozen(answer)
    first, second = _thawed(kept), _thawed(kept)
    assert first == answer
    assert second == answer
    assert _key_orders(first) == _key_orders(answer)
    theirs = {id(c) for c in _containers(answer)}
    mine = [id(c) for c in _containers(first)]
    assert not theirs & set(mine)
    assert not set(mine) & {id(c) for c in _containers(second)}


def test_changing_the_answer_after_it_was_kept_or_a_copy_changes_no_later_copy() -> None:
    answer: dict[str, Any] = {
        "DBSnapshots": [
            {
                "DBSnapshotIdentifier": "orders-weekly-2026-11-29",
                "SnapshotCreateTime": datetime(2026, 11, 29, 3, tzinfo=UTC),
                "TagList": [{"Key": "restorable:managed-by", "Value": "restorable-prod"}],
                "ProcessorFeatures": [],
            }
        ],
        "ResponseMetadata": {"HTTPHeaders": {"x-amzn-requestid": "1"}},
        "Odd": {"set": {1, 2}, "decimal": Decimal("1.5"), "day": date(2026, 11, 29)},
    }
    kept = _frozen(answer)
    expected = _thawed(kept)
    answer["DBSnapshots"][0]["TagList"].clear()
    answer["Odd"]["set"].add(3)
    copy = _thawed(kept)
    copy["DBSnapshots"][0]["TagList"][0]["Value"] = "someone-else"
    copy["DBSnapshots"][0]["ProcessorFeatures"].append({"Name": "coreCount"})
    copy["Odd"]["set"].discard(1)
    copy["ResponseMetadata"]["HTTPHeaders"].clear()
    copy["DBSnapshots"].append({})
    assert _thawed(kept) == expected
    assert expected["DBSnapshots"][0]["TagList"] == [{"Key": "restorable:managed-by", "Value": "restorable-prod"}]
    assert expected["Odd"]["set"] == {1, 2}


FORMS = st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=4)
BODIES = st.one_of(
    FORMS,
    st.binary(max_size=6),
    st.text(max_size=6),
    st.none(),
    st.dictionaries(st.text(max_size=3), ANSWERS, max_size=3),
)


def _request(body: Any, query: Any = None) -> dict[str, Any]:
    return {"method": "POST", "url_path": "/", "query_string": {} if query is None else query, "body": body}


@given(BODIES, BODIES, FORMS, FORMS)
def test_requests_with_one_key_are_the_same_request_and_the_same_request_has_one_key(
    body: Any, other: Any, query: dict[str, str], other_query: dict[str, str]
) -> None:
    if _request_key(_request(body, query)) == _request_key(_request(other, other_query)):
        assert type(body) is type(other)
        assert body == other
        assert query == other_query
    assert _request_key(_request(body, query)) == _request_key(_request(_reordered(body), _reordered(query)))


@given(FORMS, FORMS)
def test_form_requests_have_one_key_exactly_when_their_fields_are_equal(body: Any, other: Any) -> None:
    assert (_request_key(_request(body)) == _request_key(_request(other))) is (body == other)
    assert _request_key(_request(body)) != _request_key(_request(json.dumps(body)))


def _reordered(value: Any) -> Any:
    return dict(reversed(list(value.items()))) if isinstance(value, dict) else value
