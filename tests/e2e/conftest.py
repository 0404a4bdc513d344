"""SDK clients against the session server, and row counts to prove what was written."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ledger_client import Client
from tests.conftest import ADMIN_KEY
from tests.support.database import connect
from tests.support.fuzz_seed import FUZZ_SEED
from tests.support.server import ServerThread


@pytest.fixture
def client(server: ServerThread) -> Iterator[Client]:
    with Client(target=server.target, api_key=ADMIN_KEY) as opened:
        yield opened


@pytest.fixture
def user() -> str:
    """A user id of this test alone: tables are INSERT-only, so tests never clean up."""
    return f"user-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def row_counts(database_url: str) -> Callable[[], dict[str, int]]:
    """Counts the rows of every table in the ledger schema."""

    def count() -> dict[str, int]:
        with connect(database_url) as connection, connection.cursor() as cursor:
            cursor.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'ledger' AND c.relkind = 'r'"
            )
            tables = [name for (name,) in cursor.fetchall()]
            counts = {}
            for table in tables:
                cursor.execute(f"SELECT count(*) FROM ledger.{table}")
                row = cursor.fetchone()
                counts[table] = row[0] if row else 0
            return counts

    return count


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Iterator[None]:
    """A failing fuzz test says which seed replays it."""
    outcome: Any = yield
    report: pytest.TestReport = outcome.get_result()
    if report.failed and FUZZ_SEED is not None and "test_fuzz.py" in item.nodeid:
        report.sections.append(("fuzz seed", f"replay with LEDGER_FUZZ_SEED={FUZZ_SEED}"))
