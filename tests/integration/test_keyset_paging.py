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
