"""ResultsStore use cases: store estimates as jobs, read them back, compare, trend.

Each use case owns its unit of work. Reads never recompute aggregates: they return what
`estimate_rules` computed when the job was written.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import TypeVar, cast

from ledger_server.domain import cursors, idempotency
from ledger_server.domain.cache import ImmutableCache
from ledger_server.domain.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    Violations,
)
from ledger_server.domain.idempotency import RequestKey
from ledger_server.domain.money import WireMoney
from ledger_server.domain.paging import CursorSpec, Page, page_size
from ledger_server.domain.ports import Transactions, UnitOfWork
from ledger_server.domain.results_store import comparison, job_order
from ledger_server.domain.results_store.estimate_rules import prepare_new_job
from ledger_server.domain.results_store.estimates import (
    Job,
    RegionTotal,
    Resource,
    ServiceTotal,
    StoreEstimateCommand,
)
from ledger_server.domain.results_store.job_order import filter_scope
from ledger_server.domain.results_store.ports import (
    JobFilters,
    JobKey,
    JobOrder,
    ResultsRepository,
)
from ledger_server.domain.results_store.trend import TrendPoint, parse_thresholds, trend_points
from ledger_server.domain.validation import check_text

STORE_ESTIMATE = "StoreEstimate"
TotalT = TypeVar("TotalT", ServiceTotal, RegionTotal)
R = TypeVar("R")

# One cursor spec per List: what its page token holds and how each part parses back.
# ListJobs has one per key shape of its orders, in job_order.
LIST_JOB_RESOURCES = CursorSpec("ListJobResources", cursors.amount, cursors.position)
LIST_JOB_SERVICES = CursorSpec("ListJobServices", cursors.amount, cursors.name)
LIST_JOB_REGIONS = CursorSpec("ListJobRegions", cursors.amount, cursors.name)
# A trend page also carries the last total, so the next page's first change is right.
GET_COST_TREND = CursorSpec("GetCostTrend", cursors.utc_time, cursors.uuid_id, cursors.amount)

_CANONICAL_UUID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
# Bounds of the job cache: jobs are small (no resources), a few hundred bytes each.
JOB_CACHE_BYTES = 64 * 1024 * 1024


def parse_id(value: str, field: str) -> uuid.UUID:
    """A job id in its one accepted spelling (8-4-4-4-12 hex digits), parsed.

    Other spellings `uuid.UUID` would take (braces, urn:uuid:, no hyphens, padding) are
    refused, so one job has one key in every cache and every page-token scope.
    """
    if not _CANONICAL_UUID.fullmatch(value):
        message = "is required" if not value else "must be a UUID like 3f1c2a9e-6a55-4c8e-..."
        raise InvalidArgument([FieldViolation(field, message)])
    return uuid.UUID(value)


def check_filters(filters: JobFilters) -> None:
    violations = Violations()
    check_text(filters.user_id, "user_id", violations, max_length=256)
    check_text(filters.profile, "profile", violations, max_length=64)
    check_text(filters.terraform_plan_hash, "terraform_plan_hash", violations, max_length=256)
    if filters.start_time and filters.end_time and filters.end_time <= filters.start_time:
        violations.add("end_time", "must be after start_time")
    violations.raise_if_any()


def job_size(job: Job) -> int:
    """Roughly the bytes a cached job holds: its text, its labels, the objects around them."""
    text = len(job.user_id) + len(job.terraform_plan_hash) + len(job.profile)
    labels = sum(len(k) + len(v) + 120 for k, v in job.labels.items())
    return 1200 + text + labels


class _CachedJob:
    """A job in the cache, and what the RPC layer rendered from it (see peek_rendered)."""

    __slots__ = ("job", "rendered")

    def __init__(self, job: Job) -> None:
        self.job = job
        self.rendered: tuple[Callable[[Job], object], object] | None = None

    def size(self) -> int:
        # The rendering (a reply message) holds about what the job holds.
        return 2 * job_size(self.job)


class ResultsStore:
    def __init__(self, transactions: Transactions, *, cache_size: int = 10_000) -> None:
        self._transactions = transactions
        # Jobs are never rewritten and a job id never names another version: the one
        # kind of record the cache may hold.
        self._jobs: ImmutableCache[uuid.UUID, _CachedJob] = ImmutableCache(
            cache_size, max_bytes=JOB_CACHE_BYTES, size_of=_CachedJob.size
        )

    def store_estimate(self, command: StoreEstimateCommand, request: RequestKey | None) -> Job:
        if request is not None:
            idempotency.check_request_id(request.request_id)
        new_job = prepare_new_job(command)

        def write(uow: UnitOfWork) -> Job:
            earlier = idempotency.claim(
                uow.request_ids, STORE_ESTIMATE, request, str(new_job.job_id)
            )
            if earlier is not None:
                return self._require_job(uow.results, uuid.UUID(earlier))
            return uow.results.add_job(new_job)

        job = self._transactions.run(write)
        self._jobs.put(job.job_id, _CachedJob(job))
        return job

    def peek_job(self, job_id: str) -> Job | None:
        """The job if it is cached: answers without touching the database."""
        entry = self._peek(job_id)
        return None if entry is None else entry.job

    def peek_rendered(self, job_id: str, render: Callable[[Job], R]) -> R | None:
        """A cached job as `render` shows it (the RPC layer's reply), made once per job.

        A job never gets a new version, so nothing rendered from it does either: the
        rendering is kept in the job's cache entry, next to the job, and goes with it.
        `render` must depend on the job alone; an entry keeps the last renderer's result.
        """
        entry = self._peek(job_id)
        if entry is None:
            return None
        rendered = entry.rendered
        if rendered is None or rendered[0] is not render:
            rendered = (render, render(entry.job))
            entry.rendered = rendered  # one reference swap: safe without a lock
        return cast(R, rendered[1])

    def _peek(self, job_id: str) -> _CachedJob | None:
        if not _CANONICAL_UUID.fullmatch(job_id):
            return None
        return self._jobs.get(uuid.UUID(job_id))

    def get_job(self, job_id: str) -> Job:
        key = parse_id(job_id, "job_id")
        cached = self._jobs.get(key)
        if cached is not None:
            return cached.job
        with self._transactions.begin() as uow:
            return self._require_job(uow.results, key)

    def list_jobs(
        self, filters: JobFilters, requested_size: int, token: str, *, order_by: str = ""
    ) -> Page[Job]:
        check_filters(filters)
        order = job_order.parse_order_by(order_by)
        job_order.check_order(order, filters)
        limit = page_size(requested_size, default=50)
        scope = job_order.scope(filters, order)
        spec = job_order.cursor_spec(order)
        cursor = spec.decode(token, scope)
        after = job_order.key_of(order, cursor) if cursor else None
        with self._transactions.begin() as uow:
            jobs = uow.results.list_jobs(filters, after, limit + 1, order=order)
        return spec.page(jobs, limit, scope, lambda job: job_order.cursor_of(order, job))

    def list_job_resources(
        self, job_id: str, service: str, region: str, requested_size: int, token: str
    ) -> tuple[Job, Page[Resource]]:
        key = parse_id(job_id, "job_id")
        violations = Violations()
        check_text(service, "service", violations, max_length=256)
        check_text(region, "region", violations, max_length=256)
        violations.raise_if_any()
        limit = page_size(requested_size, default=100)
        scope = (str(key), service, region)
        cursor = LIST_JOB_RESOURCES.decode(token, scope)
        after = (cursor[0], cursor[1]) if cursor else None
        with self._transactions.begin() as uow:
            job = self._require_job(uow.results, key)
            resources = uow.results.list_resources(key, service, region, after, limit + 1)
        page = LIST_JOB_RESOURCES.page(
            resources, limit, scope, lambda r: (r.monthly_cost, r.position)
        )
        return job, page

    def list_job_services(
        self, job_id: str, requested_size: int, token: str
    ) -> tuple[Job, Page[ServiceTotal]]:
        return self._totals_page(
            LIST_JOB_SERVICES,
            job_id,
            requested_size,
            token,
            lambda repo, key, after, limit: repo.list_services(key, after, limit),
            lambda total: total.service,
        )

    def list_job_regions(
        self, job_id: str, requested_size: int, token: str
    ) -> tuple[Job, Page[RegionTotal]]:
        return self._totals_page(
            LIST_JOB_REGIONS,
            job_id,
            requested_size,
            token,
            lambda repo, key, after, limit: repo.list_regions(key, after, limit),
            lambda total: total.region,
        )

    def _totals_page(
        self,
        spec: CursorSpec,
        job_id: str,
        requested_size: int,
        token: str,
        fetch: Callable[
            [ResultsRepository, uuid.UUID, tuple[Decimal, str] | None, int], list[TotalT]
        ],
        name_of: Callable[[TotalT], str],
    ) -> tuple[Job, Page[TotalT]]:
        """One page of a job's stored aggregates, most expensive first (ties by name)."""
        key = parse_id(job_id, "job_id")
        limit = page_size(requested_size, default=100)
        scope = (str(key),)
        cursor = spec.decode(token, scope)
        after = (cursor[0], cursor[1]) if cursor else None
        with self._transactions.begin() as uow:
            job = self._require_job(uow.results, key)
            totals = fetch(uow.results, key, after, limit + 1)
        return job, spec.page(totals, limit, scope, lambda t: (t.monthly_cost, name_of(t)))

    def compare_jobs(
        self, base_job_id: str, target_job_id: str, max_resource_diffs: int = 0
    ) -> comparison.Comparison:
        base_key = parse_id(base_job_id, "base_job_id")
        target_key = parse_id(target_job_id, "target_job_id")
        diff_limit = page_size(
            max_resource_diffs, default=1000, maximum=5000, field="max_resource_diffs"
        )
        with self._transactions.begin() as uow:
            repo = uow.results
            base = self._require_job(repo, base_key)
            target = self._require_job(repo, target_key)
            if base.currency_code != target.currency_code:
                raise FailedPrecondition(
                    f"jobs use different currencies ({base.currency_code} and "
                    f"{target.currency_code}); compare jobs of one currency",
                    reason="CURRENCY_MISMATCH",
                )
            sides = [
                (
                    {s.service: s.monthly_cost for s in repo.list_services(key, None, None)},
                    {r.region: r.monthly_cost for r in repo.list_regions(key, None, None)},
                    {
                        r.address: r.monthly_cost
                        for r in repo.list_resources(key, "", "", None, None)
                    },
                )
                for key in (base_key, target_key)
            ]
        return comparison.compare(
            base,
            target,
            services=(sides[0][0], sides[1][0]),
            regions=(sides[0][1], sides[1][1]),
            resources=(sides[0][2], sides[1][2]),
            max_resource_diffs=diff_limit,
        )

    def get_cost_trend(
        self,
        filters: JobFilters,
        requested_size: int,
        token: str,
        *,
        anomaly_percent: str = "",
        anomaly_amount: WireMoney | None = None,
    ) -> Page[TrendPoint]:
        if bool(filters.user_id) == bool(filters.terraform_plan_hash):
            raise InvalidArgument(
                [
                    FieldViolation(
                        "user_id", "exactly one of user_id and terraform_plan_hash is required"
                    )
                ]
            )
        check_filters(filters)
        thresholds = parse_thresholds(anomaly_percent, anomaly_amount)
        limit = page_size(requested_size, default=100)
        # The thresholds only mark points, they choose none: not part of the scope.
        scope = filter_scope(filters)
        cursor = GET_COST_TREND.decode(token, scope)
        after = JobKey(cursor[0], cursor[1]) if cursor else None
        previous: Decimal | None = cursor[2] if cursor else None
        with self._transactions.begin() as uow:
            jobs = uow.results.list_jobs(filters, after, limit + 1, order=JobOrder.OLDEST_FIRST)
        page = jobs[:limit]
        points = trend_points(page, previous, thresholds)
        next_page = ""
        if len(jobs) > limit:
            last = page[-1]
            next_page = GET_COST_TREND.encode(
                scope, (last.create_time, last.job_id, last.total_monthly_cost)
            )
        return Page(points, next_page)

    def _require_job(self, repo: ResultsRepository, job_id: uuid.UUID) -> Job:
        cached = self._jobs.get(job_id)
        if cached is not None:
            return cached.job
        job = repo.get_job(job_id)
        if job is None:
            raise NotFound("job", str(job_id))
        self._jobs.put(job_id, _CachedJob(job))
        return job
