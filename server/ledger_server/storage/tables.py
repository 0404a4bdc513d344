"""The whole schema: the shared metadata with every service's tables registered on it.

Alembic compares migrations against this, so a new service adds its tables module here.
"""

from __future__ import annotations

from ledger_server.storage.evaluations import log_tables as evaluation_log_tables
from ledger_server.storage.evaluations import tables as evaluations_tables
from ledger_server.storage.ingestion import tables as ingestion_tables
from ledger_server.storage.results_store import tables as results_store_tables
from ledger_server.storage.savings import tables as savings_tables
from ledger_server.storage.schema import SCHEMA, metadata

__all__ = [
    "SCHEMA",
    "evaluation_log_tables",
    "evaluations_tables",
    "ingestion_tables",
    "metadata",
    "results_store_tables",
    "savings_tables",
]
