"""Migrations are reviewed code: one head, a clean `alembic check`, a real downgrade."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from ledger_server.storage.migrate import alembic_config, downgrade, upgrade
from ledger_server.storage.tables import SCHEMA, metadata
from tests.support.database import fresh_database


def test_migrations_have_one_head(database_url: str) -> None:
    assert len(ScriptDirectory.from_config(alembic_config(database_url)).get_heads()) == 1


def test_migrations_match_the_table_definitions(database_url: str) -> None:
    """What `alembic check` does: autogenerate finds nothing left to migrate."""
    engine = create_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "include_schemas": True,
                "include_name": lambda name, kind, _: name == SCHEMA if kind == "schema" else True,
                "compare_type": True,
            },
        )
        assert compare_metadata(context, metadata) == []
    engine.dispose()


def test_migrations_downgrade_to_nothing_and_back() -> None:
    with fresh_database() as url:
        engine = create_engine(url)
        downgrade(url, "base")
        assert SCHEMA not in inspect(engine).get_schema_names()
        upgrade(url)
        assert "jobs" in inspect(engine).get_table_names(schema=SCHEMA)
        engine.dispose()
