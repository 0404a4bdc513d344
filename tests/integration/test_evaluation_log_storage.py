"""Evaluation log storage against real PostgreSQL: what the database itself refuses, how
reads are cut, and the wake-ups it sends."""

from __future__ import annotations

import select
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime

import psycopg2
import psycopg2.errors
import pytest
from sqlalchemy import Engine

from ledger_server.domain.evaluations.commands import CreateEvaluation, UpdateEvaluation
from ledger_server.domain.evaluations.log_lines import AppendLogsCommand, LogLineInput, LogStream
from ledger_server.domain.evaluations.log_ports import AppendState
from ledger_server.domain.evaluations.log_use_cases import EvaluationLogs
from ledger_server.domain.evaluations.records import Status
from ledger_server.domain.evaluations.use_cases import Evaluations, lock_key
from ledger_server.storage.database import SqlTransactions, make_engine
from ledger_server.storage.evaluations.log_repository import SqlEvaluationLogs
from ledger_server.storage.notifications import process_origin
from tests.support.changes import Announcements
from tests.support.database import connect

INSERT = (
    "INSERT INTO ledger.evaluation_log_batches (evaluation_id, first_sequence, last_sequence, "
    "line_count, text_characters, lines, streams) VALUES (%s, %s, %s, 1, 1, ARRAY['x'], "
    "ARRAY[1::smallint])"
)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    made = make_engine(database_url, pool_size=2)
    yield made
    made.dispose()


def new_evaluation(engine: Engine) -> str:
    return (
        Evaluations(SqlTransactions(engine)).create(CreateEvaluation(code="x"), None).evaluation_id
    )


def append(engine: Engine, evaluation_id: str, *texts: str) -> None:
    lines = tuple(LogLineInput(text) for text in texts)
    EvaluationLogs(SqlTransactions(engine)).append(AppendLogsCommand(evaluation_id, lines))


@pytest.mark.parametrize("first", [1, 3, 4])
def test_the_database_refuses_a_batch_that_leaves_a_gap_or_overlaps(
    engine: Engine, database_url: str, first: int
) -> None:
    evaluation = new_evaluation(engine)
    append(engine, evaluation, "a", "b")  # lines 1-2: the next batch must start at 3
    with connect(database_url) as connection, connection.cursor() as cursor:
        if first == 3:
            cursor.execute(INSERT, (evaluation, first, first))  # the one place it may go
            return
        with pytest.raises(psycopg2.errors.UniqueViolation) as refused:
            cursor.execute(INSERT, (evaluation, first, first))
    assert "a batch must start at the next one, not at" in str(refused.value)


def test_the_database_refuses_lines_of_an_unknown_evaluation(database_url: str) -> None:
    with (
        connect(database_url) as connection,
        connection.cursor() as cursor,
        pytest.raises(psycopg2.errors.IntegrityError),
    ):
        cursor.execute(INSERT, ("eval_nobody", 1, 1))


def test_read_after_trims_the_first_batch_and_stops_at_the_limits(engine: Engine) -> None:
    evaluation = new_evaluation(engine)
    for first in (1, 4, 7):
        append(engine, evaluation, *(f"line {n:02d}" for n in range(first, first + 3)))
    with engine.connect() as connection:
        logs = SqlEvaluationLogs(connection)
        batches, more = logs.read_after(evaluation, 2, max_lines=3, max_characters=10_000)
        assert [b.first_sequence for b in batches] == [3, 4]  # 1 line, then a whole batch
        assert [line.text for line in batches[0].lines] == ["line 03"]
        assert more
        batches, more = logs.read_after(evaluation, 0, max_lines=100, max_characters=50)
        assert [b.first_sequence for b in batches] == [1, 4]  # 21 + 21 + 21 characters > 50
        assert more
        batches, more = logs.read_after(evaluation, 0, max_lines=100, max_characters=1)
        assert [b.first_sequence for b in batches] == [1]  # at least one batch
        batches, more = logs.read_after(evaluation, 9, max_lines=100, max_characters=1)
        assert (batches, more) == ([], False)
        assert logs.last_sequence(evaluation) == 9
        assert logs.last_sequence("eval_nobody") == 0


