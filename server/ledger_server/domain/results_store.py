"""ResultsStore use cases: store estimates as jobs, read them back, compare, trend.

Each use case owns its transaction. Reads never recompute aggregates: they return what
`estimate_rules` computed when the job was written.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from ledger_server.domain import comparison, cursors
from ledger_server.domain.cache import ImmutableCache
from ledger_server.domain.errors import (
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    Violations,
)
from ledger_server.domain.estimate_rules import prepare_new_job
from ledger_server.domain.estimates import (
    Job,
    RegionTotal,
    Resource,
    ServiceTotal,
    StoreEstimateCommand,
)
from ledger_server.domain.money import ZERO
from ledger_server.domain.paging import Page, decode_token, encode_token, next_token, page_size
from ledger_server.domain.ports import JobFilters, ResultsRepository, Transactions
from ledger_server.domain.validation import check_text

STORE_ESTIMATE = "StoreEstimate"
TotalT = TypeVar("TotalT", ServiceTotal, RegionTotal)


@dataclass(frozen=True)
class TrendPoint:
    job: Job
    change_from_previous: Decimal


def parse_id(value: str, field: str) -> uuid.UUID:
    try:
        if len(value) > 64:
            raise ValueError
        return uuid.UUID(value)
    except ValueError:
        message = "is required" if not value else "must be a UUID like 3f1c2a9e-6a55-4c8e-..."
        raise InvalidArgument([FieldViolation(field, message)]) from None


def check_filters(filters: JobFilters) -> None:
    violations = Violations()
    check_text(filters.user_id, "user_id", violations, max_length=256)
    check_text(filters.profile, "profile", violations, max_length=64)
    check_text(filters.terraform_plan_hash, "terraform_plan_hash", violations, max_length=256)
    if filters.start_time and filters.end_time and filters.end_time <= filters.start_time:
        violations.add("end_time", "must be after start_time")
    violations.raise_if_any()


class ResultsStore:
    def __init__(self, transactions: Transactions, *, cache_size: int = 10_000) -> None:
        self._transactions = transactions
        self._jobs: ImmutableCache[uuid.UUID, Job] = ImmutableCache(cache_size)

    def store_estimate(self, command: StoreEstimateCommand) -> Job:
        new_job = prepare_new_job(command)
        with self._transactions.begin() as repo:
            if new_job.request_id:
                earlier = repo.claim_request(
                    STORE_ESTIMATE, new_job.request_id, new_job.fingerprint, new_job.job_id
                )
                if earlier is not None:
                    if earlier.fingerprint != new_job.fingerprint:
                        raise AlreadyExists(
                            "request_id was already used for a different StoreEstimate request",
                            reason="REQUEST_ID_REUSED",
                            metadata={"request_id": new_job.request_id},
                        )
                    return self._require_job(repo, earlier.resource_id)
            job = repo.add_job(new_job)
        self._jobs.put(job.job_id, job)
        return job

    def peek_job(self, job_id: str) -> Job | None:
        """The job if it is cached: answers without touching the database."""
        try:
            return self._jobs.get(uuid.UUID(job_id))
        except ValueError:
            return None

    def get_job(self, job_id: str) -> Job:
        key = parse_id(job_id, "job_id")
        cached = self._jobs.get(key)
        if cached is not None:
            return cached
        with self._transactions.begin() as repo:
            return self._require_job(repo, key)

    def list_jobs(self, filters: JobFilters, requested_size: int, token: str) -> Page[Job]:
        check_filters(filters)
        limit = page_size(requested_size, default=50)
        scope = ("ListJobs", *_filter_scope(filters))
        cursor = decode_token(token, scope, fields=2)
        after = cursors.time_and_id(*cursor) if cursor else None
        with self._transactions.begin() as repo:
            jobs = repo.list_jobs(filters, after, limit + 1)
        items, next_page = next_token(jobs, limit, scope, _job_cursor)
        return Page(items, next_page)

    def list_job_resources(
        self, job_id: str, service: str, region: str, requested_size: int, token: str
    ) -> tuple[Job, Page[Resource]]:
        key = parse_id(job_id, "job_id")
        violations = Violations()
        check_text(service, "service", violations, max_length=256)
        check_text(region, "region", violations, max_length=256)
        violations.raise_if_any()
        limit = page_size(requested_size, default=100)
        scope = ("ListJobResources", job_id, service, region)
        cursor = decode_token(token, scope, fields=2)
        after = (cursors.amount(cursor[0]), cursors.position(cursor[1])) if cursor else None
        with self._transactions.begin() as repo:
            job = self._require_job(repo, key)
            resources = repo.list_resources(key, service, region, after, limit + 1)
        items, next_page = next_token(
            resources, limit, scope, lambda r: (str(r.monthly_cost), str(r.position))
        )
        return job, Page(items, next_page)

    def list_job_services(
        self, job_id: str, requested_size: int, token: str
    ) -> tuple[Job, Page[ServiceTotal]]:
        return self._totals_page(
            "ListJobServices",
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
            "ListJobRegions",
            job_id,
            requested_size,
            token,
            lambda repo, key, after, limit: repo.list_regions(key, after, limit),
            lambda total: total.region,
        )

    def _totals_page(
        self,
        rpc: str,
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
        scope = (rpc, job_id)
        cursor = decode_token(token, scope, fields=2)
        after = (cursors.amount(cursor[0]), cursors.name(cursor[1])) if cursor else None
        with self._transactions.begin() as repo:
            job = self._require_job(repo, key)
            totals = fetch(repo, key, after, limit + 1)
        items, next_page = next_token(
            totals, limit, scope, lambda t: (str(t.monthly_cost), name_of(t))
        )
        return job, Page(items, next_page)

    def compare_jobs(
        self, base_job_id: str, target_job_id: str, max_resource_diffs: int = 0
    ) -> comparison.Comparison:
        base_key = parse_id(base_job_id, "base_job_id")
        target_key = parse_id(target_job_id, "target_job_id")
        diff_limit = page_size(
            max_resource_diffs, default=1000, maximum=5000, field="max_resource_diffs"
        )
        with self._transactions.begin() as repo:
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
        self, filters: JobFilters, requested_size: int, token: str
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
        limit = page_size(requested_size, default=100)
        scope = ("GetCostTrend", *_filter_scope(filters))
        cursor = decode_token(token, scope, fields=3)
        after = cursors.time_and_id(cursor[0], cursor[1]) if cursor else None
        previous = cursors.amount(cursor[2]) if cursor else None
        with self._transactions.begin() as repo:
            jobs = repo.list_jobs(filters, after, limit + 1, oldest_first=True)
        page, _ = next_token(jobs, limit, scope, _job_cursor)
        points = []
        for job in page:
            change = ZERO if previous is None else job.total_monthly_cost - previous
            points.append(TrendPoint(job, change))
            previous = job.total_monthly_cost
        next_page = ""
        if len(jobs) > limit:
            last = page[-1]
            next_page = encode_token(scope, (*_job_cursor(last), str(last.total_monthly_cost)))
        return Page(points, next_page)

    def _require_job(self, repo: ResultsRepository, job_id: uuid.UUID) -> Job:
        cached = self._jobs.get(job_id)
        if cached is not None:
            return cached
        job = repo.get_job(job_id)
        if job is None:
            raise NotFound("job", str(job_id))
        self._jobs.put(job_id, job)
        return job


def _filter_scope(filters: JobFilters) -> tuple[str, ...]:
    return (
        filters.user_id,
        filters.profile,
        filters.terraform_plan_hash,
        filters.start_time.isoformat() if filters.start_time else "",
        filters.end_time.isoformat() if filters.end_time else "",
    )


def _job_cursor(job: Job) -> tuple[str, str]:
    return (job.create_time.isoformat(), str(job.job_id))
