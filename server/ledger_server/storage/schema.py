"""The shared schema: the `ledger` schema's metadata, its naming convention, money columns
and the tables every service uses (request ids for idempotency).

Every table lives in the `ledger` schema and is INSERT-only: migrations attach triggers
that reject UPDATE, DELETE and TRUNCATE, and the server's role holds SELECT and INSERT.
Money is NUMERIC(28, 9): exact, nine places like the wire's nanos.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    LargeBinary,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Table,
    func,
)

SCHEMA = "ledger"

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(schema=SCHEMA, naming_convention=NAMING_CONVENTION)


def money(name: str, *, nullable: bool = False) -> Column[object]:
    return Column(name, Numeric(28, 9, asdecimal=True), nullable=nullable)


request_ids = Table(
    "request_ids",
    metadata,
    Column("method", String(64), nullable=False),
    Column("request_id", String(128), nullable=False),
    Column("fingerprint", LargeBinary, nullable=False),
    # The id of what the first request created: a UUID or a caller-chosen id.
    Column("resource_id", String(256), nullable=False),
    Column("create_time", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("method", "request_id"),
)
