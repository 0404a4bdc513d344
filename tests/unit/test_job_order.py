"""ListJobs' order_by (AIP-132): the spellings offered, and the page tokens of each order."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ledger_server.domain.errors import InvalidArgument
from ledger_server.domain.results_store import job_order
from ledger_server.domain.results_store.ports import JobFilters, JobKey, JobOrder

MOMENT = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "order"),
    [
        ("", JobOrder.NEWEST_FIRST),
        ("   ", JobOrder.NEWEST_FIRST),
        ("create_time desc", JobOrder.NEWEST_FIRST),
        ("  create_time \t desc ", JobOrder.NEWEST_FIRST),
        ("create_time", JobOrder.OLDEST_FIRST),
        ("create_time asc", JobOrder.OLDEST_FIRST),
        ("total_monthly_cost desc", JobOrder.MOST_EXPENSIVE_FIRST),
        ("total_monthly_cost", JobOrder.LEAST_EXPENSIVE_FIRST),
        ("total_monthly_cost asc", JobOrder.LEAST_EXPENSIVE_FIRST),
    ],
)
def test_list_jobs_order_by_spellings(text: str, order: JobOrder) -> None:
    assert job_order.parse_order_by(text) is order


@pytest.mark.parametrize(
    "text",
    [
        "create_time DESC",
        "CREATE_TIME desc",
        "create_time desc, job_id",
        "create_time,desc",
        "total_monthly_cost desc desc",
        "desc",
        "job_id",
        "labels.team",
        "total_monthly_cost\x00 desc",
        " " * 60 + "create_time desc",  # over 64 characters, however it reads
        "x" * 100_000,
    ],
)
def test_list_jobs_order_by_anything_else_is_invalid_without_echoing_it(text: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        job_order.parse_order_by(text)
    [violation] = refused.value.violations
    assert violation.field == "order_by"
    assert '"total_monthly_cost desc"' in violation.description
    assert "xxx" not in violation.description and "\x00" not in violation.description


@pytest.mark.parametrize(
    "filters",
    [JobFilters(start_time=MOMENT), JobFilters(user_id="alice", end_time=MOMENT)],
)
def test_list_jobs_cost_order_refuses_a_time_range(filters: JobFilters) -> None:
    for order in (JobOrder.MOST_EXPENSIVE_FIRST, JobOrder.LEAST_EXPENSIVE_FIRST):
        with pytest.raises(InvalidArgument) as refused:
            job_order.check_order(order, filters)
        assert refused.value.violations[0].field == "order_by"
    job_order.check_order(JobOrder.OLDEST_FIRST, filters)
    job_order.check_order(JobOrder.MOST_EXPENSIVE_FIRST, JobFilters("a", "b", "c"))


def test_list_jobs_tokens_of_the_default_order_keep_their_scope() -> None:
    """Tokens written before order_by existed resume; no token crosses orders."""
    filters = JobFilters(user_id="alice")
    assert job_order.scope(filters, JobOrder.NEWEST_FIRST) == job_order.filter_scope(filters)
    scopes = {job_order.scope(filters, order) for order in JobOrder}
    assert len(scopes) == len(JobOrder)


def test_list_jobs_token_of_one_order_is_refused_by_another() -> None:
    filters = JobFilters(profile="prod")
    key = (Decimal("12.5"), MOMENT, uuid.uuid4())
    cheap_first = job_order.LIST_JOBS_BY_COST.encode(
        job_order.scope(filters, JobOrder.LEAST_EXPENSIVE_FIRST), key
    )
    dear_first = job_order.scope(filters, JobOrder.MOST_EXPENSIVE_FIRST)
    with pytest.raises(InvalidArgument):
        job_order.LIST_JOBS_BY_COST.decode(cheap_first, dear_first)
    newest = job_order.LIST_JOBS.encode(job_order.filter_scope(filters), key[1:])
    for order in (JobOrder.OLDEST_FIRST, JobOrder.MOST_EXPENSIVE_FIRST):
        with pytest.raises(InvalidArgument):
            job_order.cursor_spec(order).decode(newest, job_order.scope(filters, order))


def test_list_jobs_cursor_round_trips_to_the_key_of_its_order() -> None:
    job_id = uuid.uuid4()
    for order in JobOrder:
        spec = job_order.cursor_spec(order)
        values = (Decimal("7.25"), MOMENT, job_id) if order.by_cost else (MOMENT, job_id)
        cursor = spec.decode(spec.encode(("s",), values), ("s",))
        assert cursor is not None
        expected_cost = Decimal("7.25") if order.by_cost else None
        assert job_order.key_of(order, cursor) == JobKey(MOMENT, job_id, expected_cost)
