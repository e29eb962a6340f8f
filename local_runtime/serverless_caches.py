"""moto 5.2 has no serverless caches: its ElastiCache answers their listings with ``NotImplementedError``.

AWS answers an account without serverless caches with empty listings. ``answer_serverless_listings_empty``
teaches moto's ElastiCache responder exactly that (and nothing more), for every emulator started in the
process while it is in force (the tests install it for their whole session, the benchmarks around each run),
so a handler that lists every kind of cache runs on moto. Tests of serverless caches themselves use
botocore's ``Stubber``; hooks registered on a client still answer before moto does.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from moto.core.responses import ActionResult
from moto.elasticache.responses import ElastiCacheResponse

EMPTY_SERVERLESS_LISTINGS = {
    "describe_serverless_caches": "ServerlessCaches",
    "describe_serverless_cache_snapshots": "ServerlessCacheSnapshots",
}


def _empty(result_key: str) -> object:
    def respond(self: ElastiCacheResponse) -> ActionResult:
        return ActionResult({result_key: []})

    return respond


@contextmanager
def answer_serverless_listings_empty() -> Iterator[None]:
    saved = {name: ElastiCacheResponse.__dict__.get(name) for name in EMPTY_SERVERLESS_LISTINGS}
    for name, result_key in EMPTY_SERVERLESS_LISTINGS.items():
        setattr(ElastiCacheResponse, name, _empty(result_key))
    try:
        yield
    finally:
        for name, previous in saved.items():
            if previous is None:
                delattr(ElastiCacheResponse, name)
            else:
                setattr(ElastiCacheResponse, name, previous)
