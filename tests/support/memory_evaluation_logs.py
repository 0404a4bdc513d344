"""An in-memory evaluation log repository, for the log use cases' unit tests.

Keeps what `domain/evaluations/log_ports.py` promises: batches by evaluation in sequence
order, found by batch id, read after a sequence within line and character limits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ledger_server.domain.evaluations.log_lines import (
    AppendLogsCommand,
    LogBatch,
    LogLine,
    StoredBatch,
)
from ledger_server.domain.evaluations.log_ports import AppendState
from ledger_server.domain.evaluations.ports import EvaluationRepository

STORED_AT = datetime(2026, 11, 27, tzinfo=UTC)


@dataclass
class LogTables:
    batches: dict[str, list[LogBatch]] = field(default_factory=dict)
    batch_ids: dict[tuple[str, str], StoredBatch] = field(default_factory=dict)
    # (evaluation_id) of every change wake-up published, in order.
    published: list[str] = field(default_factory=list)

    def copy(self) -> LogTables:
        return LogTables(
            {key: list(value) for key, value in self.batches.items()},
            dict(self.batch_ids),
            list(self.published),
        )


class MemoryEvaluationLogs:
    def __init__(self, tables: LogTables, evaluations: EvaluationRepository) -> None:
        self._t = tables
        self._evaluations = evaluations

    def lock_for_append(self, lock_key: str, evaluation_id: str) -> AppendState | None:
        # No lock to take: unit tests run one unit of work at a time.
        latest = self._evaluations.latest(evaluation_id)
        if latest is None:
            return None
        return AppendState(latest.status, latest.deleted, self.last_sequence(evaluation_id))

    def last_sequence(self, evaluation_id: str) -> int:
        batches = self._t.batches.get(evaluation_id)
        return batches[-1].last_sequence if batches else 0

    def find_batch(self, evaluation_id: str, batch_id: str) -> StoredBatch | None:
        return self._t.batch_ids.get((evaluation_id, batch_id))

    def add_batches(
        self, evaluation_id: str, batches: Sequence[tuple[int, AppendLogsCommand]]
    ) -> datetime:
        for first_sequence, command in batches:
            # The database's trigger: a batch starts right after the last stored line.
            assert first_sequence == self.last_sequence(evaluation_id) + 1, "gap or overlap"
            stored = tuple(
                LogLine(first_sequence + i, line.text, line.stream, line.log_time or STORED_AT)
                for i, line in enumerate(command.lines)
            )
            batch = LogBatch(evaluation_id, first_sequence, stored)
            self._t.batches.setdefault(evaluation_id, []).append(batch)
            if command.batch_id:
                self._t.batch_ids[(evaluation_id, command.batch_id)] = StoredBatch(
                    first_sequence, batch.last_sequence, command.fingerprint
                )
        self._t.published.append(evaluation_id)
        return STORED_AT

    def read_after(
        self, evaluation_id: str, after_sequence: int, max_lines: int, max_characters: int
    ) -> tuple[list[LogBatch], bool]:
        found: list[LogBatch] = []
        lines = characters = 0
        for batch in self._t.batches.get(evaluation_id, []):
            if batch.last_sequence <= after_sequence:
                continue
            trimmed = batch.after(after_sequence)
            size = sum(len(line.text) for line in batch.lines)
            if found and (lines >= max_lines or characters + size > max_characters):
                return found, True
            found.append(trimmed)
            lines += len(trimmed.lines)
            characters += size
        return found, False
