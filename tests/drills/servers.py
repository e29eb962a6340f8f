"""Throwaway PostgreSQL and MariaDB servers on loopback, in temporary directories, for the SQL checks.

PostgreSQL comes from the machine's packages (/usr/lib/postgresql/*/bin), MariaDB from Debian's
mariadb-server; ``.ci/run`` installs both when missing.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# The credentials moto puts in a managed master user secret: the servers accept them, so a drill
# that reads the restored instance's secret reaches the local server.
USERNAME = "admin"
PASSWORD = "P@55w0rd!"  # moto's fixed managed-secret password, local throwaway server


@dataclass(frozen=True)
class Server:
    engine: str
    host: str
    port: int


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited ({process.returncode}): {log.read_text()[-2000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.1)
    raise RuntimeError(f"server did not listen on {port}: {log.read_text()[-2000:]}")


def postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL binaries not found under /usr/lib/postgresql (run .ci/run to install them)")
    return Path(found[-1]).parent


def _as_unprivileged() -> tuple[dict[str, object], str | None]:
    """initdb and postgres refuse to run as root: drop to the 'postgres' (or 'nobody') user."""
    if os.geteuid() != 0:
        return {}, None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(name)
            return {"user": entry.pw_uid, "group": entry.pw_gid}, name
    raise RuntimeError("running as root without a 'postgres' or 'nobody' user to run PostgreSQL")


@contextlib.contextmanager
def postgres_server() -> Iterator[Server]:
    binaries = postgres_bin()
    drop, user = _as_unprivileged()
    root = Path(tempfile.mkdtemp(prefix="restorable-pg-"))
    data = root / "data"
    pwfile = root / "pw"
    pwfile.write_text(PASSWORD + "\n")
    if user:
        entry = pwd.getpwnam(user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
        os.chown(pwfile, entry.pw_uid, entry.pw_gid)
    log = root / "server.log"
    port = free_port()
    env = {**os.environ, "LC_ALL": "C"}
    subprocess.run(
        [
            str(binaries / "initdb"),
            "-D",
            str(data),
            "-U",
            USERNAME,
            f"--pwfile={pwfile}",
            "--auth=scram-sha-256",
            "--encoding=UTF8",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
        env=env,
        cwd=root,
        **drop,  # type: ignore[arg-type]
    )
    with log.open("wb") as log_stream:
        process = subprocess.Popen(
            [
                str(binaries / "postgres"),
                "-D",
                str(data),
                "-p",
                str(port),
                "-h",
                "127.0.0.1",
                "-k",
                str(root),
                "-c",
                "fsync=off",
            ],
            stdout=log_stream,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=root,
            **drop,  # type: ignore[arg-type]
        )
    try:
        _wait_for_port(port, process, log)
        time.sleep(0.2)
        yield Server(engine="postgres", host="127.0.0.1", port=port)
    finally:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
        if process.poll() is None:
            process.kill()
        shutil.rmtree(root, ignore_errors=True)


def mariadb_bin() -> tuple[Path, Path]:
    server = shutil.which("mariadbd") or shutil.which("mysqld") or "/usr/sbin/mariadbd"
    install = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
    if not Path(server).exists() or install is None:
        raise RuntimeError("MariaDB not found (apt-get install mariadb-server; .ci/run does it)")
    return Path(server), Path(install)


@contextlib.contextmanager
def mariadb_server() -> Iterator[Server]:
    server, install = mariadb_bin()
    root = Path(tempfile.mkdtemp(prefix="restorable-mariadb-"))
    data = root / "data"
    log = root / "server.log"
    port = free_port()
    user = ["--user=root"] if os.geteuid() == 0 else []
    subprocess.run(
        [
            str(install),
            "--no-defaults",
            f"--datadir={data}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            *user,
        ],
        check=True,
        capture_output=True,
    )
    with log.open("wb") as log_stream:
        process = subprocess.Popen(
            [
                str(server),
                "--no-defaults",
                f"--datadir={data}",
                f"--socket={root / 'mysql.sock'}",
                f"--port={port}",
                "--bind-address=127.0.0.1",
                f"--pid-file={root / 'mysqld.pid'}",
                "--skip-log-bin",
                "--innodb-flush-log-at-trx-commit=0",
                *user,
            ],
            stdout=log_stream,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_port(port, process, log)
        import pymysql

        for _ in range(50):
            try:
                connection = pymysql.connect(host="127.0.0.1", port=port, user="root", password="", autocommit=True)
                break
            except pymysql.err.OperationalError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"MariaDB on {port} does not accept root: {log.read_text()[-2000:]}")
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE USER '{USERNAME}'@'%' IDENTIFIED BY '{PASSWORD}'")
            cursor.execute(f"GRANT ALL ON *.* TO '{USERNAME}'@'%'")
        connection.close()
        yield Server(engine="mariadb", host="127.0.0.1", port=port)
    finally:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=15)
        if process.poll() is None:
            process.kill()
        shutil.rmtree(root, ignore_errors=True)
