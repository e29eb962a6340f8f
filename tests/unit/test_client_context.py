"""botocore's per-call context, copied quickly: the copy deepcopy would make, sharing nothing."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import boto3
from botocore.context import ClientContext, get_context, start_as_current_context
from moto import mock_aws

from local_runtime.client_context import quick_context_copies


@dataclass
class _LaterContext(ClientContext):
    """A context as a later botocore might have it: another field beside the feature ids."""

    steps: list[dict[str, set[str]]] = field(default_factory=list)


def test_a_copy_equals_the_deepcopy_and_shares_no_set() -> None:
    context = ClientContext(features={"A", "B"})
    later = _LaterContext(features={"C"}, steps=[{"retries": {"x"}}])
    expected = (copy.deepcopy(context), copy.deepcopy(later))
    with quick_context_copies():
        copied, copied_later = copy.deepcopy(context), copy.deepcopy(later)
    assert (copied, copied_later) == expected
    assert type(copied_later) is _LaterContext
    copied.features.add("Z")
    copied_later.steps[0]["retries"].add("y")
    assert context.features == {"A", "B"}
    assert later.steps == [{"retries": {"x"}}]


def test_nested_contexts_keep_their_own_feature_ids() -> None:
    with quick_context_copies(), start_as_current_context():
        outer = get_context()
        outer.features.add("OUTER")
        with start_as_current_context():
            inner = get_context()
            assert inner is not outer
            assert inner.features == {"OUTER"}
            inner.features.add("INNER")
        assert get_context().features == {"OUTER"}


def test_calls_and_pages_run_as_before_and_the_copy_is_undone_after() -> None:
    with mock_aws(), quick_context_copies():
        sns = boto3.client("sns", region_name="us-east-1")
        sns.create_topic(Name="alerts")
        pages = list(sns.get_paginator("list_topics").paginate())
    assert [t["TopicArn"].rsplit(":", 1)[1] for t in pages[0]["Topics"]] == ["alerts"]
    assert "__deepcopy__" not in vars(ClientContext)
