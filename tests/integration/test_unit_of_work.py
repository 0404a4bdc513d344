"""The unit of work on real PostgreSQL: lost races are retried, then ABORTED; never INTERNAL."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from sqlalchemy import text

from ledger_server.domain.errors import Aborted, Unavailable
from ledger_server.domain.idempotency import RequestKey, claim
from ledger_server.storage.database import SqlTransactions, SqlUnitOfWork, make_engine


def _raise_sqlstate(uow: SqlUnitOfWork, code: str) -> None:
    uow.connection.execute(
        text(f"DO $$ BEGIN RAISE EXCEPTION 'lost' USING ERRCODE = '{code}'; END $$")
    )


@pytest.mark.parametrize("sqlstate", ["40001", "40P01", "23505"])
def test_a_conflict_that_clears_is_retried_and_succeeds(database_url: str, sqlstate: str) -> None:
    engine = make_engine(database_url)
    attempts: list[int] = []

    def work(uow: SqlUnitOfWork) -> str:
        attempts.append(1)
        if len(attempts) < 3:
            _raise_sqlstate(uow, sqlstate)
        return "done"

    assert SqlTransactions(engine).run(work) == "done"
    assert len(attempts) == 3
    engine.dispose()


@pytest.mark.parametrize("sqlstate", ["40001", "40P01", "23505", "23514"])
def test_a_conflict_that_persists_is_aborted_after_bounded_attempts(
    database_url: str, sqlstate: str
) -> None:
    engine = make_engine(database_url)
    attempts: list[int] = []

    def work(uow: SqlUnitOfWork) -> None:
        attempts.append(1)
        _raise_sqlstate(uow, sqlstate)

    with pytest.raises(Aborted) as aborted:
        SqlTransactions(engine, attempts=3).run(work)
    assert aborted.value.reason == "CONCURRENT_CONFLICT"
    assert len(attempts) == 3
    engine.dispose()


def test_a_single_attempt_maps_conflicts_to_aborted_and_connection_loss_to_unavailable(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    transactions = SqlTransactions(engine)
    with pytest.raises(Aborted), transactions.begin() as uow:
        _raise_sqlstate(uow, "40001")
    with pytest.raises(Unavailable), transactions.begin() as uow:
        _raise_sqlstate(uow, "08006")  # connection failure
    engine.dispose()


def test_a_failed_attempt_leaves_nothing_behind(database_url: str) -> None:
    engine = make_engine(database_url)
    request_id = f"uow-{uuid.uuid4()}"
    attempts: list[int] = []

    def work(uow: SqlUnitOfWork) -> str | None:
        attempts.append(1)
        first = claim(uow.request_ids, "Probe", RequestKey(request_id, b"f"), "thing-1")
        if len(attempts) == 1:
            _raise_sqlstate(uow, "40001")  # the claim above is rolled back with it
        return first

    # Had the first attempt's claim survived, the second would see it as a replay.
    assert SqlTransactions(engine).run(work) is None
    assert len(attempts) == 2
    engine.dispose()


def test_a_key_lock_serialises_transactions_on_that_key_only(database_url: str) -> None:
    engine = make_engine(database_url)
    transactions = SqlTransactions(engine)
    key = f"instance:{uuid.uuid4()}"
    holding = threading.Event()
    release = threading.Event()
    order: list[str] = []

    def first() -> None:
        with transactions.begin() as uow:
            uow.lock(key)
            holding.set()
            release.wait(5)
            order.append("first done")

    def second() -> None:
        holding.wait(5)
        with transactions.begin() as uow:
            uow.lock(key)  # waits for `first` to commit
            order.append("second locked")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    holding.wait(5)
    with transactions.begin() as uow:
        uow.lock(f"{key}-other")  # another key is not held up
        order.append("other key locked")
    time.sleep(0.2)  # the second transaction is still waiting on the first
    release.set()
    for thread in threads:
        thread.join(10)
    assert order == ["other key locked", "first done", "second locked"]
    engine.dispose()
