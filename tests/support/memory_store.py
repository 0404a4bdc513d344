"""In-memory repositories behind the domain's ports, for fast tests of the use cases.

They keep what the ports promise (domain/ports.py, domain/results_store/ports.py) and
no more: keyset pages in the documented order, claims that return the earlier claim.
The real repositories are proved against PostgreSQL by the integration and end-to-end
tests; these let tests/unit check the use cases' own rules in milliseconds.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from ledger_server.domain.ingestion.ports import IngestionRepository
from ledger_server.domain.ports import ClaimedRequest
from ledger_server.domain.results_store.estimates import (
    SCHEMA_VERSION,
    STATUS_COMPLETED,
    Job,
    NewJob,
    RegionTotal,
    Resource,
    ServiceTotal,
)
from ledger_server.domain.results_store.ports import JobFilters, JobKey, JobOrder
from ledger_server.domain.savings.ports import SavingsRepository
from tests.support.memory_evaluation_logs import LogTables, MemoryEvaluationLogs
from tests.support.memory_evaluations import EvaluationTables, MemoryEvaluations

T = TypeVar("T")
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Tables:
    claims: dict[tuple[str, str], ClaimedRequest] = field(default_factory=dict)
    jobs: dict[uuid.UUID, Job] = field(default_factory=dict)
    resources: dict[uuid.UUID, tuple[Resource, ...]] = field(default_factory=dict)
    services: dict[uuid.UUID, tuple[ServiceTotal, ...]] = field(default_factory=dict)
    regions: dict[uuid.UUID, tuple[RegionTotal, ...]] = field(default_factory=dict)
    clock: int = 0
    evaluations: EvaluationTables = field(default_factory=EvaluationTables)
    logs: LogTables = field(default_factory=LogTables)


@dataclass
class Reads:
    """What the use cases asked storage for: job rows read, and each list's row limit."""

    jobs: int = 0
    limits: list[tuple[str, int | None]] = field(default_factory=list)


class MemoryRequestIds:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def find(self, method: str, request_id: str) -> ClaimedRequest | None:
        return self._tables.claims.get((method, request_id))

    def claim(
        self, method: str, request_id: str, fingerprint: bytes, resource_id: str
    ) -> ClaimedRequest | None:
        earlier = self._tables.claims.get((method, request_id))
        if earlier is None:
            self._tables.claims[(method, request_id)] = ClaimedRequest(fingerprint, resource_id)
        return earlier


def _after_desc(cost: Decimal, name: object, after: tuple[Decimal, object] | None) -> bool:
    if after is None:
        return True
    return cost < after[0] or (cost == after[0] and name > after[1])  # type: ignore[operator]


