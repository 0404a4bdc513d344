"""The savings writes: record instance revisions and events, and keep the ledger current.

Every write to one instance holds that instance's lock (an advisory lock, so across any
number of server processes), reads what it needs and appends; the day totals are
appended last, under one lock taken after every instance lock, so two writers never
wait on each other in a cycle.

Recomputing an instance after new events does not replay its whole history: the state
after a running evidence is "running" whatever came before, so the periods from the
last running evidence before the earliest new event onward are all that can change.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from ledger_server.domain import idempotency
from ledger_server.domain.errors import FailedPrecondition
from ledger_server.domain.idempotency import RequestKey
from ledger_server.domain.ports import Transactions, UnitOfWork
from ledger_server.domain.savings import calculator
from ledger_server.domain.savings.commands import (
    EventInput,
    RecordInstanceCommand,
    check_events,
    check_revision,
)
from ledger_server.domain.savings.policy import SavingsPolicy
from ledger_server.domain.savings.ports import SavingsRepository
from ledger_server.domain.savings.reconcile import current_entries, day_deltas, reconcile
from ledger_server.domain.savings.records import (
    RUN_EVIDENCE,
    STOP_EVIDENCE,
    EntryKind,
    InstanceEvent,
    InstanceState,
    NewEntry,
    OpenStop,
    Revision,
)

RECORD_INSTANCE = "RecordInstance"
RECORD_INSTANCE_EVENTS = "RecordInstanceEvents"
# Held while a transaction appends day totals: their versions are read-then-append.
TOTALS_LOCK = "savings:totals"


def instance_lock(instance_id: str) -> str:
    return f"savings:instance:{instance_id}"


@dataclass(frozen=True)
class EventsOutcome:
    recorded: int
    duplicates: int
    corrections: int

    def __add__(self, other: EventsOutcome) -> EventsOutcome:
        return EventsOutcome(
            self.recorded + other.recorded,
            self.duplicates + other.duplicates,
            self.corrections + other.corrections,
        )


class _Replay(Exception):
    """A retried request: roll back what this attempt did and answer the first one's way."""

    def __init__(self, answer: str) -> None:
        super().__init__(answer)
        self.answer = answer


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SavingsRecorder:
    def __init__(
        self,
        transactions: Transactions,
        policy: SavingsPolicy,
        *,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._transactions = transactions
        self._policy = policy
        self._clock = clock

    def record_instance(
        self, command: RecordInstanceCommand, request: RequestKey | None
    ) -> tuple[Revision, int]:
        """The new revision and how many ledger entries it corrected."""
        if request is not None:
            idempotency.check_request_id(request.request_id)
        new = check_revision(command, self._clock())

        def write(uow: UnitOfWork) -> tuple[Revision, int]:
            repo = uow.savings
            uow.lock(instance_lock(new.instance_id))
            revision = repo.add_revision(new)
            appended: list[NewEntry] = []
            if revision.revision > 1:
                # A rate or schedule in force from the past reprices periods begun since.
                appended = self._recompute(
                    repo, new.instance_id, new.effective_time, f"revision:{revision.revision}"
                )
                self._add_totals(uow, appended)
            corrections = _corrections(appended)
            # The answer of a retry, kept with the request id (at most 256 characters).
            answer = json.dumps([revision.revision, corrections])
            _claim(uow, RECORD_INSTANCE, request, answer)
            return revision, corrections

        try:
            return self._transactions.run(write)
        except _Replay as replay:
            number, corrections = json.loads(replay.answer)
            with self._transactions.begin() as uow:
                revisions = uow.savings.revisions(new.instance_id)
            first = next(r for r in revisions if r.revision == number)
            return first, int(corrections)

    def record_events(
        self, inputs: Sequence[EventInput], request: RequestKey | None
    ) -> EventsOutcome:
        if request is not None:
            idempotency.check_request_id(request.request_id)
        events = check_events(inputs, self._clock())
        unique: dict[str, InstanceEvent] = {}
        for event in events:
            unique.setdefault(event.event_id, event)
        instance_ids = sorted({event.instance_id for event in unique.values()})

        def write(uow: UnitOfWork) -> EventsOutcome:
            repo = uow.savings
            for instance_id in instance_ids:  # sorted: two batches never lock in a cycle
                uow.lock(instance_lock(instance_id))
            known = repo.latest_revisions(instance_ids)
            missing = [i for i in instance_ids if i not in known]
            if missing:
                raise FailedPrecondition(
                    f"instance {missing[0]!r} was never recorded; record it with "
                    "RecordInstance before its events",
                    reason="INSTANCE_NOT_RECORDED",
                    metadata={"instance_id": missing[0], "missing_count": str(len(missing))},
                )
            stored = repo.add_events(list(unique.values()))
            by_instance: dict[str, list[InstanceEvent]] = defaultdict(list)
            for event in stored:
                by_instance[event.instance_id].append(event)
            appended: list[NewEntry] = []
            for instance_id, new_events in sorted(by_instance.items()):
                evidence = [e for e in new_events if e.kind in STOP_EVIDENCE | RUN_EVIDENCE]
                if not evidence:
                    continue  # requests change no state, so no savings
                first = min(evidence, key=calculator.event_order)
                appended += self._recompute(
                    repo, instance_id, first.occur_time, f"event:{first.event_id}"
                )
            self._add_totals(uow, appended)
            outcome = EventsOutcome(len(stored), len(inputs) - len(stored), _corrections(appended))
            answer = json.dumps([outcome.recorded, outcome.duplicates, outcome.corrections])
            _claim(uow, RECORD_INSTANCE_EVENTS, request, answer)
            return outcome

        try:
            return self._transactions.run(write)
        except _Replay as replay:
            recorded, duplicates, corrections = json.loads(replay.answer)
            return EventsOutcome(int(recorded), int(duplicates), int(corrections))

    def _recompute(
        self, repo: SavingsRepository, instance_id: str, since: datetime, cause: str
    ) -> list[NewEntry]:
        """Appends what the ledger needs so the instance's periods from `since` on are
        the ones its events show; returns the entries appended."""
        anchor = repo.running_evidence_before(instance_id, since)
        events = repo.events_since(instance_id, anchor)
        revisions = repo.revisions(instance_id)
        latest = max(revisions, key=lambda r: r.revision)
        cap = self._policy.cap_for(latest.provider, latest.engine)
        periods = calculator.stop_periods(events, cap)
        computed = calculator.period_days(periods, revisions, self._policy.zone)
        current = current_entries(repo.entries_since(instance_id, anchor))
        appended = reconcile(current, computed, cause)
        repo.add_entries(instance_id, appended)

        open_stop = None
        if periods and periods[-1].end is None:
            period = periods[-1]
            revision = calculator.revision_at(revisions, period.start)
            open_stop = OpenStop(
                period.start,
                revision.hourly_cost_cents,
                period.schedule_id or revision.schedule_id,
                period.cap_time,
            )
        before = repo.instance_state(instance_id) or InstanceState(instance_id, 0)
        after = InstanceState(
            instance_id,
            before.version + 1,
            before.savings_cents + sum(e.values.savings_cents for e in appended),
            before.stopped_micros + sum(e.values.stopped_micros for e in appended),
            before.correction_count + _corrections(appended),
            open_stop,
        )
        if after.version == 1 or _totals_of(after) != _totals_of(before):
            repo.add_instance_state(after)
        return appended

    def _add_totals(self, uow: UnitOfWork, appended: list[NewEntry]) -> None:
        deltas = day_deltas(appended)
        if deltas:
            uow.lock(TOTALS_LOCK)
            uow.savings.add_day_deltas(deltas)


def _totals_of(state: InstanceState) -> tuple[object, ...]:
    return (state.savings_cents, state.stopped_micros, state.correction_count, state.open_stop)


def _corrections(entries: list[NewEntry]) -> int:
    return sum(1 for entry in entries if entry.kind is EntryKind.REVERSAL)


def _claim(uow: UnitOfWork, method: str, request: RequestKey | None, answer: str) -> None:
    earlier = idempotency.claim(uow.request_ids, method, request, answer)
    if earlier is not None:
        raise _Replay(earlier)
