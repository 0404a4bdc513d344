"""Every table in the ledger schema refuses UPDATE, DELETE and TRUNCATE, for everyone.

The tables are found from the catalogue, not listed here, so a table a later migration
adds is covered without touching this test.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import BinaryIO

import psycopg2
import psycopg2.errors
import pytest
from sqlalchemy import Engine

from ledger_server.domain.evaluations import outputs
from ledger_server.domain.evaluations.commands import CreateEvaluation, UpdateEvaluation
from ledger_server.domain.evaluations.log_lines import AppendLogsCommand, LogLineInput
from ledger_server.domain.evaluations.log_use_cases import EvaluationLogs
from ledger_server.domain.evaluations.use_cases import Evaluations
from ledger_server.domain.idempotency import RequestKey
from ledger_server.domain.ingestion.records import RecordInput
from ledger_server.domain.ingestion.use_cases import Ingestion
from ledger_server.domain.money import WireMoney
from ledger_server.domain.results_store.estimates import (
    EstimateInput,
    ResourceInput,
    StoreEstimateCommand,
)
from ledger_server.domain.results_store.use_cases import ResultsStore
from ledger_server.domain.savings.commands import EventInput, RecordInstanceCommand
from ledger_server.domain.savings.policy import SavingsPolicy
from ledger_server.domain.savings.recording import SavingsRecorder
from ledger_server.domain.savings.records import EventKind
from ledger_server.storage.database import SqlTransactions, make_engine
from tests.support.database import connect

CHANGES = ("UPDATE {t} SET {c} = {c}", "DELETE FROM {t}", "TRUNCATE {t} CASCADE")


def ledger_tables(url: str) -> list[tuple[str, str]]:
    with connect(url) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, a.attname FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = 1 "
            "WHERE n.nspname = 'ledger' AND c.relkind IN ('r', 'p') ORDER BY 1"
        )
        return [(f"ledger.{table}", column) for table, column in cursor.fetchall()]


def seed_every_table(url: str) -> None:
    """Stores one estimate through the real use case, which writes a row in every table.

    Row triggers only fire on rows, so each table must hold one; a table a later
    migration adds must get a row here too, or the walk below fails and says so.
    """
    engine = make_engine(url)
    store = ResultsStore(SqlTransactions(engine))
    store.store_estimate(
        StoreEstimateCommand(
            estimate=EstimateInput(
                currency_code="USD",
                total_monthly_cost=None,
                confidence_score=0.5,
                resources=(ResourceInput("aws_instance.web", WireMoney("", 10, 0), service="EC2"),),
            ),
        ),
        RequestKey(f"seed-{uuid.uuid4()}", b"seed"),
    )
    seed_evaluation_tables(SqlTransactions(engine))
    seed_log_tables(SqlTransactions(engine))
    # A run with one stored record and one rejected: records, aggregates, the run's
    # batch, result and rejection rows.
    Ingestion(SqlTransactions(engine)).ingest(
        [
            RecordInput("2026-01-01", provider="aws", billing_currency="USD", billed_cost="1"),
            RecordInput("2026-01-01", provider="aws", billing_currency="USD", billed_cost="x"),
        ],
        source="seed",
        all_or_nothing=False,
        request=RequestKey(f"seed-{uuid.uuid4()}", b"seed"),
        input_sha256=b"seed",
        caller="seed",
    )
    seed_savings(engine)
    engine.dispose()


def seed_evaluation_tables(transactions: SqlTransactions) -> None:
    """An evaluation with an output: its row, versions, content, events, statistics."""
    evaluations = Evaluations(transactions)
    created = evaluations.create(CreateEvaluation(code="print('seed')"), None)
    output = outputs.prepare(b"seed\n", _NoBlobs(), outputs.Thresholds())
    evaluations.update(UpdateEvaluation(created.evaluation_id, output=output), None)


def seed_log_tables(transactions: SqlTransactions) -> None:
    """An evaluation with a batch of log lines."""
    created = Evaluations(transactions).create(CreateEvaluation(code="print('log')"), None)
    EvaluationLogs(transactions).append(
        AppendLogsCommand(created.evaluation_id, (LogLineInput("seed"),))
    )


class _NoBlobs:
    """The seed's output is inline: nothing reaches a blob store."""

    def put(self, sha256: bytes, data: bytes) -> None:
        raise AssertionError("an inline output wrote a blob")

    def open(self, sha256: bytes) -> BinaryIO:
        raise AssertionError("an inline output read a blob")


