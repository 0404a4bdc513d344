"""Transient database failures reach callers as UNAVAILABLE (retry), not INTERNAL.

tests/e2e/test_database_outage.py loses the connection under real calls; these pin the
mapping of each error shape psycopg2 uses for it.
"""

from __future__ import annotations

import psycopg2
import pytest
from sqlalchemy import exc, text

from ledger_server.domain.errors import Unavailable
from ledger_server.domain.money import WireMoney
from ledger_server.domain.results_store.estimates import (
    EstimateInput,
    ResourceInput,
    StoreEstimateCommand,
)
from ledger_server.domain.results_store.use_cases import ResultsStore
from ledger_server.storage.database import SqlTransactions, _domain_error, make_engine
from tests.support.locks import table_locked


def test_statement_timeout_is_unavailable(database_url: str) -> None:
    engine = make_engine(database_url, statement_timeout_ms=50)
    transactions = SqlTransactions(engine)
    with pytest.raises(Unavailable) as timed_out, transactions.begin() as uow:
        uow.connection.execute(text("SELECT pg_sleep(1)"))
    assert timed_out.value.reason == "DATABASE_UNAVAILABLE"
    engine.dispose()


def test_statement_timeout_in_the_batched_job_insert_is_unavailable(database_url: str) -> None:
    """StoreEstimate writes through the driver's own cursor: its errors map the same."""
    engine = make_engine(database_url, statement_timeout_ms=200)
    store = ResultsStore(SqlTransactions(engine))
    command = StoreEstimateCommand(
        estimate=EstimateInput(
            currency_code="USD",
            total_monthly_cost=None,
            confidence_score=0.5,
            resources=(ResourceInput("aws_instance.web", WireMoney("", 1, 0)),),
        ),
    )
    with table_locked(database_url, "ledger.jobs"), pytest.raises(Unavailable):
        store.store_estimate(command, None)
    engine.dispose()


def test_unreachable_database_is_unavailable() -> None:
    engine = make_engine("postgresql+psycopg2://nobody@127.0.0.1:1/none", role="")
    with pytest.raises(Unavailable), SqlTransactions(engine).begin():
        pass
    engine.dispose()


@pytest.mark.parametrize(
    "orig",
    [
        psycopg2.OperationalError("server closed the connection unexpectedly"),
        psycopg2.InterfaceError("connection already closed"),
        # What psycopg2 raises when libpq reports the loss before marking the connection
        # bad: no SQLSTATE, no subclass. Seldom seen, so it is built here.
        psycopg2.DatabaseError("server closed the connection unexpectedly"),
    ],
    ids=type,
)
def test_connection_loss_of_every_kind_is_unavailable(orig: psycopg2.Error) -> None:
    error = exc.DBAPIError.instance("SELECT 1", {}, orig, psycopg2.Error)
    assert isinstance(error, exc.DBAPIError)
    assert isinstance(_domain_error(error), Unavailable)


def test_a_database_error_with_a_sqlstate_stays_a_bug(database_url: str) -> None:
    engine = make_engine(database_url)
    with pytest.raises(exc.ProgrammingError) as raised, engine.begin() as connection:
        connection.execute(text("SELECT no_such_column"))
    engine.dispose()
    assert _domain_error(raised.value) is raised.value  # INTERNAL: a bug, not an outage
