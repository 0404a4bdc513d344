"""The round trips of the hot paths, counted on the wire.

Under load each round trip of a database thread also waits for the GIL behind the event
loop, so the log benchmark's latency and GetEvaluation's rate follow their number
(bench/README.md, Evaluation logs). A TCP proxy between the unit of work and PostgreSQL
counts the queries sent, once the pooled connection has served a read before (where a
reset of its isolation level would show up as one more)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import make_url

from ledger_server.domain.evaluations.commands import CreateEvaluation
from ledger_server.domain.evaluations.log_lines import AppendLogsCommand, LogLineInput
from ledger_server.domain.evaluations.log_use_cases import EvaluationLogs
from ledger_server.domain.evaluations.use_cases import Evaluations
from ledger_server.storage.database import SqlTransactions, make_engine
from tests.support.proxy import CuttableProxy


def sent_by(proxy: CuttableProxy, work: Callable[[], object]) -> list[str]:
    """The queries `work` sent, once what came before has passed through."""
    time.sleep(0.05)
    proxy.queries.clear()
    work()
    time.sleep(0.05)
    return list(proxy.queries)


@pytest.fixture
def counted(database_url: str) -> Iterator[tuple[CuttableProxy, SqlTransactions]]:
    proxy = CuttableProxy(database_url, read_queries=True)
    # Plain text, so the proxy can read the protocol.
    through = make_url(proxy.url).update_query_dict({"sslmode": "disable"})
    engine = make_engine(through.render_as_string(hide_password=False), pool_size=1)
    yield proxy, SqlTransactions(engine)
    engine.dispose()
    proxy.close()


def test_get_evaluation_sends_one_query_once_the_version_is_cached(
    counted: tuple[CuttableProxy, SqlTransactions],
) -> None:
    proxy, transactions = counted
    evaluations = Evaluations(transactions)
    evaluation = evaluations.create(CreateEvaluation(code="x"), None).evaluation_id
    evaluations.get(evaluation)  # warms the cache; the connection has now been read() on
    sent = sent_by(proxy, lambda: evaluations.get(evaluation))
    assert len(sent) == 1, sent  # no BEGIN, no COMMIT, no reset


def test_a_log_read_saves_both_begin_and_commit(
    counted: tuple[CuttableProxy, SqlTransactions],
) -> None:
    proxy, transactions = counted
    evaluation = Evaluations(transactions).create(CreateEvaluation(code="x"), None).evaluation_id
    logs = EvaluationLogs(transactions)
    logs.append(AppendLogsCommand(evaluation, (LogLineInput("a"),)))
    logs.read_after(evaluation, 0)
    sent = sent_by(proxy, lambda: logs.read_after(evaluation, 0))
    # its status, the sizes of the rows, the rows: three statements and nothing else
    assert len(sent) == 3, sent


def test_an_append_sends_begin_one_lock_and_read_the_insert_and_commit(
    counted: tuple[CuttableProxy, SqlTransactions],
) -> None:
    proxy, transactions = counted
    evaluation = Evaluations(transactions).create(CreateEvaluation(code="x"), None).evaluation_id
    logs = EvaluationLogs(transactions)
    sent = sent_by(proxy, lambda: logs.append(AppendLogsCommand(evaluation, (LogLineInput("a"),))))
    assert len(sent) == 4, sent
    assert sent[1].startswith("SELECT pg_advisory_xact_lock"), sent
