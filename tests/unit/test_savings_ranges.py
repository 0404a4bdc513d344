"""Ranges of reporting days, and the 24/7 projection over them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from ledger_server.domain.errors import InvalidArgument
from ledger_server.domain.savings.projection import projected_cents
from ledger_server.domain.savings.ranges import DayRange, RangeRequest, resolve
from ledger_server.domain.savings.records import RateRevision

UTC_ZONE = ZoneInfo("UTC")
NOW = datetime(2026, 3, 10, 23, 30, tzinfo=UTC)


def test_resolve_presets_end_today_in_the_reporting_time_zone() -> None:
    assert resolve(RangeRequest(preset=1), NOW, UTC_ZONE) == DayRange(
        date(2026, 3, 4), date(2026, 3, 10)
    )
    tokyo = ZoneInfo("Asia/Tokyo")  # already the 11th there
    assert resolve(RangeRequest(preset=3), NOW, tokyo) == DayRange(
        date(2026, 3, 11) - timedelta(days=89), date(2026, 3, 11)
    )


def test_resolve_empty_means_the_last_30_days() -> None:
    days = resolve(RangeRequest(), NOW, UTC_ZONE)
    assert (days.first, days.last, days.days) == (date(2026, 2, 9), date(2026, 3, 10), 30)


def test_resolve_custom_dates_both_ends_included() -> None:
    days = resolve(RangeRequest(0, "2026-02-27", "2026-03-01"), NOW, UTC_ZONE)
    assert days.each_day() == [date(2026, 2, 27), date(2026, 2, 28), date(2026, 3, 1)]
    assert days.previous() == DayRange(date(2026, 2, 24), date(2026, 2, 26))


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (RangeRequest(9), "range.preset"),
        (RangeRequest(1, "2026-03-01", "2026-03-02"), "range.start_date"),
        (RangeRequest(0, "2026-03-01", ""), "range.end_date"),
        (RangeRequest(0, "2026-02-30", "2026-03-01"), "range.start_date"),
        (RangeRequest(0, "1999-12-31", "2000-01-01"), "range.start_date"),
        (RangeRequest(0, "2026-03-02", "2026-03-01"), "range.end_date"),
        (RangeRequest(0, "2020-01-01", "2022-01-03"), "range.end_date"),
        (RangeRequest(0, "2026-3-1", "2026-03-02"), "range.start_date"),
    ],
)
def test_resolve_refuses_ranges_that_mean_no_days(request_: RangeRequest, field: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        resolve(request_, NOW, UTC_ZONE)
    assert refused.value.violations[0].field == field


def test_resolve_accepts_two_years_and_a_day() -> None:
    assert resolve(RangeRequest(0, "2020-01-01", "2022-01-02"), NOW, UTC_ZONE).days == 733


def revision(
    instance: str, number: int, rate: int, effective: datetime, schedule: str = ""
) -> RateRevision:
    return RateRevision(instance, number, effective, rate, schedule)


def test_projected_cents_each_revision_over_its_time_in_force() -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    revisions = [
        revision("a", 1, 100, start - timedelta(days=5)),
        revision("a", 2, 300, start + timedelta(hours=12)),  # the rate triples at noon
        revision("b", 1, 10, start + timedelta(hours=18), schedule="nights"),  # born at 18:00
    ]
    end = start + timedelta(days=1)
    assert projected_cents(revisions, start, end, None) == 12 * 100 + 12 * 300 + 6 * 10
    assert projected_cents(revisions, start, end, "nights") == 6 * 10
    assert projected_cents(revisions, end, start, None) == 0


def test_projected_cents_rounds_once_half_to_even() -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    half_hour = [revision("a", 1, 1, start), revision("b", 1, 1, start)]
    # Two half hours at 1 c/h: 0.5 + 0.5 = 1 cent, not 0 + 0 (rounded once, over the sum).
    assert projected_cents(half_hour, start, start + timedelta(minutes=30), None) == 1
    assert projected_cents(half_hour[:1], start, start + timedelta(minutes=30), None) == 0
    assert projected_cents(half_hour[:1], start, start + timedelta(minutes=90), None) == 2


def test_resolve_says_what_is_wrong() -> None:
    cases = [
        (RangeRequest(9), ("range.preset", "must be a known preset, got 9")),
        (RangeRequest(1, "2026-03-01", ""), ("range.start_date", "must be empty with a preset")),
        (RangeRequest(0, "2026-3-1", "2026-03-01"),
         ("range.start_date", "must be a date like 2026-03-31")),
        (RangeRequest(0, "2026-02-30", "2026-03-01"),
         ("range.start_date", "must be a date like 2026-03-31")),
        (RangeRequest(0, "2026-03-01", "2101-01-01"),
         ("range.end_date", "must be from 2000-01-01 to 2100-12-31")),
        (RangeRequest(0, "2026-03-02", "2026-03-01"),
         ("range.end_date", "must not be before start_date")),
        (RangeRequest(0, "2020-01-01", "2022-01-03"),
         ("range.end_date", "must be at most 732 days after start_date")),
    ]  # fmt: skip
    for request_, expected in cases:
        with pytest.raises(InvalidArgument) as refused:
            resolve(request_, NOW, UTC_ZONE)
        [violation] = refused.value.violations
        assert (violation.field, violation.description) == expected


def test_resolve_accepts_the_first_and_last_days() -> None:
    days = resolve(RangeRequest(0, "2000-01-01", "2000-01-01"), NOW, UTC_ZONE)
    assert days.first == date(2000, 1, 1)
    assert resolve(RangeRequest(0, "2100-12-31", "2100-12-31"), NOW, UTC_ZONE).days == 1


def test_resolve_empty_range_ends_today_in_the_reporting_time_zone() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")  # already the 11th there
    assert resolve(RangeRequest(), NOW, tokyo).last == date(2026, 3, 11)


def test_projected_cents_only_the_schedules_revisions_in_any_order() -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    revisions = [
        revision("a", 2, 200, start + timedelta(hours=12), schedule="nights"),
        revision("a", 1, 100, start - timedelta(days=1)),  # not on the schedule, first
    ]
    assert projected_cents(revisions, start, start + timedelta(days=1), "nights") == 12 * 200
