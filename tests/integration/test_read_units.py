"""Units of `Transactions.read()` on real PostgreSQL: each statement runs on its own, and
a connection used in autocommit goes back to the pool transactional however the unit ends
(or not back at all); a read unit takes no lock."""

from __future__ import annotations

import threading
import time

import psycopg2.extensions
import pytest
from sqlalchemy import Engine, text

from ledger_server.domain.errors import Unavailable
from ledger_server.domain.evaluations.use_cases import (
    EvaluationNotFound,
    Evaluations,
)
from ledger_server.storage.database import (
    ReadOnlyUnitOfWork,
    SqlTransactions,
    SqlUnitOfWork,
    make_engine,
)
from tests.support.database import connect


def _assert_transactional(engine: Engine) -> None:
    """A begin() unit on `engine` runs in one transaction, and rolls back when it raises."""
    transactions = SqlTransactions(engine)
    with transactions.begin() as uow:
        first = uow.connection.execute(text("SELECT txid_current()")).scalar()
        second = uow.connection.execute(text("SELECT txid_current()")).scalar()
        dbapi = uow.connection.connection.dbapi_connection
        assert dbapi.autocommit is False  # type: ignore[union-attr]
        assert (
            dbapi.get_transaction_status()  # type: ignore[union-attr]
            == psycopg2.extensions.TRANSACTION_STATUS_INTRANS
        )
        assert first == second, "statements of a begin() unit committed one by one"


def _one_connection(database_url: str) -> Engine:
    return make_engine(database_url, pool_size=1)


def _terminate(database_url: str, pid: int) -> None:
    owner = connect(database_url)
    owner.autocommit = True
    with owner.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", (pid,))
    owner.close()
    time.sleep(0.2)


def _pid(uow: SqlUnitOfWork) -> int:
    return int(uow.connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_a_read_that_raises_a_domain_error_leaves_the_pool_transactional(
    database_url: str,
) -> None:
    engine = _one_connection(database_url)
    with pytest.raises(EvaluationNotFound):
        Evaluations(SqlTransactions(engine)).get("eval_nobody_at_all")
    _assert_transactional(engine)
    engine.dispose()


def test_a_read_that_hits_an_unmapped_database_error_leaves_the_pool_transactional(
    database_url: str,
) -> None:
    engine = _one_connection(database_url)
    with pytest.raises(Exception, match="division by zero"), SqlTransactions(engine).read() as uow:
        uow.connection.execute(text("SELECT 1/0"))
    _assert_transactional(engine)
    engine.dispose()


def test_a_read_cancelled_by_interrupt_answers_unavailable_and_leaves_the_pool_transactional(
    database_url: str,
) -> None:
    engine = _one_connection(database_url)
    transactions = SqlTransactions(engine)
    errors: list[BaseException] = []
    started = threading.Event()

    def reading() -> None:
        try:
            with transactions.read() as uow:
                started.set()
                uow.connection.execute(text("SELECT pg_sleep(30)"))
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=reading)
    thread.start()
    assert started.wait(10)
    time.sleep(0.2)
    began = time.monotonic()
    assert transactions.interrupt(5) == 1
    thread.join(10)
    assert time.monotonic() - began < 5
    assert len(errors) == 1 and isinstance(errors[0], Unavailable)
    assert errors[0].reason == "SERVER_SHUTTING_DOWN"
    _assert_transactional(engine)  # same engine, same (only) pooled connection
    engine.dispose()


def test_a_read_whose_backend_is_terminated_leaves_the_pool_transactional(
    database_url: str,
) -> None:
    engine = _one_connection(database_url)
    transactions = SqlTransactions(engine)
    with pytest.raises(Unavailable), transactions.read() as uow:
        _terminate(database_url, _pid(uow))
        uow.connection.execute(text("SELECT 1"))
    _assert_transactional(engine)
    engine.dispose()


def test_a_connection_killed_while_pooled_fails_a_read_then_begin_is_transactional(
    database_url: str,
) -> None:
    engine = _one_connection(database_url)
    transactions = SqlTransactions(engine)
    with transactions.read() as uow:
        pid = _pid(uow)
    _terminate(database_url, pid)
    with pytest.raises(Unavailable), transactions.read() as uow:
        uow.connection.execute(text("SELECT 1"))
    _assert_transactional(engine)
    engine.dispose()


def test_overflow_connections_used_by_reads_come_back_transactional(database_url: str) -> None:
    engine = make_engine(database_url, pool_size=1)  # max_overflow=1: two connections
    transactions = SqlTransactions(engine)
    with transactions.read() as a, transactions.read() as b:
        assert _pid(a) != _pid(b)
    for _ in range(3):
        _assert_transactional(engine)
    # both at once, so both pooled/overflow connections are looked at
    with transactions.begin() as a, transactions.begin() as b:
        for uow in (a, b):
            uow.connection.execute(text("SELECT 1"))
            assert uow.connection.connection.dbapi_connection.autocommit is False  # type: ignore[union-attr]
    engine.dispose()


def test_a_read_unit_takes_no_lock(database_url: str) -> None:
    """Outside a transaction an advisory lock would be released as soon as it is granted,
    so a use case that asks for one in a read unit is told at once."""
    engine = _one_connection(database_url)
    with pytest.raises(ReadOnlyUnitOfWork), SqlTransactions(engine).read() as uow:
        uow.lock("a key")
    _assert_transactional(engine)
    engine.dispose()


def test_a_read_runs_its_statements_outside_a_transaction(database_url: str) -> None:
    """`read` saves BEGIN and COMMIT: each statement is a transaction of its own."""
    engine = _one_connection(database_url)
    with SqlTransactions(engine).read() as uow:
        first = uow.connection.execute(text("SELECT txid_current()")).scalar()
        second = uow.connection.execute(text("SELECT txid_current()")).scalar()
        dbapi = uow.connection.connection.dbapi_connection
        assert first != second
        assert (
            dbapi.get_transaction_status()  # type: ignore[union-attr]
            == psycopg2.extensions.TRANSACTION_STATUS_IDLE
        )
    _assert_transactional(engine)
    engine.dispose()
