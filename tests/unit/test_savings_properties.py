"""Any arrival order, any duplicates: the same savings as the ordered, deduplicated events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_server.domain.savings import calculator
from ledger_server.domain.savings.reconcile import current_entries, reconcile
from ledger_server.domain.savings.records import (
    EventKind,
    InstanceEvent,
    Revision,
    StoredEntry,
)

START = datetime(2026, 1, 1, tzinfo=UTC)
REVISIONS = [
    Revision("db", 1, "", "aws", "", "", "", 137, "", {}, START, START),
    Revision("db", 2, "", "aws", "", "", "", 59, "", {}, START + timedelta(days=9), START),
]
ZONE = ZoneInfo("America/New_York")

events_strategy = st.lists(
    st.builds(
        lambda n, kind, minutes: InstanceEvent(
            f"e{n}", "db", kind, START + timedelta(minutes=minutes)
        ),
        st.integers(0, 10_000),
        st.sampled_from(list(EventKind)),
        st.integers(0, 20 * 24 * 60),
    ),
    max_size=40,
    unique_by=lambda e: e.event_id,
)


def ledger_of(events: list[InstanceEvent]) -> list[tuple[object, ...]]:
    periods = calculator.stop_periods(events, timedelta(days=7))
    days = calculator.period_days(periods, REVISIONS, ZONE)
    return [(d.period_start, d.day, d.stopped_micros, d.savings_cents) for d in days]


@settings(max_examples=200, deadline=None)
@given(events=events_strategy, data=st.data())
def test_stop_periods_shuffled_and_duplicated_events_give_the_same_savings(
    events: list[InstanceEvent], data: st.DataObject
) -> None:
    duplicated = (
        events + data.draw(st.lists(st.sampled_from(events), max_size=20)) if events else []
    )
    shuffled = data.draw(st.permutations(duplicated))
    ordered = sorted(events, key=calculator.event_order)
    assert ledger_of(shuffled) == ledger_of(ordered)


@settings(max_examples=100, deadline=None)
@given(events=events_strategy, data=st.data())
def test_reconcile_events_arriving_one_by_one_leave_the_ledger_of_all_of_them(
    events: list[InstanceEvent], data: st.DataObject
) -> None:
    """However the events trickle in, the corrections add up to the final savings."""
    arrival = data.draw(st.permutations(events))
    stored: list[StoredEntry] = []
    seen: list[InstanceEvent] = []
    for index, event in enumerate(arrival):
        seen.append(event)
        periods = calculator.stop_periods(seen, timedelta(days=7))
        computed = calculator.period_days(periods, REVISIONS, ZONE)
        for entry in reconcile(current_entries(stored), computed, event.event_id):
            stored.append(
                StoredEntry(
                    len(stored) + 1, entry.kind, entry.values, entry.cause,
                    entry.corrects_entry_id, START + timedelta(seconds=index),
                )
            )  # fmt: skip
    final = calculator.period_days(
        calculator.stop_periods(events, timedelta(days=7)), REVISIONS, ZONE
    )
    assert sum(e.values.savings_cents for e in stored) == sum(d.savings_cents for d in final)
    assert sum(e.values.stopped_micros for e in stored) == sum(d.stopped_micros for d in final)
    assert sorted(
        (v.period_start, v.day, v.savings_cents)
        for v in (e.values for e in current_entries(stored).values())
    ) == sorted((d.period_start, d.day, d.savings_cents) for d in final)
