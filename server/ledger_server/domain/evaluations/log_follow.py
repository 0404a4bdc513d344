"""Following an evaluation's log like `tail -f`, with one database read per wake-up.

Each followed evaluation has one `_Tail` per server process, shared by all its
followers: when a change wake-up arrives (an append committed in any process), the tail
reads the new lines once and every follower takes them from its memory. So 500
followers of one evaluation cost one read per append, not 500, and share each batch
object (and the reply the RPC layer renders from it). A follower whose cursor is older
than what the tail keeps (it reconnected far behind, or reads slower than lines come)
catches up with reads of its own, then joins the tail.

The tail also reads after `poll_seconds` without a wake-up, so a lost one (the listener
was reconnecting) delays lines, never loses them. A follower ends once the evaluation
has a final status and every line was delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol, TypeVar

from ledger_server.domain.changes import Changes, ChangeWatch
from ledger_server.domain.evaluations.log_lines import LogBatch
from ledger_server.domain.evaluations.log_ports import LOG_TOPIC
from ledger_server.domain.evaluations.log_use_cases import LogRead

T = TypeVar("T")
# Runs blocking work (a database read) off the event loop: offload(fn, *args).
Offload = Callable[..., Awaitable[Any]]

POLL_SECONDS = 2.0
# Lines each tail keeps for followers a little behind (a few MB with their rendered
# replies, per followed evaluation); a follower further behind reads for itself.
KEEP_LINES = 10_000


class LogSource(Protocol):
    """What following needs of the log use cases (`EvaluationLogs`)."""

    def log_end(self, evaluation_id: str, after_sequence: int) -> int: ...

    def read_after(self, evaluation_id: str, after_sequence: int) -> LogRead: ...


class _Tail:
    """The newest lines of one evaluation, as this process last read them."""

    def __init__(self, end: int) -> None:
        self.end = end  # the last sequence read
        self.recent: deque[LogBatch] = deque()
        self.recent_lines = 0
        self.finished = False
        self.error: BaseException | None = None
        self.advanced = asyncio.Event()
        self.followers = 0
        self.reader: asyncio.Task[None] | None = None
        self.watch: ChangeWatch | None = None

    def first_kept(self) -> int:
        return self.recent[0].first_sequence if self.recent else self.end + 1

    def add(self, read: LogRead, keep_lines: int) -> None:
        for batch in read.batches:
            self._keep(batch)
        self._trim(keep_lines)
        self.finished = read.finished
        self.wake()

    def extend(self, news: list[Any], keep_lines: int) -> bool:
        """Adds the batches this process's appends announced (`news`: a list of batches
        per append, in the order they were announced) as far as they continue the end;
        False when one does not (a gap: lines of an append not announced yet, or of
        another process, are missing), and then only a read brings the rest."""
        added = False
        continues = True
        for batch in (batch for batches in news for batch in batches):
            if batch.last_sequence <= self.end:
                continue  # read meanwhile
            if batch.first_sequence > self.end + 1:
                continues = False
                break
            self._keep(batch.after(self.end))
            added = True
        if added:
            self._trim(keep_lines)
            self.wake()
        return continues

    def _keep(self, batch: LogBatch) -> None:
        self.recent.append(batch)
        self.recent_lines += len(batch.lines)
        self.end = batch.last_sequence

    def _trim(self, keep_lines: int) -> None:
        while self.recent_lines > keep_lines and len(self.recent) > 1:
            self.recent_lines -= len(self.recent.popleft().lines)

    def after(self, cursor: int) -> list[LogBatch]:
        """The kept batches past `cursor`, looked for from the newest: followers are
        mostly at the end, so this costs the new batches, not all the kept ones."""
        newest = self.recent[-1] if self.recent else None
        if newest is not None and newest.first_sequence == cursor + 1:
            return [newest]  # the usual case, once per follower per batch: no search
        found: list[LogBatch] = []
        for batch in reversed(self.recent):
            if batch.last_sequence <= cursor:
                break
            found.append(batch.after(cursor))
        found.reverse()
        return found

    def wake(self) -> None:
        event, self.advanced = self.advanced, asyncio.Event()
        event.set()


class LogFollowers:
    """The log streams of one server process: built once by the composition root."""

    def __init__(
        self,
        logs: LogSource,
        changes: Changes,
        offload: Offload,
        *,
        poll_seconds: float = POLL_SECONDS,
        keep_lines: int = KEEP_LINES,
    ) -> None:
        self._logs = logs
        self._changes = changes
        self._offload = offload
        self._poll_seconds = poll_seconds
        self._keep_lines = keep_lines
        self._tails: dict[str, _Tail] = {}

    async def _last(self, evaluation_id: str, after_sequence: int) -> int:
        last: int = await self._offload(self._logs.log_end, evaluation_id, after_sequence)
        return last

    async def _read(self, evaluation_id: str, after_sequence: int) -> LogRead:
        read: LogRead = await self._offload(self._logs.read_after, evaluation_id, after_sequence)
        return read

    async def read(self, evaluation_id: str, after_sequence: int) -> AsyncIterator[list[LogBatch]]:
        """The lines after `after_sequence` that exist now, then the end."""
        await self._last(evaluation_id, after_sequence)
        cursor = after_sequence
        while True:
            read = await self._read(evaluation_id, cursor)
            if read.batches:
                yield read.batches
                cursor = read.batches[-1].last_sequence
            if not read.more:
                return

    async def follow(
        self, evaluation_id: str, after_sequence: int
    ) -> AsyncIterator[list[LogBatch]]:
        """The lines after `after_sequence`, then new ones as they are committed, until
        the evaluation is final and every line was yielded.

        Yields every batch there is to send at once, in order: a follower that fell
        behind (a slow reader, a busy server) catches up in fewer, larger messages.
        """
        last = await self._last(evaluation_id, after_sequence)
        tail = self._join(evaluation_id, last)
        cursor = after_sequence
        try:
            while True:
                if tail.error is not None:
                    raise tail.error
                if cursor < tail.first_kept() - 1:
                    # Behind what the tail keeps: catch up with reads of our own.
                    read = await self._read(evaluation_id, cursor)
                    if read.batches:
                        yield read.batches
                        cursor = read.batches[-1].last_sequence
                    if read.finished:
                        return
                    continue
                batches = tail.after(cursor)
                if batches:
                    yield batches
                    cursor = batches[-1].last_sequence
                if cursor >= tail.end:
                    if tail.finished:
                        return
                    advanced = tail.advanced
                    if tail.error is None:
                        await advanced.wait()
        finally:
            self._leave(evaluation_id, tail)

    def _join(self, evaluation_id: str, last: int) -> _Tail:
        tail = self._tails.get(evaluation_id)
        if tail is None:
            tail = _Tail(last)
            self._tails[evaluation_id] = tail
            tail.watch = self._changes.watch(LOG_TOPIC, evaluation_id)
            tail.reader = asyncio.create_task(self._keep_reading(evaluation_id, tail))
        tail.followers += 1
        return tail

    def _leave(self, evaluation_id: str, tail: _Tail) -> None:
        tail.followers -= 1
        if tail.followers > 0:
            return
        if self._tails.get(evaluation_id) is tail:
            del self._tails[evaluation_id]
        if tail.reader is not None:
            tail.reader.cancel()
        if tail.watch is not None:
            tail.watch.close()

    async def _keep_reading(self, evaluation_id: str, tail: _Tail) -> None:
        """The one reader of a tail: after each wake-up (or poll), the lines after its end.

        An append committed in this process wakes it with its lines (the news), which
        the tail takes as they are when they continue its end: no read. Anything else
        (another process's append, a final status, a poll, a gap) is read.
        """
        watch = tail.watch
        assert watch is not None
        try:
            must_read = True
            while not tail.finished:
                if must_read:
                    read = await self._read(evaluation_id, tail.end)
                    tail.add(read, self._keep_lines)
                    if tail.finished:
                        break
                    if read.more:
                        continue
                woken = await watch.changed(self._poll_seconds)
                news = watch.take_news()
                must_read = not woken or news is None or not tail.extend(news, self._keep_lines)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # e.g. the database went away: followers end with it
            tail.error = error
            tail.wake()
        finally:
            # A tail that stops reading must not be joined by new followers.
            if self._tails.get(evaluation_id) is tail:
                del self._tails[evaluation_id]
            with contextlib.suppress(Exception):
                watch.close()

    @property
    def followed(self) -> int:
        """How many evaluations this process follows now (one reader each)."""
        return len(self._tails)
