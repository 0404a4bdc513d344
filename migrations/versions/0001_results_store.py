"""ResultsStore: jobs, resources, service and region aggregates, request ids; INSERT-only.

Creates the `ledger` schema, the `ledger_app` role the server runs as (SELECT and INSERT
only), and `ledger.make_insert_only(table)`, which every migration calls on every table
it creates: it attaches triggers that reject UPDATE, DELETE and TRUNCATE and grants the
server's role only SELECT and INSERT.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = "ledger"
TABLES = (
    "request_ids",
    "jobs",
    "job_resources",
    "job_services",
    "job_regions",
    "job_region_services",
)

SETUP = """
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ledger_app') THEN
        CREATE ROLE ledger_app NOLOGIN;
    END IF;
END
$$;
GRANT ledger_app TO CURRENT_USER;
GRANT USAGE ON SCHEMA ledger TO ledger_app;

CREATE FUNCTION ledger.reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger.%: % is not allowed, Ledger tables are INSERT-only',
        TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE FUNCTION ledger.make_insert_only(target regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE TRIGGER insert_only_rows BEFORE UPDATE OR DELETE ON %s '
                   'FOR EACH ROW EXECUTE FUNCTION ledger.reject_change()', target);
    EXECUTE format('CREATE TRIGGER insert_only_truncate BEFORE TRUNCATE ON %s '
                   'FOR EACH STATEMENT EXECUTE FUNCTION ledger.reject_change()', target);
    EXECUTE format('REVOKE ALL ON %s FROM ledger_app', target);
    EXECUTE format('GRANT SELECT, INSERT ON %s TO ledger_app', target);
END
$$;
"""


def money(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.Numeric(28, 9), nullable=nullable)


def upgrade() -> None:
    op.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    op.execute(SETUP)
    op.create_table(
        "request_ids",
        sa.Column("method", sa.String(64), nullable=False),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("fingerprint", sa.LargeBinary(), nullable=False),
        sa.Column("resource_id", sa.Uuid(), nullable=False),
        sa.Column(
            "create_time", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("method", "request_id", name="pk_request_ids"),
        schema=SCHEMA,
    )
    op.create_table(
        "jobs",
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.String(256), nullable=False),
        sa.Column("terraform_plan_hash", sa.String(256), nullable=False),
        sa.Column("profile", sa.String(64), nullable=False),
        sa.Column("labels", postgresql.JSONB(), nullable=False),
        sa.Column("currency_code", sa.String(3), nullable=False),
        money("total_monthly_cost"),
        money("total_hourly_cost"),
        sa.Column("confidence_score", sa.Double(), nullable=False),
        sa.Column("resource_count", sa.Integer(), nullable=False),
        sa.Column("schema_version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column(
            "create_time", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("job_id", name="pk_jobs"),
        sa.CheckConstraint(
            "total_monthly_cost >= 0", name="ck_jobs_total_monthly_cost_not_negative"
        ),
        sa.CheckConstraint(
            "confidence_score BETWEEN 0 AND 1", name="ck_jobs_confidence_score_range"
        ),
        schema=SCHEMA,
    )
    for name, columns in (
        ("ix_jobs_create_time_job_id", ["create_time", "job_id"]),
        ("ix_jobs_user_id_create_time_job_id", ["user_id", "create_time", "job_id"]),
        ("ix_jobs_profile_create_time_job_id", ["profile", "create_time", "job_id"]),
        (
            "ix_jobs_terraform_plan_hash_create_time_job_id",
            ["terraform_plan_hash", "create_time", "job_id"],
        ),
    ):
        op.create_index(name, "jobs", columns, schema=SCHEMA)
    op.create_table(
        "job_resources",
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(1024), nullable=False),
        sa.Column("name", sa.String(1024), nullable=False),
        sa.Column("resource_type", sa.String(256), nullable=False),
        sa.Column("service", sa.String(256), nullable=False),
        sa.Column("region", sa.String(256), nullable=False),
        money("monthly_cost"),
        money("hourly_cost", nullable=True),
        money("compute_cost", nullable=True),
        money("storage_cost", nullable=True),
        money("network_cost", nullable=True),
        money("other_cost", nullable=True),
        sa.Column("cost_drivers", postgresql.JSONB(), nullable=False),
        sa.Column("assumptions", postgresql.JSONB(), nullable=False),
        sa.PrimaryKeyConstraint("job_id", "position", name="pk_job_resources"),
        sa.ForeignKeyConstraint(
            ["job_id"], [f"{SCHEMA}.jobs.job_id"], name="fk_job_resources_job_id_jobs"
        ),
        sa.UniqueConstraint("job_id", "address", name="uq_job_resources_job_id_address"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_job_resources_job_id_monthly_cost",
        "job_resources",
        ["job_id", "monthly_cost", "position"],
        schema=SCHEMA,
    )
    op.create_table(
        "job_services",
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("service", sa.String(256), nullable=False),
        money("monthly_cost"),
        sa.Column("resource_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("job_id", "service", name="pk_job_services"),
        sa.ForeignKeyConstraint(
            ["job_id"], [f"{SCHEMA}.jobs.job_id"], name="fk_job_services_job_id_jobs"
        ),
        schema=SCHEMA,
    )
    op.create_table(
        "job_regions",
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("region", sa.String(256), nullable=False),
        money("monthly_cost"),
        sa.Column("resource_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("job_id", "region", name="pk_job_regions"),
        sa.ForeignKeyConstraint(
            ["job_id"], [f"{SCHEMA}.jobs.job_id"], name="fk_job_regions_job_id_jobs"
        ),
        schema=SCHEMA,
    )
    op.create_table(
        "job_region_services",
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("region", sa.String(256), nullable=False),
        sa.Column("service", sa.String(256), nullable=False),
        money("monthly_cost"),
        sa.Column("resource_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("job_id", "region", "service", name="pk_job_region_services"),
        sa.ForeignKeyConstraint(
            ["job_id", "region"],
            [f"{SCHEMA}.job_regions.job_id", f"{SCHEMA}.job_regions.region"],
            name="fk_job_region_services_job_id_job_regions",
        ),
        schema=SCHEMA,
    )
    for table in TABLES:
        op.execute(f"SELECT ledger.make_insert_only('{SCHEMA}.{table}')")


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table, schema=SCHEMA)
    op.execute("DROP FUNCTION ledger.make_insert_only(regclass)")
    op.execute("DROP FUNCTION ledger.reject_change()")
    op.execute(f"REVOKE USAGE ON SCHEMA {SCHEMA} FROM ledger_app")
    op.execute(f"DROP SCHEMA {SCHEMA}")
    # The ledger_app role is cluster-wide and may serve other Ledger databases on the
    # same server, so it is left in place.
