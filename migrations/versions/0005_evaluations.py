"""Evaluations: versions, contents, events and statistics rows; INSERT-only.

An evaluation's constant part is one row of `evaluations`; each change appends a whole
snapshot to `evaluation_versions` under the next version (the primary key refuses a
second writer of one version). Outputs and errors are `evaluation_contents`, one per
SHA-256; large ones keep their bytes in the blob store, outside the database.
`evaluation_events` is the timeline, `evaluation_statistics` the totals computed on
write.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

SCHEMA = "ledger"
TABLES = (
    "evaluations",
    "evaluation_contents",
    "evaluation_versions",
    "evaluation_events",
    "evaluation_statistics",
)


def upgrade() -> None:
    op.create_table(
        "evaluations",
        sa.Column("evaluation_id", sa.String(128), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("language", sa.String(32), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("evaluation_id", name="pk_evaluations"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_evaluations_create_time_evaluation_id",
        "evaluations",
        ["create_time", "evaluation_id"],
        schema=SCHEMA,
    )
    op.create_index(
        "ix_evaluations_language_create_time_evaluation_id",
        "evaluations",
        ["language", "create_time", "evaluation_id"],
        schema=SCHEMA,
    )
    op.create_table(
        "evaluation_contents",
        sa.Column("sha256", sa.LargeBinary(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("location", sa.String(32), nullable=False),
        sa.Column("compression", sa.String(16), nullable=False),
        sa.Column("stored_bytes", sa.BigInteger(), nullable=False),
        sa.Column("preview", sa.Text(), nullable=False),
        sa.Column("preview_truncated", sa.Boolean(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("sha256", name="pk_evaluation_contents"),
        sa.CheckConstraint(
            "octet_length(sha256) = 32", name="ck_evaluation_contents_sha256_length"
        ),
        sa.CheckConstraint(
            "(location = 'blob_store') = (data IS NULL)",
            name="ck_evaluation_contents_data_in_database_or_blob_store",
        ),
        schema=SCHEMA,
    )
    op.create_table(
        "evaluation_versions",
        sa.Column("evaluation_id", sa.String(128), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("change", sa.String(16), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("metadata", postgresql.JSONB(), nullable=False),
        sa.Column("output_sha256", sa.LargeBinary(), nullable=True),
        sa.Column("error_sha256", sa.LargeBinary(), nullable=True),
        sa.Column("runtime_ms", sa.BigInteger(), nullable=True),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("complete_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("running", postgresql.JSONB(), nullable=True),
        sa.Column("task_id", sa.String(255), nullable=True),
        sa.Column("task_state", sa.String(16), nullable=True),
        sa.Column("retries", sa.Integer(), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("evaluation_id", "version", name="pk_evaluation_versions"),
        sa.ForeignKeyConstraint(
            ["evaluation_id"],
            [f"{SCHEMA}.evaluations.evaluation_id"],
            name="fk_evaluation_versions_evaluation_id_evaluations",
        ),
        sa.ForeignKeyConstraint(
            ["output_sha256"],
            [f"{SCHEMA}.evaluation_contents.sha256"],
            name="fk_evaluation_versions_output_sha256_evaluation_contents",
        ),
        sa.ForeignKeyConstraint(
            ["error_sha256"],
            [f"{SCHEMA}.evaluation_contents.sha256"],
            name="fk_evaluation_versions_error_sha256_evaluation_contents",
        ),
        sa.CheckConstraint("version >= 1", name="ck_evaluation_versions_version_positive"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_evaluation_versions_running",
        "evaluation_versions",
        ["evaluation_id", "version"],
        schema=SCHEMA,
        postgresql_where=sa.text("status = 'running'"),
    )
    op.create_table(
        "evaluation_events",
        sa.Column("event_id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("event_key", sa.Uuid(), nullable=False),
        sa.Column("evaluation_id", sa.String(128), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("metadata", postgresql.JSONB(), nullable=False),
        sa.Column("event_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_evaluation_events"),
        sa.UniqueConstraint("event_key", name="uq_evaluation_events_event_key"),
        sa.ForeignKeyConstraint(
            ["evaluation_id"],
            [f"{SCHEMA}.evaluations.evaluation_id"],
            name="fk_evaluation_events_evaluation_id_evaluations",
        ),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_evaluation_events_evaluation_id_event_time_event_id",
        "evaluation_events",
        ["evaluation_id", "event_time", "event_id"],
        schema=SCHEMA,
    )
    op.create_table(
        "evaluation_statistics",
        sa.Column("row_id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("language", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("evaluations", sa.Integer(), nullable=False),
        sa.Column("runtime_bucket", sa.SmallInteger(), nullable=True),
        sa.Column("runtime_ms", sa.BigInteger(), nullable=False),
        sa.Column("output_bytes", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("row_id", name="pk_evaluation_statistics"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_evaluation_statistics_hour", "evaluation_statistics", ["hour"], schema=SCHEMA
    )
    for table in TABLES:
        op.execute(f"SELECT ledger.make_insert_only('{SCHEMA}.{table}')")


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table, schema=SCHEMA)
