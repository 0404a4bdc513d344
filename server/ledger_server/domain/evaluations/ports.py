"""What the evaluation use cases need from storage: add, get and list, never update."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from ledger_server.domain.evaluations.commands import EvaluationFilters
from ledger_server.domain.evaluations.outputs import PreparedContent
from ledger_server.domain.evaluations.records import Content, Evaluation, Event, Status
from ledger_server.domain.evaluations.statistics import StatDelta


@dataclass(frozen=True)
class NewEvent:
    evaluation_id: str
    type: str
    message: str
    metadata: dict[str, Any]
    event_time: datetime
    version: int = 0
    # Names the event before the insert numbers it: what a request id's claim records.
    event_key: uuid.UUID = field(default_factory=uuid.uuid4)


@dataclass(frozen=True)
class StatisticsRows:
    """Statistics rows of a range of hours, summed: what `statistics.summarise` takes."""

    counts: list[tuple[Status, str, int]]
    histogram: list[tuple[int, int]]
    runtime_total_ms: int
    output_bytes: int


@dataclass(frozen=True)
class StorageFigures:
    """What the evaluation tables and the blob store hold, from the database's records."""

    versions: int
    table_bytes: int
    blob_files: int
    blob_bytes: int


class EvaluationRepository(Protocol):
    def add_evaluation(self, evaluation: Evaluation) -> None:
        """Adds a new evaluation (its code, language, create time) and its version 1."""

    def add_version(self, evaluation: Evaluation) -> None:
        """Appends a version; the (evaluation_id, version) key refuses a duplicate."""

    def add_content(self, prepared: PreparedContent) -> Content:
        """Records a content once per SHA-256; returns the one recorded first."""

    def content_bytes(self, sha256: bytes) -> bytes | None:
        """What the database keeps of a content (None for blob-store contents)."""

    def latest(self, evaluation_id: str, *, with_code: bool = False) -> Evaluation | None: ...

    def latest_version_number(self, evaluation_id: str) -> int | None:
        """The highest version's number (an index lookup); None for no evaluation."""

    def get_version(
        self, evaluation_id: str, version: int, *, with_code: bool = False
    ) -> Evaluation | None: ...

    def list_evaluations(
        self, filters: EvaluationFilters, after: tuple[datetime, str] | None, limit: int
    ) -> list[Evaluation]:
        """Latest versions, newest evaluation first, after the (create_time, id) key."""

    def list_versions(self, evaluation_id: str, after: int, limit: int) -> list[Evaluation]:
        """Versions above `after`, oldest first."""

    def list_running(self, after: str, limit: int) -> list[Evaluation]:
        """Evaluations whose latest version is RUNNING and not deleted, by id."""

    def add_events(self, events: Sequence[NewEvent]) -> list[Event]: ...

    def get_event(self, event_key: uuid.UUID) -> Event | None: ...

    def list_events(
        self, evaluation_id: str, after: tuple[datetime, int] | None, limit: int
    ) -> list[Event]:
        """Events oldest first by (event_time, event_id), after that key."""

    def add_statistics(self, rows: Sequence[StatDelta]) -> None: ...

    def statistics(self, start_hour: datetime | None, end_hour: datetime | None) -> StatisticsRows:
        """Sums of the rows of hours in [start_hour, end_hour) (None: unbounded)."""

    def storage_figures(self) -> StorageFigures: ...
