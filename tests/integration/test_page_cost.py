"""A page costs the same however many jobs exist: measured in buffers, at two table sizes.

One database is filled with 20,000 jobs, then grown to 200,000 (spread over users,
profiles, plans and time, each with a resource, a service and a region row), beside one
job of 10,000 resources. At each size, for every filter combination and order the API
offers, the repository's own query builders fetch a page from the middle of the result
(the cursor is the key of the row half way through), under EXPLAIN (ANALYZE, BUFFERS);
and the first page for two users whose jobs all sit far from where the time order starts.
Buffers do not depend on timing or caching, so the comparison is deterministic.

Run with `-s` to see the table of measurements.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg2.extensions
import pytest
from sqlalchemy import Select, create_engine, func, select
from sqlalchemy.engine import Dialect, Engine

from ledger_server.domain.results_store.ports import JobFilters, JobKey, JobOrder
from ledger_server.storage.results_store.repository import (
    jobs_page_query,
    region_services_query,
    regions_page_query,
    resources_page_query,
    services_page_query,
)
from ledger_server.storage.results_store.tables import jobs
from tests.support.database import connect, fresh_database

SMALL, BIG = 20_000, 200_000
PAGE = 20  # rows a page shows; its query reads one more to know whether more follow
SERVICE_PAGE, REGION_PAGE = 11, 6  # services and regions a page of them reads
# What may differ between the sizes: one more level in a B-tree, and heap pages that
# rows of a page happen to share in the smaller table.
SLACK = 4
# What a page may cost at all: an index descent, a few leaf pages and a heap page per row.
CEILING = 2 * (PAGE + 1) + 12

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
BIG_JOB = uuid.UUID("00000000-0000-4000-8000-00000000b16b")


# --- filling ---------------------------------------------------------------------------

# Job i belongs to user i % 8, plan i % 7 and profile i % 3: periods without common
# factors, so every combination of filters selects jobs, a share of them at each size.
# Two users break the pattern: every other one of the first 5,000 jobs is user-stale's
# (who stores no more after), and every other one of jobs 15,000 to 19,999 user-recent's.
# Their jobs are many but far from one end of the time order: where a plan that reads
# jobs in time order and drops other users' would read most of the table.
FILL_JOBS = """
INSERT INTO ledger.jobs (job_id, user_id, terraform_plan_hash, profile, labels,
    currency_code, total_monthly_cost, total_hourly_cost, confidence_score, resource_count,
    schema_version, status, create_time)
SELECT md5('job-' || i)::uuid,
    CASE WHEN i < 10000 AND mod(i, 2) = 0 THEN 'user-stale'
         WHEN i >= 10000 AND i < 20000 AND mod(i, 2) = 0 THEN 'user-recent'
         ELSE 'user-' || mod(i, 8) END,
    'plan-' || mod(i, 7),
    (ARRAY['dev', 'prod', 'staging'])[mod(i, 3) + 1], '{"team": "web"}', 'USD',
    mod(i * 7919, 100000) / 100.0, 0, 0.9, 1, 1, 'COMPLETED',
    %(epoch)s + i * interval '1 minute'
FROM generate_series(%(start)s, %(stop)s - 1) AS i;

INSERT INTO ledger.job_resources (job_id, position, address, name, resource_type, service,
    region, monthly_cost, cost_drivers, assumptions)
SELECT md5('job-' || i)::uuid, 0, 'aws_instance.web', 'web', 'aws_instance', 'AmazonEC2',
    'us-east-1', mod(i * 7919, 100000) / 100.0, '{}', '{}'
FROM generate_series(%(start)s, %(stop)s - 1) AS i;

INSERT INTO ledger.job_services (job_id, service, monthly_cost, resource_count)
SELECT md5('job-' || i)::uuid, 'AmazonEC2', mod(i * 7919, 100000) / 100.0, 1
FROM generate_series(%(start)s, %(stop)s - 1) AS i;

