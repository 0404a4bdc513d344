"""What the ResultsStore use cases need from storage."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Protocol

from ledger_server.domain.results_store.estimates import (
    Job,
    NewJob,
    RegionTotal,
    Resource,
    ServiceTotal,
)


@dataclass(frozen=True)
class JobFilters:
    user_id: str = ""
    profile: str = ""
    terraform_plan_hash: str = ""
    start_time: datetime | None = None
    end_time: datetime | None = None


class JobOrder(Enum):
    """The orders jobs are listed in, each named by its AIP-132 `order_by` spelling.

    Ties in cost fall back to create_time, then job_id, in the same direction, so every
    order is total and a page resumes exactly where the last one ended.
    """

    NEWEST_FIRST = "create_time desc"
    OLDEST_FIRST = "create_time asc"
    MOST_EXPENSIVE_FIRST = "total_monthly_cost desc"
    LEAST_EXPENSIVE_FIRST = "total_monthly_cost asc"

    @property
    def by_cost(self) -> bool:
        return self in (JobOrder.MOST_EXPENSIVE_FIRST, JobOrder.LEAST_EXPENSIVE_FIRST)

    @property
    def descending(self) -> bool:
        return self in (JobOrder.NEWEST_FIRST, JobOrder.MOST_EXPENSIVE_FIRST)


@dataclass(frozen=True)
class JobKey:
    """Where a page of jobs resumes: the sort key of the last job of the page before.

    `total_monthly_cost` is part of the key in the cost orders only.
    """

    create_time: datetime
    job_id: uuid.UUID
    total_monthly_cost: Decimal | None = None


class ResultsRepository(Protocol):
    """Adds, gets and lists jobs; never updates or deletes."""

    def add_job(self, job: NewJob) -> Job: ...

    def get_job(self, job_id: uuid.UUID) -> Job | None: ...

    def list_jobs(
        self,
        filters: JobFilters,
        after: JobKey | None,
        limit: int,
        *,
        order: JobOrder = JobOrder.NEWEST_FIRST,
    ) -> list[Job]: ...

    def list_resources(
        self,
        job_id: uuid.UUID,
        service: str,
        region: str,
        after: tuple[Decimal, int] | None,
        limit: int | None,
    ) -> list[Resource]: ...

    def list_services(
        self, job_id: uuid.UUID, after: tuple[Decimal, str] | None, limit: int | None
    ) -> list[ServiceTotal]: ...

    def list_regions(
        self, job_id: uuid.UUID, after: tuple[Decimal, str] | None, limit: int | None
    ) -> list[RegionTotal]: ...
