"""The evaluation repository: adds, gets and lists over one SQLAlchemy connection.

The latest version of an evaluation is the one with the highest number; lists join each
evaluation to its latest version with a LATERAL subquery that reads one index entry.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Row,
    and_,
    exists,
    func,
    literal,
    select,
    text,
    tuple_,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert

from ledger_server.domain.evaluations.commands import EvaluationFilters
from ledger_server.domain.evaluations.outputs import PreparedContent
from ledger_server.domain.evaluations.ports import NewEvent, StatisticsRows, StorageFigures
from ledger_server.domain.evaluations.records import (
    Change,
    Compression,
    Content,
    Evaluation,
    Event,
    Location,
    ResourceLimits,
    RunningInfo,
    Status,
    TaskInfo,
    TaskState,
)
from ledger_server.domain.evaluations.statistics import StatDelta
from ledger_server.storage.evaluations.tables import (
    evaluation_contents,
    evaluation_events,
    evaluation_statistics,
    evaluation_versions,
    evaluations,
)

_versions = evaluation_versions
_TABLES = (
    evaluations,
    evaluation_versions,
    evaluation_contents,
    evaluation_events,
    evaluation_statistics,
)
_CONTENT_COLUMNS = [c for c in evaluation_contents.c if c.name != "data"]


class SqlEvaluationRepository:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    # --- writes ---------------------------------------------------------------------------

    def add_evaluation(self, evaluation: Evaluation) -> None:
        self._db.execute(
            evaluations.insert().values(
                evaluation_id=evaluation.evaluation_id,
                code=evaluation.code,
                language=evaluation.language,
                create_time=evaluation.create_time,
            )
        )
        self.add_version(evaluation)

    def add_version(self, evaluation: Evaluation) -> None:
        self._db.execute(_versions.insert().values(**_version_row(evaluation)))

    def add_content(self, prepared: PreparedContent) -> Content:
        c = prepared.content
        self._db.execute(
            pg_insert(evaluation_contents)
            .values(
                sha256=c.sha256,
                size_bytes=c.size,
                location=c.location.value,
                compression=c.compression.value,
                stored_bytes=c.stored_bytes,
                preview=c.preview,
                preview_truncated=c.preview_truncated,
                data=prepared.stored,
            )
            .on_conflict_do_nothing()
        )
        return self._contents([c.sha256])[c.sha256]

    def content_bytes(self, sha256: bytes) -> bytes | None:
        data = self._db.execute(
            select(evaluation_contents.c.data).where(evaluation_contents.c.sha256 == sha256)
        ).scalar()
        return None if data is None else bytes(data)

    def add_events(self, events: Sequence[NewEvent]) -> list[Event]:
        rows = self._db.execute(
            evaluation_events.insert()
            .values(
                [
                    {
                        "event_key": e.event_key,
                        "evaluation_id": e.evaluation_id,
                        "type": e.type,
                        "message": e.message,
                        "metadata": e.metadata,
                        "event_time": e.event_time,
                        "version": e.version,
                    }
                    for e in events
                ]
            )
            .returning(*evaluation_events.c)
        )
        return [_event(row) for row in rows]

    def add_statistics(self, rows: Sequence[StatDelta]) -> None:
        self._db.execute(
            evaluation_statistics.insert().values(
                [
                    {
                        "hour": r.hour,
                        "language": r.language,
                        "status": r.status.value,
                        "evaluations": r.evaluations,
                        "runtime_bucket": r.runtime_bucket,
                        "runtime_ms": r.runtime_ms,
                        "output_bytes": r.output_bytes,
                    }
                    for r in rows
                ]
            )
        )

    # --- reads ----------------------------------------------------------------------------

    def latest(self, evaluation_id: str, *, with_code: bool = False) -> Evaluation | None:
        query = (
            _version_query(with_code)
            .where(_versions.c.evaluation_id == evaluation_id)
            .order_by(_versions.c.version.desc())
            .limit(1)
        )
        found = self._evaluations(self._db.execute(query))
        return found[0] if found else None

    def latest_version_number(self, evaluation_id: str) -> int | None:
        number = self._db.execute(
            select(func.max(_versions.c.version)).where(_versions.c.evaluation_id == evaluation_id)
        ).scalar()
        return None if number is None else int(number)

    def get_version(
        self, evaluation_id: str, version: int, *, with_code: bool = False
    ) -> Evaluation | None:
        query = _version_query(with_code).where(
            _versions.c.evaluation_id == evaluation_id, _versions.c.version == version
        )
        found = self._evaluations(self._db.execute(query))
        return found[0] if found else None

    def list_evaluations(
        self, filters: EvaluationFilters, after: tuple[datetime, str] | None, limit: int
    ) -> list[Evaluation]:
        latest = (
            select(_versions)
            .where(_versions.c.evaluation_id == evaluations.c.evaluation_id)
            .order_by(_versions.c.version.desc())
            .limit(1)
            .lateral("latest")
        )
        query = select(
            latest, evaluations.c.language, evaluations.c.create_time, literal("").label("code")
        ).select_from(evaluations.join(latest, literal(True)))
        if filters.language:
            query = query.where(evaluations.c.language == filters.language)
        if filters.start_time:
            query = query.where(evaluations.c.create_time >= filters.start_time)
        if filters.end_time:
            query = query.where(evaluations.c.create_time < filters.end_time)
        if filters.status:
            query = query.where(latest.c.status == filters.status.value)
        if not filters.show_deleted:
            query = query.where(latest.c.deleted.is_(False))
        if after:
            query = query.where(
                tuple_(evaluations.c.create_time, evaluations.c.evaluation_id) < tuple_(*after)
            )
        query = query.order_by(
            evaluations.c.create_time.desc(), evaluations.c.evaluation_id.desc()
        ).limit(limit)
        return self._evaluations(self._db.execute(query))

    def list_versions(self, evaluation_id: str, after: int, limit: int) -> list[Evaluation]:
        query = (
            _version_query(False)
            .where(_versions.c.evaluation_id == evaluation_id, _versions.c.version > after)
            .order_by(_versions.c.version)
            .limit(limit)
        )
        return self._evaluations(self._db.execute(query))

    def list_running(self, after: str, limit: int) -> list[Evaluation]:
        newer = _versions.alias("newer")
        query = (
            _version_query(False)
            .where(
                _versions.c.status == Status.RUNNING.value,
                _versions.c.evaluation_id > after,
                ~exists().where(
                    newer.c.evaluation_id == _versions.c.evaluation_id,
                    newer.c.version > _versions.c.version,
                ),
            )
            .order_by(_versions.c.evaluation_id)
            .limit(limit)
        )
        return [e for e in self._evaluations(self._db.execute(query)) if not e.deleted]

    def get_event(self, event_key: uuid.UUID) -> Event | None:
        row = self._db.execute(
            select(evaluation_events).where(evaluation_events.c.event_key == event_key)
        ).first()
        return None if row is None else _event(row)

    def list_events(
        self, evaluation_id: str, after: tuple[datetime, int] | None, limit: int
    ) -> list[Event]:
        e = evaluation_events.c
        query = select(evaluation_events).where(e.evaluation_id == evaluation_id)
        if after:
            query = query.where(tuple_(e.event_time, e.event_id) > tuple_(*after))
        query = query.order_by(e.event_time, e.event_id).limit(limit)
        return [_event(row) for row in self._db.execute(query)]

    def statistics(self, start_hour: datetime | None, end_hour: datetime | None) -> StatisticsRows:
        s = evaluation_statistics.c
        bounds = []
        if start_hour:
            bounds.append(s.hour >= start_hour)
        if end_hour:
            bounds.append(s.hour < end_hour)
        where = and_(True, *bounds)
        counts = self._db.execute(
            select(s.status, s.language, func.sum(s.evaluations))
            .where(where)
            .group_by(s.status, s.language)
        )
        histogram = self._db.execute(
            select(s.runtime_bucket, func.sum(s.evaluations))
            .where(where, s.runtime_bucket.is_not(None))
            .group_by(s.runtime_bucket)
        )
        totals = self._db.execute(
            select(
                func.coalesce(func.sum(s.runtime_ms), 0), func.coalesce(func.sum(s.output_bytes), 0)
            ).where(where)
        ).one()
        return StatisticsRows(
            counts=[(Status(status), language, int(n)) for status, language, n in counts],
            histogram=[(int(bucket), int(n)) for bucket, n in histogram],
            runtime_total_ms=int(totals[0]),
            output_bytes=int(totals[1]),
        )

    def storage_figures(self) -> StorageFigures:
        c = evaluation_contents.c
        versions = self._db.execute(select(func.count()).select_from(_versions)).scalar_one()
        table_bytes = self._db.execute(
            text(
                "SELECT sum(pg_total_relation_size(format('ledger.%I', name)::regclass)) "
                "FROM unnest(CAST(:names AS text[])) AS name"
            ),
            {"names": [table.name for table in _TABLES]},
        ).scalar_one()
        blobs = self._db.execute(
            select(func.count(), func.coalesce(func.sum(c.size_bytes), 0)).where(
                c.location == Location.BLOB_STORE.value
            )
        ).one()
        return StorageFigures(int(versions), int(table_bytes or 0), int(blobs[0]), int(blobs[1]))

    # --- rows to records ----------------------------------------------------------------

    def _contents(self, digests: Iterable[bytes]) -> dict[bytes, Content]:
        wanted = list(set(digests))
        if not wanted:
            return {}
        rows = self._db.execute(
            select(*_CONTENT_COLUMNS).where(evaluation_contents.c.sha256.in_(wanted))
        )
        return {bytes(row.sha256): _content(row) for row in rows}

    def _evaluations(self, rows: Iterable[Row[Any]]) -> list[Evaluation]:
        fetched = list(rows)
        contents = self._contents(
            bytes(digest)
            for row in fetched
            for digest in (row.output_sha256, row.error_sha256)
            if digest is not None
        )
        return [_evaluation(row, contents) for row in fetched]


def _version_query(with_code: bool) -> Any:
    code = evaluations.c.code if with_code else literal("").label("code")
    return select(_versions, evaluations.c.language, evaluations.c.create_time, code).join(
        evaluations, evaluations.c.evaluation_id == _versions.c.evaluation_id
    )


def _version_row(e: Evaluation) -> dict[str, Any]:
    return {
        "evaluation_id": e.evaluation_id,
        "version": e.version,
        "status": e.status.value,
        "change": e.change.value,
        "update_time": e.update_time,
        "metadata": e.metadata,
        "output_sha256": e.output.sha256 if e.output else None,
        "error_sha256": e.error.sha256 if e.error else None,
        "runtime_ms": e.runtime_ms,
        "start_time": e.start_time,
        "complete_time": e.complete_time,
        "running": _running_json(e.running),
        "task_id": e.task.task_id if e.task else None,
        "task_state": e.task.task_state.value if e.task else None,
        "retries": e.task.retries if e.task else None,
        "deleted": e.deleted,
    }


def _running_json(running: RunningInfo | None) -> dict[str, Any] | None:
    if running is None:
        return None
    return {
        "container_id": running.container_id,
        "host": running.host,
        "image": running.image,
        "start_time": running.start_time.isoformat() if running.start_time else None,
        "cpu_millis": running.limits.cpu_millis,
        "memory_bytes": running.limits.memory_bytes,
        "timeout_seconds": running.limits.timeout_seconds,
    }


def _running(value: dict[str, Any] | None) -> RunningInfo | None:
    if value is None:
        return None
    start = value.get("start_time")
    return RunningInfo(
        container_id=value["container_id"],
        host=value["host"],
        image=value["image"],
        start_time=datetime.fromisoformat(start) if start else None,
        limits=ResourceLimits(value["cpu_millis"], value["memory_bytes"], value["timeout_seconds"]),
    )


def _content(row: Row[Any]) -> Content:
    return Content(
        sha256=bytes(row.sha256),
        size=row.size_bytes,
        location=Location(row.location),
        compression=Compression(row.compression),
        stored_bytes=row.stored_bytes,
        preview=row.preview,
        preview_truncated=row.preview_truncated,
    )


def _evaluation(row: Row[Any], contents: dict[bytes, Content]) -> Evaluation:
    task = None
    if row.task_id is not None:
        task = TaskInfo(row.task_id, TaskState(row.task_state), row.retries)
    return Evaluation(
        evaluation_id=row.evaluation_id,
        version=row.version,
        status=Status(row.status),
        language=row.language,
        create_time=row.create_time,
        update_time=row.update_time,
        change=Change(row.change),
        code=row.code,
        metadata=row.metadata,
        output=contents[bytes(row.output_sha256)] if row.output_sha256 is not None else None,
        error=contents[bytes(row.error_sha256)] if row.error_sha256 is not None else None,
        runtime_ms=row.runtime_ms,
        start_time=row.start_time,
        complete_time=row.complete_time,
        running=_running(row.running),
        task=task,
        deleted=row.deleted,
    )


def _event(row: Row[Any]) -> Event:
    return Event(
        evaluation_id=row.evaluation_id,
        event_id=row.event_id,
        type=row.type,
        message=row.message,
        metadata=row.metadata,
        event_time=row.event_time,
        version=row.version,
    )
