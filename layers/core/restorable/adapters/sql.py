"""SQL checks through the real drivers: pg8000 for PostgreSQL, PyMySQL for MySQL and MariaDB.

Credentials are passed in memory only; error details are scrubbed of the password before they
leave this module.
"""

from __future__ import annotations

import contextlib
import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import InvalidRequestError

POSTGRES_ENGINES = frozenset({"postgres", "aurora-postgresql"})
MYSQL_ENGINES = frozenset({"mysql", "mariadb", "aurora-mysql", "aurora"})


class Cursor(Protocol):
    def execute(self, operation: str) -> Any: ...

    def fetchone(self) -> Any: ...


def engine_family(engine: str) -> str:
    """``postgres`` or ``mysql``; ``InvalidRequestError`` for engines without a SQL check driver."""
    if engine in POSTGRES_ENGINES:
        return "postgres"
    if engine in MYSQL_ENGINES:
        return "mysql"
    raise InvalidRequestError(f"SQL checks are not supported for engine '{engine}' (PostgreSQL, MySQL, MariaDB only)")


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str

    def __repr__(self) -> str:  # never print the password, even by accident
        return f"Credentials(username={self.username!r}, password='***')"


@dataclass(frozen=True)
class ConnectionTarget:
    family: str
    host: str
    port: int
    database: str
    tls: str
    connect_timeout_seconds: int


def _tls_context() -> ssl.SSLContext:
    # Encrypt without verifying: the temporary database's certificate is signed by the RDS CA, which the
    # Lambda runtime does not ship; the connection stays inside the VPC.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


@contextmanager
def connect(target: ConnectionTarget, credentials: Credentials) -> Iterator[Any]:
    """A DB-API connection to the target, closed on exit."""
    if target.family == "postgres":
        import pg8000.dbapi

        connection: Any = pg8000.dbapi.connect(
            user=credentials.username,
            password=credentials.password,
            host=target.host,
            port=target.port,
            database=target.database,
            timeout=target.connect_timeout_seconds,
            ssl_context=_tls_context() if target.tls == "require" else None,
        )
    else:
        import pymysql

        connection = pymysql.connect(
            user=credentials.username,
            password=credentials.password,
            host=target.host,
            port=target.port,
            database=target.database,
            connect_timeout=target.connect_timeout_seconds,
            read_timeout=60,
            ssl=_tls_context() if target.tls == "require" else None,
        )
    try:
        yield connection
    finally:
        with contextlib.suppress(Exception):  # closing a broken connection must not hide the real error
            connection.close()


def scalar(connection: Any, sql: str) -> Any:
    """The first column of the first row (None when the query returns no row)."""
    cursor = connection.cursor()
    try:
        cursor.execute(sql)
        row = cursor.fetchone()
    finally:
        cursor.close()
    if row is None:
        return None
    return row[0]


def scrub(text: str, secret: str) -> str:
    return text.replace(secret, "***") if secret else text


def timed(call: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    value = call()
    return value, round((time.perf_counter() - started) * 1000, 1)
