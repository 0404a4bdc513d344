"""ListJobs orders and GetCostTrend thresholds through the use cases: what a caller reads."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from ledger_server.domain.errors import InvalidArgument
from ledger_server.domain.money import WireMoney
from ledger_server.domain.results_store import job_order, trend
from ledger_server.domain.results_store.ports import JobFilters, JobOrder
from ledger_server.domain.results_store.use_cases import ResultsStore
from tests.support.memory_store import EPOCH, MemoryTransactions
from tests.support.results_store_commands import command


def _store(store: ResultsStore, *costs: int, plan: str = "plan-1") -> None:
    for cost in costs:
        store.store_estimate(command(("a", cost, "EC2", "r1"), plan=plan), None)


def _violation(error: pytest.ExceptionInfo[InvalidArgument]) -> tuple[str, str]:
    (only,) = error.value.violations
    return only.field, only.description


def test_list_jobs_follows_the_order_it_is_asked_for(store: ResultsStore) -> None:
    _store(store, 30, 10, 20)
    filters = JobFilters(user_id="alice")
    by_cost = store.list_jobs(filters, 0, "", order_by="total_monthly_cost desc").items
    assert [job.total_monthly_cost for job in by_cost] == [30, 20, 10]
    cheapest = store.list_jobs(filters, 0, "", order_by="total_monthly_cost asc").items
    assert [job.total_monthly_cost for job in cheapest] == [10, 20, 30]


def test_a_cost_order_with_a_time_range_is_refused_in_words(store: ResultsStore) -> None:
    filters = JobFilters(user_id="alice", start_time=EPOCH, end_time=EPOCH + timedelta(days=1))
    with pytest.raises(InvalidArgument) as refused:
        store.list_jobs(filters, 0, "", order_by="total_monthly_cost desc")
    assert _violation(refused) == (
        "order_by",
        "total_monthly_cost order cannot be combined with start_time or end_time; list a "
        "time range by create_time",
    )


def test_order_by_takes_spellings_up_to_64_characters_with_any_spacing() -> None:
    padded = "total_monthly_cost desc".ljust(job_order.MAX_ORDER_BY_LENGTH)
    assert job_order.parse_order_by(padded) is JobOrder.MOST_EXPENSIVE_FIRST
    with pytest.raises(InvalidArgument):
        job_order.parse_order_by(padded + " ")


def test_cost_trend_marks_the_points_over_each_threshold_it_is_given(
    db: MemoryTransactions, store: ResultsStore
) -> None:
    _store(store, 100, 110, 200, 150)
    plan = JobFilters(terraform_plan_hash="plan-1")
    by_percent = store.get_cost_trend(plan, 0, "", anomaly_percent="25").items
    assert [p.anomaly for p in by_percent] == [False, False, True, False]
    by_amount = store.get_cost_trend(plan, 0, "", anomaly_amount=WireMoney("", 45, 0)).items
    assert [p.anomaly for p in by_amount] == [False, False, True, True]  # +90, -50
    assert all(isinstance(p.job.create_time, datetime) for p in by_amount)


def test_threshold_refusals_say_what_is_accepted() -> None:
    with pytest.raises(InvalidArgument) as percent:
        trend.parse_thresholds("-5", None)
    assert _violation(percent) == (
        "anomaly_percent",
        "must be a non-negative percent in plain digits with at most 2 decimal places, like "
        '"25" or "12.5"',
    )
    with pytest.raises(InvalidArgument) as currency:
        trend.parse_thresholds("", WireMoney("usd", 1, 0))
    assert _violation(currency) == (
        "anomaly_amount.currency_code",
        'must be empty or an ISO 4217 code of three upper-case letters, like "USD"',
    )
    with pytest.raises(InvalidArgument) as negative:
        trend.parse_thresholds("", WireMoney("USD", -1, 0))
    assert _violation(negative)[0] == "anomaly_amount"
    assert trend.parse_thresholds("12.5", WireMoney("", 0, 5)).percent == Decimal("12.5")


def test_percentage_change_rounds_half_even_whatever_the_callers_context() -> None:
    from decimal import ROUND_DOWN, localcontext

    from ledger_server.domain.money import percentage_change

    with localcontext(rounding=ROUND_DOWN):
        assert percentage_change(Decimal(3), Decimal(1)) == Decimal("-66.67")
        assert percentage_change(Decimal(8), Decimal("8.0002")) == Decimal("0.00")
        assert percentage_change(Decimal(8), Decimal("8.0006")) == Decimal("0.01")
