"""What the ingestion use cases need from storage."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol

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


class IngestionRepository(Protocol):
    """Adds and reads cost records, their aggregates and ingestion runs; never updates."""

    def add_run(self, run_id: uuid.UUID, source: str, caller: str, method: str) -> None: ...

    def add_batch(
        self,
        run_id: uuid.UUID,
        batch_number: int,
        records: list[NormalisedRecord],
        rejected: int,
    ) -> BatchCounts:
        """Classifies `records` by key against the current revisions and stores them:
        new keys as revision 1, changed values as the next revision, the rest not at all;
        appends the aggregate deltas and the batch's counts. Set-wise, in SQL."""

    def add_rejections(
        self, run_id: uuid.UUID, first_position: int, rejections: list[Rejection]
    ) -> None: ...

    def finish_run(self, run_id: uuid.UUID, input_sha256: bytes, duration_ms: int) -> None: ...

    def get_run(self, run_id: uuid.UUID) -> IngestionRun | None: ...

    def list_runs(
        self, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[IngestionRun]: ...

    def list_rejections(self, run_id: uuid.UUID, limit: int) -> list[Rejection]: ...

    def list_records(
        self,
        filters: RecordFilters,
        as_of: datetime | None,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> list[CostRecord]: ...

    def list_revisions(self, key_id: uuid.UUID, after: int, limit: int) -> list[CostRecord]: ...

    def summarise(
        self, filters: RecordFilters, group_by: GroupBy, limit: int
    ) -> list[SummaryGroup]:
        """Per group and currency: exact sums and counts from the aggregate rows, min and
        max from the current revisions. At most `limit` groups."""
