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
