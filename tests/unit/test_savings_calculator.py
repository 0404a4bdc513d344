"""The savings calculator on hand-made timelines: what a platform team would check by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from ledger_server.domain.savings import calculator
from ledger_server.domain.savings.reconcile import current_entries, reconcile
from ledger_server.domain.savings.records import (
    EntryKind,
    EventKind,
    InstanceEvent,
    PeriodDay,
    Revision,
    StopPeriod,
    StoredEntry,
)

UTC_ZONE = ZoneInfo("UTC")
T0 = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)  # a Monday evening
WEEK = timedelta(days=7)


def event(event_id: str, kind: EventKind, at: datetime, schedule_id: str = "") -> InstanceEvent:
    return InstanceEvent(event_id, "db-1", kind, at, "scheduler", schedule_id)


def revision(number: int, rate: int, effective: datetime, schedule_id: str = "") -> Revision:
    return Revision(
        "db-1", number, "db", "aws", "postgres", "us-east-1", "db.r6g.large",
        rate, schedule_id, {}, effective, effective,
    )  # fmt: skip


RATE_100 = [revision(1, 100, T0 - timedelta(days=30))]


def savings(
    events: list[InstanceEvent],
    revisions: list[Revision] = RATE_100,
    cap: timedelta | None = WEEK,
    zone: ZoneInfo = UTC_ZONE,
) -> list[PeriodDay]:
    return calculator.period_days(calculator.stop_periods(events, cap), revisions, zone)


def by_day(days: list[PeriodDay]) -> dict[date, tuple[int, int]]:
    totals: dict[date, tuple[int, int]] = {}
    for d in days:
        cents, micros = totals.get(d.day, (0, 0))
        totals[d.day] = (cents + d.savings_cents, micros + d.stopped_micros)
    return totals


def hours(n: float) -> int:
    return int(n * 3_600_000_000)


def test_stop_periods_clean_stop_and_start() -> None:
    events = [
        event("a", EventKind.STOPPED, T0.replace(hour=9)),
        event("b", EventKind.STARTED, T0.replace(hour=17)),
    ]
    [day] = savings(events)
    assert (day.day, day.stopped_micros, day.savings_cents, day.capped) == (
        T0.date(), hours(8), 800, False,
    )  # fmt: skip


def test_stop_periods_duplicates_count_once() -> None:
    stop = event("a", EventKind.STOPPED, T0.replace(hour=9))
    start = event("b", EventKind.STARTED, T0.replace(hour=17))
    assert savings([stop, stop, start, start, stop]) == savings([stop, start])


def test_stop_periods_start_arriving_before_stop_is_ordered_by_occur_time() -> None:
    stop = event("a", EventKind.STOPPED, T0.replace(hour=9))
    start = event("b", EventKind.STARTED, T0.replace(hour=17))
    assert savings([start, stop]) == savings([stop, start])
    assert sum(d.savings_cents for d in savings([start, stop])) == 800


def test_stop_periods_consecutive_stop_evidence_is_one_period() -> None:
    events = [
        event("a", EventKind.STOP_REQUESTED, T0.replace(hour=8)),
        event("b", EventKind.OBSERVED_STOPPED, T0.replace(hour=9)),
        event("c", EventKind.STOPPED, T0.replace(hour=10)),
        event("d", EventKind.OBSERVED_STOPPED, T0.replace(hour=12)),
        event("e", EventKind.START_REQUESTED, T0.replace(hour=16)),
        event("f", EventKind.OBSERVED_RUNNING, T0.replace(hour=17)),
    ]
    [period] = calculator.stop_periods(events, WEEK)
    assert (period.start, period.end) == (T0.replace(hour=9), T0.replace(hour=17))


def test_stop_periods_stop_without_start_is_ongoing_not_finalized() -> None:
    periods = calculator.stop_periods([event("a", EventKind.STOPPED, T0)], WEEK)
    assert [(p.start, p.end, p.cap_time) for p in periods] == [(T0, None, T0 + WEEK)]
    assert savings([event("a", EventKind.STOPPED, T0)]) == []
    micros, cents = calculator.ongoing_cents(
        T0, T0 + WEEK, 100, T0 + timedelta(hours=3), (T0 - WEEK, T0 + WEEK)
    )
    assert (micros, cents) == (hours(3), 300)


def test_ongoing_cents_stop_accruing_at_the_cap() -> None:
    now = T0 + timedelta(days=9)
    micros, cents = calculator.ongoing_cents(T0, T0 + WEEK, 100, now, (T0, now))
    assert (micros, cents) == (hours(7 * 24), 7 * 24 * 100)


def test_stop_periods_nine_days_stopped_count_seven() -> None:
    events = [
        event("a", EventKind.STOPPED, T0),
        event("b", EventKind.STARTED, T0 + timedelta(days=9)),
    ]
    days = savings(events)
    assert sum(d.stopped_micros for d in days) == hours(7 * 24)
    assert sum(d.savings_cents for d in days) == 7 * 24 * 100
    assert all(d.capped for d in days)
    assert max(d.period_end for d in days) == T0 + WEEK


def test_stop_periods_count_again_after_an_observed_restart_and_re_stop() -> None:
    events = [
        event("a", EventKind.STOPPED, T0),
        event("b", EventKind.OBSERVED_RUNNING, T0 + timedelta(days=7, hours=1)),
        event("c", EventKind.STOPPED, T0 + timedelta(days=7, hours=2)),
        event("d", EventKind.STARTED, T0 + timedelta(days=9)),
    ]
    periods = calculator.stop_periods(events, WEEK)
    assert [(p.start, p.end, p.capped) for p in periods] == [
        (T0, T0 + WEEK, True),
        (T0 + timedelta(days=7, hours=2), T0 + timedelta(days=9), False),
    ]
    total = sum(d.stopped_micros for d in savings(events))
    assert total == hours(7 * 24) + hours(46)


def test_stop_periods_new_stop_after_the_cap_starts_counting_without_a_seen_start() -> None:
    events = [
        event("a", EventKind.STOPPED, T0),
        event("b", EventKind.OBSERVED_STOPPED, T0 + timedelta(days=8)),
        event("c", EventKind.STARTED, T0 + timedelta(days=9)),
    ]
    periods = calculator.stop_periods(events, WEEK)
    assert [(p.start, p.end, p.capped) for p in periods] == [
        (T0, T0 + WEEK, True),
        (T0 + timedelta(days=8), T0 + timedelta(days=9), False),
    ]


def test_stop_periods_without_a_cap_count_every_day() -> None:
    events = [
        event("a", EventKind.STOPPED, T0),
        event("b", EventKind.STARTED, T0 + timedelta(days=9)),
    ]
    assert sum(d.stopped_micros for d in savings(events, cap=None)) == hours(9 * 24)


def test_period_days_split_at_midnight() -> None:
    events = [
        event("a", EventKind.STOPPED, T0),  # 20:00
        event("b", EventKind.STARTED, T0 + timedelta(hours=12)),  # 08:00 next day
    ]
    assert by_day(savings(events)) == {
        date(2026, 3, 2): (400, hours(4)),
        date(2026, 3, 3): (800, hours(8)),
    }


def test_period_days_split_over_a_month_end() -> None:
    start = datetime(2026, 3, 31, 22, 0, tzinfo=UTC)
    events = [
        event("a", EventKind.STOPPED, start),
        event("b", EventKind.STARTED, start + timedelta(hours=3)),
    ]
    assert by_day(savings(events)) == {
        date(2026, 3, 31): (200, hours(2)),
        date(2026, 4, 1): (100, hours(1)),
    }


def test_period_days_split_at_midnight_in_a_reporting_time_zone() -> None:
    berlin = ZoneInfo("Europe/Berlin")  # UTC+1 in March before the 29th
    events = [
        event("a", EventKind.STOPPED, datetime(2026, 3, 2, 20, 0, tzinfo=UTC)),  # 21:00 local
        event("b", EventKind.STARTED, datetime(2026, 3, 3, 2, 0, tzinfo=UTC)),  # 03:00 local
    ]
    assert by_day(savings(events, zone=berlin)) == {
        date(2026, 3, 2): (300, hours(3)),
        date(2026, 3, 3): (300, hours(3)),
    }


def test_period_days_over_a_short_daylight_saving_day() -> None:
    berlin = ZoneInfo("Europe/Berlin")  # 2026-03-29 has 23 hours
    events = [
        event("a", EventKind.STOPPED, datetime(2026, 3, 28, 23, 0, tzinfo=UTC)),  # 00:00 local
        event("b", EventKind.STARTED, datetime(2026, 3, 29, 22, 0, tzinfo=UTC)),  # 00:00 local
    ]
    assert by_day(savings(events, zone=berlin)) == {date(2026, 3, 29): (2300, hours(23))}


def test_period_days_priced_at_the_rate_in_force_when_the_stop_began() -> None:
    revisions = [
        revision(1, 100, T0 - timedelta(days=30)),
        revision(2, 300, T0.replace(hour=12)),  # the rate rises at noon
    ]
    events = [
        event("a", EventKind.STOPPED, T0.replace(hour=9)),
        event("b", EventKind.STARTED, T0.replace(hour=13)),  # began before noon: old rate
        event("c", EventKind.STOPPED, T0.replace(hour=14)),
        event("d", EventKind.STARTED, T0.replace(hour=16)),  # began after: new rate
    ]
    days = savings(events, revisions)
    assert [(d.hourly_cost_cents, d.savings_cents) for d in days] == [(100, 400), (300, 600)]


def test_period_days_before_the_first_revision_use_its_rate() -> None:
    revisions = [revision(1, 50, T0 + timedelta(days=1))]
    events = [
        event("a", EventKind.STOPPED, T0.replace(hour=9)),
        event("b", EventKind.STARTED, T0.replace(hour=11)),
    ]
    assert [d.savings_cents for d in savings(events, revisions)] == [100]


def test_period_days_attributed_to_the_stopping_events_schedule_else_the_instances() -> None:
    revisions = [revision(1, 100, T0 - timedelta(days=30), schedule_id="nights")]
    events = [
        event("a", EventKind.STOPPED, T0.replace(hour=1), schedule_id="weekend"),
        event("b", EventKind.STARTED, T0.replace(hour=2)),
        event("c", EventKind.STOPPED, T0.replace(hour=3)),
        event("d", EventKind.STARTED, T0.replace(hour=4)),
    ]
    assert [d.schedule_id for d in savings(events, revisions)] == ["weekend", "nights"]


def test_cents_for_rounds_half_to_even_once_per_period_day() -> None:
    assert calculator.cents_for(hours(0.5), 1) == 0  # 0.5 -> 0
    assert calculator.cents_for(hours(1.5), 1) == 2  # 1.5 -> 2
    assert calculator.cents_for(hours(2.5), 1) == 2  # 2.5 -> 2
    assert calculator.cents_for(hours(0.5) + 1, 1) == 1  # just over half -> up
    assert calculator.cents_for(60_000_000, 7) == 0  # a minute at 7 c/h is 0.1166... c


def test_reconcile_a_late_event_appends_a_reversal_and_a_replacement() -> None:
    stop = event("a", EventKind.STOPPED, T0.replace(hour=9))
    start = event("b", EventKind.STARTED, T0.replace(hour=17))
    first = savings([stop, start])
    stored = [
        StoredEntry(1, EntryKind.ORIGINAL, first[0], "event:a", None, T0),
    ]
    # A late OBSERVED_RUNNING at 12:00 shows the instance ran from noon.
    late = event("c", EventKind.OBSERVED_RUNNING, T0.replace(hour=12))
    appended = reconcile(current_entries(stored), savings([stop, start, late]), "event:c")
    assert [(e.kind, e.values.savings_cents, e.corrects_entry_id) for e in appended] == [
        (EntryKind.REVERSAL, -800, 1),
        (EntryKind.REPLACEMENT, 300, 1),
    ]
    # Nothing is rewritten, and the ledger's sum is now what the events show.
    assert sum(e.values.savings_cents for e in appended) + 800 == 300


def test_reconcile_nothing_changed_appends_nothing() -> None:
    days = savings(
        [
            event("a", EventKind.STOPPED, T0.replace(hour=9)),
            event("b", EventKind.STARTED, T0.replace(hour=17)),
        ]
    )
    stored = [StoredEntry(1, EntryKind.ORIGINAL, days[0], "event:a", None, T0)]
    assert reconcile(current_entries(stored), days, "event:x") == []


def test_stop_periods_a_start_and_a_stop_at_one_instant_leave_it_stopped() -> None:
    noon = T0.replace(hour=12)
    for middle in (
        [event("b", EventKind.STARTED, noon), event("c", EventKind.STOPPED, noon)],
        [event("c", EventKind.STOPPED, noon), event("b", EventKind.STARTED, noon)],
    ):
        events = [
            event("a", EventKind.STOPPED, T0.replace(hour=9)),
            *middle,
            event("d", EventKind.STARTED, T0.replace(hour=14)),
        ]
        periods = calculator.stop_periods(events, WEEK)
        assert [(p.start.hour, p.end.hour if p.end else None) for p in periods] == [
            (9, 12),
            (12, 14),
        ]


def test_stop_periods_requests_at_the_same_instant_change_nothing() -> None:
    noon = T0.replace(hour=12)
    events = [
        event("a", EventKind.STOP_REQUESTED, noon),
        event("b", EventKind.STOPPED, noon),
        event("c", EventKind.START_REQUESTED, noon),
        event("d", EventKind.STARTED, noon + timedelta(hours=1)),
    ]
    assert calculator.stop_periods(events, WEEK) == [
        StopPeriod(noon, noon + timedelta(hours=1), False, "", noon + WEEK)
    ]


def test_stop_periods_an_event_id_counts_once_whatever_it_says_later() -> None:
    events = [
        event("a", EventKind.STOPPED, T0.replace(hour=9)),
        event("a", EventKind.STARTED, T0.replace(hour=10)),  # the same id again: ignored
        event("b", EventKind.STARTED, T0.replace(hour=12)),
    ]
    [period] = calculator.stop_periods(events, WEEK)
    assert (period.start.hour, period.end) == (9, T0.replace(hour=12))


def test_stop_periods_capped_period_values() -> None:
    events = [
        event("a", EventKind.STOPPED, T0, schedule_id="nights"),
        event("b", EventKind.STARTED, T0 + timedelta(days=9)),
    ]
    assert calculator.stop_periods(events, WEEK) == [
        StopPeriod(T0, T0 + WEEK, True, "nights", T0 + WEEK)
    ]


def test_micros_between_counts_every_microsecond() -> None:
    start = T0
    assert calculator.micros_between(start, start + timedelta(hours=1, microseconds=7)) == (
        hours(1) + 7
    )
    assert calculator.micros_between(start, start + timedelta(days=2, seconds=3)) == (
        hours(48) + 3_000_000
    )


def test_cents_for_rounds_half_to_even_on_odd_and_even_quotients() -> None:
    assert [calculator.cents_for(hours(n + 0.5), 1) for n in range(6)] == [0, 2, 2, 4, 4, 6]


def test_ongoing_cents_within_the_window_only() -> None:
    window = (T0, T0 + timedelta(days=1))
    later = T0 + timedelta(days=3)
    # No cap: up to the window's end, not to now.
    assert calculator.ongoing_cents(T0, None, 100, later, window) == (hours(24), 2400)
    # A cap after the window's end: the window's end still bounds it.
    assert calculator.ongoing_cents(T0, T0 + WEEK, 100, later, window) == (hours(24), 2400)
    # Stopped after the window ended, or capped before it began: nothing.
    assert calculator.ongoing_cents(later, None, 100, later + WEEK, window) == (0, 0)
    assert calculator.ongoing_cents(T0 - WEEK, T0, 100, later, window) == (0, 0)
    # Begun before the window: counted from its start.
    assert calculator.ongoing_cents(
        T0 - timedelta(hours=5), None, 100, T0 + timedelta(hours=2), window
    ) == (hours(2), 200)


def test_revision_at_the_instant_a_revision_takes_effect() -> None:
    first = revision(1, 100, T0)
    second = revision(2, 200, T0 + timedelta(hours=1))
    assert calculator.revision_at([first, second], T0 + timedelta(hours=1)) is second
    assert calculator.revision_at([second, first], T0 - timedelta(hours=1)) is first
    tie = revision(3, 300, T0 + timedelta(hours=1))
    assert calculator.revision_at([tie, second, first], T0 + timedelta(hours=2)) is tie