class MemoryResults:
    def __init__(self, tables: Tables, reads: Reads) -> None:
        self._tables = tables
        self._reads = reads

    def add_job(self, job: NewJob) -> Job:
        tables = self._tables
        tables.clock += 1
        stored = Job(
            job_id=job.job_id,
            user_id=job.user_id,
            terraform_plan_hash=job.terraform_plan_hash,
            profile=job.profile,
            labels=dict(job.labels),
            currency_code=job.currency_code,
            total_monthly_cost=job.total_monthly_cost,
            total_hourly_cost=job.total_hourly_cost,
            confidence_score=job.confidence_score,
            resource_count=len(job.resources),
            schema_version=SCHEMA_VERSION,
            status=STATUS_COMPLETED,
            create_time=EPOCH + timedelta(seconds=tables.clock),
        )
        tables.jobs[job.job_id] = stored
        tables.resources[job.job_id] = job.resources
        tables.services[job.job_id] = job.services
        tables.regions[job.job_id] = job.regions
        return stored

    def get_job(self, job_id: uuid.UUID) -> Job | None:
        self._reads.jobs += 1
        return self._tables.jobs.get(job_id)

    def list_jobs(
        self,
        filters: JobFilters,
        after: JobKey | None,
        limit: int,
        *,
        order: JobOrder = JobOrder.NEWEST_FIRST,
    ) -> list[Job]:
        self._reads.limits.append(("jobs", limit))

        def wanted(job: Job) -> bool:
            return (
                (not filters.user_id or job.user_id == filters.user_id)
                and (not filters.profile or job.profile == filters.profile)
                and (
                    not filters.terraform_plan_hash
                    or job.terraform_plan_hash == filters.terraform_plan_hash
                )
                and (filters.start_time is None or job.create_time >= filters.start_time)
                and (filters.end_time is None or job.create_time < filters.end_time)
            )

        def key(job: Job) -> tuple[Any, ...]:
            time_key = (job.create_time, job.job_id)
            return (job.total_monthly_cost, *time_key) if order.by_cost else time_key

        jobs = sorted(filter(wanted, self._tables.jobs.values()), key=key, reverse=order.descending)
        if after is not None:
            resume: tuple[Any, ...] = (after.create_time, after.job_id)
            if order.by_cost:
                resume = (after.total_monthly_cost, *resume)
            jobs = [j for j in jobs if (key(j) < resume if order.descending else key(j) > resume)]
        return jobs[:limit]

    def list_resources(
        self,
        job_id: uuid.UUID,
        service: str,
        region: str,
        after: tuple[Decimal, int] | None,
        limit: int | None,
    ) -> list[Resource]:
        self._reads.limits.append(("resources", limit))
        rows = [
            r
            for r in self._tables.resources.get(job_id, ())
            if (not service or r.service == service)
            and (not region or r.region == region)
            and _after_desc(r.monthly_cost, r.position, after)
        ]
        rows.sort(key=lambda r: (-r.monthly_cost, r.position))
        return rows[:limit]

    def list_services(
        self, job_id: uuid.UUID, after: tuple[Decimal, str] | None, limit: int | None
    ) -> list[ServiceTotal]:
        self._reads.limits.append(("services", limit))
        rows = [
            s
            for s in self._tables.services.get(job_id, ())
            if _after_desc(s.monthly_cost, s.service, after)
        ]
        rows.sort(key=lambda s: (-s.monthly_cost, s.service))
        return rows[:limit]

    def list_regions(
        self, job_id: uuid.UUID, after: tuple[Decimal, str] | None, limit: int | None
    ) -> list[RegionTotal]:
        self._reads.limits.append(("regions", limit))
        rows = [
            r
            for r in self._tables.regions.get(job_id, ())
            if _after_desc(r.monthly_cost, r.region, after)
        ]
        rows.sort(key=lambda r: (-r.monthly_cost, r.region))
        return rows[:limit]


class MemoryUnitOfWork:
    def __init__(self, tables: Tables, reads: Reads) -> None:
        self.request_ids = MemoryRequestIds(tables)
        self.results = MemoryResults(tables, reads)
        self.evaluations = MemoryEvaluations(tables.evaluations)
        self.evaluation_logs = MemoryEvaluationLogs(tables.logs, self.evaluations)
        self.read_only = False

    def lock(self, key: str) -> None:
        """Nothing to wait for: unit tests run one unit of work at a time."""
        assert not self.read_only, "a read unit of work holds no lock: use begin()"

    @property
    def ingestion(self) -> IngestionRepository:
        # Ingestion's rules are tested on their own and its storage against PostgreSQL
        # (set-wise SQL has no in-memory twin worth trusting); ResultsStore never asks.
        raise NotImplementedError("no in-memory ingestion repository")

    @property
    def savings(self) -> SavingsRepository:
        """Savings use cases run on PostgreSQL in their tests (their writes are SQL)."""
        raise AssertionError("the in-memory store has no savings repository")


class MemoryTransactions:
    """Units of work over one in-memory database: a block that raises changes nothing."""

    def __init__(self) -> None:
        self.tables = Tables()
        self.begun = 0  # how many units of work ran: a cached answer opens none
        self.reads = Reads()

    @contextmanager
    def begin(self) -> Iterator[MemoryUnitOfWork]:
        self.begun += 1
        # Every stored value is immutable, so copies of the tables' dicts isolate the block.
        t = self.tables
        working = Tables(
            dict(t.claims), dict(t.jobs), dict(t.resources), dict(t.services), dict(t.regions),
            t.clock, t.evaluations.copy(), t.logs.copy(),
        )  # fmt: skip
        yield MemoryUnitOfWork(working, self.reads)
        self.tables = working

    @contextmanager
    def read(self) -> Iterator[MemoryUnitOfWork]:
        # No isolation needed here (one unit of work at a time), but no lock either.
        with self.begin() as uow:
            uow.read_only = True
            yield uow

    def run(self, work: Callable[[MemoryUnitOfWork], T]) -> T:
        with self.begin() as uow:
            return work(uow)