def test_an_append_reads_the_log_only_once_it_holds_the_evaluations_lock(
    engine: Engine,
) -> None:
    """The lock and the read go in one round trip; the read must still see the lines and
    the status a holder of the lock committed while the append waited for it."""
    evaluation = new_evaluation(engine)
    append(engine, evaluation, "a")
    transactions = SqlTransactions(engine)
    holding, waited = threading.Event(), threading.Event()
    seen: list[object] = []

    def wait_for_the_lock() -> None:
        holding.wait(10)
        with transactions.begin() as uow:
            seen.append(uow.evaluation_logs.lock_for_append(lock_key(evaluation), evaluation))
        waited.set()

    waiter = threading.Thread(target=wait_for_the_lock)
    waiter.start()
    with transactions.begin() as uow:
        uow.lock(lock_key(evaluation))
        holding.set()
        assert not waited.wait(0.5), "the append's read went ahead of the lock's holder"
        lines = (LogLineInput("b"), LogLineInput("c"))
        uow.evaluation_logs.add_batches(evaluation, [(2, AppendLogsCommand(evaluation, lines))])
        latest = uow.evaluations.latest(evaluation)
        assert latest is not None
        uow.evaluations.add_version(
            replace(latest, version=latest.version + 1, status=Status.FAILED)
        )
    waiter.join(10)
    assert seen == [AppendState(Status.FAILED, False, 3)]  # the holder's lines and status
    with transactions.begin() as uow:
        assert uow.evaluation_logs.lock_for_append("x", "eval_nobody") is None


def test_the_lines_an_append_announces_are_exactly_what_a_read_gives_back(
    engine: Engine,
) -> None:
    """What this process's followers get of its own appends without reading them."""
    evaluation = new_evaluation(engine)
    when = datetime(2026, 11, 27, 9, 30, 1, 123456, tzinfo=UTC)
    announced = Announcements()
    first = (LogLineInput("a"), LogLineInput("b", LogStream.STDERR))
    second = (LogLineInput("c", LogStream.SYSTEM, when), LogLineInput("d"))
    EvaluationLogs(SqlTransactions(engine), announced).append_many(
        [AppendLogsCommand(evaluation, first), AppendLogsCommand(evaluation, second)]
    )
    with engine.connect() as connection:
        read, _ = SqlEvaluationLogs(connection).read_after(evaluation, 0, 100, 10_000)
    [(_, _, news)] = announced.told
    assert news == read
    assert [line.log_time == when for line in news[1].lines] == [True, False]
    assert news[0].lines[0].log_time == news[1].lines[1].log_time  # the time stored


def test_a_version_that_makes_an_evaluation_final_wakes_its_log_followers(
    engine: Engine, database_url: str
) -> None:
    evaluation = new_evaluation(engine)
    with listening(database_url) as listener:
        evaluations = Evaluations(SqlTransactions(engine))
        evaluations.update(UpdateEvaluation(evaluation, status=Status.RUNNING), None)
        assert wake_ups(listener) == []  # not final: nothing to wake followers for
        evaluations.update(UpdateEvaluation(evaluation, status=Status.COMPLETED), None)
        assert wake_ups(listener) == [f"evaluation_logs:{evaluation}"]


def test_an_append_of_many_batches_wakes_followers_once_naming_its_process(
    engine: Engine, database_url: str
) -> None:
    evaluation = new_evaluation(engine)
    with listening(database_url) as listener:
        EvaluationLogs(SqlTransactions(engine)).append_many(
            [AppendLogsCommand(evaluation, (LogLineInput(text),)) for text in "abc"]
        )
        assert wake_ups(listener) == [f"evaluation_logs:{evaluation} {process_origin()}"]


@contextmanager
def listening(database_url: str) -> Iterator[psycopg2.extensions.connection]:
    """A connection of its own that LISTENs for change wake-ups, as a server's listener."""
    listener = connect(database_url)
    listener.autocommit = True
    try:
        with listener.cursor() as cursor:
            cursor.execute("LISTEN ledger_changes")
        yield listener
    finally:
        listener.close()


def wake_ups(connection: psycopg2.extensions.connection, wait: float = 1.0) -> list[str]:
    select.select([connection], [], [], wait)
    connection.poll()
    payloads = [n.payload for n in connection.notifies]
    connection.notifies.clear()
    return payloads
