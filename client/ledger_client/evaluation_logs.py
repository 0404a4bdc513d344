"""Evaluation logs in the SDK: append, list, read and follow, sync and asyncio.

`EvaluationLogMethods` / `AsyncEvaluationLogMethods` are mixed into the evaluations
sub-client (`ledger.evaluations`), which provides `_calls` and `_stub`.

    for line in ledger.evaluations.follow_logs("eval_42"):
        print(line.sequence, line.text)

`follow_logs` yields lines as they are committed and ends once the evaluation is final
and every line was yielded; after a dropped connection or a server restart it reopens
the stream after the last line it yielded, so no line is lost or repeated.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Self

from google.protobuf import timestamp_pb2

from ledger.v1 import evaluation_log_pb2 as el
from ledger.v1 import evaluation_service_pb2 as es
from ledger_client.async_calls import AsyncCalls
from ledger_client.async_streams import AsyncResumableStream
from ledger_client.calls import Calls
from ledger_client.connection import NO_DEADLINE, CallMetadata
from ledger_client.pagers import AsyncPager, Pager
from ledger_client.reconnect import ReconnectPolicy
from ledger_client.streams import ResumableStream

if TYPE_CHECKING:  # the async stub's type exists in the stubs only
    from ledger.v1.evaluation_service_pb2_grpc import (
        EvaluationServiceAsyncStub,
        EvaluationServiceStub,
    )

DEFAULT_BATCH_SIZE = 1_000
_STREAM_NAMES = {
    el.EVALUATION_LOG_STREAM_STDOUT: "stdout",
    el.EVALUATION_LOG_STREAM_STDERR: "stderr",
    el.EVALUATION_LOG_STREAM_SYSTEM: "system",
}
_STREAM_VALUES = {name: value for value, name in _STREAM_NAMES.items()}


@dataclass(frozen=True)
class LogLine:
    """A stored line: its place in the evaluation's log, text, stream and time."""

    sequence: int
    text: str
    stream: str  # "stdout", "stderr" or "system"
    log_time: datetime


@dataclass(frozen=True)
class LogEntry:
    """A line to append with more than its text: its stream and when it was produced."""

    text: str
    stream: str = "stdout"
    log_time: datetime | None = None


@dataclass(frozen=True)
class AppendedLogs:
    """What `append_logs` stored: the last line's sequence and how many lines were new."""

    last_sequence: int
    stored_line_count: int


def line_from_proto(line: el.EvaluationLogLine) -> LogLine:
    return LogLine(
        line.sequence,
        line.text,
        _STREAM_NAMES.get(line.stream, "stdout"),
        line.log_time.ToDatetime(tzinfo=UTC),
    )


def _line_to_proto(line: str | LogEntry) -> el.EvaluationLogLine:
    if isinstance(line, str):
        return el.EvaluationLogLine(text=line)
    if line.stream not in _STREAM_VALUES:
        raise ValueError(f"stream must be one of {sorted(_STREAM_VALUES)}, got {line.stream!r}")
    message = el.EvaluationLogLine(text=line.text, stream=_STREAM_VALUES[line.stream])
    if line.log_time is not None:
        stamp = timestamp_pb2.Timestamp()
        stamp.FromDatetime(line.log_time)
        message.log_time.CopyFrom(stamp)
    return message


class _Batches:
    """Turns batches of lines into requests with ids `<prefix>:<n>`, numbered in order."""

    def __init__(self, evaluation_id: str, prefix: str | None) -> None:
        self._evaluation_id = evaluation_id
        self._prefix = prefix or uuid.uuid4().hex
        self._sent = 0

    def request(self, lines: Sequence[str | LogEntry]) -> es.AppendEvaluationLogsRequest:
        self._sent += 1
        return es.AppendEvaluationLogsRequest(
            evaluation_id=self._evaluation_id,
            batch_id=f"{self._prefix}:{self._sent}",
            lines=[_line_to_proto(line) for line in lines],
        )


def _page(response: es.ListEvaluationLogsResponse) -> tuple[list[LogLine], str]:
    return [line_from_proto(line) for line in response.lines], response.next_page_token


def _cursor(message: es.StreamEvaluationLogsResponse) -> int:
    return message.last_sequence


class LogFollower(Iterator[LogLine]):
    """The lines of a log stream, one at a time; `cursor` is the last one's sequence.

    `close()` (or leaving a `with` block) ends it, from any thread.
    """

    def __init__(self, stream: ResumableStream[es.StreamEvaluationLogsResponse, int]) -> None:
        self._stream = stream
        self._pending: Iterator[el.EvaluationLogLine] = iter(())
        self.cursor = stream.cursor

    def __next__(self) -> LogLine:
        line = next(self._pending, None)
        while line is None:
            message = next(self._stream)
            self._pending = iter(message.lines)
            line = next(self._pending, None)
        self.cursor = line.sequence
        return line_from_proto(line)

    def close(self) -> None:
        self._stream.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class AsyncLogFollower(AsyncIterator[LogLine]):
    """`LogFollower` for asyncio: `async for line in ...`, `await aclose()`."""

    def __init__(self, stream: AsyncResumableStream[es.StreamEvaluationLogsResponse, int]) -> None:
        self._stream = stream
        self._pending: Iterator[el.EvaluationLogLine] = iter(())
        self.cursor = stream.cursor

    async def __anext__(self) -> LogLine:
        line = next(self._pending, None)
        while line is None:
            message = await self._stream.__anext__()
            self._pending = iter(message.lines)
            line = next(self._pending, None)
        self.cursor = line.sequence
        return line_from_proto(line)

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


