"""Engine, units of work and the one place database errors become domain errors.

Migrations run as the database owner. The server serves as a role holding only SELECT
and INSERT: every pooled connection does `SET ROLE ledger_app` (or serves as its login
role, when that is already restricted), then proves the role can neither rewrite nor own
Ledger's tables (`roles.py`). Even a bug that tried to rewrite history would be refused
by PostgreSQL twice: by privileges and by the tables' triggers.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, TypeVar

import psycopg2
from psycopg2 import sql
from sqlalchemy import Connection, Engine, create_engine, event, exc, text

from ledger_server.domain.errors import Aborted, Unavailable
from ledger_server.storage import roles
from ledger_server.storage.evaluations.log_repository import SqlEvaluationLogs
from ledger_server.storage.evaluations.repository import SqlEvaluationRepository
from ledger_server.storage.ingestion.repository import SqlIngestionRepository
from ledger_server.storage.locks import ADVISORY_LOCK
from ledger_server.storage.request_ids import SqlRequestIds
from ledger_server.storage.results_store.repository import SqlResultsRepository
from ledger_server.storage.savings.repository import SqlSavingsRepository

APP_ROLE = "ledger_app"
T = TypeVar("T")
log = logging.getLogger("ledger.storage")

# How often `run` tries a unit of work that keeps losing races before it answers ABORTED.
CONFLICT_ATTEMPTS = 4


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

    escape_logged = False

    @event.listens_for(engine, "connect")
    def _restrict(dbapi_connection: Any, _record: Any) -> None:
        nonlocal escape_logged
        with dbapi_connection.cursor() as cursor:
            if role:
                cursor.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
            cursor.execute("SET statement_timeout = %s", (statement_timeout_ms,))
            roles.check_serving_role(cursor)
            escape = roles.login_may_escape(cursor) if role and not escape_logged else None
        dbapi_connection.commit()
        if escape:
            escape_logged = True
            log.warning(
                "the login role may undo SET ROLE: a RESET ROLE would act as it, with the "
                "power to rewrite history; serve with a login role that is only a member of "
                f"{role} (README, Database roles)",
                extra={"login_role": escape, "role": role},
            )

    return engine


def ping(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


class SqlUnitOfWork:
    """One transaction's repositories: the shared ones, then one per service."""

    def __init__(self, connection: Connection, *, read_only: bool = False) -> None:
        self.connection = connection
        # A unit of `Transactions.read()`: outside a transaction a lock would be
        # released as soon as it is granted.
        self.read_only = read_only
        self.request_ids = SqlRequestIds(connection)
        self.results = SqlResultsRepository(connection)
        self.evaluations = SqlEvaluationRepository(connection)
        self.evaluation_logs = SqlEvaluationLogs(connection)
        self.ingestion = SqlIngestionRepository(connection)
        self.savings = SqlSavingsRepository(connection)

    def lock(self, key: str) -> None:
        if self.read_only:
            raise ReadOnlyUnitOfWork("a read unit of work holds no lock: use begin()")
        self.connection.execute(text(ADVISORY_LOCK), {"key": key})


class ReadOnlyUnitOfWork(RuntimeError):
    """A lock asked of a unit of `Transactions.read()`: a bug of the use case."""


class _Conflict(Aborted):
    """A lost race the unit of work may retry; ABORTED once the retries run out."""


