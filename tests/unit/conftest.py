"""Fixtures of the fast tests: the ResultsStore use cases over in-memory repositories."""

from __future__ import annotations

import pytest

from ledger_server.domain.results_store.use_cases import ResultsStore
from tests.support.memory_store import MemoryTransactions


@pytest.fixture
def db() -> MemoryTransactions:
    return MemoryTransactions()


@pytest.fixture
def store(db: MemoryTransactions) -> ResultsStore:
    return ResultsStore(db)
