"""What the domain needs from storage, as protocols: storage implements them, tests may too."""

from __future__ import annotations

import uuid
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from ledger_server.domain.estimates import Job, NewJob, RegionTotal, Resource, ServiceTotal


@dataclass(frozen=True)
class ClaimedRequest:
    """A request id seen before: what it was sent with and what it created."""

    fingerprint: bytes
    resource_id: uuid.UUID


@dataclass(frozen=True)
class JobFilters:
    user_id: str = ""
    profile: str = ""
    terraform_plan_hash: str = ""
    start_time: datetime | None = None
    end_time: datetime | None = None


class ResultsRepository(Protocol):
    """Adds, gets and lists; never updates or deletes."""

    def claim_request(
        self, method: str, request_id: str, fingerprint: bytes, resource_id: uuid.UUID
    ) -> ClaimedRequest | None:
        """Records a request id; returns the earlier claim instead if there was one."""

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


class Transactions(Protocol):
    """Opens one transaction; the use case decides where it starts and ends."""

    def begin(self) -> AbstractContextManager[ResultsRepository]: ...
