"""The records of the savings ledger: instances, events, stop periods and entries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import IntEnum

# Every savings figure is an estimate; every response carries this for a UI to show.
DISCLAIMER = (
    "Estimated savings from list prices while instances were stopped; not billing data. "
    "Actual charges may differ (storage, discounts, credits, taxes)."
)
# Multi-currency is not supported yet: every instance is priced in this currency.
CURRENCY = "USD"


class EventKind(IntEnum):
    """What an event says; the values are the wire's InstanceEventKind numbers."""

    STOP_REQUESTED = 1
    STOPPED = 2
    START_REQUESTED = 3
    STARTED = 4
    OBSERVED_STOPPED = 5
    OBSERVED_RUNNING = 6


STOP_EVIDENCE = frozenset({EventKind.STOPPED, EventKind.OBSERVED_STOPPED})
RUN_EVIDENCE = frozenset({EventKind.STARTED, EventKind.OBSERVED_RUNNING})


@dataclass(frozen=True)
class InstanceEvent:
    event_id: str
    instance_id: str
    kind: EventKind
    occur_time: datetime
    source: str = ""
    schedule_id: str = ""
    record_time: datetime | None = None


@dataclass(frozen=True)
class NewRevision:
    """A revision as a caller sends it (checked), before it has a number."""

    instance_id: str
    name: str
    provider: str
    engine: str
    region: str
    instance_type: str
    hourly_cost_cents: int
    schedule_id: str
    labels: Mapping[str, str]
    effective_time: datetime
    currency_code: str = CURRENCY


@dataclass(frozen=True)
class Revision:
    instance_id: str
    revision: int
    name: str
    provider: str
    engine: str
    region: str
    instance_type: str
    hourly_cost_cents: int
    schedule_id: str
    labels: Mapping[str, str]
    effective_time: datetime
    record_time: datetime
    currency_code: str = CURRENCY


@dataclass(frozen=True)
class RateRevision:
    """What the 24/7 projection needs of a revision: the rate and schedule it set, from
    when. A summary reads this for every revision of every instance, so not the names
    and labels (JSON) it has no use for."""

    instance_id: str
    revision: int
    effective_time: datetime
    hourly_cost_cents: int
    schedule_id: str


@dataclass(frozen=True)
class StopPeriod:
    """A time the instance was stopped. `end` None: still stopped (ongoing)."""

    start: datetime
    end: datetime | None
    capped: bool
    # The schedule the event that began the period names (may be empty).
    schedule_id: str = ""
    # When the provider restarts the instance by itself (start + cap); None: never.
    cap_time: datetime | None = None


@dataclass(frozen=True)
class PeriodDay:
    """The part of a finished stop period that falls on one reporting day, priced."""

    period_start: datetime
    period_end: datetime
    day: date
    capped: bool
    stopped_micros: int
    savings_cents: int
    hourly_cost_cents: int
    schedule_id: str

    def same_amounts(self, other: PeriodDay) -> bool:
        return (
            self.period_end,
            self.capped,
            self.stopped_micros,
            self.savings_cents,
            self.hourly_cost_cents,
            self.schedule_id,
        ) == (
            other.period_end,
            other.capped,
            other.stopped_micros,
            other.savings_cents,
            other.hourly_cost_cents,
            other.schedule_id,
        )


class EntryKind(IntEnum):
    """The wire's SavingsEntryKind numbers."""

    ORIGINAL = 1
    REVERSAL = 2
    REPLACEMENT = 3


@dataclass(frozen=True)
class NewEntry:
    """An entry to append to the ledger."""

    kind: EntryKind
    values: PeriodDay
    cause: str
    # The stored entry a reversal or replacement corrects.
    corrects_entry_id: int | None = None


@dataclass(frozen=True)
class StoredEntry:
    entry_id: int
    kind: EntryKind
    values: PeriodDay
    cause: str
    corrects_entry_id: int | None
    record_time: datetime


@dataclass(frozen=True)
class OpenStop:
    """The stop period an instance is in now, as the last write left it."""

    start: datetime
    hourly_cost_cents: int
    schedule_id: str
    cap_time: datetime | None


@dataclass(frozen=True)
class InstanceState:
    """Per-instance totals kept on write, and whether the instance is stopped now."""

    instance_id: str
    version: int
    savings_cents: int = 0
    stopped_micros: int = 0
    correction_count: int = 0
    open_stop: OpenStop | None = None


@dataclass(frozen=True)
class DayDelta:
    """What one write adds to a day's totals for one scope ("" all, else a schedule)."""

    scope: str
    day: date
    savings_cents: int
    stopped_micros: int
