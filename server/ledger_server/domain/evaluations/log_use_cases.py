"""Evaluation log use cases: append batches of lines, page through them, read after a cursor.

Appends and status changes of one evaluation serialise on the evaluation's lock, which
gives two promises. Sequences are gapless: each append reads the last sequence and
writes the next ones while no other append of that evaluation can. And no line is
appended after the evaluation reached a final status, so a follower that has read every
line committed before it saw the final status has read them all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ledger_server.domain import cursors
from ledger_server.domain.changes import Changes
from ledger_server.domain.errors import (
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    LedgerError,
    OutOfRange,
)
from ledger_server.domain.evaluations import rules
from ledger_server.domain.evaluations.log_lines import (
    AppendLogsCommand,
    AppendResult,
    LogBatch,
    LogLine,
    StoredBatch,
    check_batch,
    next_first_sequence,
    resend_result,
    stored_batch,
)
from ledger_server.domain.evaluations.log_ports import LOG_TOPIC
from ledger_server.domain.evaluations.use_cases import (
    EvaluationNotFound,
    live_evaluation,
    lock_key,
)
from ledger_server.domain.paging import CursorSpec, Page, page_size
from ledger_server.domain.ports import Transactions, UnitOfWork

LIST_EVALUATION_LOGS = CursorSpec("ListEvaluationLogs", cursors.whole_number)
DEFAULT_PAGE_LINES = 1_000
MAX_PAGE_LINES = 10_000
# A read for a follower: enough to keep up with 100k lines/s in a few reads a second,
# bounded so one reply stays far below the 16 MiB message limit.
READ_LINES = 20_000
READ_CHARACTERS = 4 * 1024 * 1024


@dataclass(frozen=True)
class LogRead:
    """Lines after a cursor, and whether they are the last the evaluation will have."""

    batches: list[LogBatch]
    # Lines were left out to keep the read small: read again at once.
    more: bool
    # The evaluation is final and `batches` reach its last line: nothing more will come.
    finished: bool


class EvaluationLogs:
    def __init__(self, transactions: Transactions, changes: Changes | None = None) -> None:
        self._transactions = transactions
        # This process's followers, told of each append as it commits (with its lines).
        self._changes = changes

    def append(self, command: AppendLogsCommand) -> AppendResult:
        """Stores one batch (or finds its earlier send); returns its lines' sequences."""
        return self.append_many([command])[0]

    def append_many(self, commands: Sequence[AppendLogsCommand]) -> list[AppendResult]:
        """Stores batches of one evaluation in order, in one transaction (one commit for
        many batches is what makes 100k lines/s possible); returns each one's sequences.

        A batch that is refused (malformed, its batch id reused, the evaluation final)
        raises its error, but only after the batches before it were stored: each batch
        stands alone, as if sent by itself.
        """
        checked: list[AppendLogsCommand] = []
        refused: LedgerError | None = None
        for command in commands:
            try:
                rules.check_id(command.evaluation_id)
                check_batch(command)
            except InvalidArgument as error:
                refused = error
                break
            checked.append(command)
        results: list[AppendResult] = []
        if checked:
            appended = self._transactions.run(lambda uow: _append(uow, checked))
            results = appended.results
            refused = appended.refused or refused
            self._announce(appended)
        if refused is not None:
            raise refused
        return results

    def _announce(self, appended: _Appended) -> None:
        """Hands the lines just committed to this process's followers of the evaluation,
        if it has any: they need not read them back (other processes read them when the
        database wakes them)."""
        changes, stored_time = self._changes, appended.stored_time
        if changes is None or stored_time is None:
            return  # nobody to tell, or nothing stored
        evaluation_id = appended.new[0][1].evaluation_id
        if changes.watched(LOG_TOPIC, evaluation_id):
            batches = [
                stored_batch(evaluation_id, first, command, stored_time)
                for first, command in appended.new
            ]
            changes.committed(LOG_TOPIC, evaluation_id, batches)

    def list_logs(self, evaluation_id: str, size: int, page_token: str) -> Page[LogLine]:
        """Lines oldest first, `size` per page (0: 1,000; at most 10,000)."""
        rules.check_id(evaluation_id)
        limit = page_size(size, default=DEFAULT_PAGE_LINES, maximum=MAX_PAGE_LINES)
        cursor = LIST_EVALUATION_LOGS.decode(page_token, [evaluation_id])
        after = 0 if cursor is None else int(cursor[0])
        with self._transactions.read() as uow:
            live_evaluation(uow.evaluations, evaluation_id)  # NOT_FOUND if unknown or deleted
            batches, more = uow.evaluation_logs.read_after(
                evaluation_id, after, limit, READ_CHARACTERS
            )
        lines = [line for batch in batches for line in batch.lines]
        if len(lines) > limit:  # the first batch alone held more than a page
            lines, more = lines[:limit], True
        token = LIST_EVALUATION_LOGS.encode([evaluation_id], [lines[-1].sequence]) if more else ""
        return Page(lines, token)

    def read_after(self, evaluation_id: str, after_sequence: int) -> LogRead:
        """The next lines after `after_sequence` for a stream, and whether they are all.

        The status is read before the lines: a final status read first means every line
        (all committed before it) is visible to the read of lines that follows, which
        is why these reads need no transaction (each statement sees every commit made
        before it started) and save its two round trips.
        """
        with self._transactions.read() as uow:
            final = _closed(uow, evaluation_id)
            batches, more = uow.evaluation_logs.read_after(
                evaluation_id, after_sequence, READ_LINES, READ_CHARACTERS
            )
        return LogRead(batches, more=more, finished=final and not more)

    def log_end(self, evaluation_id: str, after_sequence: int) -> int:
        """The evaluation's last sequence; checks a stream may start at `after_sequence`.

        NOT_FOUND for an unknown evaluation; OUT_OF_RANGE past the last stored line (no
        server gave that cursor out).
        """
        rules.check_id(evaluation_id)
        if after_sequence < 0:
            raise InvalidArgument([FieldViolation("after_sequence", "must not be negative")])
        with self._transactions.read() as uow:
            live_evaluation(uow.evaluations, evaluation_id)
            last = uow.evaluation_logs.last_sequence(evaluation_id)
        if after_sequence > last:
            raise OutOfRange(
                f"after_sequence {after_sequence} is past the last line ({last}) of "
                f"evaluation {evaluation_id!r}",
                reason="AFTER_LAST_LINE",
                metadata={"evaluation_id": evaluation_id, "last_sequence": str(last)},
            )
        return last


