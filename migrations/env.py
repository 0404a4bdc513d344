"""Alembic environment: runs as the database owner, compares against storage.tables."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine, pool

from ledger_server.config import normalize_database_url
from ledger_server.storage.tables import SCHEMA, metadata

config = context.config
url = config.get_main_option("sqlalchemy.url") or os.environ.get("DATABASE_URL", "")
if not url:
    raise SystemExit("set DATABASE_URL (or run `ledger migrate`, which finds the database)")
try:
    url = normalize_database_url(url)
except ValueError as error:
    raise SystemExit(str(error)) from None


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    # Only Ledger's schema is Ledger's business; alembic_version lives in public.
    if type_ == "schema":
        return name == SCHEMA
    return True


def run_migrations_online() -> None:
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            include_schemas=True,
            include_name=include_name,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    context.configure(url=url, target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
