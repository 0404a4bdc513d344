"""An in-memory SavingsRepository for the fast tests of the savings use cases.

It keeps what the SQL repository keeps and answers the same questions the same way
(latest versions, sums of entries, orders and cursors); tests/integration and tests/e2e
run the use cases on PostgreSQL too, so a difference between the two shows there.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

from ledger_server.domain.evaluations.log_ports import EvaluationLogRepository
from ledger_server.domain.evaluations.ports import EvaluationRepository
from ledger_server.domain.ingestion.ports import IngestionRepository
from ledger_server.domain.results_store.ports import ResultsRepository
from ledger_server.domain.savings.ports import (
    DayTotal,
    InstanceOrder,
    InstanceTotal,
    ScheduleTotal,
)
from ledger_server.domain.savings.records import (
    RUN_EVIDENCE,
    DayDelta,
    InstanceEvent,
    InstanceState,
    NewEntry,
    NewRevision,
    RateRevision,
    Revision,
    StoredEntry,
)
from tests.support.memory_store import MemoryRequestIds, Tables

T = TypeVar("T")
RECORDED = datetime(2026, 3, 20, tzinfo=UTC)


@dataclass
class SavingsTables:
    claims: Tables = field(default_factory=Tables)
    revisions: list[Revision] = field(default_factory=list)
    events: dict[str, InstanceEvent] = field(default_factory=dict)
    entries: list[tuple[str, StoredEntry]] = field(default_factory=list)
    states: list[InstanceState] = field(default_factory=list)
    totals: dict[tuple[str, date], list[tuple[int, int]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    locks: list[str] = field(default_factory=list)


class MemorySavings:
    def __init__(self, tables: SavingsTables) -> None:
        self._t = tables

    def add_revision(self, revision: NewRevision) -> Revision:
        number = 1 + max(
            (r.revision for r in self._t.revisions if r.instance_id == revision.instance_id),
            default=0,
        )
        stored = Revision(
            revision.instance_id, number, revision.name, revision.provider, revision.engine,
            revision.region, revision.instance_type, revision.hourly_cost_cents,
            revision.schedule_id, dict(revision.labels), revision.effective_time, RECORDED,
            revision.currency_code,
        )  # fmt: skip
        self._t.revisions.append(stored)
        return stored

    def revisions(self, instance_id: str) -> list[Revision]:
        return sorted(
            (r for r in self._t.revisions if r.instance_id == instance_id),
            key=lambda r: r.revision,
        )

    def latest_revisions(self, instance_ids: Sequence[str]) -> dict[str, Revision]:
        return {i: self.revisions(i)[-1] for i in instance_ids if self.revisions(i)}

    def rate_revisions(self, instance_id: str = "") -> list[RateRevision]:
        return [
            RateRevision(
                r.instance_id, r.revision, r.effective_time, r.hourly_cost_cents, r.schedule_id
            )
            for r in self._t.revisions
            if not instance_id or r.instance_id == instance_id
        ]

    def add_events(self, events: Sequence[InstanceEvent]) -> list[InstanceEvent]:
        added = []
        for event in events:
            if event.event_id not in self._t.events:
                stored = InstanceEvent(
                    event.event_id, event.instance_id, event.kind, event.occur_time,
                    event.source, event.schedule_id, RECORDED,
                )  # fmt: skip
                self._t.events[event.event_id] = stored
                added.append(stored)
        return added

    def _events(self, instance_id: str) -> list[InstanceEvent]:
        return [e for e in self._t.events.values() if e.instance_id == instance_id]

    def running_evidence_before(self, instance_id: str, moment: datetime) -> datetime | None:
        times = [
            e.occur_time
            for e in self._events(instance_id)
            if e.kind in RUN_EVIDENCE and e.occur_time < moment
        ]
        return max(times, default=None)

    def events_since(self, instance_id: str, moment: datetime | None) -> list[InstanceEvent]:
        return [e for e in self._events(instance_id) if moment is None or e.occur_time >= moment]

    def events_between(
        self, instance_id: str, start: datetime, end: datetime, limit: int
    ) -> list[InstanceEvent]:
        found = [e for e in self._events(instance_id) if start <= e.occur_time < end]
        return sorted(found, key=lambda e: (e.occur_time, e.event_id))[:limit]

    def _entries(self, instance_id: str) -> list[StoredEntry]:
        return [e for i, e in self._t.entries if i == instance_id]

    def entries_since(self, instance_id: str, moment: datetime | None) -> list[StoredEntry]:
        return [
            e
            for e in self._entries(instance_id)
            if moment is None or e.values.period_start >= moment
        ]

    def entries_on_days(self, instance_id: str, first: date, last: date) -> list[StoredEntry]:
        return [e for e in self._entries(instance_id) if first <= e.values.day <= last]

    def add_entries(self, instance_id: str, entries: Sequence[NewEntry]) -> None:
        for entry in entries:
            stored = StoredEntry(
                len(self._t.entries) + 1, entry.kind, entry.values, entry.cause,
                entry.corrects_entry_id, RECORDED,
            )  # fmt: skip
            self._t.entries.append((instance_id, stored))

    def instance_state(self, instance_id: str) -> InstanceState | None:
        states = [s for s in self._t.states if s.instance_id == instance_id]
        return max(states, key=lambda s: s.version, default=None)

    def add_instance_state(self, state: InstanceState) -> None:
        latest = self.instance_state(state.instance_id)
        assert state.version == (latest.version if latest else 0) + 1, "versions never race"
        self._t.states.append(state)

    def open_states(self, instance_id: str = "") -> list[InstanceState]:
        ids = {r.instance_id for r in self._t.revisions}
        latest = [
            self.instance_state(i) for i in sorted(ids) if not instance_id or i == instance_id
        ]
        return [s for s in latest if s is not None and s.open_stop is not None]

    def add_day_deltas(self, deltas: Sequence[DayDelta]) -> None:
        assert self._t.locks and self._t.locks[-1] == "savings:totals"
        for delta in deltas:
            versions = self._t.totals[(delta.scope, delta.day)]
            cents, micros = versions[-1] if versions else (0, 0)
            versions.append((cents + delta.savings_cents, micros + delta.stopped_micros))

    def day_totals(self, scope: str, first: date, last: date) -> list[DayTotal]:
        days = []
        day = first
        while day <= last:
            versions = self._t.totals.get((scope, day))
            if versions:
                days.append(DayTotal(day, *versions[-1]))
            day += timedelta(days=1)
        return days

    def instance_day_totals(
        self, instance_id: str, first: date, last: date, schedule_id: str = ""
    ) -> list[DayTotal]:
        sums: dict[date, list[int]] = defaultdict(lambda: [0, 0])
        for entry in self.entries_on_days(instance_id, first, last):
            if schedule_id and entry.values.schedule_id != schedule_id:
                continue
            sums[entry.values.day][0] += entry.values.savings_cents
            sums[entry.values.day][1] += entry.values.stopped_micros
        return [DayTotal(day, c, m) for day, (c, m) in sorted(sums.items())]

    def _sums(
        self, first: date, last: date, key: Callable[[str, StoredEntry], str | None]
    ) -> dict[str, list[int]]:
        sums: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for instance_id, entry in self._t.entries:
            group = key(instance_id, entry)
            if group is not None and first <= entry.values.day <= last:
                sums[group][0] += entry.values.savings_cents
                sums[group][1] += entry.values.stopped_micros
        return {k: v for k, v in sums.items() if v != [0, 0]}

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
        def key(entry_instance: str, entry: StoredEntry) -> str | None:
            if schedule_id is not None and entry.values.schedule_id != schedule_id:
                return None
            return None if instance_id and entry_instance != instance_id else entry_instance

        rows = [InstanceTotal(i, c, m) for i, (c, m) in self._sums(first, last, key).items()]
        sign = {InstanceOrder.MOST_SAVING_FIRST: -1, InstanceOrder.LEAST_SAVING_FIRST: 1}
        by_cents = sign.get(order, 0)

        def sort_key(row: InstanceTotal) -> tuple[int, str]:
            return (by_cents * row.savings_cents, row.instance_id)

        bound = None if after is None else (by_cents * after[0], after[1])
        rows.sort(key=sort_key)
        return [r for r in rows if bound is None or sort_key(r) > bound][:limit]

    def schedule_totals(
        self, first: date, last: date, after: tuple[int, str] | None, limit: int
    ) -> list[ScheduleTotal]:
        sums = self._sums(first, last, lambda _i, e: e.values.schedule_id)
        counts: dict[str, set[str]] = defaultdict(set)
        for instance_id, entry in self._t.entries:
            if first <= entry.values.day <= last:
                counts[entry.values.schedule_id].add(instance_id)
        rows = sorted(
            (ScheduleTotal(s, c, m, len(counts[s])) for s, (c, m) in sums.items()),
            key=lambda r: (-r.savings_cents, r.schedule_id),
        )
        bound = None if after is None else (-after[0], after[1])
        return [r for r in rows if bound is None or (-r.savings_cents, r.schedule_id) > bound][
            :limit
        ]


class MemorySavingsUnitOfWork:
    def __init__(self, tables: SavingsTables) -> None:
        self.request_ids = MemoryRequestIds(tables.claims)
        self.savings = MemorySavings(tables)
        self._tables = tables

    def lock(self, key: str) -> None:
        self._tables.locks.append(key)

    @property
    def results(self) -> ResultsRepository:
        raise AssertionError("the savings use cases never reach the results repository")

    @property
    def evaluations(self) -> EvaluationRepository:
        raise AssertionError("the savings use cases never reach the evaluations repository")

    @property
    def evaluation_logs(self) -> EvaluationLogRepository:
        raise AssertionError("the savings use cases never reach the evaluation logs repository")

    @property
    def ingestion(self) -> IngestionRepository:
        raise AssertionError("the savings use cases never reach the cost records repository")


class MemorySavingsTransactions:
    """Units of work over one in-memory store: a block that raises changes nothing."""

    def __init__(self) -> None:
        self.tables = SavingsTables()

    @contextmanager
    def begin(self) -> Iterator[MemorySavingsUnitOfWork]:
        # Every stored value is immutable: copies of the containers isolate the block.
        t = self.tables
        working = SavingsTables(
            Tables(claims=dict(t.claims.claims)),
            list(t.revisions),
            dict(t.events),
            list(t.entries),
            list(t.states),
            defaultdict(list, {key: list(versions) for key, versions in t.totals.items()}),
        )
        yield MemorySavingsUnitOfWork(working)
        self.tables = working

    # Reads need no isolation here: unit tests run one unit of work at a time.
    read = begin

    def run(self, work: Callable[[MemorySavingsUnitOfWork], T]) -> T:
        with self.begin() as uow:
            return work(uow)
