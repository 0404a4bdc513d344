"""GetCostTrend's points: percentage changes like CompareJobs, and anomaly thresholds."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ledger_server.domain.errors import InvalidArgument
from ledger_server.domain.money import WireMoney
from ledger_server.domain.results_store.estimates import Job
from ledger_server.domain.results_store.trend import (
    AnomalyThresholds,
    parse_thresholds,
    trend_points,
)

D = Decimal
JOB = Job(
    job_id=uuid.uuid4(),
    user_id="alice",
    terraform_plan_hash="",
    profile="",
    labels={},
    currency_code="USD",
    total_monthly_cost=D(0),
    total_hourly_cost=D(0),
    confidence_score=1.0,
    resource_count=0,
    schema_version=1,
    status="COMPLETED",
    create_time=datetime(2026, 1, 1, tzinfo=UTC),
)


def series(*totals: str, currency: str = "USD") -> list[Job]:
    return [replace(JOB, total_monthly_cost=D(t), currency_code=currency) for t in totals]


def marks(thresholds: AnomalyThresholds, *totals: str) -> list[bool]:
    return [point.anomaly for point in trend_points(series(*totals), None, thresholds)]


def test_get_cost_trend_percentage_change_follows_compare_jobs() -> None:
    points = trend_points(series("100", "120", "90", "90", "150"), None, AnomalyThresholds())
    assert [p.percentage_change for p in points] == [None, D(20), D(-25), D(0), D("66.67")]
    assert [p.change_from_previous for p in points] == [0, 20, -30, 0, 60]
    assert not any(p.anomaly for p in points)


def test_get_cost_trend_from_zero_has_no_percentage() -> None:
    points = trend_points(series("0", "5", "0", "0"), None, AnomalyThresholds())
    assert [p.percentage_change for p in points] == [None, None, D(-100), D(0)]


def test_get_cost_trend_percentage_of_the_largest_change_does_not_overflow() -> None:
    [point] = trend_points(series("10000000000000000"), D("0.000000001"), AnomalyThresholds())
    assert point.percentage_change == D("999999999999999999999999900.00")


@pytest.mark.parametrize(
    ("thresholds", "expected"),
    [
        (AnomalyThresholds(percent=D(20)), [False, False, True, False, True]),
        (AnomalyThresholds(percent=D("19.99")), [False, True, True, False, True]),
        (AnomalyThresholds(percent=D(0)), [False, True, True, False, True]),
        (AnomalyThresholds(amount=D(30)), [False, False, False, False, True]),
        (AnomalyThresholds(amount=D("29.999999999")), [False, False, True, False, True]),
        (AnomalyThresholds(percent=D(10), amount=D(50)), [False, False, False, False, True]),
        (AnomalyThresholds(percent=D(30), amount=D(10)), [False, False, False, False, True]),
    ],
)
def test_get_cost_trend_anomaly_exceeds_every_threshold_given_in_either_direction(
    thresholds: AnomalyThresholds, expected: list[bool]
) -> None:
    assert marks(thresholds, "100", "120", "90", "90", "150") == expected


def test_get_cost_trend_growth_from_zero_exceeds_any_percent() -> None:
    assert marks(AnomalyThresholds(percent=D("999999999999999.99")), "0", "5", "5") == [
        False,
        True,
        False,
    ]
    assert marks(AnomalyThresholds(percent=D(1), amount=D(10)), "0", "5") == [False, False]
    assert marks(AnomalyThresholds(percent=D(0)), "0", "0") == [False, False]


def test_get_cost_trend_first_point_is_judged_from_the_page_before() -> None:
    points = trend_points(series("150"), D(100), AnomalyThresholds(percent=D(25)))
    assert (points[0].change_from_previous, points[0].percentage_change) == (50, 50)
    assert points[0].anomaly


def test_get_cost_trend_amount_in_another_currency_marks_nothing() -> None:
    euros = AnomalyThresholds(amount=D(1), amount_currency="EUR")
    assert [p.anomaly for p in trend_points(series("1", "100"), None, euros)] == [False, False]
    eur_series = trend_points(series("1", "100", currency="EUR"), None, euros)
    assert [p.anomaly for p in eur_series] == [False, True]


@pytest.mark.parametrize(
    ("percent", "value"),
    [("", None), ("25", D(25)), ("12.5", D("12.5")), ("0", D(0)), ("0.01", D("0.01"))],
)
def test_get_cost_trend_percent_threshold_spellings(percent: str, value: Decimal | None) -> None:
    assert parse_thresholds(percent, None) == AnomalyThresholds(percent=value)


@pytest.mark.parametrize(
    "percent",
    [
        "-5",
        "+5",
        "1e3",
        "NaN",
        "Infinity",
        "5.",
        ".5",
        "5.123",
        " 5",
        "5%",
        "\uff11\uff12",  # full-width digits, which Decimal() would take
        "9" * 16,
        "\x00",
    ],
)
def test_get_cost_trend_percent_threshold_anything_else_is_invalid(percent: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        parse_thresholds(percent, None)
    assert [v.field for v in refused.value.violations] == ["anomaly_percent"]


def test_get_cost_trend_amount_threshold() -> None:
    assert parse_thresholds("", WireMoney("", 12, 500_000_000)) == AnomalyThresholds(
        amount=D("12.5")
    )
    assert parse_thresholds("1", WireMoney("EUR", 0, 0)) == AnomalyThresholds(
        percent=D(1), amount=D(0), amount_currency="EUR"
    )


@pytest.mark.parametrize(
    ("amount", "field"),
    [
        (WireMoney("", -1, 0), "anomaly_amount"),
        (WireMoney("", 0, -1), "anomaly_amount"),
        (WireMoney("", 1, -1), "anomaly_amount.nanos"),
        (WireMoney("", 0, 1_000_000_000), "anomaly_amount.nanos"),
        (WireMoney("", 10**12 + 1, 0), "anomaly_amount"),
        (WireMoney("", 2**63 - 1, 999_999_999), "anomaly_amount"),
        (WireMoney("usd", 1, 0), "anomaly_amount.currency_code"),
        (WireMoney("\x00SD", 1, 0), "anomaly_amount.currency_code"),
    ],
)
def test_get_cost_trend_amount_threshold_out_of_range_is_invalid(
    amount: WireMoney, field: str
) -> None:
    with pytest.raises(InvalidArgument) as refused:
        parse_thresholds("", amount)
    assert [v.field for v in refused.value.violations] == [field]
