"""What the ResultsStore use cases need from storage."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
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


class ResultsRepository(Protocol):
    """Adds, gets and lists jobs; never updates or deletes."""

    def add_job(self, job: NewJob) -> Job: ...

    def get_job(self, job_id: uuid.UUID) -> Job | None: ...

    def list_jobs(
        self,
        filters: JobFilters,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
        *,
        oldest_first: bool = False,
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
