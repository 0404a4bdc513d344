"""Evaluation logs: batches of lines with gapless per-evaluation sequences; INSERT-only.

`evaluation_log_batches` holds one row per appended batch: lines `first_sequence` ..
`last_sequence` of one evaluation, as parallel arrays. The application numbers lines
under the evaluation's lock; a trigger makes the database refuse any row that does not
start right after the evaluation's last stored line, so a gap or an overlap cannot be
stored even by a bug. A version that makes an evaluation final wakes its log followers.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TABLE = "evaluation_log_batches"

GAPLESS = """
CREATE FUNCTION ledger.reject_log_gaps() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    last_stored bigint;
BEGIN
    SELECT max(last_sequence) INTO last_stored
    FROM ledger.evaluation_log_batches WHERE evaluation_id = NEW.evaluation_id;
    IF NEW.first_sequence <> coalesce(last_stored, 0) + 1 THEN
        RAISE EXCEPTION 'ledger.evaluation_log_batches: evaluation % has lines up to %, '
            'a batch must start at the next one, not at %',
            NEW.evaluation_id, coalesce(last_stored, 0), NEW.first_sequence
            USING ERRCODE = 'unique_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER log_sequences_gapless BEFORE INSERT ON ledger.evaluation_log_batches
    FOR EACH ROW EXECUTE FUNCTION ledger.reject_log_gaps();
"""


# Followers end once their evaluation is final: a version that makes it final (or deletes
# it) wakes them like an append does (storage/notifications.py: channel ledger_changes,
# payload topic:key), whichever code path wrote the version. The statuses are the final
# ones of domain.evaluations.records.Status.
WAKE_FOLLOWERS = """
CREATE FUNCTION ledger.wake_log_followers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IN ('completed', 'failed', 'cancelled', 'timeout') OR NEW.deleted THEN
        PERFORM pg_notify('ledger_changes', 'evaluation_logs:' || NEW.evaluation_id);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER wake_log_followers AFTER INSERT ON ledger.evaluation_versions
    FOR EACH ROW EXECUTE FUNCTION ledger.wake_log_followers();
"""


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("evaluation_id", sa.String(128), nullable=False),
        sa.Column("first_sequence", sa.BigInteger(), nullable=False),
        sa.Column("last_sequence", sa.BigInteger(), nullable=False),
        sa.Column("line_count", sa.Integer(), nullable=False),
        sa.Column("text_characters", sa.BigInteger(), nullable=False),
        sa.Column("lines", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("streams", postgresql.ARRAY(sa.SmallInteger()), nullable=False),
        sa.Column("log_time_micros", postgresql.ARRAY(sa.BigInteger()), nullable=True),
        sa.Column("batch_id", sa.String(128), nullable=True),
        sa.Column("fingerprint", sa.LargeBinary(), nullable=True),
        sa.Column(
            "create_time", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint(
            "evaluation_id", "first_sequence", name="pk_evaluation_log_batches"
        ),
        sa.ForeignKeyConstraint(
            ["evaluation_id"],
            ["ledger.evaluations.evaluation_id"],
            name="fk_evaluation_log_batches_evaluation_id_evaluations",
        ),
        sa.UniqueConstraint(
            "evaluation_id",
            "last_sequence",
            name="uq_evaluation_log_batches_evaluation_id_last_sequence",
        ),
        sa.UniqueConstraint(
            "evaluation_id", "batch_id", name="uq_evaluation_log_batches_evaluation_id_batch_id"
        ),
        sa.CheckConstraint(
            "first_sequence >= 1", name="ck_evaluation_log_batches_first_sequence_positive"
        ),
        sa.CheckConstraint(
            "line_count BETWEEN 1 AND 10000", name="ck_evaluation_log_batches_line_count_range"
        ),
        sa.CheckConstraint(
            "last_sequence = first_sequence + line_count - 1",
            name="ck_evaluation_log_batches_sequences_match",
        ),
        sa.CheckConstraint(
            "cardinality(lines) = line_count AND cardinality(streams) = line_count "
            "AND (log_time_micros IS NULL OR cardinality(log_time_micros) = line_count)",
            name="ck_evaluation_log_batches_arrays_match",
        ),
        schema="ledger",
    )
    op.execute(f"SELECT ledger.make_insert_only('ledger.{TABLE}')")
    op.execute(GAPLESS)
    op.execute(WAKE_FOLLOWERS)


def downgrade() -> None:
    op.execute("DROP TRIGGER wake_log_followers ON ledger.evaluation_versions")
    op.execute("DROP FUNCTION ledger.wake_log_followers()")
    op.drop_table(TABLE, schema="ledger")
    op.execute("DROP FUNCTION ledger.reject_log_gaps()")