@dataclass
class _Appended:
    """What one transaction of `append_many` did."""

    results: list[AppendResult]
    # The batches stored, with their first sequences, and the time of their lines without one.
    new: list[tuple[int, AppendLogsCommand]]
    stored_time: datetime | None
    # The batch that ended it, refused (the ones before it commit).
    refused: LedgerError | None


def _append(uow: UnitOfWork, commands: Sequence[AppendLogsCommand]) -> _Appended:
    """Appends `commands` (all of one evaluation) under its lock, stopping at the first
    refused one: its error is returned, not raised, so the ones before it commit."""
    evaluation_id = commands[0].evaluation_id
    assert all(c.evaluation_id == evaluation_id for c in commands), "one evaluation"
    repository = uow.evaluation_logs
    state = repository.lock_for_append(lock_key(evaluation_id), evaluation_id)
    if state is None or state.deleted:
        raise EvaluationNotFound(evaluation_id)
    final = state.status.terminal
    last = state.last_sequence
    results: list[AppendResult] = []
    new: list[tuple[int, AppendLogsCommand]] = []
    # Batch ids stored by this transaction, which find_batch cannot see until it ends.
    pending: dict[str, StoredBatch] = {}
    refused: LedgerError | None = None
    for command in commands:
        if command.batch_id:
            stored = pending.get(command.batch_id) or repository.find_batch(
                evaluation_id, command.batch_id
            )
            if stored is not None:
                try:
                    results.append(resend_result(stored, command.fingerprint, command.batch_id))
                except AlreadyExists as error:
                    refused = error
                    break
                continue
        if final:
            refused = FailedPrecondition(
                f"evaluation {evaluation_id!r} has finished: its log is closed",
                reason="EVALUATION_FINISHED",
                metadata={"evaluation_id": evaluation_id},
            )
            break
        first = next_first_sequence(last)
        last += len(command.lines)
        results.append(AppendResult(first, last, stored=bool(command.lines)))
        if command.lines:
            new.append((first, command))
            if command.batch_id:
                pending[command.batch_id] = StoredBatch(first, last, command.fingerprint)
    stored_time = repository.add_batches(evaluation_id, new) if new else None
    return _Appended(results, new, stored_time, refused)


def _closed(uow: UnitOfWork, evaluation_id: str) -> bool:
    """Whether the log can grow no more: the evaluation is final, or deleted meanwhile
    (a deleted evaluation takes no appends either)."""
    current = live_evaluation(uow.evaluations, evaluation_id, show_deleted=True)
    return current.status.terminal or current.deleted