class EvaluationLogMethods:
    """The log methods of the sync evaluations sub-client."""

    _calls: Calls
    _stub: EvaluationServiceStub

    def append_logs(
        self,
        evaluation_id: str,
        lines: Iterable[str | LogEntry],
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        batch_id_prefix: str | None = None,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> AppendedLogs:
        """Appends `lines` (texts, or `LogEntry`s) in batches of `batch_size`, each stored
        as it arrives. Batches get ids `<batch_id_prefix>:1`, `:2`, ... (the prefix defaults
        to a fresh UUID): calling again with the same prefix, lines and `batch_size` stores
        nothing twice.
        """
        batches = _Batches(evaluation_id, batch_id_prefix)
        response: es.AppendEvaluationLogsResponse = self._calls.client_stream(
            self._stub.AppendEvaluationLogs,
            lines,
            batches.request,
            batch_size=batch_size,
            timeout=timeout,
            metadata=metadata,
        )
        return AppendedLogs(response.last_sequence, response.stored_line_count)

    def list_logs(
        self,
        evaluation_id: str,
        *,
        page_size: int = 0,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> Pager[LogLine]:
        """The evaluation's lines stored now, oldest first; pages are fetched as needed."""
        request = es.ListEvaluationLogsRequest(evaluation_id=evaluation_id, page_size=page_size)
        return self._calls.pager(
            self._stub.ListEvaluationLogs, request, _page, timeout=timeout, metadata=metadata
        )

    def follow_logs(
        self,
        evaluation_id: str,
        *,
        after_sequence: int = 0,
        follow: bool = True,
        timeout: float | None = NO_DEADLINE,
        metadata: CallMetadata = (),
        policy: ReconnectPolicy | None = None,
    ) -> LogFollower:
        """Lines after `after_sequence`, then new ones as they are committed, until the
        evaluation is final and every line was yielded (`follow=False`: only the lines
        stored now). Reconnects after UNAVAILABLE from the last line yielded. No deadline
        unless `timeout=` gives one: a run may log for hours."""

        def request_at(cursor: int) -> es.StreamEvaluationLogsRequest:
            return es.StreamEvaluationLogsRequest(
                evaluation_id=evaluation_id, after_sequence=cursor, follow=follow
            )

        stream = self._calls.server_stream(
            self._stub.StreamEvaluationLogs,
            request_at,
            _cursor,
            start=after_sequence,
            timeout=timeout,
            metadata=metadata,
            policy=policy,
        )
        return LogFollower(stream)


class AsyncEvaluationLogMethods:
    """The log methods of the asyncio evaluations sub-client."""

    _calls: AsyncCalls
    _stub: EvaluationServiceAsyncStub

    async def append_logs(
        self,
        evaluation_id: str,
        lines: Iterable[str | LogEntry] | AsyncIterable[str | LogEntry],
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        batch_id_prefix: str | None = None,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> AppendedLogs:
        """See `EvaluationLogMethods.append_logs`."""
        batches = _Batches(evaluation_id, batch_id_prefix)
        response: es.AppendEvaluationLogsResponse = await self._calls.client_stream(
            self._stub.AppendEvaluationLogs,
            lines,
            batches.request,
            batch_size=batch_size,
            timeout=timeout,
            metadata=metadata,
        )
        return AppendedLogs(response.last_sequence, response.stored_line_count)

    def list_logs(
        self,
        evaluation_id: str,
        *,
        page_size: int = 0,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> AsyncPager[LogLine]:
        """See `EvaluationLogMethods.list_logs`."""
        request = es.ListEvaluationLogsRequest(evaluation_id=evaluation_id, page_size=page_size)
        return self._calls.pager(
            self._stub.ListEvaluationLogs, request, _page, timeout=timeout, metadata=metadata
        )

    def follow_logs(
        self,
        evaluation_id: str,
        *,
        after_sequence: int = 0,
        follow: bool = True,
        timeout: float | None = NO_DEADLINE,
        metadata: CallMetadata = (),
        policy: ReconnectPolicy | None = None,
    ) -> AsyncLogFollower:
        """See `EvaluationLogMethods.follow_logs`."""

        def request_at(cursor: int) -> es.StreamEvaluationLogsRequest:
            return es.StreamEvaluationLogsRequest(
                evaluation_id=evaluation_id, after_sequence=cursor, follow=follow
            )

        stream = self._calls.server_stream(
            self._stub.StreamEvaluationLogs,
            request_at,
            _cursor,
            start=after_sequence,
            timeout=timeout,
            metadata=metadata,
            policy=policy,
        )
        return AsyncLogFollower(stream)
