"""Ingestion: cost records with revisions, daily aggregates, ingestion runs; INSERT-only.

A cost record is identified by its natural key (stored as `key_id`, a digest of the
normalised key parts); a changed value is a new row with the next `revision`, never an
update. `cost_aggregates` holds signed daily deltas written with the records (a revision
adds the old values negated and the new ones), so summaries add rows up instead of
scanning records. A run is its `ingestion_runs` row, one `ingestion_run_batches` row per
committed batch, and an `ingestion_run_results` row once it ended.

The bulk path stages each batch in a temporary table (COPY), so the server's role needs
TEMPORARY on the database: PostgreSQL grants it to PUBLIC by default, but a hardened
database may have revoked that, so it is granted here explicitly.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

SCHEMA = "ledger"
TABLES = (
    "ingestion_runs",
    "ingestion_run_batches",
    "ingestion_run_results",
    "ingestion_rejections",
    "cost_records",
    "cost_aggregates",
)
TEMP_GRANT = """
DO $$
BEGIN
    EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO ledger_app', current_database());
END
$$;
"""
TEMP_REVOKE = TEMP_GRANT.replace("GRANT TEMPORARY", "REVOKE TEMPORARY").replace(
    " TO ledger_app", " FROM ledger_app"
)


def money(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.Numeric(38, 15), nullable=False)


def text(name: str, length: int = 256) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.String(length), nullable=False)


def count(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.BigInteger(), nullable=False)


def upgrade() -> None:
    op.execute(TEMP_GRANT)
    op.create_table(
        "ingestion_runs",
        sa.Column("run_id", sa.Uuid(), nullable=False),
        text("source"),
        text("caller"),
        text("method", 64),
        sa.Column(
            "create_time", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("run_id", name="pk_ingestion_runs"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_ingestion_runs_create_time_run_id",
        "ingestion_runs",
        ["create_time", "run_id"],
        schema=SCHEMA,
    )
    op.create_table(
        "ingestion_run_batches",
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("batch_number", sa.Integer(), nullable=False),
        count("inserted_count"),
        count("revised_count"),
        count("unchanged_count"),
        count("rejected_count"),
        sa.Column(
            "create_time", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("run_id", "batch_number", name="pk_ingestion_run_batches"),
        sa.ForeignKeyConstraint(
            ["run_id"],
            [f"{SCHEMA}.ingestion_runs.run_id"],
            name="fk_ingestion_run_batches_run_id_ingestion_runs",
        ),
        schema=SCHEMA,
    )
    op.create_table(
        "ingestion_run_results",
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("input_sha256", sa.LargeBinary(), nullable=False),
        count("duration_ms"),
        # The clock at the insert, not the transaction's start: a run's one transaction
        # starts it and ends it.
        sa.Column(
            "finish_time",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.text("clock_timestamp()"),
        ),
        sa.PrimaryKeyConstraint("run_id", name="pk_ingestion_run_results"),
        sa.ForeignKeyConstraint(
            ["run_id"],
            [f"{SCHEMA}.ingestion_runs.run_id"],
            name="fk_ingestion_run_results_run_id_ingestion_runs",
        ),
        schema=SCHEMA,
    )
    op.create_table(
        "ingestion_rejections",
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("record_index", sa.BigInteger(), nullable=False),
        text("field"),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "position", name="pk_ingestion_rejections"),
        sa.ForeignKeyConstraint(
            ["run_id"],
            [f"{SCHEMA}.ingestion_runs.run_id"],
            name="fk_ingestion_rejections_run_id_ingestion_runs",
        ),
        schema=SCHEMA,
    )
    op.create_table(
        "cost_records",
        sa.Column("key_id", sa.Uuid(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("charge_period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("charge_period_end", sa.DateTime(timezone=True), nullable=False),
        text("provider"),
        text("billing_account_id"),
        text("sub_account_id"),
        text("service"),
        text("region"),
        text("sku"),
        text("resource_id", 1024),
        text("charge_category", 16),
        text("billing_currency", 3),
        money("billed_cost"),
        money("effective_cost"),
        sa.Column("usage_quantity", sa.Numeric(38, 15), nullable=True),
        text("usage_unit", 64),
        sa.Column("labels", postgresql.JSONB(), nullable=False),
        sa.Column("content_hash", sa.LargeBinary(), nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column(
            "record_time", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("key_id", "revision", name="pk_cost_records"),
        sa.CheckConstraint("revision >= 1", name="ck_cost_records_revision_positive"),
        sa.CheckConstraint(
            "charge_period_end > charge_period_start", name="ck_cost_records_period_order"
        ),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_cost_records_charge_period_start_key_id",
        "cost_records",
        ["charge_period_start", "key_id"],
        schema=SCHEMA,
    )
    op.create_table(
        "cost_aggregates",
        sa.Column("aggregate_id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("usage_day", sa.Date(), nullable=False),
        text("provider"),
        text("billing_account_id"),
        text("service"),
        text("region"),
        text("sku"),
        text("charge_category", 16),
        text("billing_currency", 3),
        count("record_count"),
        money("billed_cost"),
        money("effective_cost"),
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("aggregate_id", name="pk_cost_aggregates"),
        schema=SCHEMA,
    )
    op.create_index("ix_cost_aggregates_usage_day", "cost_aggregates", ["usage_day"], schema=SCHEMA)
    for table in TABLES:
        op.execute(f"SELECT ledger.make_insert_only('{SCHEMA}.{table}')")


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table, schema=SCHEMA)
    op.execute(TEMP_REVOKE)