def seed_savings(engine: Engine) -> None:
    """An instance stopped and started twice, then repriced: revisions, events, entries
    (with a correction), its state and day totals, through the real use cases."""
    transactions = SqlTransactions(engine)
    recorder = SavingsRecorder(transactions, SavingsPolicy())
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    instance_id = f"seed-{uuid.uuid4()}"
    recorder.record_instance(
        RecordInstanceCommand(instance_id, "aws", 100, schedule_id="nights", effective_time=start),
        None,
    )
    recorder.record_events(
        [
            EventInput(f"{instance_id}-{n}", instance_id, kind, start + timedelta(hours=n))
            for n, kind in enumerate((EventKind.STOPPED, EventKind.STARTED, EventKind.STOPPED))
        ],
        None,
    )
    recorder.record_instance(
        RecordInstanceCommand(instance_id, "aws", 200, effective_time=start), None
    )


@pytest.fixture
def owner(database_url: str) -> Iterator[psycopg2.extensions.connection]:
    seed_every_table(database_url)
    connection = connect(database_url)
    yield connection
    connection.rollback()
    connection.close()


def test_schema_has_the_results_store_tables(database_url: str) -> None:
    names = {table for table, _ in ledger_tables(database_url)}
    assert {
        "ledger.jobs",
        "ledger.job_resources",
        "ledger.job_services",
        "ledger.job_regions",
        "ledger.job_region_services",
        "ledger.request_ids",
        "ledger.savings_instance_revisions",
        "ledger.savings_events",
        "ledger.savings_entries",
        "ledger.savings_instance_states",
        "ledger.savings_day_totals",
    } <= names


def test_schema_has_the_evaluation_tables(database_url: str) -> None:
    names = {table for table, _ in ledger_tables(database_url)}
    assert {
        "ledger.evaluations",
        "ledger.evaluation_versions",
        "ledger.evaluation_contents",
        "ledger.evaluation_events",
        "ledger.evaluation_statistics",
    } <= names


@pytest.mark.parametrize("role", ["owner", "ledger_app"])
@pytest.mark.parametrize("change", CHANGES)
def test_every_table_rejects_rewrites(
    database_url: str, owner: psycopg2.extensions.connection, role: str, change: str
) -> None:
    """The owner is stopped by the triggers; the server's role by privileges too."""
    tables = ledger_tables(database_url)
    assert tables
    for table, column in tables:
        with owner.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {table}")
            count = cursor.fetchone()
            assert count and count[0] > 0, f"seed_every_table must write a row in {table}"
            if role == "ledger_app":
                cursor.execute("SET ROLE ledger_app")
            cursor.execute("SAVEPOINT attempt")
            with pytest.raises(psycopg2.errors.InsufficientPrivilege) as refused:
                cursor.execute(change.format(t=table, c=column))
            cursor.execute("ROLLBACK TO SAVEPOINT attempt")
            cursor.execute("RESET ROLE")
        if role == "owner":
            assert "INSERT-only" in str(refused.value), table


def test_server_role_may_select_and_insert_only(database_url: str) -> None:
    with connect(database_url) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, has_table_privilege('ledger_app', c.oid, 'SELECT'), "
            "has_table_privilege('ledger_app', c.oid, 'INSERT'), "
            "has_table_privilege('ledger_app', c.oid, 'UPDATE'), "
            "has_table_privilege('ledger_app', c.oid, 'DELETE'), "
            "has_table_privilege('ledger_app', c.oid, 'TRUNCATE') "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'ledger' AND c.relkind IN ('r', 'p')"
        )
        rows = cursor.fetchall()
    assert rows
    for table, select, insert, update, delete, truncate in rows:
        assert (select, insert, update, delete, truncate) == (True, True, False, False, False), (
            table
        )


def test_every_table_has_both_triggers(database_url: str) -> None:
    with connect(database_url) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, array_agg(t.tgname ORDER BY t.tgname) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "LEFT JOIN pg_trigger t ON t.tgrelid = c.oid AND NOT t.tgisinternal "
            "WHERE n.nspname = 'ledger' AND c.relkind IN ('r', 'p') GROUP BY c.relname"
        )
        for table, triggers in cursor.fetchall():
            assert {"insert_only_rows", "insert_only_truncate"} <= set(triggers), table
            # A job's own rows may only be added with the job (migration 0004).
            if table.startswith("job_"):
                assert "job_rows_only_with_their_job" in triggers, table
