"""Evaluation log lines: what a caller appends, what is stored, and the rules between.

Each stored line has a per-evaluation sequence number: 1, 2, 3, ... with no gap and no
repeat, assigned in append order (not a PostgreSQL sequence, which skips numbers on a
rollback). Lines are stored many to a row (`LogBatch`, one per appended message), so a
runner sending thousands of lines per message costs the database one row each time.
A batch may carry a `batch_id`: sending it again (a retry after a lost reply) stores
nothing and answers with the sequences the first send got.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ledger_server.domain.errors import AlreadyExists, Violations

# One line like Docker's log driver keeps one: longer output is split by the runner.
MAX_LINE_CHARACTERS = 16 * 1024
# Lines in one appended message (one stored row): large enough for 100k lines/s with a
# few hundred messages, small enough for a follower's reply to stay well under 16 MiB.
MAX_LINES_PER_BATCH = 10_000
MAX_BATCH_ID_LENGTH = 128
_BATCH_ID = re.compile(r"[!-~]{1,128}")


class LogStream(enum.IntEnum):
    """Where a line came from; the values are stored, so they never change."""

    STDOUT = 1
    STDERR = 2
    # Written by the platform running the evaluation (pulling the image, OOM kill, ...).
    SYSTEM = 3


@dataclass(frozen=True, slots=True)
class LogLineInput:
    text: str
    stream: LogStream = LogStream.STDOUT
    # When the line was produced, if the caller knows; else the time it was stored.
    log_time: datetime | None = None


@dataclass(frozen=True)
class AppendLogsCommand:
    """One appended message: lines for one evaluation, stored together or not at all."""

    evaluation_id: str
    lines: tuple[LogLineInput, ...]
    batch_id: str = ""
    # A digest of what was sent, so a resent `batch_id` with other lines is caught.
    fingerprint: bytes = b""


@dataclass(frozen=True, slots=True)
class LogLine:
    sequence: int
    text: str
    stream: LogStream
    log_time: datetime


@dataclass
class LogBatch:
    """Stored lines `first_sequence` .. `last_sequence` of one evaluation, in order.

    Never changed once read. `rendered` is where the RPC layer keeps the batch's reply
    once built, so the 500 followers of one evaluation share one rendering.
    """

    evaluation_id: str
    first_sequence: int
    lines: tuple[LogLine, ...]
    rendered: Any = field(default=None, compare=False, repr=False)
    # Kept, not computed: every follower asks for it on every message.
    last_sequence: int = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        self.last_sequence = self.first_sequence + len(self.lines) - 1

    def after(self, sequence: int) -> LogBatch:
        """This batch without its lines up to `sequence` (itself when none are dropped)."""
        skip = sequence - self.first_sequence + 1
        if skip <= 0:
            return self
        return LogBatch(self.evaluation_id, sequence + 1, self.lines[skip:])


@dataclass(frozen=True)
class StoredBatch:
    """What an earlier append of a `batch_id` stored: for answering its resend."""

    first_sequence: int
    last_sequence: int
    fingerprint: bytes


@dataclass(frozen=True)
class AppendResult:
    """The sequences the batch's lines have (`first` > `last` when it had none)."""

    first_sequence: int
    last_sequence: int
    # False when the batch was a resend of a stored `batch_id`: nothing was written.
    stored: bool


def stored_batch(
    evaluation_id: str, first_sequence: int, command: AppendLogsCommand, stored_time: datetime
) -> LogBatch:
    """The batch `command` became once stored from `first_sequence` at `stored_time` (the
    time of its lines without one): what a read of it gives back."""
    lines = tuple(
        LogLine(first_sequence + index, line.text, line.stream, line.log_time or stored_time)
        for index, line in enumerate(command.lines)
    )
    return LogBatch(evaluation_id, first_sequence, lines)


def check_batch(command: AppendLogsCommand, path: str = "lines") -> None:
    """INVALID_ARGUMENT naming each bad line (at most a few) and a bad batch id."""
    violations = Violations()
    if command.batch_id and not _BATCH_ID.fullmatch(command.batch_id):
        violations.add(
            "batch_id",
            f"must be at most {MAX_BATCH_ID_LENGTH} printable ASCII characters without spaces",
        )
    if len(command.lines) > MAX_LINES_PER_BATCH:
        violations.add(
            path, f"must hold at most {MAX_LINES_PER_BATCH} lines, got {len(command.lines)}"
        )
    else:
        for index, line in enumerate(command.lines):
            text = line.text
            if len(text) > MAX_LINE_CHARACTERS:
                violations.add(
                    f"{path}[{index}].text",
                    f"must be at most {MAX_LINE_CHARACTERS} characters, got {len(text)}",
                )
            elif "\x00" in text:
                violations.add(f"{path}[{index}].text", "must not contain NUL characters")
            if len(violations.items) >= 10:
                break  # enough to fix; a 10,000-line batch of NULs need not list them all
    violations.raise_if_any()


def next_first_sequence(last_stored: int) -> int:
    """The sequence of the next appended line, after `last_stored` (0 when none)."""
    return last_stored + 1


def resend_result(stored: StoredBatch, fingerprint: bytes, batch_id: str) -> AppendResult:
    """The answer to a batch whose `batch_id` is already stored: with the same lines, the
    first append's sequences and nothing written; with other lines, ALREADY_EXISTS."""
    if stored.fingerprint != fingerprint:
        raise AlreadyExists(
            "batch_id was already used with other lines for this evaluation: a resent batch "
            "must be sent exactly as before, a new batch needs a new id",
            reason="BATCH_ID_REUSED",
            metadata={"batch_id": batch_id},
        )
    return AppendResult(stored.first_sequence, stored.last_sequence, stored=False)
