"""Holding a server's statement inside PostgreSQL: a table lock a test takes and releases."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2

from tests.support.database import connect


@contextmanager
def table_locked(url: str, table: str) -> Iterator[psycopg2.extensions.connection]:
    """Holds ACCESS EXCLUSIVE on `table` (reads and writes of it wait) until the block ends."""
    connection = connect(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        yield connection
    finally:
        connection.rollback()
        connection.close()


def waiting_backends(
    url: str, locker: psycopg2.extensions.connection, timeout: float = 10
) -> list[int]:
    """The pids of the backends waiting for `locker`'s locks, once there are some."""
    deadline = time.monotonic() + timeout
    observer = connect(url)
    observer.autocommit = True
    try:
        with observer.cursor() as cursor:
            while time.monotonic() < deadline:
                cursor.execute(
                    "SELECT pid FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))",
                    (locker.get_backend_pid(),),
                )
                pids = [pid for (pid,) in cursor.fetchall()]
                if pids:
                    return pids
                time.sleep(0.02)
    finally:
        observer.close()
    raise AssertionError("no backend came to wait for the lock")
