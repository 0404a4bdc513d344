"""Evaluation logs in PostgreSQL: add a batch, find a resent one, read after a sequence."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, func, insert, select, text

from ledger_server.domain.evaluations.log_lines import (
    AppendLogsCommand,
    LogBatch,
    LogLine,
    LogStream,
    StoredBatch,
)
from ledger_server.domain.evaluations.log_ports import LOG_TOPIC, AppendState
from ledger_server.domain.evaluations.records import Status
from ledger_server.storage.evaluations.log_tables import evaluation_log_batches as logs
from ledger_server.storage.evaluations.tables import evaluation_versions as versions
from ledger_server.storage.locks import ADVISORY_LOCK
from ledger_server.storage.notifications import change_notice

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_STREAMS = {stream.value: stream for stream in LogStream}
# Rows looked at per read before the line and character limits cut: reads stay small.
READ_ROWS = 256
# The lock, then the latest version's status and the log's end, sent as one query string:
# one round trip, two statements, the read's snapshot taken once the lock is held. This
# relies on psycopg2 binding parameters on the client; a driver that binds on the server
# (psycopg 3, asyncpg) refuses two statements in one prepared query.
_LOCK_FOR_APPEND = text(
    f"""{ADVISORY_LOCK};
SELECT v.status, v.deleted,
       (SELECT coalesce(max(l.last_sequence), 0) FROM {logs.fullname} AS l
         WHERE l.evaluation_id = :evaluation_id) AS last_sequence
  FROM {versions.fullname} AS v
 WHERE v.evaluation_id = :evaluation_id
 ORDER BY v.version DESC
 LIMIT 1"""  # noqa: S608 - the table names are the schema's own
)


class SqlEvaluationLogs:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def lock_for_append(self, lock_key: str, evaluation_id: str) -> AppendState | None:
        row = self._db.execute(
            _LOCK_FOR_APPEND, {"key": lock_key, "evaluation_id": evaluation_id}
        ).first()
        if row is None:
            return None
        return AppendState(Status(row.status), bool(row.deleted), int(row.last_sequence))

    def last_sequence(self, evaluation_id: str) -> int:
        last = self._db.execute(
            select(func.max(logs.c.last_sequence)).where(logs.c.evaluation_id == evaluation_id)
        ).scalar()
        return int(last or 0)

    def find_batch(self, evaluation_id: str, batch_id: str) -> StoredBatch | None:
        row = self._db.execute(
            select(logs.c.first_sequence, logs.c.last_sequence, logs.c.fingerprint).where(
                logs.c.evaluation_id == evaluation_id, logs.c.batch_id == batch_id
            )
        ).first()
        if row is None:
            return None
        return StoredBatch(row.first_sequence, row.last_sequence, bytes(row.fingerprint or b""))

    def add_batches(
        self, evaluation_id: str, batches: Sequence[tuple[int, AppendLogsCommand]]
    ) -> datetime:
        rows = [_row(evaluation_id, first, c) for first, c in batches]
        # The time of lines without one is the database's: the transaction's start. The
        # wake-up rides along in the same statement: one round trip fewer per append.
        stored = self._db.execute(
            insert(logs).returning(logs.c.create_time, change_notice(LOG_TOPIC, evaluation_id)),
            rows,
        ).scalar()
        assert isinstance(stored, datetime)
        return stored

    def read_after(
        self, evaluation_id: str, after_sequence: int, max_lines: int, max_characters: int
    ) -> tuple[list[LogBatch], bool]:
        # Which rows to read is decided on their sizes alone, so no more text than the
        # limits allow is ever fetched.
        sizes = self._db.execute(
            select(logs.c.first_sequence, logs.c.line_count, logs.c.text_characters)
            .where(logs.c.evaluation_id == evaluation_id, logs.c.last_sequence > after_sequence)
            .order_by(logs.c.last_sequence)
            .limit(READ_ROWS)
        ).all()
        if not sizes:
            return [], False
        lines = characters = taken = 0
        for first, count, text_characters in sizes:
            if taken and (lines >= max_lines or characters + text_characters > max_characters):
                break
            lines += count - max(after_sequence - first + 1, 0)
            characters += text_characters
            taken += 1
        more = taken < len(sizes) or len(sizes) == READ_ROWS
        rows = self._db.execute(
            select(
                logs.c.first_sequence,
                logs.c.lines,
                logs.c.streams,
                logs.c.log_time_micros,
                logs.c.create_time,
            )
            .where(
                logs.c.evaluation_id == evaluation_id,
                logs.c.first_sequence >= sizes[0].first_sequence,
                logs.c.first_sequence <= sizes[taken - 1].first_sequence,
            )
            .order_by(logs.c.first_sequence)
        ).all()
        batches = [_batch(evaluation_id, row).after(after_sequence) for row in rows]
        return batches, more


def _row(evaluation_id: str, first: int, command: AppendLogsCommand) -> dict[str, object]:
    lines = command.lines
    texts = [line.text for line in lines]
    times = [line.log_time for line in lines]
    return {
        "evaluation_id": evaluation_id,
        "first_sequence": first,
        "last_sequence": first + len(texts) - 1,
        "line_count": len(texts),
        "text_characters": sum(map(len, texts)),
        "lines": texts,
        "streams": [int(line.stream) for line in lines],
        "log_time_micros": None if not any(times) else [_micros(moment) for moment in times],
        "batch_id": command.batch_id or None,
        "fingerprint": command.fingerprint if command.batch_id else None,
    }


def _micros(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    return (moment - EPOCH) // timedelta(microseconds=1)


def _batch(evaluation_id: str, row: object) -> LogBatch:
    first: int = row.first_sequence  # type: ignore[attr-defined]
    stored: datetime = row.create_time  # type: ignore[attr-defined]
    micros = row.log_time_micros  # type: ignore[attr-defined]
    texts: list[str] = row.lines  # type: ignore[attr-defined]
    streams: list[int] = row.streams  # type: ignore[attr-defined]
    if micros is None:
        lines = tuple(
            LogLine(first + index, text, _STREAMS[stream], stored)
            for index, (text, stream) in enumerate(zip(texts, streams, strict=True))
        )
    else:
        lines = tuple(
            LogLine(
                first + index,
                text,
                _STREAMS[stream],
                stored if moment is None else EPOCH + timedelta(microseconds=moment),
            )
            for index, (text, stream, moment) in enumerate(zip(texts, streams, micros, strict=True))
        )
    return LogBatch(evaluation_id, first, lines)
