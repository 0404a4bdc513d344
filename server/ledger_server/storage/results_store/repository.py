"""The ResultsStore repository: adds, gets and lists jobs over one SQLAlchemy connection.

Writes are multi-row INSERTs (one statement per table per job), never a loop of
single-row statements, sent together in one round trip. The caller's transaction is the
unit of work.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from psycopg2.extensions import connection as PgConnection  # noqa: N812 - driver names
from psycopg2.extensions import cursor as PgCursor  # noqa: N812
from psycopg2.extras import Json
from sqlalchemy import Connection, Row, Select, Table, select, tuple_

from ledger_server.domain.results_store.estimates import (
    SCHEMA_VERSION,
    STATUS_COMPLETED,
    Breakdown,
    Job,
    NewJob,
    RegionTotal,
    Resource,
    ServiceTotal,
)
from ledger_server.domain.results_store.ports import JobFilters, JobKey, JobOrder
from ledger_server.storage.results_store.tables import (
    JOB_FILTERS,
    job_list_guard,
    job_region_services,
    job_regions,
    job_resources,
    job_services,
    jobs,
)


class SqlResultsRepository:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add_job(self, job: NewJob) -> Job:
        # The hot write path, in one round trip before the commit: the job row with its
        # values bound by psycopg2, then every other row as one JSON document per table
        # that PostgreSQL expands (json_populate_recordset), then the job read back.
        cursor = cast(PgConnection, self._db.connection.dbapi_connection).cursor()
        regions = job.regions
        job_id = str(job.job_id)  # a plain literal; PostgreSQL casts it to uuid
        batch = [
            _insert_rows(cursor, jobs, [_job_row(job_id, job)]),
            _insert_json_rows(
                cursor,
                job_services,
                [(job_id, s.service, s.monthly_cost, s.resource_count) for s in job.services],
            ),
            _insert_json_rows(
                cursor,
                job_regions,
                [(job_id, r.region, r.monthly_cost, r.resource_count) for r in regions],
            ),
            _insert_json_rows(
                cursor,
                job_region_services,
                [
                    (job_id, r.region, s.service, s.monthly_cost, s.resource_count)
                    for r in regions
                    for s in r.services
                ],
            ),
            _insert_json_rows(
                cursor, job_resources, [_resource_row(job_id, r) for r in job.resources]
            ),
            cursor.mogrify("SELECT create_time FROM ledger.jobs WHERE job_id = %s", (job_id,)),
        ]
        cursor.execute(b";".join(statement for statement in batch if statement))
        created = cursor.fetchone()
        cursor.close()
        assert created is not None, "the batch ends by reading the job back"
        return Job(
            job_id=job.job_id,
            user_id=job.user_id,
            terraform_plan_hash=job.terraform_plan_hash,
            profile=job.profile,
            labels=job.labels,
            currency_code=job.currency_code,
            total_monthly_cost=job.total_monthly_cost,
            total_hourly_cost=job.total_hourly_cost,
            confidence_score=job.confidence_score,
            resource_count=len(job.resources),
            schema_version=SCHEMA_VERSION,
            status=STATUS_COMPLETED,
            create_time=created[0],
        )

    def get_job(self, job_id: uuid.UUID) -> Job | None:
        row = self._db.execute(select(jobs).where(jobs.c.job_id == job_id)).first()
        return _job(row) if row is not None else None

    def list_jobs(
        self,
        filters: JobFilters,
        after: JobKey | None,
        limit: int,
        *,
        order: JobOrder = JobOrder.NEWEST_FIRST,
    ) -> list[Job]:
        query = jobs_page_query(filters, after, limit, order=order)
        return [_job(row) for row in self._db.execute(query)]

    def list_resources(
        self,
        job_id: uuid.UUID,
        service: str,
        region: str,
        after: tuple[Decimal, int] | None,
        limit: int | None,
    ) -> list[Resource]:
        query = resources_page_query(job_id, service, region, after, limit)
        return [_resource(row) for row in self._db.execute(query)]

    def list_services(
        self, job_id: uuid.UUID, after: tuple[Decimal, str] | None, limit: int | None
    ) -> list[ServiceTotal]:
        query = services_page_query(job_id, after, limit)
        return [
            ServiceTotal(row.service, row.monthly_cost, row.resource_count)
            for row in self._db.execute(query)
        ]

    def list_regions(
        self, job_id: uuid.UUID, after: tuple[Decimal, str] | None, limit: int | None
    ) -> list[RegionTotal]:
        regions = list(self._db.execute(regions_page_query(job_id, after, limit)))
        split: dict[str, list[ServiceTotal]] = {row.region: [] for row in regions}
        if regions:
            for row in self._db.execute(region_services_query(job_id, list(split))):
                split[row.region].append(
                    ServiceTotal(row.service, row.monthly_cost, row.resource_count)
                )
        return [
            RegionTotal(row.region, row.monthly_cost, row.resource_count, tuple(split[row.region]))
            for row in regions
        ]


# --- the page queries: each one index range scan, however many rows the tables hold ----
#
# Each list's rows sit in one index (tables.py) in the list's order, behind the equality
# filters the request sets; the cursor is a row comparison on the index's sort columns,
# so PostgreSQL starts reading at the cursor and stops after `limit` rows, without a sort
# and without skipping rows of other filters or earlier pages.


def jobs_page_query(
    filters: JobFilters,
    after: JobKey | None,
    limit: int,
    *,
    order: JobOrder = JobOrder.NEWEST_FIRST,
) -> Select[Any]:
    """One keyset page of jobs in `order`.

    Every combination of the equality filters has a partial index on (filters...,
    create_time, job_id) and one on (filters..., total_monthly_cost, create_time, job_id);
    the query states the condition of its own, so no other index can serve it (tables.py
    says why). A time range is a range on create_time inside the first kind; the use case
    never combines it with a cost order, where it would be a filter over rows read in
    cost order instead.
    """
    wanted = {
        "user_id": filters.user_id,
        "profile": filters.profile,
        "terraform_plan_hash": filters.terraform_plan_hash,
    }
    used = tuple(column for column in JOB_FILTERS if wanted[column])
    # The condition only this list's index has: no index of fewer filters can serve it.
    query = select(jobs).where(job_list_guard(used, "cost" if order.by_cost else "time"))
    for column in used:
        query = query.where(jobs.c[column] == wanted[column])
    # The bound on the side a page starts from is left out when the cursor already lies
    # inside it: PostgreSQL cannot tell which of a row comparison and a plain bound on the
    # same column is tighter, and some versions start the index scan at the plain bound,
    # reading every entry between it and the cursor (a middle page grew with the table).
    starts_at_cursor = after is not None and _within(after.create_time, filters)
    if filters.start_time and not (starts_at_cursor and not order.descending):
        query = query.where(jobs.c.create_time >= filters.start_time)
    if filters.end_time and not (starts_at_cursor and order.descending):
        query = query.where(jobs.c.create_time < filters.end_time)
    columns: list[Any] = [jobs.c.create_time, jobs.c.job_id]
    if order.by_cost:
        columns.insert(0, jobs.c.total_monthly_cost)
    if after:
        values: list[Any] = [after.create_time, after.job_id]
        if order.by_cost:
            assert after.total_monthly_cost is not None, "a cost order resumes after a cost"
            values.insert(0, after.total_monthly_cost)
        key, cursor = tuple_(*columns), tuple_(*values)
        query = query.where(key < cursor if order.descending else key > cursor)
    if order.descending:
        query = query.order_by(*(column.desc() for column in columns))
    else:
        query = query.order_by(*columns)
    return query.limit(limit)


def _within(moment: datetime, filters: JobFilters) -> bool:
    """Whether `moment` is inside the filters' time range (a forged cursor may not be)."""
    if filters.start_time and moment < filters.start_time:
        return False
    return not (filters.end_time and moment >= filters.end_time)