INSERT INTO ledger.job_regions (job_id, region, monthly_cost, resource_count)
SELECT md5('job-' || i)::uuid, 'us-east-1', mod(i * 7919, 100000) / 100.0, 1
FROM generate_series(%(start)s, %(stop)s - 1) AS i;

INSERT INTO ledger.job_region_services (job_id, region, service, monthly_cost,
    resource_count)
SELECT md5('job-' || i)::uuid, 'us-east-1', 'AmazonEC2', mod(i * 7919, 100000) / 100.0, 1
FROM generate_series(%(start)s, %(stop)s - 1) AS i;
"""

# 10,000 resources with many equal costs (ties go by position), over 50 services and 20
# regions (service s in the regions r with r % 10 == s % 10, 100 resources in each pair);
# its aggregates are what StoreEstimate would have computed from them.
FILL_BIG_JOB = """
INSERT INTO ledger.jobs (job_id, user_id, terraform_plan_hash, profile, labels,
    currency_code, total_monthly_cost, total_hourly_cost, confidence_score, resource_count,
    schema_version, status, create_time)
VALUES (%(job)s, 'user-big', 'plan-big', 'big', '{}', 'USD', 0, 0, 1, 10000, 1, 'COMPLETED',
    %(epoch)s - interval '1 day');

INSERT INTO ledger.job_resources (job_id, position, address, name, resource_type, service,
    region, monthly_cost, cost_drivers, assumptions)
SELECT %(job)s, p, 'aws_instance.r[' || p || ']', 'r', 'aws_instance', 'svc-' || mod(p, 50),
    'region-' || mod(p, 20), mod(p * 37, 1000) / 10.0, '{}', '{}'
FROM generate_series(0, 9999) AS p;

INSERT INTO ledger.job_services (job_id, service, monthly_cost, resource_count)
SELECT job_id, service, sum(monthly_cost), count(*) FROM ledger.job_resources
WHERE job_id = %(job)s GROUP BY job_id, service;

INSERT INTO ledger.job_regions (job_id, region, monthly_cost, resource_count)
SELECT job_id, region, sum(monthly_cost), count(*) FROM ledger.job_resources
WHERE job_id = %(job)s GROUP BY job_id, region;

INSERT INTO ledger.job_region_services (job_id, region, service, monthly_cost,
    resource_count)
