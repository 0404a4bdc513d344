"""ListJobs pages come straight off an index, so their cost does not grow with the table."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, text

from ledger_server.domain.results_store.ports import JobFilters
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
@pytest.mark.parametrize("oldest_first", [False, True], ids=["newest", "oldest"])
def test_list_jobs_page_is_an_index_scan_without_sort(
    database_url: str, filters: JobFilters, oldest_first: bool
) -> None:
    cursor = (datetime(2026, 6, 1, tzinfo=UTC), uuid.uuid4())
    query = jobs_page_query(filters, cursor, 51, oldest_first=oldest_first)
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
