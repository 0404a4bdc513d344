"""Runs Alembic migrations from code, so `ledger migrate` needs no alembic.ini lookup."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config


def migrations_dir() -> Path:
    """The repository's migrations/, or ./migrations for an installed (non-editable) copy."""
    beside_source = Path(__file__).resolve().parents[3] / "migrations"
    return beside_source if beside_source.is_dir() else Path.cwd() / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)
