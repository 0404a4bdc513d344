"""Engine and transactions: the server's connections run as the INSERT-only role.

Migrations run as the database owner; the server connects with the same URL but every
pooled connection immediately does `SET ROLE ledger_app`, a role holding only SELECT and
INSERT. Even a bug that tried to rewrite history would be refused by PostgreSQL twice:
by privileges and by the tables' triggers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc, text

from ledger_server.domain.errors import Unavailable
from ledger_server.storage.results_repository import SqlResultsRepository

APP_ROLE = "ledger_app"


def make_engine(
    url: str,
    *,
    role: str = APP_ROLE,
    pool_size: int = 16,
    statement_timeout_ms: int = 30_000,
) -> Engine:
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        # No pre-ping round trip per checkout: the health watcher pings every few seconds,
        # and a connection found dead invalidates the whole pool (see SqlTransactions).
        pool_pre_ping=False,
        pool_timeout=10,
        connect_args={"connect_timeout": 5, "application_name": "ledger"},
    )

    @event.listens_for(engine, "connect")
    def _restrict(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            if role:
                cursor.execute(f'SET ROLE "{role}"')
            cursor.execute("SET statement_timeout = %s", (statement_timeout_ms,))
        dbapi_connection.commit()

    return engine


def ping(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


class SqlTransactions:
    """One transaction per use case: commit on success, roll back on any error."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @contextmanager
    def begin(self) -> Iterator[SqlResultsRepository]:
        try:
            with self._engine.begin() as connection:
                yield SqlResultsRepository(connection)
        except (exc.OperationalError, exc.InterfaceError) as error:
            if error.connection_invalidated or _is_transient(error):
                # The database is away, overloaded or too slow: the caller's cue to retry
                # (every creating call is idempotent), not a bug to report as INTERNAL.
                raise Unavailable(
                    "the database is unavailable; retry shortly", reason="DATABASE_UNAVAILABLE"
                ) from error
            raise


# SQLSTATE classes that say "try again later": connection exceptions, insufficient
# resources, operator intervention (shutdown, statement timeout), system errors.
_TRANSIENT_CLASSES = ("08", "53", "57", "58")


def _is_transient(error: exc.DBAPIError) -> bool:
    code = getattr(error.orig, "pgcode", None)
    # psycopg2 reports refused, reset and timed-out connections without a SQLSTATE.
    return code is None or code[:2] in _TRANSIENT_CLASSES
