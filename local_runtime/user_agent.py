"""botocore's User-Agent header, built with its components' cleaning remembered.

botocore rebuilds the User-Agent of every request from its components and cleans each one
character by character (``sanitize_user_agent_string_component``); with every read of the demo
answered in-process, that cleaning is a tenth of a simulated day's time. The function is pure (a
string and a flag in, a string out), so while ``remembered_cleaning()`` is active its results are
remembered: every request still carries the header botocore would build, byte for byte.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator

from botocore import useragent


@contextlib.contextmanager
def remembered_cleaning() -> Iterator[None]:
    original = useragent.sanitize_user_agent_string_component
    useragent.sanitize_user_agent_string_component = functools.lru_cache(maxsize=4096)(original)
    try:
        yield
    finally:
        useragent.sanitize_user_agent_string_component = original