def resources_page_query(
    job_id: uuid.UUID,
    service: str,
    region: str,
    after: tuple[Decimal, int] | None,
    limit: int | None,
) -> Select[Any]:
    """A job's resources, most expensive first, ties by position; by service and region.

    Indexes on (job_id, [service], [region], -monthly_cost, position) hold them in that
    order for each combination of the two filters.
    """
    t = job_resources
    query = select(t).where(t.c.job_id == job_id)
    if service:
        query = query.where(t.c.service == service)
    if region:
        query = query.where(t.c.region == region)
    return _most_expensive_first(query, t.c.monthly_cost, t.c.position, after, limit)


def services_page_query(
    job_id: uuid.UUID, after: tuple[Decimal, str] | None, limit: int | None
) -> Select[Any]:
    """A job's per-service totals, most expensive first, ties by name."""
    t = job_services
    query = select(t).where(t.c.job_id == job_id)
    return _most_expensive_first(query, t.c.monthly_cost, t.c.service, after, limit)


def regions_page_query(
    job_id: uuid.UUID, after: tuple[Decimal, str] | None, limit: int | None
) -> Select[Any]:
    """A job's per-region totals, most expensive first, ties by name."""
    t = job_regions
    query = select(t).where(t.c.job_id == job_id)
    return _most_expensive_first(query, t.c.monthly_cost, t.c.region, after, limit)


def region_services_query(job_id: uuid.UUID, regions: list[str]) -> Select[Any]:
    """The per-service split of the regions on one page: all of it goes out with the page,
    so its sort covers only rows that are returned."""
    s = job_region_services
    return (
        select(s)
        .where(s.c.job_id == job_id, s.c.region.in_(regions))
        .order_by(s.c.monthly_cost.desc(), s.c.service)
    )


