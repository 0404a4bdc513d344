"""What the evaluation log use cases need from storage."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from ledger_server.domain.evaluations.log_lines import AppendLogsCommand, LogBatch, StoredBatch

# The topic of change wake-ups (domain/changes.py) sent when an evaluation's log grows.
LOG_TOPIC = "evaluation_logs"


class EvaluationLogRepository(Protocol):
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
