"""ListJobs' `order_by` (AIP-132) and the page token each order writes and reads.

An order is offered only where an index serves it as a range scan: by create_time with
any filters, by total_monthly_cost with any of the user, profile and plan filters but not
with a time range (inside a cost order a time range can only be a filter that skips
rows, so a page's cost would grow with the jobs outside the range).
"""

from __future__ import annotations

from typing import Any

from ledger_server.domain import cursors
from ledger_server.domain.errors import FieldViolation, InvalidArgument
from ledger_server.domain.paging import CursorSpec
from ledger_server.domain.results_store.estimates import Job
from ledger_server.domain.results_store.ports import JobFilters, JobKey, JobOrder

# One cursor per key shape: (create_time, job_id) for the time orders, the cost before
# them for the cost orders. The order is part of the token's scope besides (see `scope`).
LIST_JOBS = CursorSpec("ListJobs", cursors.utc_time, cursors.uuid_id)
LIST_JOBS_BY_COST = CursorSpec("ListJobs", cursors.amount, cursors.utc_time, cursors.uuid_id)

MAX_ORDER_BY_LENGTH = 64
_SPELLINGS: dict[tuple[str, ...], JobOrder] = {
    ("create_time", "desc"): JobOrder.NEWEST_FIRST,
    ("create_time",): JobOrder.OLDEST_FIRST,
    ("create_time", "asc"): JobOrder.OLDEST_FIRST,
    ("total_monthly_cost", "desc"): JobOrder.MOST_EXPENSIVE_FIRST,
    ("total_monthly_cost",): JobOrder.LEAST_EXPENSIVE_FIRST,
    ("total_monthly_cost", "asc"): JobOrder.LEAST_EXPENSIVE_FIRST,
}
_ORDER_BY_HELP = (
    'must be "create_time desc" (the default), "create_time asc", '
    '"total_monthly_cost desc" or "total_monthly_cost asc"'
)


def parse_order_by(text: str) -> JobOrder:
    """The order `text` names; empty means newest first. Extra spaces do not matter."""
    if not text.strip():
        return JobOrder.NEWEST_FIRST
    words = tuple(text.split()) if len(text) <= MAX_ORDER_BY_LENGTH else ()
    order = _SPELLINGS.get(words)
    if order is None:
        # The text itself is not echoed: it may be anything, of any length.
        raise InvalidArgument([FieldViolation("order_by", _ORDER_BY_HELP)])
    return order


def check_order(order: JobOrder, filters: JobFilters) -> None:
    if order.by_cost and (filters.start_time or filters.end_time):
        raise InvalidArgument(
            [
                FieldViolation(
                    "order_by",
                    "total_monthly_cost order cannot be combined with start_time or "
                    "end_time; list a time range by create_time",
                )
            ]
        )


def filter_scope(filters: JobFilters) -> tuple[str, ...]:
    return (
        filters.user_id,
        filters.profile,
        filters.terraform_plan_hash,
        filters.start_time.isoformat() if filters.start_time else "",
        filters.end_time.isoformat() if filters.end_time else "",
    )


def scope(filters: JobFilters, order: JobOrder) -> tuple[str, ...]:
    """What a ListJobs token is bound to: the filters and the order.

    The default order adds nothing, so tokens written before `order_by` existed still
    resume; every other order adds its name, so no token crosses orders.
    """
    if order is JobOrder.NEWEST_FIRST:
        return filter_scope(filters)
    return (*filter_scope(filters), order.value)


def cursor_spec(order: JobOrder) -> CursorSpec:
    return LIST_JOBS_BY_COST if order.by_cost else LIST_JOBS


def key_of(order: JobOrder, cursor: tuple[Any, ...]) -> JobKey:
    """The decoded cursor of `cursor_spec(order)` as the key a page resumes after."""
    if order.by_cost:
        return JobKey(create_time=cursor[1], job_id=cursor[2], total_monthly_cost=cursor[0])
    return JobKey(create_time=cursor[0], job_id=cursor[1])


def cursor_of(order: JobOrder, job: Job) -> tuple[object, ...]:
    """The cursor values of `cursor_spec(order)` that resume after `job`."""
    if order.by_cost:
        return (job.total_monthly_cost, job.create_time, job.job_id)
    return (job.create_time, job.job_id)
