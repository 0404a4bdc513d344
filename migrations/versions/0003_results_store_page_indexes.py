"""One index per ResultsStore list, filter combination and order: a page is a range scan.

A keyset page costs the same however many rows exist only when one index holds exactly
the filtered rows in the page's order: the equality filters first, then the sort key,
compared with the cursor as one row (`(a, b) < (x, y)`). So:

- jobs by create_time: one index per combination of user_id, profile and
  terraform_plan_hash, then (create_time, job_id); a time range is a range inside it.
- jobs by total_monthly_cost: one per combination of the same filters, then
  (total_monthly_cost, create_time, job_id). A time range cannot be a range inside a cost
  order, so ListJobs refuses that combination.
- a job's resources, most expensive first with ties by position: costs descend while
  positions ascend, and a row comparison has one direction, so the indexes hold
  `-monthly_cost`. One per combination of the service and region filters; the plain one
  replaces 0001's (job_id, monthly_cost, position), which no query uses any more.
- a job's services and regions, most expensive first, ties by name: (job_id,
  -monthly_cost, name).

The jobs-list indexes are partial, each on its own condition that every job meets
(`total_monthly_cost <> -n`, totals are never negative), which its list query states.
Without that, a filtered list can be planned over the index of fewer filters, dropping
rows as it reads: for a user whose jobs are all old, newest first, that reads most of the
table for one page. 0001's four jobs indexes are such competitors, so they are replaced.

Every estimate now writes more index entries (three more per resource, the most), the
price of pages that do not slow down as the tables grow. CREATE INDEX holds a lock that
blocks writes to the table while it builds; on a large existing database run this
migration when writes can wait.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SCHEMA = "ledger"
NEGATED_COST = sa.text("(- monthly_cost)")

# (index, columns, n of its condition `total_monthly_cost <> -n`)
JOB_LIST_INDEXES: tuple[tuple[str, list[str], int], ...] = (
    ("ix_jobs_by_time", [], 1),
    ("ix_jobs_user_by_time", ["user_id"], 2),
    ("ix_jobs_profile_by_time", ["profile"], 3),
    ("ix_jobs_user_profile_by_time", ["user_id", "profile"], 4),
    ("ix_jobs_plan_by_time", ["terraform_plan_hash"], 5),
    ("ix_jobs_user_plan_by_time", ["user_id", "terraform_plan_hash"], 6),
    ("ix_jobs_profile_plan_by_time", ["profile", "terraform_plan_hash"], 7),
    ("ix_jobs_user_profile_plan_by_time", ["user_id", "profile", "terraform_plan_hash"], 8),
    ("ix_jobs_by_cost", [], 9),
    ("ix_jobs_user_by_cost", ["user_id"], 10),
    ("ix_jobs_profile_by_cost", ["profile"], 11),
    ("ix_jobs_user_profile_by_cost", ["user_id", "profile"], 12),
    ("ix_jobs_plan_by_cost", ["terraform_plan_hash"], 13),
    ("ix_jobs_user_plan_by_cost", ["user_id", "terraform_plan_hash"], 14),
    ("ix_jobs_profile_plan_by_cost", ["profile", "terraform_plan_hash"], 15),
    ("ix_jobs_user_profile_plan_by_cost", ["user_id", "profile", "terraform_plan_hash"], 16),
)
TIME_ORDER = ["create_time", "job_id"]
COST_ORDER = ["total_monthly_cost", "create_time", "job_id"]

# 0001's jobs indexes, which the partial ones above replace.
OLD_JOB_INDEXES: tuple[tuple[str, list[str]], ...] = (
    ("ix_jobs_create_time_job_id", ["create_time", "job_id"]),
    ("ix_jobs_user_id_create_time_job_id", ["user_id", "create_time", "job_id"]),
    ("ix_jobs_profile_create_time_job_id", ["profile", "create_time", "job_id"]),
    (
        "ix_jobs_terraform_plan_hash_create_time_job_id",
        ["terraform_plan_hash", "create_time", "job_id"],
    ),
)

# (index, table, columns before the negated cost, column after it)
COST_ORDER_INDEXES: tuple[tuple[str, str, list[str], str], ...] = (
    ("ix_job_resources_by_cost", "job_resources", ["job_id"], "position"),
    ("ix_job_resources_service_by_cost", "job_resources", ["job_id", "service"], "position"),
    ("ix_job_resources_region_by_cost", "job_resources", ["job_id", "region"], "position"),
    (
        "ix_job_resources_service_region_by_cost",
        "job_resources",
        ["job_id", "service", "region"],
        "position",
    ),
    ("ix_job_services_by_cost", "job_services", ["job_id"], "service"),
    ("ix_job_regions_by_cost", "job_regions", ["job_id"], "region"),
)


def upgrade() -> None:
    for name, filters, number in JOB_LIST_INDEXES:
        order = COST_ORDER if name.endswith("_by_cost") else TIME_ORDER
        op.create_index(
            name,
            "jobs",
            [*filters, *order],
            schema=SCHEMA,
            postgresql_where=sa.text(f"total_monthly_cost <> -{number}"),
        )
    for name, _ in OLD_JOB_INDEXES:
        op.drop_index(name, "jobs", schema=SCHEMA)
    for name, table, leading, tie_breaker in COST_ORDER_INDEXES:
        op.create_index(name, table, [*leading, NEGATED_COST, tie_breaker], schema=SCHEMA)
    op.drop_index("ix_job_resources_job_id_monthly_cost", "job_resources", schema=SCHEMA)


def downgrade() -> None:
    op.create_index(
        "ix_job_resources_job_id_monthly_cost",
        "job_resources",
        ["job_id", "monthly_cost", "position"],
        schema=SCHEMA,
    )
    for name, table, _, _ in reversed(COST_ORDER_INDEXES):
        op.drop_index(name, table, schema=SCHEMA)
    for name, columns in OLD_JOB_INDEXES:
        op.create_index(name, "jobs", columns, schema=SCHEMA)
    for name, _, _ in reversed(JOB_LIST_INDEXES):
        op.drop_index(name, "jobs", schema=SCHEMA)
