"""The whole schema: the shared metadata with every service's tables registered on it.

Alembic compares migrations against this, so a new service adds its tables module here.
"""

from __future__ import annotations

from ledger_server.storage.results_store import tables as results_store_tables
from ledger_server.storage.savings import tables as savings_tables
from ledger_server.storage.schema import SCHEMA, metadata

__all__ = ["SCHEMA", "metadata", "results_store_tables", "savings_tables"]
