"""Transient database failures reach callers as UNAVAILABLE (retry), not INTERNAL."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from ledger_server.domain.errors import Unavailable
from ledger_server.storage.database import SqlTransactions, make_engine


def test_statement_timeout_is_unavailable(database_url: str) -> None:
    engine = make_engine(database_url, statement_timeout_ms=50)
    transactions = SqlTransactions(engine)
    with pytest.raises(Unavailable) as timed_out, transactions.begin() as uow:
        uow.connection.execute(text("SELECT pg_sleep(1)"))
    assert timed_out.value.reason == "DATABASE_UNAVAILABLE"
    engine.dispose()


def test_unreachable_database_is_unavailable() -> None:
    engine = make_engine("postgresql+psycopg2://nobody@127.0.0.1:1/none", role="")
    with pytest.raises(Unavailable), SqlTransactions(engine).begin():
        pass
    engine.dispose()
