"""The legal-hold rule the CLI lists and lifts by: fail safe on key case and value."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from operator_cli import holds

KEY_CASES = st.builds(
    lambda flips: "".join(c.upper() if f else c for c, f in zip(holds.HOLD_KEY, flips, strict=False)),
    st.lists(st.booleans(), min_size=len(holds.HOLD_KEY), max_size=len(holds.HOLD_KEY)),
)


@given(key=KEY_CASES, value=st.text(max_size=20).filter(lambda v: v.strip().lower() != "false"))
def test_any_key_case_with_any_value_but_false_holds(key: str, value: str) -> None:
    assert holds.is_held({key: value, "restorable:kind": "weekly"})
    assert key in holds.hold_tag_keys({key: value})


@given(key=KEY_CASES, padding=st.sampled_from(["", " ", "  "]), case=st.sampled_from(["false", "FALSE", "False"]))
def test_only_a_clear_false_releases(key: str, padding: str, case: str) -> None:
    assert not holds.is_held({key: f"{padding}{case}{padding}"})


@given(tags=st.dictionaries(st.text(max_size=30).filter(lambda k: k.strip().lower() != holds.HOLD_KEY), st.text()))
def test_without_the_key_nothing_is_held(tags: dict[str, str]) -> None:
    assert not holds.is_held(tags)


@given(reason=st.text(min_size=1, max_size=400))
def test_a_reason_is_accepted_only_when_rds_can_store_it(reason: str) -> None:
    at = datetime(2026, 12, 8, 6, 0, tzinfo=UTC)
    try:
        tags = holds.hold_tags(reason, "alice", at)
    except ValueError:
        return
    assert 0 < len(tags[holds.REASON_KEY]) <= holds.MAX_TAG_VALUE
    assert tags[holds.HOLD_KEY] == "true"
    assert tags[holds.AT_KEY] == "2026-12-08T06:00:00Z"


def test_the_holder_is_cut_to_a_tag_value() -> None:
    long_arn = "arn:aws:sts::123456789012:assumed-role/" + "r" * 300 + "/alice"
    tags = holds.hold_tags("audit", long_arn, datetime(2026, 12, 8, tzinfo=UTC))
    assert len(tags[holds.BY_KEY]) == holds.MAX_TAG_VALUE
    assert tags[holds.BY_KEY].endswith("/alice")  # the end names the person


@pytest.mark.parametrize("reason", ["x" * 257, "o'clock", "a,b", "#12"])
def test_reasons_rds_would_reject(reason: str) -> None:
    with pytest.raises(ValueError, match="tag value"):
        holds.hold_tags(reason, "alice", datetime(2026, 12, 8, tzinfo=UTC))
