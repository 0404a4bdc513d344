"""Corrections: bring the ledger in line with what the events now show, by appending.

The ledger's current view of an instance is its entries that are neither reversals nor
reversed. When a late or out-of-order event (or a revision effective in the past)
changes a period day already in the ledger, the entry is not rewritten: a reversal
(its amounts negated) and a replacement (the new amounts) are appended. A period day
that no longer exists is only reversed; a new one gets an original entry.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime

from ledger_server.domain.savings.records import (
    DayDelta,
    EntryKind,
    NewEntry,
    PeriodDay,
    StoredEntry,
)

EntryKey = tuple[datetime, date]


def current_entries(entries: Iterable[StoredEntry]) -> dict[EntryKey, StoredEntry]:
    """The entries in force, by (period start, day): not reversals, not reversed."""
    entries = list(entries)
    reversed_ids = {e.corrects_entry_id for e in entries if e.kind is EntryKind.REVERSAL}
    return {
        (e.values.period_start, e.values.day): e
        for e in entries
        if e.kind is not EntryKind.REVERSAL and e.entry_id not in reversed_ids
    }


def negated(values: PeriodDay) -> PeriodDay:
    return dataclasses.replace(
        values, stopped_micros=-values.stopped_micros, savings_cents=-values.savings_cents
    )


def reconcile(
    current: dict[EntryKey, StoredEntry], computed: Sequence[PeriodDay], cause: str
) -> list[NewEntry]:
    """The entries to append so the ledger's current view equals `computed`."""
    appended: list[NewEntry] = []
    wanted = {(day.period_start, day.day): day for day in computed}
    for key in sorted(current.keys() | wanted.keys()):
        old, new = current.get(key), wanted.get(key)
        if old is not None and new is not None and old.values.same_amounts(new):
            continue
        if old is not None:
            appended.append(NewEntry(EntryKind.REVERSAL, negated(old.values), cause, old.entry_id))
        if new is not None:
            kind = EntryKind.ORIGINAL if old is None else EntryKind.REPLACEMENT
            appended.append(NewEntry(kind, new, cause, None if old is None else old.entry_id))
    return appended


def day_deltas(entries: Iterable[NewEntry]) -> list[DayDelta]:
    """What the entries add to each day's totals: for all instances ("") and per schedule.

    Periods of no schedule count in the all-instances totals only.
    """
    sums: dict[tuple[str, date], list[int]] = defaultdict(lambda: [0, 0])
    for entry in entries:
        values = entry.values
        scopes = ("",) if not values.schedule_id else ("", schedule_scope(values.schedule_id))
        for scope in scopes:
            total = sums[(scope, values.day)]
            total[0] += values.savings_cents
            total[1] += values.stopped_micros
    return [
        DayDelta(scope, day, cents, micros)
        for (scope, day), (cents, micros) in sorted(sums.items())
        if cents or micros
    ]


def schedule_scope(schedule_id: str) -> str:
    """The totals scope of one schedule ("" is every instance)."""
    return "s:" + schedule_id
