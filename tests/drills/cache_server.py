"""A throwaway redis-server on loopback, in a temporary directory, for the cache checks.

redis-server comes from Debian's package (``scripts/install-test-servers.sh`` installs it). The
server keeps nothing on disk (no RDB, no AOF), asks for a password generated per session and
speaks plain TCP: ElastiCache's in-transit encryption is the TLS flag of the client, not tested here.

Import the fixture into a test module (no conftest needed)::

    from tests.drills.cache_server import cache_server_fixture  # noqa: F401
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.drills.servers import _wait_for_port, free_port


@dataclass(frozen=True)
class CacheServer:
    host: str
    port: int
    password: str = field(repr=False)


def redis_server_binary() -> str:
    found = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )
    if found is None:
        raise RuntimeError("redis-server not found (run scripts/install-test-servers.sh to install it)")
    return found


@contextlib.contextmanager
def redis_server() -> Iterator[CacheServer]:
    root = Path(tempfile.mkdtemp(prefix="restorable-redis-"))
    log = root / "server.log"
    port = free_port()
    password = secrets.token_urlsafe(24)
    # The password goes through stdin as a config file ("-"), so it never shows in the process list.
    config = "\n".join(
        [
            f"port {port}",
            "bind 127.0.0.1",
            f"dir {root}",
            f"logfile {log}",
            'save ""',
            "appendonly no",
            "daemonize no",
            f"requirepass {password}",
        ]
    )
    process = subprocess.Popen(
        [redis_server_binary(), "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    assert process.stdin is not None
    process.stdin.write(config.encode() + b"\n")
    process.stdin.close()
    try:
        log.touch()
        _wait_for_port(port, process, log)
        yield CacheServer(host="127.0.0.1", port=port, password=password)
    finally:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=15)
        if process.poll() is None:
            process.kill()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session", name="cache_server")
def cache_server_fixture() -> Iterator[CacheServer]:
    with redis_server() as server:
        yield server