def _most_expensive_first(
    query: Select[Any],
    cost: Any,
    tie_breaker: Any,
    after: tuple[Decimal, Any] | None,
    limit: int | None,
) -> Select[Any]:
    # Costs descend while tie-breakers ascend; `(-cost, tie_breaker)` ascends as a whole,
    # so the cursor is one row comparison matching the indexes on that expression.
    key = (-cost, tie_breaker)
    if after:
        after_cost, after_tie = after
        query = query.where(tuple_(*key) > tuple_(-after_cost, after_tie))
    return query.order_by(*key).limit(limit)


def _job(row: Row[Any]) -> Job:
    return Job(
        job_id=row.job_id,
        user_id=row.user_id,
        terraform_plan_hash=row.terraform_plan_hash,
        profile=row.profile,
        labels=dict(row.labels),
        currency_code=row.currency_code,
        total_monthly_cost=row.total_monthly_cost,
        total_hourly_cost=row.total_hourly_cost,
        confidence_score=row.confidence_score,
        resource_count=row.resource_count,
        schema_version=row.schema_version,
        status=row.status,
        create_time=row.create_time,
    )


def _insert_rows(cursor: PgCursor, table: Table, rows: Sequence[tuple[Any, ...]]) -> bytes:
    """`INSERT INTO table (columns) VALUES (...), (...)`, every value bound by psycopg2.

    Rows list values in the table's column order (tables.py); columns left to their
    server default come last in a table and are left out.
    """
    if not rows:
        return b""
    width = len(rows[0])
    columns = ", ".join(column.name for column in list(table.columns)[:width])
    row_placeholders = "(" + ", ".join(["%s"] * width) + ")"
    # One mogrify call for all rows: the quoting runs in C, not once per row in Python.
    values = cursor.mogrify(
        ", ".join([row_placeholders] * len(rows)), [value for row in rows for value in row]
    )
    # Names come from tables.py, never from a caller; every value went through mogrify.
    statement = f"INSERT INTO {table.schema}.{table.name} ({columns}) VALUES "  # noqa: S608
    return statement.encode() + values


_encode_rows = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str).encode


def _insert_json_rows(cursor: PgCursor, table: Table, rows: Sequence[tuple[Any, ...]]) -> bytes:
    """`INSERT INTO table (columns) SELECT columns FROM json_populate_recordset(...)`.

    All rows travel as one JSON array of objects, bound as a single parameter: encoding
    it runs in C, where binding each value through psycopg2 costs microseconds apiece.
    Amounts are JSON strings holding the exact Decimal text, so nothing passes through
    a float on either side.
    """
    if not rows:
        return b""
    names = [column.name for column in list(table.columns)[: len(rows[0])]]
    document = _encode_rows([dict(zip(names, row, strict=True)) for row in rows])
    columns = ", ".join(names)
    name = f"{table.schema}.{table.name}"
    # Names come from tables.py, never from a caller; the document is bound by mogrify.
    statement = (
        f"INSERT INTO {name} ({columns}) SELECT {columns} "  # noqa: S608
        f"FROM json_populate_recordset(NULL::{name}, %s)"
    )
    return cursor.mogrify(statement, (document,))


def _job_row(job_id: str, job: NewJob) -> tuple[Any, ...]:
    return (
        job_id,
        job.user_id,
        job.terraform_plan_hash,
        job.profile,
        Json(job.labels),
        job.currency_code,
        job.total_monthly_cost,
        job.total_hourly_cost,
        job.confidence_score,
        len(job.resources),
        SCHEMA_VERSION,
        STATUS_COMPLETED,
    )


def _resource_row(job_id: str, resource: Resource) -> tuple[Any, ...]:
    parts = resource.breakdown
    return (
        job_id,
        resource.position,
        resource.address,
        resource.name,
        resource.resource_type,
        resource.service,
        resource.region,
        resource.monthly_cost,
        resource.hourly_cost,
        parts.compute if parts else None,
        parts.storage if parts else None,
        parts.network if parts else None,
        parts.other if parts else None,
        resource.cost_drivers,
        resource.assumptions,
    )


def _resource(row: Row[Any]) -> Resource:
    breakdown = None
    if row.compute_cost is not None:
        breakdown = Breakdown(row.compute_cost, row.storage_cost, row.network_cost, row.other_cost)
    return Resource(
        position=row.position,
        address=row.address,
        name=row.name,
        resource_type=row.resource_type,
        service=row.service,
        region=row.region,
        monthly_cost=row.monthly_cost,
        hourly_cost=row.hourly_cost,
        breakdown=breakdown,
        cost_drivers=row.cost_drivers,
        assumptions=row.assumptions,
    )
