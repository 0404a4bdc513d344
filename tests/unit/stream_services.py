"""Test-only streaming handlers (well-known message types, no generated code).

`Follow` counts up from the cursor it is opened at, like a log follower; each open
may break off by script. `Upload` counts the lines of a client stream. Both exist
sync (grpc.server) and async (grpc.aio.server), and record what the client sent.

The service is not in ledger.v1 on purpose: the channel's own retries (which cover
only ledger.v1 services) stay out of the way, so every open the stream helpers make
reaches the handler and can be counted.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import wrappers_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from tests.unit.grpc_servers import Handlers

SERVICE = "ledger.test.Streams"
Int64 = wrappers_pb2.Int64Value
Text = wrappers_pb2.StringValue


@dataclass(frozen=True)
class Break:
    """How one open of `Follow` ends early: after `after` messages, with this status."""

    after: int
    code: int = code_pb2.UNAVAILABLE
    reason: str = ""
    field: str = ""


def status_of(end: Break) -> grpc.Status:
    details = []
    if end.reason:
        info = error_details_pb2.ErrorInfo(reason=end.reason, domain="ledger.v1")
        details.append(info)
    if end.field:
        violation = error_details_pb2.BadRequest.FieldViolation(field=end.field, description="bad")
        details.append(error_details_pb2.BadRequest(field_violations=[violation]))
    status = status_pb2.Status(code=end.code, message=f"ended by script ({end.reason})")
    for detail in details:
        status.details.add().Pack(detail)
    converted: grpc.Status = rpc_status.to_status(status)
    return converted


class Follow:
    """Follow(Int64Value cursor) -> stream Int64Value: cursor, cursor + 1, ...

    Open number i ends as `breaks[i]` says; later opens run to `total` and end OK
    (total None: never end). `interval` seconds pass between messages.
    """

    def __init__(
        self, breaks: Sequence[Break] = (), total: int | None = None, interval: float = 0.0
    ) -> None:
        self.breaks = list(breaks)
        self.total = total
        self.interval = interval
        self.starts: list[int] = []
        self.metadata: list[dict[str, Any]] = []
        self.time_remaining: list[float | None] = []
        self.ended = threading.Event()  # an open stream ended (cancelled, for endless ones)

    def _open(self, request: Int64, context: Any) -> tuple[int, Break | None]:
        opened = len(self.starts)
        self.starts.append(request.value)
        self.metadata.append(dict(context.invocation_metadata()))
        remaining = context.time_remaining()
        # Without a deadline the sync server reports a huge number, grpc.aio None.
        self.time_remaining.append(None if remaining is None or remaining > 1e9 else remaining)
        return request.value, self.breaks[opened] if opened < len(self.breaks) else None

    def _values(self, start: int, end: Break | None) -> Iterator[int]:
        stop = None if self.total is None else self.total
        if end is not None:
            stop = start + end.after
        value = start
        while stop is None or value < stop:
            yield value
            value += 1

    def sync(self, request: Int64, context: grpc.ServicerContext) -> Iterator[Int64]:
        start, end = self._open(request, context)
        call_ended = threading.Event()
        context.add_callback(call_ended.set)
        context.add_callback(self.ended.set)
        for value in self._values(start, end):
            yield Int64(value=value)
            # A wait the call's end interrupts: a cancelled call frees its thread.
            if call_ended.wait(self.interval):
                return
        if end is not None:
            context.abort_with_status(status_of(end))

    async def aio(self, request: Int64, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        start, end = self._open(request, context)
        try:
            for value in self._values(start, end):
                await context.write(Int64(value=value))
                await asyncio.sleep(self.interval)
        except asyncio.CancelledError:
            self.ended.set()
            raise
        if end is not None:
            status = status_of(end)
            await context.abort(status.code, status.details, status.trailing_metadata)


BAD_LINE = Break(0, code_pb2.INVALID_ARGUMENT, "BAD_LINE", "lines[3]")


class Upload:
    """Upload(stream StringValue of "\\n"-joined lines) -> Int64Value: the line count.

    With `fail_after` set, fails with INVALID_ARGUMENT after that many requests.
    `gate` holds the handler back before it reads anything, to let flow control bite.
    """

    def __init__(self, fail_after: int | None = None) -> None:
        self.fail_after = fail_after
        self.requests = 0
        self.metadata: dict[str, Any] = {}
        self.gate = threading.Event()
        self.gate.set()
        self.ended = threading.Event()  # the call is over, however it ended

    def _end(self) -> None:
        self.ended.set()

    def _count(self, request: Text) -> int:
        self.requests += 1
        return request.value.count("\n") + 1

    def sync(self, requests: Iterable[Text], context: grpc.ServicerContext) -> Int64:
        self.metadata = dict(context.invocation_metadata())
        context.add_callback(self._end)
        self.gate.wait()
        lines = 0
        for request in requests:
            if self.requests == self.fail_after:
                context.abort_with_status(status_of(BAD_LINE))
            lines += self._count(request)
        return Int64(value=lines)

    async def aio(
        self, requests: AsyncIterator[Text], context: grpc.aio.ServicerContext[Any, Any]
    ) -> Int64:
        self.metadata = dict(context.invocation_metadata() or ())
        # The stubs type the callback as a class, not a callable: the same ignore as rpc/.
        context.add_done_callback(lambda _: self._end())  # type: ignore[arg-type]
        while not self.gate.is_set():
            await asyncio.sleep(0.01)
        lines = 0
        async for request in requests:
            if self.requests == self.fail_after:
                status = status_of(BAD_LINE)
                await context.abort(status.code, status.details, status.trailing_metadata)
            lines += self._count(request)
        return Int64(value=lines)


def handlers(follow: Follow, upload: Upload, *, aio: bool) -> Handlers:
    return {
        SERVICE: {
            "Follow": grpc.unary_stream_rpc_method_handler(
                follow.aio if aio else follow.sync,
                request_deserializer=Int64.FromString,
                response_serializer=Int64.SerializeToString,
            ),
            "Upload": grpc.stream_unary_rpc_method_handler(
                upload.aio if aio else upload.sync,
                request_deserializer=Text.FromString,
                response_serializer=Int64.SerializeToString,
            ),
        }
    }


def request_at(cursor: int) -> Int64:
    return Int64(value=cursor)


def cursor_after(message: Int64) -> int:
    return message.value + 1


def lines_request(lines: Sequence[str]) -> Text:
    return Text(value="\n".join(lines))
