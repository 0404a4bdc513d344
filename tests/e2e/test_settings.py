"""Settings as an operator gives them to `ledger`: database URL forms, listen addresses."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support.database import connect, fresh_database


def ledger(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ledger_server", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_migrate_takes_the_postgres_url_that_tools_print() -> None:
    with fresh_database(migrated=False) as url:
        printed = url.replace("postgresql+psycopg2://", "postgres://", 1)
        migrated = ledger("migrate", env={"DATABASE_URL": printed})
        assert migrated.returncode == 0, migrated.stderr
        assert "database migrated to head" in migrated.stdout
        with connect(url) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT version_num FROM alembic_version")
            assert cursor.fetchone() == ("0001",)


def test_serve_and_migrate_refuse_another_driver_in_one_line() -> None:
    for refused in (
        ledger("migrate", "--database-url", "mysql://app:secret@db/ledger"),
        ledger("serve", env={"DATABASE_URL": "postgresql+asyncpg://app:secret@db/ledger"}),
    ):
        assert refused.returncode == 2
        lines = refused.stderr.splitlines()
        assert len(lines) == 1, refused.stderr
        assert lines[0].startswith("ledger: unsupported database URL scheme")
        assert "secret" not in refused.stderr
