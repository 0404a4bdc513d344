"""Savings: instance revisions, events, the savings ledger and its totals; INSERT-only.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

SCHEMA = "ledger"
TABLES = (
    "savings_instance_revisions",
    "savings_events",
    "savings_entries",
    "savings_instance_states",
    "savings_day_totals",
)


def _time(name: str, *, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _record_time() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "record_time", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    )


def upgrade() -> None:
    op.create_table(
        "savings_instance_revisions",
        sa.Column("instance_id", sa.String(128), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("engine", sa.String(32), nullable=False),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("instance_type", sa.String(64), nullable=False),
        sa.Column("hourly_cost_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency_code", sa.String(3), nullable=False),
        sa.Column("schedule_id", sa.String(128), nullable=False),
        sa.Column("labels", postgresql.JSONB(), nullable=False),
        _time("effective_time"),
        _record_time(),
        sa.PrimaryKeyConstraint("instance_id", "revision", name="pk_savings_instance_revisions"),
        sa.CheckConstraint("revision >= 1", name="ck_savings_instance_revisions_revision_positive"),
        sa.CheckConstraint(
            "hourly_cost_cents >= 0",
            name="ck_savings_instance_revisions_hourly_cost_not_negative",
        ),
        schema=SCHEMA,
    )
    op.create_table(
        "savings_events",
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("instance_id", sa.String(128), nullable=False),
        sa.Column("kind", sa.SmallInteger(), nullable=False),
        _time("occur_time"),
        sa.Column("source", sa.String(128), nullable=False),
        sa.Column("schedule_id", sa.String(128), nullable=False),
        _record_time(),
        sa.PrimaryKeyConstraint("event_id", name="pk_savings_events"),
        sa.CheckConstraint("kind BETWEEN 1 AND 6", name="ck_savings_events_kind_known"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_savings_events_instance_id_occur_time",
        "savings_events",
        ["instance_id", "occur_time"],
        schema=SCHEMA,
    )
    op.create_table(
        "savings_entries",
        sa.Column("entry_id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("instance_id", sa.String(128), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        _time("period_start"),
        _time("period_end"),
        sa.Column("capped", sa.Boolean(), nullable=False),
        sa.Column("stopped_micros", sa.BigInteger(), nullable=False),
        sa.Column("savings_cents", sa.BigInteger(), nullable=False),
        sa.Column("hourly_cost_cents", sa.BigInteger(), nullable=False),
        sa.Column("schedule_id", sa.String(128), nullable=False),
        sa.Column("kind", sa.SmallInteger(), nullable=False),
        sa.Column("corrects_entry_id", sa.BigInteger(), nullable=True),
        sa.Column("cause", sa.String(160), nullable=False),
        _record_time(),
        sa.PrimaryKeyConstraint("entry_id", name="pk_savings_entries"),
        sa.CheckConstraint("kind BETWEEN 1 AND 3", name="ck_savings_entries_kind_known"),
        sa.CheckConstraint(
            "(kind = 1) = (corrects_entry_id IS NULL)",
            name="ck_savings_entries_corrections_name_their_entry",
        ),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_savings_entries_instance_id_period_start",
        "savings_entries",
        ["instance_id", "period_start"],
        schema=SCHEMA,
    )
    op.create_index(
        "ix_savings_entries_instance_id_day",
        "savings_entries",
        ["instance_id", "day"],
        schema=SCHEMA,
    )
    op.create_index(
        "ix_savings_entries_day_sums",
        "savings_entries",
        ["day", "instance_id"],
        postgresql_include=["schedule_id", "savings_cents", "stopped_micros"],
        schema=SCHEMA,
    )
    op.create_table(
        "savings_instance_states",
        sa.Column("instance_id", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("savings_cents", sa.BigInteger(), nullable=False),
        sa.Column("stopped_micros", sa.BigInteger(), nullable=False),
        sa.Column("correction_count", sa.BigInteger(), nullable=False),
        _time("stopped_since", nullable=True),
        _time("stop_cap_time", nullable=True),
        sa.Column("stop_hourly_cost_cents", sa.BigInteger(), nullable=True),
        sa.Column("stop_schedule_id", sa.String(128), nullable=True),
        _record_time(),
        sa.PrimaryKeyConstraint("instance_id", "version", name="pk_savings_instance_states"),
        schema=SCHEMA,
    )
    op.create_table(
        "savings_day_totals",
        sa.Column("scope", sa.String(160), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("savings_cents", sa.BigInteger(), nullable=False),
        sa.Column("stopped_micros", sa.BigInteger(), nullable=False),
        _record_time(),
        sa.PrimaryKeyConstraint("scope", "day", "version", name="pk_savings_day_totals"),
        schema=SCHEMA,
    )
    for table in TABLES:
        op.execute(f"SELECT ledger.make_insert_only('{SCHEMA}.{table}')")


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table, schema=SCHEMA)
