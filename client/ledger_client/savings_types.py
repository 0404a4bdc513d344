"""What `ledger.savings` returns: plain dataclasses, money as int cents plus Decimal.

The wire carries int64 cents with a currency code; each type keeps the cents
(`savings_cents`) and offers the amount in currency units as a `Decimal` (`savings`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import IntEnum


def units(cents: int) -> Decimal:
    """Cents as an exact amount in currency units: 12345 -> Decimal('123.45')."""
    return Decimal(cents).scaleb(-2)


class EventKind(IntEnum):
    """ledger.v1.InstanceEventKind."""

    STOP_REQUESTED = 1
    STOPPED = 2
    START_REQUESTED = 3
    STARTED = 4
    OBSERVED_STOPPED = 5
    OBSERVED_RUNNING = 6


@dataclass(frozen=True)
class InstanceEvent:
    """A stop/start event or observation; `event_id` deduplicates it."""

    event_id: str
    instance_id: str
    kind: EventKind
    occur_time: datetime
    source: str = ""
    schedule_id: str = ""
    record_time: datetime | None = None


@dataclass(frozen=True)
class Instance:
    instance_id: str
    revision: int
    name: str
    provider: str
    engine: str
    region: str
    instance_type: str
    hourly_cost_cents: int
    currency_code: str
    schedule_id: str
    labels: Mapping[str, str]
    effective_time: datetime
    record_time: datetime

    @property
    def hourly_cost(self) -> Decimal:
        return units(self.hourly_cost_cents)


@dataclass(frozen=True)
class RecordedEvents:
    recorded_count: int
    duplicate_count: int
    correction_count: int
    disclaimer: str


@dataclass(frozen=True)
class InstanceSavings:
    instance_id: str
    name: str
    schedule_id: str
    savings_cents: int
    stopped_minutes: int
    share_percent: Decimal | None

    @property
    def savings(self) -> Decimal:
        return units(self.savings_cents)


@dataclass(frozen=True)
class SavingsSummary:
    start_date: date
    end_date: date
    time_zone: str
    currency_code: str
    savings_cents: int
    ongoing_savings_cents: int
    stopped_minutes: int
    projected_cost_cents: int
    actual_cost_cents: int
    previous_savings_cents: int
    change_percent: Decimal | None
    month_to_date_savings_cents: int
    top_savers: list[InstanceSavings]
    as_of_time: datetime
    disclaimer: str

    @property
    def savings(self) -> Decimal:
        return units(self.savings_cents)

    @property
    def ongoing_savings(self) -> Decimal:
        return units(self.ongoing_savings_cents)

    @property
    def projected_cost(self) -> Decimal:
        return units(self.projected_cost_cents)

    @property
    def actual_cost(self) -> Decimal:
        return units(self.actual_cost_cents)

    @property
    def month_to_date_savings(self) -> Decimal:
        return units(self.month_to_date_savings_cents)


@dataclass(frozen=True)
class DailySavings:
    date: date
    savings_cents: int
    stopped_minutes: int

    @property
    def savings(self) -> Decimal:
        return units(self.savings_cents)


@dataclass(frozen=True)
class ScheduleSavings:
    schedule_id: str
    savings_cents: int
    stopped_minutes: int
    instance_count: int

    @property
    def savings(self) -> Decimal:
        return units(self.savings_cents)


@dataclass(frozen=True)
class StopPeriod:
    start_time: datetime
    end_time: datetime | None
    capped: bool
    ongoing: bool
    stopped_minutes: int
    savings_cents: int
    hourly_cost_cents: int
    schedule_id: str


@dataclass(frozen=True)
class SavingsEntry:
    entry_id: int
    kind: str  # "ORIGINAL", "REVERSAL" or "REPLACEMENT"
    date: date
    period_start_time: datetime
    period_end_time: datetime
    stopped_micros: int
    savings_cents: int
    corrects_entry_id: int
    cause: str


@dataclass(frozen=True)
class InstanceSavingsReport:
    instance: Instance
    savings_cents: int
    ongoing_savings_cents: int
    stopped_minutes: int
    stop_periods: list[StopPeriod]
    events: list[InstanceEvent]
    events_truncated: bool
    corrections: list[SavingsEntry]
    start_date: date
    end_date: date
    time_zone: str
    currency_code: str
    disclaimer: str = field(repr=False, default="")

    @property
    def savings(self) -> Decimal:
        return units(self.savings_cents)