SELECT job_id, region, service, sum(monthly_cost), count(*) FROM ledger.job_resources
WHERE job_id = %(job)s GROUP BY job_id, region, service;
"""

TABLES = ("jobs", "job_resources", "job_services", "job_regions", "job_region_services")


def fill(connection: psycopg2.extensions.connection, start: int, stop: int) -> None:
    with connection.cursor() as cursor:
        if start == 0:
            cursor.execute(FILL_BIG_JOB, {"job": str(BIG_JOB), "epoch": EPOCH})
        cursor.execute(FILL_JOBS, {"start": start, "stop": stop, "epoch": EPOCH})
        for table in TABLES:  # fresh statistics and visibility, as autovacuum would leave
            cursor.execute(f"VACUUM (ANALYZE) ledger.{table}")


# --- what is measured ------------------------------------------------------------------


@dataclass
class Measurement:
    buffers: int
    rows: int  # rows the query returned
    sorted_rows: int  # rows that went through a Sort node, 0 without one
    removed_rows: int  # rows read and thrown away by a filter
    indexes: list[str] = field(default_factory=list)


def explain(
    connection: psycopg2.extensions.connection, dialect: Dialect, query: Select[Any]
) -> Measurement:
    sql = str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}")
        row = cursor.fetchone()
    assert row is not None
    document = row[0] if isinstance(row[0], list) else json.loads(row[0])
    plan = document[0]["Plan"]
    measurement = Measurement(
        buffers=plan["Shared Hit Blocks"] + plan["Shared Read Blocks"],
        rows=plan["Actual Rows"],
        sorted_rows=0,
        removed_rows=0,
    )
    nodes = [plan]
    while nodes:
        node = nodes.pop()
        if "Sort" in node["Node Type"]:
            measurement.sorted_rows += node["Actual Rows"] * node["Actual Loops"]
        measurement.removed_rows += node.get("Rows Removed by Filter", 0)
        measurement.removed_rows += node.get("Rows Removed by Index Recheck", 0)
        if "Index Name" in node:
            measurement.indexes.append(node["Index Name"])
        nodes.extend(node.get("Plans", []))
    return measurement


@dataclass(frozen=True)
class Scenario:
    """A list query: all its rows in order (no limit), and its page after a given row."""

    name: str
    everything: Callable[[int], Select[Any]]  # table size -> the whole ordered result
    # (the row half way through or None, table size) -> the page after it
    page_after: Callable[[Any, int], Select[Any]]
    first_page: bool = False  # measure the first page instead of the middle one


def job_filters(name: str, size: int) -> JobFilters:
    """Filters named by the letters u(ser), p(rofile), h (plan hash), t(ime range).

    The time range is the middle half of the jobs stored, so it grows with the table.
    """
    start = EPOCH + timedelta(minutes=size // 4)
    return JobFilters(
        user_id="user-3" if "u" in name else "",
        profile="prod" if "p" in name else "",
        terraform_plan_hash="plan-4" if "h" in name else "",
        start_time=start if "t" in name else None,
        end_time=start + timedelta(minutes=size // 2) if "t" in name else None,
    )


def key_of(row: Any) -> JobKey | None:
    return JobKey(row.create_time, row.job_id, row.total_monthly_cost) if row else None


def jobs_scenario(letters: str, order: JobOrder, user: str = "") -> Scenario:
    def filters(size: int) -> JobFilters:
        chosen = job_filters(letters, size)
        return replace(chosen, user_id=user) if user else chosen

    return Scenario(
        name=f"ListJobs {user or letters or '-'} {order.value}" + (", first" if user else ""),
        everything=lambda size: (
            jobs_page_query(filters(size), None, 1, order=order)
            .limit(None)
            .with_only_columns(jobs.c.create_time, jobs.c.job_id, jobs.c.total_monthly_cost)
        ),
        page_after=lambda row, size: jobs_page_query(
            filters(size), key_of(row), PAGE + 1, order=order
        ),
        first_page=bool(user),
    )


def resources_scenario(service: str, region: str) -> Scenario:
    def query(row: Any, limit: int | None) -> Select[Any]:
        after = (row.monthly_cost, row.position) if row is not None else None
        return resources_page_query(BIG_JOB, service, region, after, limit)

    return Scenario(
        name=f"ListJobResources {service or '-'} {region or '-'}",
        everything=lambda size: query(None, None),
        page_after=lambda row, size: query(row, PAGE + 1),
    )


EQUALITY_FILTERS = ("", "u", "p", "h", "up", "uh", "ph", "uph")
SCENARIOS = [
    *(
        jobs_scenario(letters + time, order)
        for order in (JobOrder.NEWEST_FIRST, JobOrder.OLDEST_FIRST)
        for time in ("", "t")
        for letters in EQUALITY_FILTERS
    ),
    *(
        jobs_scenario(letters, order)
        for order in (JobOrder.MOST_EXPENSIVE_FIRST, JobOrder.LEAST_EXPENSIVE_FIRST)
        for letters in EQUALITY_FILTERS
    ),
    jobs_scenario("u", JobOrder.NEWEST_FIRST, user="user-stale"),
    jobs_scenario("u", JobOrder.OLDEST_FIRST, user="user-recent"),
    resources_scenario("", ""),
    resources_scenario("svc-7", ""),
    resources_scenario("", "region-7"),
    resources_scenario("svc-7", "region-7"),
    Scenario(
        "ListJobServices",
        lambda size: services_page_query(BIG_JOB, None, None),
        lambda row, size: services_page_query(
            BIG_JOB, (row.monthly_cost, row.service), SERVICE_PAGE
        ),
    ),
    Scenario(
        "ListJobRegions",
        lambda size: regions_page_query(BIG_JOB, None, None),
        lambda row, size: regions_page_query(BIG_JOB, (row.monthly_cost, row.region), REGION_PAGE),
    ),
]
SPLIT = "ListJobRegions split"  # the per-service split of one page of regions


# --- the measurements, once for the module ---------------------------------------------


def measure_all(
    connection: psycopg2.extensions.connection, engine: Engine, size: int
) -> dict[str, Measurement]:
    dialect = engine.dialect
    measured = {}
    with engine.connect() as sa_connection:
        for scenario in SCENARIOS:
            everything = scenario.everything(size)
            count = sa_connection.execute(
                select(func.count()).select_from(everything.subquery())
            ).scalar_one()
            middle = None
            if not scenario.first_page:
                middle = sa_connection.execute(everything.offset(count // 2).limit(1)).one()
            measured[scenario.name] = explain(
                connection, dialect, scenario.page_after(middle, size)
            )
        regions = sa_connection.execute(regions_page_query(BIG_JOB, None, REGION_PAGE)).all()
        measured[SPLIT] = explain(
            connection, dialect, region_services_query(BIG_JOB, [r.region for r in regions])
        )
    return measured


@pytest.fixture(scope="module")
def measured() -> Iterator[dict[int, dict[str, Measurement]]]:
    with fresh_database() as url:
        engine = create_engine(url)
        connection = connect(url)
        connection.autocommit = True
        try:
            fill(connection, 0, SMALL)
            small = measure_all(connection, engine, SMALL)
            fill(connection, SMALL, BIG)
            big = measure_all(connection, engine, BIG)
        finally:
            connection.close()
            engine.dispose()
    print_table(small, big)
    yield {SMALL: small, BIG: big}


def print_table(small: dict[str, Measurement], big: dict[str, Measurement]) -> None:
    print(f"\nbuffers of a middle page (or the first), {SMALL:,} vs {BIG:,} jobs")
    print(f"{'list and filters':<48} {'small':>6} {'big':>6}  rows  index (big)")
    for name, at_small in small.items():
        at_big = big[name]
        print(
            f"{name:<48} {at_small.buffers:>6} {at_big.buffers:>6} {at_big.rows:>5}  "
            f"{', '.join(at_big.indexes)}"
        )


# --- the assertions ---------------------------------------------------------------------


@pytest.mark.parametrize("name", [scenario.name for scenario in SCENARIOS])
def test_a_middle_page_costs_the_same_at_ten_times_the_jobs(
    measured: dict[int, dict[str, Measurement]], name: str
) -> None:
    small, big = measured[SMALL][name], measured[BIG][name]
    for at in (small, big):
        assert at.rows > 5, f"{name}: the middle page should be full, got {at.rows} rows"
        assert at.sorted_rows == 0, f"{name}: sorted {at.sorted_rows} rows; no index fits"
        assert at.removed_rows == 0, f"{name}: read and dropped {at.removed_rows} rows"
        assert at.buffers <= CEILING, f"{name}: {at.buffers} buffers for one page"
    assert big.buffers <= small.buffers + SLACK, (
        f"{name}: {small.buffers} buffers at {SMALL:,} jobs, {big.buffers} at {BIG:,}"
    )


def test_a_region_page_sorts_only_the_split_it_returns(
    measured: dict[int, dict[str, Measurement]],
) -> None:
    small, big = measured[SMALL][SPLIT], measured[BIG][SPLIT]
    for at in (small, big):
        assert at.sorted_rows == at.rows, at
        assert at.removed_rows == 0, at
    # One index descent per region: each may meet one more B-tree level.
    assert big.buffers <= small.buffers + SLACK + REGION_PAGE, (small, big)
