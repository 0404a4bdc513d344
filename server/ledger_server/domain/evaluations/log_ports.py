"""What the evaluation log use cases need from storage."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ledger_server.domain.evaluations.log_lines import AppendLogsCommand, LogBatch, StoredBatch
from ledger_server.domain.evaluations.records import Status

# The topic of change wake-ups (domain/changes.py) sent when an evaluation's log grows.
LOG_TOPIC = "evaluation_logs"


@dataclass(frozen=True)
class AppendState:
    """What an append must know of its evaluation, read while holding its lock."""

    status: Status  # of the latest version
    deleted: bool
    last_sequence: int  # of the last stored line; 0 when none is


class EvaluationLogRepository(Protocol):
    def lock_for_append(self, lock_key: str, evaluation_id: str) -> AppendState | None:
        """Takes `lock_key` as `UnitOfWork.lock` does, then reads the evaluation's state
        as it is once the lock is held; None when the evaluation does not exist.

        One round trip for both: an append waits for its turn on the lock and then
        for each round trip of its own, so every one it saves shortens the time the
        evaluation's followers wait for its lines.
        """

    def last_sequence(self, evaluation_id: str) -> int:
        """The sequence of the evaluation's last stored line; 0 when it has none."""

    def find_batch(self, evaluation_id: str, batch_id: str) -> StoredBatch | None:
        """The batch stored earlier under `batch_id` for this evaluation, if any."""

    def add_batches(
        self, evaluation_id: str, batches: Sequence[tuple[int, AppendLogsCommand]]
    ) -> datetime:
        """Stores each command's lines as `first`, `first + 1`, ... (the int of its pair),
        in order, in one statement; lines without a time get the time they are stored,
        which it returns (the same for every line it stores). Wakes the evaluation's
        followers (LOG_TOPIC) in every server process once the transaction commits."""

    def read_after(
        self, evaluation_id: str, after_sequence: int, max_lines: int, max_characters: int
    ) -> tuple[list[LogBatch], bool]:
        """Stored batches holding the lines after `after_sequence`, oldest first, the
        first one trimmed to start right after it; stops once it holds `max_lines`
        lines, or before the batch that would pass `max_characters` of text (but
        returns at least one). The flag says whether batches were left out."""
