"""What savings writes accept, and how the ledger's totals follow its entries."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from ledger_server.domain.errors import InvalidArgument
from ledger_server.domain.savings.commands import (
    EventInput,
    RecordInstanceCommand,
    check_events,
    check_revision,
)
from ledger_server.domain.savings.reconcile import day_deltas, schedule_scope
from ledger_server.domain.savings.records import (
    DayDelta,
    EntryKind,
    EventKind,
    NewEntry,
    PeriodDay,
)
from ledger_server.domain.savings.reports import minutes, share_percent

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)


def fields(error: pytest.ExceptionInfo[InvalidArgument]) -> list[str]:
    return [v.field for v in error.value.violations]


def test_check_revision_defaults_to_now_and_usd() -> None:
    revision = check_revision(RecordInstanceCommand("db-1", "aws", 48), NOW)
    assert (revision.effective_time, revision.currency_code) == (NOW, "USD")


def test_check_revision_names_every_bad_field() -> None:
    command = RecordInstanceCommand(
        instance_id="",
        provider="AWS",
        hourly_cost_cents=-1,
        name="x" * 257,
        engine="Postgres",
        region="r\x00",
        instance_type="t" * 65,
        currency_code="EUR",
        schedule_id="s" * 129,
        labels={"Bad Key": "v"},
        effective_time=NOW + timedelta(hours=2),
    )
    with pytest.raises(InvalidArgument) as refused:
        check_revision(command, NOW)
    assert fields(refused) == [
        "instance_id", "name", "provider", "engine", "region", "instance_type",
        "hourly_cost_cents", "currency_code", "schedule_id", "labels['Bad Key']",
        "effective_time",
    ]  # fmt: skip


def test_check_revision_accepts_the_limits() -> None:
    command = RecordInstanceCommand(
        "i" * 128, "a" * 32, 100_000_000, engine="e" * 32,
        effective_time=NOW + timedelta(hours=1),
    )  # fmt: skip
    assert check_revision(command, NOW).hourly_cost_cents == 100_000_000
    with pytest.raises(InvalidArgument):
        check_revision(RecordInstanceCommand("i", "aws", 100_000_001), NOW)
    with pytest.raises(InvalidArgument):
        check_revision(
            RecordInstanceCommand("i", "aws", 1, effective_time=datetime(1999, 12, 31, tzinfo=UTC)),
            NOW,
        )


def test_check_events_refuses_none_and_too_many() -> None:
    with pytest.raises(InvalidArgument) as none:
        check_events([], NOW)
    assert fields(none) == ["events"]
    event = EventInput("e", "db", 2, NOW)
    with pytest.raises(InvalidArgument) as many:
        check_events([event] * 1001, NOW)
    assert fields(many) == ["events"]
    assert len(check_events([event] * 1000, NOW)) == 1000


def test_check_events_names_each_bad_event_field() -> None:
    events = [
        EventInput("ok", "db", 4, NOW),
        EventInput("", "", 0, None, source="s" * 129, schedule_id="x\x00"),
        EventInput("e 2", "db", 7, NOW + timedelta(hours=2)),
    ]
    with pytest.raises(InvalidArgument) as refused:
        check_events(events, NOW)
    assert fields(refused) == [
        "events[1].event_id", "events[1].instance_id", "events[1].kind",
        "events[1].occur_time", "events[1].source", "events[1].schedule_id",
        "events[2].event_id", "events[2].kind", "events[2].occur_time",
    ]  # fmt: skip


def test_check_events_keeps_what_was_sent() -> None:
    [event] = check_events([EventInput("e-1", "db", 5, NOW, "poller", "nights")], NOW)
    assert (event.kind, event.source, event.schedule_id) == (
        EventKind.OBSERVED_STOPPED, "poller", "nights",
    )  # fmt: skip


def entry(kind: EntryKind, day: date, cents: int, micros: int, schedule: str) -> NewEntry:
    start = datetime(2026, 3, 2, tzinfo=UTC)
    values = PeriodDay(start, start, day, False, micros, cents, 100, schedule)
    return NewEntry(kind, values, "event:x", None if kind is EntryKind.ORIGINAL else 1)


def test_day_deltas_add_up_per_day_for_all_and_per_schedule() -> None:
    d1, d2 = date(2026, 3, 2), date(2026, 3, 3)
    deltas = day_deltas(
        [
            entry(EntryKind.ORIGINAL, d1, 100, 10, "nights"),
            entry(EntryKind.ORIGINAL, d2, 50, 5, ""),
            entry(EntryKind.REVERSAL, d1, -100, -10, "nights"),
            entry(EntryKind.REPLACEMENT, d1, 70, 7, "weekend"),
        ]
    )
    assert deltas == [
        DayDelta("", d1, 70, 7),
        DayDelta("", d2, 50, 5),
        DayDelta(schedule_scope("weekend"), d1, 70, 7),
    ]  # "nights" nets to zero on d1: no new totals version for it


def test_minutes_round_down_and_share_percent_rounds_half_to_even() -> None:
    assert minutes(60_000_000 * 3 - 1) == 2
    assert share_percent(1, 8) == Decimal("12.50")
    assert share_percent(1, 3) == Decimal("33.33")
    assert share_percent(1, 400) == Decimal("0.25")
    assert share_percent(1, 800) == Decimal("0.12")  # 0.125 -> 0.12
    assert share_percent(3, 800) == Decimal("0.38")  # 0.375 -> 0.38
    assert share_percent(0, 0) is None


def descriptions(error: pytest.ExceptionInfo[InvalidArgument]) -> list[tuple[str, str]]:
    return [(v.field, v.description) for v in error.value.violations]


def test_check_revision_says_what_each_field_must_be() -> None:
    command = RecordInstanceCommand(
        instance_id="db", provider="", hourly_cost_cents=100_000_001, engine="E",
        currency_code="EUR", effective_time=datetime(1999, 12, 31, 23, 59, tzinfo=UTC),
    )  # fmt: skip
    with pytest.raises(InvalidArgument) as refused:
        check_revision(command, NOW)
    assert descriptions(refused) == [
        ("provider", "must be 1-32 characters of a-z, 0-9, '-', '_', e.g. aws"),
        ("engine", "must be at most 32 characters of a-z, 0-9, '-', '_', e.g. postgres"),
        ("hourly_cost_cents", "must be from 0 to 100000000"),
        ("currency_code", "must be empty or 'USD', the only currency supported"),
        ("effective_time", "must not be before 2000-01-01"),
    ]
    with pytest.raises(InvalidArgument) as ahead:
        check_revision(
            RecordInstanceCommand("db", "aws", 1, effective_time=NOW + timedelta(minutes=61)), NOW
        )
    assert descriptions(ahead) == [("effective_time", "must not be more than an hour from now")]


def test_check_revision_keeps_every_field_and_accepts_the_edges() -> None:
    command = RecordInstanceCommand(
        "db", "aws", 0, name="n", engine="postgres", region="r" * 64, instance_type="t" * 64,
        schedule_id="nights", labels={"team": "data"},
        effective_time=datetime(2000, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    revision = check_revision(command, NOW)
    assert (revision.name, revision.engine, revision.region, revision.instance_type) == (
        "n", "postgres", "r" * 64, "t" * 64,
    )  # fmt: skip
    assert (revision.hourly_cost_cents, revision.schedule_id, dict(revision.labels)) == (
        0, "nights", {"team": "data"},
    )  # fmt: skip
    with pytest.raises(InvalidArgument):
        check_revision(RecordInstanceCommand("db", "aws", 0, region="r" * 65), NOW)


def test_check_events_says_what_each_field_must_be() -> None:
    with pytest.raises(InvalidArgument) as none:
        check_events([], NOW)
    assert descriptions(none) == [("events", "must hold at least one event")]
    with pytest.raises(InvalidArgument) as many:
        check_events([EventInput("e", "db", 2, NOW)] * 1001, NOW)
    assert descriptions(many) == [("events", "must hold at most 1000 events, got 1001")]
    with pytest.raises(InvalidArgument) as bad:
        check_events([EventInput("e e", "db", 9, None)], NOW)
    assert descriptions(bad) == [
        ("events[0].event_id", "must be 1-128 printable ASCII characters without spaces"),
        ("events[0].kind", "must be a known event kind, got 9"),
        ("events[0].occur_time", "is required"),
    ]


def test_day_deltas_count_stopped_time_without_savings() -> None:
    free = entry(EntryKind.ORIGINAL, date(2026, 3, 2), 0, 60, "")  # a rate of zero
    assert day_deltas([free]) == [DayDelta("", date(2026, 3, 2), 0, 60)]
    assert schedule_scope("nights") == "s:nights"
