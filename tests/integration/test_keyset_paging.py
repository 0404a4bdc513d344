"""ListJobs pages come straight off an index, so their cost does not grow with the table.

A quick check of the plans on an empty table; test_page_cost.py measures them on a full
one.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, text

from ledger_server.domain.results_store.ports import JobFilters, JobKey, JobOrder
from ledger_server.storage.results_store.repository import jobs_page_query


@pytest.mark.parametrize(
    "filters",
    [
        JobFilters(),
        JobFilters(user_id="alice"),
        JobFilters(profile="prod"),
        JobFilters(terraform_plan_hash="abc"),
        JobFilters(user_id="alice", start_time=datetime(2026, 1, 1, tzinfo=UTC)),
    ],
    ids=["all", "user", "profile", "plan", "user-and-time"],
)
@pytest.mark.parametrize("order", list(JobOrder), ids=[order.name for order in JobOrder])
def test_list_jobs_page_is_an_index_scan_without_sort(
    database_url: str, filters: JobFilters, order: JobOrder
) -> None:
    cursor = JobKey(datetime(2026, 6, 1, tzinfo=UTC), uuid.uuid4(), Decimal("12.5"))
    query = jobs_page_query(filters, cursor, 51, order=order)
    engine = create_engine(database_url)
    sql = str(query.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
    with engine.connect() as connection:
        # Make the planner show what it would do on a big table: with sorting and
        # sequential scans priced out, a Sort left in the plan means no index fits.
        connection.execute(text("SET enable_seqscan = off"))
        connection.execute(text("SET enable_sort = off"))
        plan = "\n".join(row[0] for row in connection.execute(text(f"EXPLAIN {sql}")))
    engine.dispose()
    assert "Index" in plan, plan
    assert "Sort" not in plan, plan


def _bounds(query: object) -> tuple[bool, bool]:
    sql = str(query)
    return ("create_time >=" in sql, "create_time <" in sql and "create_time <=" not in sql)


@pytest.mark.parametrize("order", [JobOrder.NEWEST_FIRST, JobOrder.OLDEST_FIRST])
def test_a_time_bound_the_cursor_implies_is_left_to_the_cursor_and_a_forged_one_is_not(
    order: JobOrder,
) -> None:
    filters = JobFilters(
        user_id="u",
        start_time=datetime(2026, 1, 1, tzinfo=UTC),
        end_time=datetime(2026, 2, 1, tzinfo=UTC),
    )
    inside = JobKey(datetime(2026, 1, 15, tzinfo=UTC), uuid.uuid4())
    outside = JobKey(datetime(2027, 1, 1, tzinfo=UTC), uuid.uuid4())
    # The bound on the side the page starts from goes; the one it stops at stays.
    expected = (True, False) if order.descending else (False, True)
    assert _bounds(jobs_page_query(filters, inside, 10, order=order)) == expected
    # A cursor from outside the range (forged: this server never writes one) keeps both,
    # so no job outside the range is ever returned.
    assert _bounds(jobs_page_query(filters, outside, 10, order=order)) == (True, True)
    assert _bounds(jobs_page_query(filters, None, 10, order=order)) == (True, True)
