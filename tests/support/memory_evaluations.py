"""An in-memory evaluation repository behind domain/evaluations/ports.py, for unit tests.

It keeps what the port promises (latest = highest version, lists in their documented
orders, one content per digest) and no more; the SQL repository is proved against
PostgreSQL by the integration and end-to-end tests.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from ledger_server.domain.evaluations.commands import EvaluationFilters
from ledger_server.domain.evaluations.outputs import PreparedContent
from ledger_server.domain.evaluations.ports import NewEvent, StatisticsRows, StorageFigures
from ledger_server.domain.evaluations.records import Content, Evaluation, Event, Status
from ledger_server.domain.evaluations.statistics import StatDelta


@dataclass
class EvaluationTables:
    code: dict[str, str] = field(default_factory=dict)
    versions: dict[str, list[Evaluation]] = field(default_factory=dict)
    contents: dict[bytes, PreparedContent] = field(default_factory=dict)
    events: list[tuple[uuid.UUID, Event]] = field(default_factory=list)
    statistics: list[StatDelta] = field(default_factory=list)

    def copy(self) -> EvaluationTables:
        return EvaluationTables(
            dict(self.code),
            {key: list(value) for key, value in self.versions.items()},
            dict(self.contents),
            list(self.events),
            list(self.statistics),
        )


class MemoryEvaluations:
    def __init__(self, tables: EvaluationTables) -> None:
        self._t = tables

    def add_evaluation(self, evaluation: Evaluation) -> None:
        self._t.code[evaluation.evaluation_id] = evaluation.code
        self.add_version(evaluation)

    def add_version(self, evaluation: Evaluation) -> None:
        versions = self._t.versions.setdefault(evaluation.evaluation_id, [])
        assert len(versions) + 1 == evaluation.version, "the versions key refuses a gap"
        versions.append(replace(evaluation, code=""))

    def add_content(self, prepared: PreparedContent) -> Content:
        return self._t.contents.setdefault(prepared.content.sha256, prepared).content

    def content_bytes(self, sha256: bytes) -> bytes | None:
        found = self._t.contents.get(sha256)
        return None if found is None else found.stored

    def _with_code(self, evaluation: Evaluation, with_code: bool) -> Evaluation:
        return (
            replace(evaluation, code=self._t.code[evaluation.evaluation_id])
            if with_code
            else evaluation
        )

    def latest(self, evaluation_id: str, *, with_code: bool = False) -> Evaluation | None:
        versions = self._t.versions.get(evaluation_id)
        return self._with_code(versions[-1], with_code) if versions else None

    def latest_version_number(self, evaluation_id: str) -> int | None:
        versions = self._t.versions.get(evaluation_id)
        return len(versions) if versions else None

    def get_version(
        self, evaluation_id: str, version: int, *, with_code: bool = False
    ) -> Evaluation | None:
        versions = self._t.versions.get(evaluation_id, [])
        if 1 <= version <= len(versions):
            return self._with_code(versions[version - 1], with_code)
        return None

    def list_evaluations(
        self, filters: EvaluationFilters, after: tuple[datetime, str] | None, limit: int
    ) -> list[Evaluation]:
        found = [
            versions[-1]
            for versions in self._t.versions.values()
            if (filters.show_deleted or not versions[-1].deleted)
            and (filters.status is None or versions[-1].status is filters.status)
            and (not filters.language or versions[-1].language == filters.language)
            and (filters.start_time is None or versions[-1].create_time >= filters.start_time)
            and (filters.end_time is None or versions[-1].create_time < filters.end_time)
            and (after is None or (versions[-1].create_time, versions[-1].evaluation_id) < after)
        ]
        found.sort(key=lambda e: (e.create_time, e.evaluation_id), reverse=True)
        return found[:limit]

    def list_versions(self, evaluation_id: str, after: int, limit: int) -> list[Evaluation]:
        return self._t.versions.get(evaluation_id, [])[after : after + limit]

    def list_running(self, after: str, limit: int) -> list[Evaluation]:
        running = sorted(
            (v[-1] for v in self._t.versions.values()),
            key=lambda e: e.evaluation_id,
        )
        return [
            e
            for e in running
            if e.status is Status.RUNNING and not e.deleted and e.evaluation_id > after
        ][:limit]

    def add_events(self, events: Sequence[NewEvent]) -> list[Event]:
        added = []
        for new in events:
            event = Event(
                new.evaluation_id,
                len(self._t.events) + 1,
                new.type,
                new.message,
                new.metadata,
                new.event_time,
                new.version,
            )
            self._t.events.append((new.event_key, event))
            added.append(event)
        return added

    def get_event(self, event_key: uuid.UUID) -> Event | None:
        return next((event for key, event in self._t.events if key == event_key), None)

    def list_events(
        self, evaluation_id: str, after: tuple[datetime, int] | None, limit: int
    ) -> list[Event]:
        events = sorted(
            (e for _, e in self._t.events if e.evaluation_id == evaluation_id),
            key=lambda e: (e.event_time, e.event_id),
        )
        return [e for e in events if after is None or (e.event_time, e.event_id) > after][:limit]

    def add_statistics(self, rows: Sequence[StatDelta]) -> None:
        self._t.statistics.extend(rows)

    def statistics(self, start_hour: datetime | None, end_hour: datetime | None) -> StatisticsRows:
        rows = [
            r
            for r in self._t.statistics
            if (start_hour is None or r.hour >= start_hour)
            and (end_hour is None or r.hour < end_hour)
        ]
        counts: dict[tuple[Status, str], int] = {}
        histogram: dict[int, int] = {}
        for r in rows:
            counts[(r.status, r.language)] = counts.get((r.status, r.language), 0) + r.evaluations
            if r.runtime_bucket is not None:
                histogram[r.runtime_bucket] = histogram.get(r.runtime_bucket, 0) + r.evaluations
        return StatisticsRows(
            [(status, language, n) for (status, language), n in counts.items()],
            list(histogram.items()),
            sum(r.runtime_ms for r in rows),
            sum(r.output_bytes for r in rows),
        )

    def storage_figures(self) -> StorageFigures:
        blobs = [p.content for p in self._t.contents.values() if p.stored is None]
        return StorageFigures(
            sum(len(v) for v in self._t.versions.values()),
            0,
            len(blobs),
            sum(c.size for c in blobs),
        )