class SqlTransactions:
    """Units of work: commit on success, roll back on any error, errors mapped once.

    A stopping server calls `interrupt` once its grace period is over: units of work
    still open are then rolled back, never committed, so a call answered UNAVAILABLE
    for it stored nothing.
    """

    def __init__(self, engine: Engine, *, attempts: int = CONFLICT_ATTEMPTS) -> None:
        self._engine = engine
        self._attempts = attempts
        self._interrupted = False
        # Units of work open now, commits included, and the DBAPI connections of those
        # not yet committing, whose statements `interrupt` cancels.
        self._active = 0
        self._cancellable: set[Any] = set()
        self._lock = threading.Lock()

    @contextmanager
    def begin(self) -> Iterator[SqlUnitOfWork]:
        with self._unit(self._engine.begin) as uow:
            yield uow

    @contextmanager
    def read(self) -> Iterator[SqlUnitOfWork]:
        with self._unit(self._autocommit, read_only=True) as uow:
            yield uow

    @contextmanager
    def _autocommit(self) -> Iterator[Connection]:
        """A pooled connection in autocommit (psycopg2 sends no BEGIN, and there is no
        COMMIT to send), back out of it before it returns to the pool.

        Set on the driver's connection, not through SQLAlchemy's `isolation_level`:
        SQLAlchemy would reset the level on return, and psycopg2 then sends a `SET
        default_transaction_isolation` with the next read, a round trip of its own.
        """
        with self._engine.connect() as connection:
            dbapi_connection: Any = connection.connection.dbapi_connection
            dbapi_connection.autocommit = True
            try:
                yield connection
            finally:
                if not connection.invalidated:
                    try:
                        dbapi_connection.autocommit = False
                    except psycopg2.Error:
                        # Never back to the pool in autocommit: a later unit of work
                        # would commit each statement by itself.
                        connection.invalidate()

    @contextmanager
    def _unit(
        self,
        connect: Callable[[], AbstractContextManager[Connection]],
        *,
        read_only: bool = False,
    ) -> Iterator[SqlUnitOfWork]:
        with self._lock:
            if self._interrupted:
                raise _shutting_down()
            self._active += 1
        try:
            with connect() as connection:
                dbapi_connection = connection.connection.dbapi_connection
                with self._lock:
                    self._cancellable.add(dbapi_connection)
                try:
                    yield SqlUnitOfWork(connection, read_only=read_only)
                    if self._interrupted:
                        raise _shutting_down()  # roll back instead of committing
                finally:
                    with self._lock:
                        self._cancellable.discard(dbapi_connection)
        # Bulk writes use the driver's cursor directly: its errors arrive unwrapped.
        except (exc.DBAPIError, psycopg2.Error) as error:
            if self._interrupted:
                raise _shutting_down() from error  # most likely the cancelled statement
            raise _domain_error(error) from error
        finally:
            with self._lock:
                self._active -= 1

    def interrupt(self, timeout: float) -> int:
        """Rolls back every open unit of work, refuses new ones, and waits for them to end.

        The statement each one runs is cancelled (libpq's cancel request: no privilege
        needed, and it reaches only our own backends), and again until all have ended or
        `timeout` passes, since a cancel that lands between two statements does nothing;
        a unit of work that reaches its commit meanwhile rolls back instead. A COMMIT
        already sent may still finish: that call is then answered OK, as it should be.
        Returns how many units of work were open.
        """
        with self._lock:
            self._interrupted = True
            interrupted = self._active
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._active:
                    break
                running = list(self._cancellable)
            for dbapi_connection in running:
                with contextlib.suppress(Exception):  # a connection closing meanwhile
                    dbapi_connection.cancel()
            time.sleep(0.02)
        return interrupted

    def run(self, work: Callable[[SqlUnitOfWork], T]) -> T:
        for attempt in range(1, self._attempts + 1):
            try:
                with self.begin() as uow:
                    return work(uow)
            except _Conflict as conflict:
                if attempt == self._attempts:
                    raise Aborted(
                        "the request kept conflicting with concurrent ones; retry it",
                        reason="CONCURRENT_CONFLICT",
                    ) from conflict
                log.info("retrying a unit of work", extra={"attempt": attempt})
                # A short random pause, so two racing transactions do not collide again.
                time.sleep(random.uniform(0, 0.01 * attempt))
        raise AssertionError("unreachable: the last attempt returns or raises")


def _shutting_down() -> Unavailable:
    return Unavailable(
        "the server is shutting down; retry on another server", reason="SERVER_SHUTTING_DOWN"
    )


# SQLSTATE classes that say "try again later": connection exceptions, insufficient
# resources, operator intervention (shutdown, statement timeout), system errors.
_TRANSIENT_CLASSES = ("08", "53", "57", "58")
# Lost races: a serialization failure or a deadlock (class 40), a constraint another
# transaction satisfied first (class 23, e.g. a unique key taken meanwhile).
_CONFLICT_CLASSES = ("40", "23")


def _domain_error(error: exc.DBAPIError | psycopg2.Error) -> Exception:
    """The domain error a database failure means; unexpected ones pass through as bugs.

    `error` is SQLAlchemy's wrapper or, from a repository's own driver cursor, the
    psycopg2 error itself.
    """
    orig = error.orig if isinstance(error, exc.DBAPIError) else error
    invalidated = isinstance(error, exc.DBAPIError) and error.connection_invalidated
    code = getattr(orig, "pgcode", None)
    # First: psycopg2 files serialization failures and deadlocks under OperationalError.
    if code is not None and code[:2] in _CONFLICT_CLASSES:
        return _Conflict("the request conflicted with a concurrent one; retry it")
    if (
        invalidated
        or (code is not None and code[:2] in _TRANSIENT_CLASSES)
        # psycopg2 reports refused, reset and dropped connections without a SQLSTATE,
        # sometimes as a bare DatabaseError ("server closed the connection unexpectedly").
        or isinstance(orig, psycopg2.OperationalError | psycopg2.InterfaceError)
        or (code is None and type(orig) is psycopg2.DatabaseError)
    ):
        # The database is away, overloaded or too slow: the caller's cue to retry (every
        # creating call is idempotent), not a bug to report as INTERNAL.
        return Unavailable(
            "the database is unavailable; retry shortly", reason="DATABASE_UNAVAILABLE"
        )
    return error
