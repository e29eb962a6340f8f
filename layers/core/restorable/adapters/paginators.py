"""One botocore paginator per (client, operation), kept as long as the client.

``client.get_paginator(name)`` builds a new paginator class on every call (botocore creates the
class with ``type()`` and resolves its model each time). The handlers keep their clients across
invocations of a warm Lambda environment (``adapters.clients``), so the gateways built on each
invocation ask for the same paginators again and again: this hands back the one built first.
A paginator holds no state between ``paginate()`` calls, so sharing it changes no answer.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

_PAGINATORS: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def paginator(client: Any, operation: str) -> Any:
    """``client.get_paginator(operation)``, built once per client."""
    with _LOCK:
        try:
            built = _PAGINATORS.setdefault(client, {})
        except TypeError:  # a stand-in client that cannot be weakly referenced: no sharing
            return client.get_paginator(operation)
        found = built.get(operation)
        if found is None:
            found = built[operation] = client.get_paginator(operation)
        return found
