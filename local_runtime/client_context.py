"""botocore's per-call context copied without the generic ``deepcopy`` machinery.

botocore starts every API call and every page in a copy of the current ``ClientContext``
(``start_as_current_context``: ``copy.deepcopy``), which records the feature ids a call used.
The context holds sets of strings; ``copy.deepcopy`` walks them through its memo and dispatch
tables, a few per cent of a simulated day with every read answered in-process. While
``quick_context_copies()`` is active a ``ClientContext`` is deep-copied field by field: a set or
frozenset of strings is copied as a new set, any other field value (a field a later botocore
adds, say) by ``copy.deepcopy`` as before, so the copy is the one ``deepcopy`` would make.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
from collections.abc import Iterator
from typing import Any
from unittest import mock

from botocore.context import ClientContext


def _copied(value: Any, memo: dict[int, Any]) -> Any:
    if type(value) in (set, frozenset) and all(type(item) is str for item in value):
        return type(value)(value)
    return copy.deepcopy(value, memo)


def _deep_copy(context: Any, memo: dict[int, Any]) -> Any:
    """What ``copy.deepcopy`` makes of the context: a new object of its class, each attribute deep-copied."""
    names = list(vars(context)) if hasattr(context, "__dict__") else [f.name for f in dataclasses.fields(context)]
    copied = object.__new__(type(context))
    memo[id(context)] = copied
    for name in names:
        object.__setattr__(copied, name, _copied(getattr(context, name), memo))
    return copied


@contextlib.contextmanager
def quick_context_copies() -> Iterator[None]:
    with mock.patch.object(ClientContext, "__deepcopy__", _deep_copy, create=True):
        yield
