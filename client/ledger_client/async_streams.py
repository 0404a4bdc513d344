"""Streaming calls for every service's asyncio sub-client; see `streams` for the why."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Sequence
from types import TracebackType
from typing import Any, Generic, Self, TypeVar, cast

import grpc

from ledger_client.errors import from_rpc_error
from ledger_client.reconnect import ReconnectPolicy, Reconnects
from ledger_client.streams import check_batch_size

CursorT = TypeVar("CursorT")
ItemT = TypeVar("ItemT")
MessageT = TypeVar("MessageT")
RequestT = TypeVar("RequestT")
ResponseT = TypeVar("ResponseT")

# Opens the stream at a cursor with a timeout (None: no deadline).
OpenAsyncStream = Callable[[CursorT, float | None], grpc.aio.UnaryStreamCall[Any, MessageT]]


class AsyncResumableStream(AsyncIterator[MessageT], Generic[MessageT, CursorT]):
    """Yields a server stream's messages, reopening it where it broke off.

    Behaves like `streams.ResumableStream`. Cancelling the task that waits for the
    next message, `aclose()`, or leaving an `async with` block cancels the call.
    """

    def __init__(
        self,
        open_stream: OpenAsyncStream[CursorT, MessageT],
        cursor_of: Callable[[MessageT], CursorT],
        *,
        start: CursorT,
        timeout: float | None,
        policy: ReconnectPolicy | None = None,
    ) -> None:
        self._open_stream = open_stream
        self._cursor_of = cursor_of
        self._reconnects = Reconnects(start, policy or ReconnectPolicy(), timeout)
        self._call: grpc.aio.UnaryStreamCall[Any, MessageT] | None = None
        self._closed = False

    @property
    def cursor(self) -> CursorT:
        """Where the stream continues: keep it to resume later, even in another process."""
        return self._reconnects.cursor

    async def __anext__(self) -> MessageT:
        try:
            return await self._next()
        except BaseException:
            await self.aclose()  # finished, failed or cancelled: the call must not linger
            raise

    async def _next(self) -> MessageT:
        while not self._closed:
            if self._call is None:
                reconnects = self._reconnects
                self._call = self._open_stream(reconnects.cursor, reconnects.remaining())
            try:
                message = await self._call.read()
            except grpc.RpcError as err:
                self._call = None
                if self._closed:
                    break
                await asyncio.sleep(self._reconnects.failed(err))
                continue
            except asyncio.CancelledError:
                # grpc.aio reports a call cancelled by aclose() in another task as
                # CancelledError; only a cancellation of this task itself is one.
                task = asyncio.current_task()
                if self._closed and task is not None and not task.cancelling():
                    break
                raise
            if message is grpc.aio.EOF:
                break
            typed = cast(MessageT, message)
            self._reconnects.delivered(self._cursor_of(typed))
            return typed
        raise StopAsyncIteration

    async def aclose(self) -> None:
        self._closed = True
        call, self._call = self._call, None
        if call is not None:
            call.cancel()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


async def async_batches(
    items: Iterable[ItemT] | AsyncIterable[ItemT], size: int
) -> AsyncIterator[list[ItemT]]:
    """`items` in lists of `size` (the last may be shorter), read only as they are needed."""
    batch: list[ItemT] = []
    if isinstance(items, AsyncIterable):
        async for item in items:
            batch.append(item)
            if len(batch) == size:
                yield batch
                batch = []
    else:
        for item in items:
            batch.append(item)
            if len(batch) == size:
                yield batch
                batch = []
    if batch:
        yield batch


async def async_upload(
    method: grpc.aio.StreamUnaryMultiCallable[RequestT, ResponseT],
    items: Iterable[ItemT] | AsyncIterable[ItemT],
    to_request: Callable[[Sequence[ItemT]], RequestT],
    *,
    batch_size: int,
    timeout: float | None,
    metadata: Sequence[tuple[str, str]],
) -> ResponseT:
    """Sends `items` as requests of up to `batch_size` items each; returns the reply.

    Each write is awaited, so the next batch is built only once flow control has
    taken the previous one: memory stays bounded however long `items` is.
    """
    check_batch_size(batch_size)
    call = method(timeout=timeout, metadata=tuple(metadata))
    try:
        async for batch in async_batches(items, batch_size):
            await call.write(to_request(batch))
        await call.done_writing()
    except (grpc.RpcError, asyncio.InvalidStateError):
        # A write failed because the call ended, e.g. the server refused a batch. The
        # write's own error may only say INTERNAL; the call's status says why.
        pass
    except BaseException:
        call.cancel()  # the caller's error or cancellation: the server must not wait
        raise
    try:
        return await call
    except grpc.RpcError as err:
        raise from_rpc_error(err) from err
