"""The migrations build every index exactly as the table definitions declare it.

`alembic check` compares an index's columns and expressions but not its condition, and
the jobs-list indexes are partial: a condition that drifted between the migration and
tables.py would let the list queries miss their index without any other test noticing.
So this compares PostgreSQL's own rendering of every index in both schemas.
"""

from __future__ import annotations

from sqlalchemy import create_engine, text

from ledger_server.storage.tables import SCHEMA, metadata
from tests.support.database import fresh_database


def index_definitions(url: str) -> dict[str, str]:
    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = :schema"),
            {"schema": SCHEMA},
        )
        definitions = {name: definition for name, definition in rows}
    engine.dispose()
    return definitions


def test_migrated_indexes_match_the_table_definitions(database_url: str) -> None:
    with fresh_database(migrated=False) as url:
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text(f"CREATE SCHEMA {SCHEMA}"))
            metadata.create_all(connection)
        engine.dispose()
        declared = index_definitions(url)
    migrated = index_definitions(database_url)
    assert any(" WHERE " in definition for definition in declared.values())
    assert migrated == declared
