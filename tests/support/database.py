"""A fresh, migrated PostgreSQL database for a test session.

Uses TEST_DATABASE_URL or DATABASE_URL when set (creating a throw-away database on that
server), otherwise the embedded PostgreSQL under .ledger/test-postgres.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg2
from sqlalchemy.engine import make_url

from ledger_server.config import normalize_database_url
from ledger_server.storage.embedded import start_embedded
from ledger_server.storage.migrate import upgrade

REPO_ROOT = Path(__file__).resolve().parents[2]


def admin_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if url:
        return normalize_database_url(url)  # postgres:// from a tool works here too
    return start_embedded(REPO_ROOT / ".ledger" / "test-postgres", database="postgres")


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def fresh_database(*, migrated: bool = True) -> Iterator[str]:
    """Yields the URL of a new (by default migrated) database; drops it afterwards."""
    base = make_url(admin_url())
    name = f"ledger_test_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(_dsn(base.render_as_string(hide_password=False)))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        if migrated:
            upgrade(url)
        yield url
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def connect(url: str) -> psycopg2.extensions.connection:
    """A plain owner connection, for tests that look at tables directly."""
    return psycopg2.connect(_dsn(url))
