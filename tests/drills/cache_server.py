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
    ca_file: Path | None = None  # TLS servers: the CA that signed the server's certificate


def redis_server_binary() -> str:
    found = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )
    if found is None:
        raise RuntimeError("redis-server not found (run scripts/install-test-servers.sh to install it)")
    return found


def _certificates(root: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1 / localhost signed by it (openssl CLI)."""
    ca_key, ca, key, csr, cert, ext = (
        root / n for n in ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem", "ext.cnf")
    )
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    quiet = {"check": True, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out", str(ca),
         "-days", "1", "-subj", "/CN=restorable-test-ca"],
        **quiet,
    )  # fmt: skip
    subprocess.run(
        ["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr),
         "-subj", "/CN=127.0.0.1"],
        **quiet,
    )  # fmt: skip
    subprocess.run(
        ["openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial",
         "-out", str(cert), "-days", "1", "-extfile", str(ext)],
        **quiet,
    )  # fmt: skip
    return ca, cert, key


@contextlib.contextmanager
def tls_redis_server() -> Iterator[CacheServer]:
    with redis_server(tls=True) as server:
        yield server


@contextlib.contextmanager
def redis_server(*, tls: bool = False) -> Iterator[CacheServer]:
    root = Path(tempfile.mkdtemp(prefix="restorable-redis-"))
    log = root / "server.log"
    port = free_port()
    password = secrets.token_urlsafe(24)
    ca_file: Path | None = None
    listen = [f"port {port}"]
    if tls:
        ca_file, cert, key = _certificates(root)
        listen = [
            "port 0",
            f"tls-port {port}",
            f"tls-cert-file {cert}",
            f"tls-key-file {key}",
            f"tls-ca-cert-file {ca_file}",
            "tls-auth-clients no",
        ]
    # The password goes through stdin as a config file ("-"), so it never shows in the process list.
    config = "\n".join(
        [
            *listen,
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
        yield CacheServer(host="127.0.0.1", port=port, password=password, ca_file=ca_file)
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


@pytest.fixture(scope="session", name="tls_cache_server")
def tls_cache_server_fixture() -> Iterator[CacheServer]:
    with tls_redis_server() as server:
        yield server
