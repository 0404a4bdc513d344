"""ResultsStore tables: jobs, their resources and the aggregates computed on write.

Every list has one index per filter combination it offers, holding the filtered rows in
the list's order, so a keyset page is one index range scan (migration 0003 says why each
exists). The jobs lists filter by any combination of user_id, profile and
terraform_plan_hash; lists of a job's rows ordered most expensive first hold
`-monthly_cost`, because their tie-breakers ascend and a row comparison has one
direction.
"""

from __future__ import annotations

from itertools import combinations

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    Double,
    ForeignKeyConstraint,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import ColumnElement

from ledger_server.storage.schema import metadata, money

jobs = Table(
    "jobs",
    metadata,
    Column("job_id", Uuid, nullable=False),
    Column("user_id", String(256), nullable=False),
    Column("terraform_plan_hash", String(256), nullable=False),
    Column("profile", String(64), nullable=False),
    Column("labels", JSONB, nullable=False),
    Column("currency_code", String(3), nullable=False),
    money("total_monthly_cost"),
    money("total_hourly_cost"),
    Column("confidence_score", Double, nullable=False),
    Column("resource_count", Integer, nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("status", String(32), nullable=False),
    Column("create_time", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("job_id"),
    CheckConstraint("total_monthly_cost >= 0", name="total_monthly_cost_not_negative"),
    CheckConstraint("confidence_score BETWEEN 0 AND 1", name="confidence_score_range"),
)

# --- the jobs lists: one partial index per filter combination and order -----------------
#
# A filtered list could also be read from the index of fewer filters, in list order,
# dropping the jobs that do not match. The planner picks that when the filter looks
# unselective and the other index reads the heap in order (the time order does: jobs are
# stored as time passes), assuming matching jobs are spread evenly; for a user who
# stopped storing jobs long ago it reads most of the table to fill one page. So each
# jobs-list index is partial on a condition of its own that every job meets, and each
# list query states its index's condition: no other index's condition follows from it, so
# no other index can serve it. (The lists of one job's rows need no such thing: their
# indexes all start with job_id, so the planner prefers the one that reads fewest rows.)

JOB_FILTERS = ("user_id", "profile", "terraform_plan_hash")
_FILTER_NAMES = {"user_id": "user", "profile": "profile", "terraform_plan_hash": "plan"}
_ORDER_COLUMNS = {
    "time": ("create_time", "job_id"),
    "cost": ("total_monthly_cost", "create_time", "job_id"),
}


def job_list_guard(filters: tuple[str, ...], order: str) -> ColumnElement[bool]:
    """The condition of the index of the jobs list with these filters in this order.

    `total_monthly_cost <> -n` holds for every job (a check keeps totals >= 0) and, for
    two different n, neither condition implies the other; n numbers the 16 lists.
    """
    number = 1 + sum(1 << JOB_FILTERS.index(column) for column in filters)
    number += 8 if order == "cost" else 0
    return jobs.c.total_monthly_cost != -number


def job_list_index_name(filters: tuple[str, ...], order: str) -> str:
    return "_".join(["ix_jobs", *(_FILTER_NAMES[column] for column in filters), "by", order])


for _order, _columns in _ORDER_COLUMNS.items():
    for _count in range(len(JOB_FILTERS) + 1):
        for _filters in combinations(JOB_FILTERS, _count):
            Index(
                job_list_index_name(_filters, _order),
                *(jobs.c[name] for name in (*_filters, *_columns)),
                postgresql_where=job_list_guard(_filters, _order),
            )


job_resources = Table(
    "job_resources",
    metadata,
    Column("job_id", Uuid, nullable=False),
    Column("position", Integer, nullable=False),
    Column("address", String(1024), nullable=False),
    Column("name", String(1024), nullable=False),
    Column("resource_type", String(256), nullable=False),
    Column("service", String(256), nullable=False),
    Column("region", String(256), nullable=False),
    money("monthly_cost"),
    money("hourly_cost", nullable=True),
    # NULL when the estimator sent no breakdown: absent is not the same as zero.
    money("compute_cost", nullable=True),
    money("storage_cost", nullable=True),
    money("network_cost", nullable=True),
    money("other_cost", nullable=True),
    Column("cost_drivers", JSONB, nullable=False),
    Column("assumptions", JSONB, nullable=False),
    PrimaryKeyConstraint("job_id", "position"),
    ForeignKeyConstraint(["job_id"], ["jobs.job_id"]),
    UniqueConstraint("job_id", "address"),
)

job_services = Table(
    "job_services",
    metadata,
    Column("job_id", Uuid, nullable=False),
    Column("service", String(256), nullable=False),
    money("monthly_cost"),
    Column("resource_count", Integer, nullable=False),
    PrimaryKeyConstraint("job_id", "service"),
    ForeignKeyConstraint(["job_id"], ["jobs.job_id"]),
)

job_regions = Table(
    "job_regions",
    metadata,
    Column("job_id", Uuid, nullable=False),
    Column("region", String(256), nullable=False),
    money("monthly_cost"),
    Column("resource_count", Integer, nullable=False),
    PrimaryKeyConstraint("job_id", "region"),
    ForeignKeyConstraint(["job_id"], ["jobs.job_id"]),
)

job_region_services = Table(
    "job_region_services",
    metadata,
    Column("job_id", Uuid, nullable=False),
    Column("region", String(256), nullable=False),
    Column("service", String(256), nullable=False),
    money("monthly_cost"),
    Column("resource_count", Integer, nullable=False),
    PrimaryKeyConstraint("job_id", "region", "service"),
    ForeignKeyConstraint(["job_id", "region"], ["job_regions.job_id", "job_regions.region"]),
)


# Most expensive first, ties by position or name ascending: the key `(-monthly_cost, tie)`
# ascends as a whole, so the cursor is one row comparison.
_resource_cost = -job_resources.c.monthly_cost
_resource_position = job_resources.c.position
Index("ix_job_resources_by_cost", job_resources.c.job_id, _resource_cost, _resource_position)
Index(
    "ix_job_resources_service_by_cost",
    job_resources.c.job_id,
    job_resources.c.service,
    _resource_cost,
    _resource_position,
)
Index(
    "ix_job_resources_region_by_cost",
    job_resources.c.job_id,
    job_resources.c.region,
    _resource_cost,
    _resource_position,
)
Index(
    "ix_job_resources_service_region_by_cost",
    job_resources.c.job_id,
    job_resources.c.service,
    job_resources.c.region,
    _resource_cost,
    _resource_position,
)
Index(
    "ix_job_services_by_cost",
    job_services.c.job_id,
    -job_services.c.monthly_cost,
    job_services.c.service,
)
Index(
    "ix_job_regions_by_cost",
    job_regions.c.job_id,
    -job_regions.c.monthly_cost,
    job_regions.c.region,
)
