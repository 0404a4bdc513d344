"""Ingestion tables: cost record revisions, daily aggregate deltas, ingestion runs.

`cost_records` holds one row per revision of a natural key (`key_id` is a digest of the
normalised key parts, computed by the domain); the current value of a key is its highest
revision. `cost_aggregates` holds signed deltas per day and group, appended with the
records they summarise. Migration 0006 says why each table exists.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from ledger_server.storage.schema import metadata

# Billing exports price below a nano (FOCUS rows carry up to 15 decimal places), so cost
# records keep 15 places, not the 9 of the shared money columns.
COST_PLACES = 15


def _cost(name: str) -> Column[object]:
    return Column(name, Numeric(38, COST_PLACES, asdecimal=True), nullable=False)


def _text(name: str, length: int = 256) -> Column[str]:
    return Column(name, String(length), nullable=False)


def _count(name: str) -> Column[int]:
    return Column(name, BigInteger, nullable=False)


def _now(name: str) -> Column[object]:
    return Column(name, DateTime(timezone=True), nullable=False, server_default=func.now())


ingestion_runs = Table(
    "ingestion_runs",
    metadata,
    Column("run_id", Uuid, nullable=False),
    _text("source"),
    _text("caller"),
    _text("method", 64),
    _now("create_time"),
    PrimaryKeyConstraint("run_id"),
    Index(None, "create_time", "run_id"),
)

ingestion_run_batches = Table(
    "ingestion_run_batches",
    metadata,
    Column("run_id", Uuid, nullable=False),
    Column("batch_number", Integer, nullable=False),
    _count("inserted_count"),
    _count("revised_count"),
    _count("unchanged_count"),
    _count("rejected_count"),
    _now("create_time"),
    PrimaryKeyConstraint("run_id", "batch_number"),
    ForeignKeyConstraint(["run_id"], [ingestion_runs.c.run_id]),
)

ingestion_run_results = Table(
    "ingestion_run_results",
    metadata,
    Column("run_id", Uuid, nullable=False),
    Column("input_sha256", LargeBinary, nullable=False),
    _count("duration_ms"),
    # The clock at the insert: a unary run's one transaction starts and ends it.
    Column(
        "finish_time",
        DateTime(timezone=True),
        nullable=False,
        server_default=text("clock_timestamp()"),
    ),
    PrimaryKeyConstraint("run_id"),
    ForeignKeyConstraint(["run_id"], [ingestion_runs.c.run_id]),
)

ingestion_rejections = Table(
    "ingestion_rejections",
    metadata,
    Column("run_id", Uuid, nullable=False),
    Column("position", Integer, nullable=False),
    Column("record_index", BigInteger, nullable=False),
    _text("field"),
    Column("reason", Text, nullable=False),
    PrimaryKeyConstraint("run_id", "position"),
    ForeignKeyConstraint(["run_id"], [ingestion_runs.c.run_id]),
)

cost_records = Table(
    "cost_records",
    metadata,
    Column("key_id", Uuid, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("charge_period_start", DateTime(timezone=True), nullable=False),
    Column("charge_period_end", DateTime(timezone=True), nullable=False),
    _text("provider"),
    _text("billing_account_id"),
    _text("sub_account_id"),
    _text("service"),
    _text("region"),
    _text("sku"),
    _text("resource_id", 1024),
    _text("charge_category", 16),
    _text("billing_currency", 3),
    _cost("billed_cost"),
    _cost("effective_cost"),
    Column("usage_quantity", Numeric(38, COST_PLACES), nullable=True),
    _text("usage_unit", 64),
    Column("labels", JSONB, nullable=False),
    Column("content_hash", LargeBinary, nullable=False),
    Column("run_id", Uuid, nullable=False),
    _now("record_time"),
    PrimaryKeyConstraint("key_id", "revision"),
    CheckConstraint("revision >= 1", name="revision_positive"),
    CheckConstraint("charge_period_end > charge_period_start", name="period_order"),
    Index(None, "charge_period_start", "key_id"),
)

cost_aggregates = Table(
    "cost_aggregates",
    metadata,
    Column("aggregate_id", BigInteger, Identity(), nullable=False),
    Column("usage_day", Date, nullable=False),
    _text("provider"),
    _text("billing_account_id"),
    _text("service"),
    _text("region"),
    _text("sku"),
    _text("charge_category", 16),
    _text("billing_currency", 3),
    _count("record_count"),
    _cost("billed_cost"),
    _cost("effective_cost"),
    Column("run_id", Uuid, nullable=False),
    PrimaryKeyConstraint("aggregate_id"),
    Index(None, "usage_day"),
)
