"""botocore's User-Agent header, built once per client state instead of on every request.

botocore rebuilds the User-Agent of every request from its components and cleans each one
character by character (``sanitize_user_agent_string_component``); with every read of the demo
answered in-process, building that string is a tenth of a simulated day's time. The header is a
pure function of the ``UserAgentString`` object's fields, its client's ``Config`` settings that
the header shows, and the feature ids of the request's context. While ``remembered_user_agent()``
is active the string is remembered under exactly those inputs (the objects themselves are held, so
an identity is never reused for another object): every request still carries the header botocore
would build, byte for byte, and a change of any input builds it afresh.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any

from botocore import useragent
from botocore.context import get_context

_PLAIN = frozenset({str, type(None), bool, int})
_REMEMBERED_LIMIT = 1024
_CONFIG_FIELDS = ("_supplied_user_agent", "user_agent", "user_agent_extra", "user_agent_appid", "retries")


def _frozen(value: Any) -> Any:
    if type(value) in _PLAIN:
        return value
    if isinstance(value, set | frozenset):
        return frozenset(value)
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    return value


def _fields(creator: Any, config: Any) -> tuple[Any, ...]:
    """What ``to_string`` reads besides the context: the creator's fields and its Config's settings."""
    return (
        tuple((name, _frozen(value)) for name, value in vars(creator).items() if name != "_client_config"),
        None if config is None else tuple(_frozen(getattr(config, name, None)) for name in _CONFIG_FIELDS),
    )


def remembering(original: Callable[[Any], str]) -> Callable[[Any], str]:
    """``UserAgentString.to_string`` remembered per creator, Config and inputs."""
    remembered: dict[tuple[int, int, frozenset[str]], tuple[Any, Any, tuple[Any, ...], str]] = {}

    @functools.wraps(original)
    def to_string(self: Any) -> str:
        config = getattr(self, "_client_config", None)
        context = get_context()
        key = (id(self), id(config), frozenset(context.features) if context is not None else frozenset())
        fields = _fields(self, config)
        found = remembered.get(key)
        if found is not None and found[0] is self and found[1] is config and found[2] == fields:
            return found[3]
        text = original(self)
        if len(remembered) >= _REMEMBERED_LIMIT:  # clients made for one call are not held for the whole run
            remembered.clear()
        remembered[key] = (self, config, fields, text)
        return text

    return to_string


@contextlib.contextmanager
def remembered_user_agent() -> Iterator[None]:
    creator = useragent.UserAgentString
    original = creator.to_string
    creator.to_string = remembering(original)  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        creator.to_string = original  # type: ignore[method-assign]
