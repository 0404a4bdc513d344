"""The ingestion use cases over an in-memory repository, for the fast tests.

It classifies by key as the SQL does (new key: revision 1; changed content digest: the
next revision; else nothing) so the use cases' own rules can be tested without a
database. The SQL itself is proved against PostgreSQL in tests/e2e and tests/integration.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TypeVar

from ledger_server.domain.evaluations.log_ports import EvaluationLogRepository
from ledger_server.domain.evaluations.ports import EvaluationRepository
from ledger_server.domain.ingestion.records import (
    BatchCounts,
    CostRecord,
    GroupBy,
    IngestionRun,
    NormalisedRecord,
    RecordFilters,
    Rejection,
    SummaryGroup,
)
from ledger_server.domain.ports import ClaimedRequest
from ledger_server.domain.results_store.ports import ResultsRepository
from ledger_server.domain.savings.ports import SavingsRepository

T = TypeVar("T")


@dataclass
class State:
    claims: dict[tuple[str, str], ClaimedRequest] = field(default_factory=dict)
    runs: dict[uuid.UUID, tuple[str, str, str, datetime]] = field(default_factory=dict)
    batches: dict[uuid.UUID, dict[int, BatchCounts]] = field(default_factory=dict)
    results: dict[uuid.UUID, tuple[bytes, int, datetime]] = field(default_factory=dict)
    rejections: dict[uuid.UUID, list[tuple[int, Rejection]]] = field(default_factory=dict)
    revisions: dict[str, list[CostRecord]] = field(default_factory=dict)
    hashes: dict[tuple[str, int], bytes] = field(default_factory=dict)
    ticks: int = 0
    requested_limits: list[int] = field(default_factory=list)

    def now(self) -> datetime:
        self.ticks += 1
        return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=self.ticks)


class MemoryRequestIds:
    def __init__(self, state: State) -> None:
        self._state = state

    def claim(
        self, method: str, request_id: str, fingerprint: bytes, resource_id: str
    ) -> ClaimedRequest | None:
        earlier = self._state.claims.get((method, request_id))
        if earlier is None:
            self._state.claims[(method, request_id)] = ClaimedRequest(fingerprint, resource_id)
        return earlier

    def find(self, method: str, request_id: str) -> ClaimedRequest | None:
        return self._state.claims.get((method, request_id))


def _current(revisions: list[CostRecord], as_of: datetime | None) -> CostRecord | None:
    known = [r for r in revisions if as_of is None or r.record_time <= as_of]
    return known[-1] if known else None


def _matches(record: CostRecord, filters: RecordFilters) -> bool:
    key = record.key
    return (
        (filters.start_time is None or key.charge_period_start >= filters.start_time)
        and (filters.end_time is None or key.charge_period_start < filters.end_time)
        and all(
            not getattr(filters, name) or getattr(key, name) == getattr(filters, name)
            for name in ("provider", "billing_account_id", "service", "region", "sku")
        )
        and (filters.charge_category in (None, key.charge_category))
    )


class MemoryIngestionRepository:
    def __init__(self, state: State) -> None:
        self._state = state

    def add_run(self, run_id: uuid.UUID, source: str, caller: str, method: str) -> None:
        assert run_id not in self._state.runs
        self._state.runs[run_id] = (source, caller, method, self._state.now())

    def add_batch(
        self, run_id: uuid.UUID, batch_number: int, records: list[NormalisedRecord], rejected: int
    ) -> BatchCounts:
        state = self._state
        assert run_id in state.runs and batch_number not in state.batches.get(run_id, {})
        inserted = revised = 0
        moment = state.now()
        for record in records:
            revisions = state.revisions.setdefault(record.key_id, [])
            if revisions and state.hashes[(record.key_id, len(revisions))] == record.content_hash:
                continue
            revision = len(revisions) + 1
            inserted, revised = (
                (inserted + 1, revised) if revision == 1 else (inserted, revised + 1)
            )
            state.hashes[(record.key_id, revision)] = record.content_hash
            revisions.append(
                CostRecord(
                    record.key,
                    revision,
                    record.billing_currency,
                    record.billed_cost,
                    record.effective_cost,
                    record.usage_quantity,
                    record.usage_unit,
                    dict(record.labels),
                    moment,
                    run_id,
                    uuid.UUID(hex=record.key_id),
                )
            )
        counts = BatchCounts(inserted, revised, len(records) - inserted - revised, rejected)
        state.batches.setdefault(run_id, {})[batch_number] = counts
        return counts

    def add_rejections(
        self, run_id: uuid.UUID, first_position: int, rejections: list[Rejection]
    ) -> None:
        stored = self._state.rejections.setdefault(run_id, [])
        stored.extend((first_position + i, r) for i, r in enumerate(rejections))

    def finish_run(self, run_id: uuid.UUID, input_sha256: bytes, duration_ms: int) -> None:
        assert run_id not in self._state.results
        self._state.results[run_id] = (input_sha256, duration_ms, self._state.now())

    def get_run(self, run_id: uuid.UUID) -> IngestionRun | None:
        if run_id not in self._state.runs:
            return None
        source, caller, method, created = self._state.runs[run_id]
        counts = sum(self._state.batches.get(run_id, {}).values(), BatchCounts())
        digest, duration, finished = self._state.results.get(run_id, (b"", 0, None))
        return IngestionRun(
            run_id, source, caller, method, created, counts, finished, digest, duration
        )

    def list_runs(self, after: tuple[datetime, uuid.UUID] | None, limit: int) -> list[IngestionRun]:
        runs = [self.get_run(run_id) for run_id in self._state.runs]
        ordered = sorted(
            (r for r in runs if r is not None),
            key=lambda r: (r.create_time, r.run_id),
            reverse=True,
        )
        if after is not None:
            ordered = [r for r in ordered if (r.create_time, r.run_id) < after]
        return ordered[:limit]

    def list_rejections(self, run_id: uuid.UUID, limit: int) -> list[Rejection]:
        return [r for _, r in sorted(self._state.rejections.get(run_id, []))][:limit]

    def list_records(
        self,
        filters: RecordFilters,
        as_of: datetime | None,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> list[CostRecord]:
        current = [_current(revisions, as_of) for revisions in self._state.revisions.values()]
        rows = sorted(
            (r for r in current if r is not None and _matches(r, filters)),
            key=lambda r: (r.key.charge_period_start, r.key_id),
        )
        if after is not None:
            rows = [r for r in rows if (r.key.charge_period_start, r.key_id) > after]
        return rows[:limit]

    def list_revisions(self, key_id: uuid.UUID, after: int, limit: int) -> list[CostRecord]:
        revisions = self._state.revisions.get(key_id.hex, [])
        return [r for r in revisions if r.revision > after][:limit]

    def summarise(
        self, filters: RecordFilters, group_by: GroupBy, limit: int
    ) -> list[SummaryGroup]:
        self._state.requested_limits.append(limit)
        groups: dict[tuple[str, str], list[Decimal]] = {}
        for revisions in self._state.revisions.values():
            record = _current(revisions, None)
            if record is None or not _matches(record, filters):
                continue
            if group_by is GroupBy.DAY:
                name = record.key.charge_period_start.date().isoformat()
            elif group_by is GroupBy.MONTH:
                name = record.key.charge_period_start.strftime("%Y-%m")
            elif group_by is GroupBy.CHARGE_CATEGORY:
                name = record.key.charge_category.value
            else:
                name = getattr(record.key, group_by.value)
            groups.setdefault((name, record.billing_currency), []).append(record.billed_cost)
        return [
            SummaryGroup(name, currency, len(costs), sum(costs, Decimal(0)), Decimal(0),
                         sum(costs, Decimal(0)) / len(costs), min(costs), max(costs))
            for (name, currency), costs in sorted(groups.items())
        ][:limit]  # fmt: skip


class MemoryUnitOfWork:
    def __init__(self, state: State) -> None:
        self.request_ids = MemoryRequestIds(state)
        self.ingestion = MemoryIngestionRepository(state)
        self.locks: list[str] = []

    def lock(self, key: str) -> None:
        self.locks.append(key)

    @property
    def results(self) -> ResultsRepository:
        raise NotImplementedError("the ingestion tests never store estimates")

    @property
    def evaluations(self) -> EvaluationRepository:
        raise NotImplementedError("the ingestion tests never store evaluations")

    @property
    def evaluation_logs(self) -> EvaluationLogRepository:
        raise NotImplementedError("the ingestion tests never store evaluation logs")

    @property
    def savings(self) -> SavingsRepository:
        raise AssertionError("the ingestion use cases never reach the savings repository")


class MemoryIngestionTransactions:
    """Units of work over one in-memory state: a block that raises changes nothing."""

    def __init__(self) -> None:
        self.state = State()
        self.begun = 0
        self.locks: list[str] = []

    @contextmanager
    def begin(self) -> Iterator[MemoryUnitOfWork]:
        self.begun += 1
        working = copy.deepcopy(self.state)
        uow = MemoryUnitOfWork(working)
        yield uow
        self.locks.extend(uow.locks)
        self.state = working

    # Reads need no isolation here: unit tests run one unit of work at a time.
    read = begin

    def run(self, work: Callable[[MemoryUnitOfWork], T]) -> T:
        with self.begin() as uow:
            return work(uow)
