"""The log benchmark's raw limit R writes what AppendEvaluationLogs writes, and no less."""

from __future__ import annotations

import sys
from pathlib import Path

from ledger_server.domain.evaluations.commands import CreateEvaluation
from ledger_server.domain.evaluations.log_lines import AppendLogsCommand, LogLineInput
from ledger_server.domain.evaluations.log_use_cases import EvaluationLogs
from ledger_server.domain.evaluations.use_cases import Evaluations
from ledger_server.storage.database import SqlTransactions, make_engine
from tests.support.database import connect

BENCH = Path(__file__).resolve().parents[2] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))  # the benchmark's modules import each other by name

import evaluation_logs  # noqa: E402

COLUMNS = (
    "first_sequence, last_sequence, line_count, text_characters, lines, streams, "
    "log_time_micros, batch_id"
)


def rows(url: str, evaluation_id: str) -> list[tuple[object, ...]]:
    with connect(url) as connection, connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {COLUMNS} FROM ledger.evaluation_log_batches "
            "WHERE evaluation_id = %s ORDER BY first_sequence",
            (evaluation_id,),
        )
        return cursor.fetchall()


def test_bench_raw_appends_write_the_rows_append_evaluation_logs_writes(
    database_url: str,
) -> None:
    engine = make_engine(database_url, pool_size=2)
    transactions = SqlTransactions(engine)
    evaluations = Evaluations(transactions)
    served, raw = (
        evaluations.create(CreateEvaluation(code="x"), None).evaluation_id for _ in range(2)
    )
    texts = evaluation_logs.batch_lines(0, 5)
    logs = EvaluationLogs(transactions)
    for _ in range(2):
        logs.append(AppendLogsCommand(served, tuple(LogLineInput(t) for t in texts)))
    engine.dispose()

    run = evaluation_logs.raw_appends(database_url, 5, [raw], seconds=0.0)
    assert run.calls == 5  # one batch: the window closes after the first
    assert rows(database_url, raw) == rows(database_url, served)[:1]
