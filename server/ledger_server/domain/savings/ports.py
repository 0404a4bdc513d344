"""What the savings use cases need from storage: add, get and list; never update."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Protocol

from ledger_server.domain.savings.records import (
    DayDelta,
    InstanceEvent,
    InstanceState,
    NewEntry,
    NewRevision,
    RateRevision,
    Revision,
    StoredEntry,
)


@dataclass(frozen=True)
class DayTotal:
    day: date
    savings_cents: int
    stopped_micros: int


@dataclass(frozen=True)
class InstanceTotal:
    instance_id: str
    savings_cents: int
    stopped_micros: int


@dataclass(frozen=True)
class ScheduleTotal:
    schedule_id: str
    savings_cents: int
    stopped_micros: int
    instance_count: int


class InstanceOrder(Enum):
    """ListInstanceSavings' orders by their `order_by` spelling; ties by instance_id."""

    MOST_SAVING_FIRST = "savings_cents desc"
    LEAST_SAVING_FIRST = "savings_cents asc"
    BY_INSTANCE_ID = "instance_id asc"


class SavingsRepository(Protocol):
    # --- instances -------------------------------------------------------------------
    def add_revision(self, revision: NewRevision) -> Revision:
        """Appends the instance's next revision (the caller holds the instance's lock)."""

    def revisions(self, instance_id: str) -> list[Revision]:
        """Every revision of the instance, oldest revision first."""

    def latest_revisions(self, instance_ids: Sequence[str]) -> dict[str, Revision]: ...

    def rate_revisions(self, instance_id: str = "") -> list[RateRevision]:
        """The rate and schedule of every revision of every instance (or of one), for
        the 24/7 projection."""

    # --- events ----------------------------------------------------------------------
    def add_events(self, events: Sequence[InstanceEvent]) -> list[InstanceEvent]:
        """Stores the events whose id is new; returns those, as stored."""

    def running_evidence_before(self, instance_id: str, moment: datetime) -> datetime | None:
        """The time of the instance's last running evidence strictly before `moment`."""

    def events_since(self, instance_id: str, moment: datetime | None) -> list[InstanceEvent]:
        """The instance's events at or after `moment` (all when None)."""

    def events_between(
        self, instance_id: str, start: datetime, end: datetime, limit: int
    ) -> list[InstanceEvent]:
        """Up to `limit` events with start <= occur_time < end, by occur_time."""

    # --- the ledger ------------------------------------------------------------------
    def entries_since(self, instance_id: str, moment: datetime | None) -> list[StoredEntry]:
        """The instance's entries of periods starting at or after `moment` (all when None)."""

    def entries_on_days(self, instance_id: str, first: date, last: date) -> list[StoredEntry]:
        """The instance's entries of days first..last, in the order written."""

    def add_entries(self, instance_id: str, entries: Sequence[NewEntry]) -> None: ...

    def instance_state(self, instance_id: str) -> InstanceState | None: ...

    def add_instance_state(self, state: InstanceState) -> None:
        """Appends `state` as the instance's next version (`state.version`)."""

    def open_states(self, instance_id: str = "") -> list[InstanceState]:
        """The latest state of every instance (or of one) that is stopped now."""

    def add_day_deltas(self, deltas: Sequence[DayDelta]) -> None:
        """Appends each touched day's next totals: its latest totals plus the delta.

        The caller holds the totals lock, so versions never race.
        """

    # --- reads of totals ---------------------------------------------------------------
    def day_totals(self, scope: str, first: date, last: date) -> list[DayTotal]:
        """The latest totals of each day first..last that has any (scope "" or a schedule's)."""

    def instance_day_totals(
        self, instance_id: str, first: date, last: date, schedule_id: str = ""
    ) -> list[DayTotal]:
        """One instance's sums per day first..last with entries (of one schedule's periods)."""

    def instance_totals(
        self,
        first: date,
        last: date,
        schedule_id: str | None,
        order: InstanceOrder,
        after: tuple[int, str] | None,
        limit: int,
        instance_id: str = "",
    ) -> list[InstanceTotal]:
        """Per-instance sums of days first..last with savings, in `order` after `after`
        ((savings_cents, instance_id) of the last row of the page before); of one
        instance when `instance_id` is set."""

    def schedule_totals(
        self, first: date, last: date, after: tuple[int, str] | None, limit: int
    ) -> list[ScheduleTotal]:
        """Per-schedule sums of days first..last, most saving first, ties by schedule_id."""
