"""A stored job cannot grow: its rows can only be added by the transaction that stores it.

INSERT-only keeps every row as written, but a job is more than its row: its resources,
service, region and region-service totals. Without this, the server's role (which may
INSERT) could add a resource to a job stored last month, and the job's totals would no
longer add up. A statement-level trigger on each child table refuses new rows whose job
was not inserted by the current transaction (or one of its subtransactions).

"Inserted by this transaction" is read from the job row itself: a row this transaction
can see whose inserting transaction (`xmin`) has not committed can only be its own,
since other transactions' uncommitted rows are invisible. Nothing a session can set
(unlike a setting) forges that.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

CHILD_TABLES = ("job_resources", "job_services", "job_regions", "job_region_services")
TRIGGER = "job_rows_only_with_their_job"

FUNCTIONS = """
CREATE FUNCTION ledger.inserted_by_this_transaction(row_xmin xid) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    own bigint := pg_current_xact_id()::text::bigint;
    low bigint := row_xmin::text::bigint;
    epoch bigint := own >> 32;
BEGIN
    -- pg_xact_status wants the 64-bit id: give the row's 32-bit xmin the epoch that puts
    -- it nearest this transaction's own id (a subtransaction's id is a little newer, a
    -- committed row's older; the 32-bit counter may have wrapped in between).
    IF low - (own & 4294967295) > 2147483648 THEN
        epoch := epoch - 1;
    ELSIF (own & 4294967295) - low > 2147483648 THEN
        epoch := epoch + 1;
    END IF;
    IF epoch < 0 THEN
        RETURN false;
    END IF;
    -- NULL (an id too old for the commit log to remember) is a long-committed row: false.
    RETURN coalesce(pg_xact_status((epoch * 4294967296 + low)::text::xid8) = 'in progress',
                    false);
END
$$;

CREATE FUNCTION ledger.reject_rows_of_stored_jobs() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    stored_job uuid;
BEGIN
    SELECT job.job_id INTO stored_job
    FROM (SELECT DISTINCT job_id FROM new_rows) AS added
    JOIN ledger.jobs AS job ON job.job_id = added.job_id
    WHERE NOT ledger.inserted_by_this_transaction(job.xmin)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger.%: job % is already stored; its rows can only be added '
            'by the transaction that stores it', TG_TABLE_NAME, stored_job
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NULL;
END
$$;
"""


def upgrade() -> None:
    op.execute(FUNCTIONS)
    for table in CHILD_TABLES:
        op.execute(
            f"CREATE TRIGGER {TRIGGER} AFTER INSERT ON ledger.{table} "
            "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
            "EXECUTE FUNCTION ledger.reject_rows_of_stored_jobs()"
        )


def downgrade() -> None:
    for table in reversed(CHILD_TABLES):
        op.execute(f"DROP TRIGGER {TRIGGER} ON ledger.{table}")
    op.execute("DROP FUNCTION ledger.reject_rows_of_stored_jobs()")
    op.execute("DROP FUNCTION ledger.inserted_by_this_transaction(xid)")
