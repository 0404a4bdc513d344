"""Streaming calls for every service's sync sub-client (asyncio: `async_streams`).

`ResumableStream` follows a server stream and reopens it from the last cursor it saw
after UNAVAILABLE, like `google.bytestream.ByteStream.Read` with `read_offset`.
`upload` sends a client stream in batches, pulling items only as gRPC's flow control
lets it send them, and returns the one reply.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from types import TracebackType
from typing import Generic, Protocol, Self, TypeVar

import grpc

from ledger_client.errors import from_rpc_error
from ledger_client.reconnect import ReconnectPolicy, Reconnects

CursorT = TypeVar("CursorT")
ItemT = TypeVar("ItemT")
MessageT = TypeVar("MessageT")
MessageT_co = TypeVar("MessageT_co", covariant=True)
RequestT = TypeVar("RequestT")
ResponseT = TypeVar("ResponseT")


class StreamCall(Protocol[MessageT_co]):
    """An open server stream as sync gRPC returns it: messages, and a way to stop."""

    def __next__(self) -> MessageT_co: ...

    def cancel(self) -> bool: ...


# Opens the stream at a cursor with a timeout (None: no deadline).
OpenStream = Callable[[CursorT, float | None], StreamCall[MessageT]]


class ResumableStream(Iterator[MessageT], Generic[MessageT, CursorT]):
    """Yields a server stream's messages, reopening it where it broke off.

    `cursor_of(message)` is where the stream continues after `message`; after
    UNAVAILABLE the stream is reopened at the last such cursor, so no message is
    lost or repeated. Other errors are raised at once as `LedgerError`s. `close()`
    (or leaving a `with` block) cancels the call; it may be called from another
    thread to stop a follower blocked waiting for the next message.
    """

    def __init__(
        self,
        open_stream: OpenStream[CursorT, MessageT],
        cursor_of: Callable[[MessageT], CursorT],
        *,
        start: CursorT,
        timeout: float | None,
        policy: ReconnectPolicy | None = None,
    ) -> None:
        self._open_stream = open_stream
        self._cursor_of = cursor_of
        self._reconnects = Reconnects(start, policy or ReconnectPolicy(), timeout)
        self._call: StreamCall[MessageT] | None = None
        self._closed = threading.Event()

    @property
    def cursor(self) -> CursorT:
        """Where the stream continues: keep it to resume later, even in another process."""
        return self._reconnects.cursor

    def __next__(self) -> MessageT:
        try:
            return self._next()
        except BaseException:
            self.close()  # finished, failed or interrupted: the call must not linger
            raise

    def _next(self) -> MessageT:
        while not self._closed.is_set():
            if self._call is None:
                reconnects = self._reconnects
                self._call = self._open_stream(reconnects.cursor, reconnects.remaining())
            try:
                message = next(self._call)
            except grpc.RpcError as err:
                self._call = None
                if self._closed.is_set():  # our own close() cancelled the call
                    break
                # Event.wait, not sleep: close() from another thread ends the wait.
                self._closed.wait(self._reconnects.failed(err))
                continue
            self._reconnects.delivered(self._cursor_of(message))
            return message
        raise StopIteration

    def close(self) -> None:
        self._closed.set()
        call, self._call = self._call, None
        if call is not None:
            call.cancel()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def batches(items: Iterable[ItemT], size: int) -> Iterator[list[ItemT]]:
    """`items` in lists of `size` (the last may be shorter), read only as they are needed."""
    check_batch_size(size)
    iterator = iter(items)
    return iter(lambda: list(islice(iterator, size)), [])


def check_batch_size(size: int) -> None:
    # Checked before the call starts: inside gRPC's request thread it would surface
    # as a failed upload rather than as the caller's mistake.
    if size < 1:
        raise ValueError(f"batch_size must be at least 1, got {size}")


class _Requests(Iterator[RequestT]):
    """The request iterator gRPC reads on its own thread, remembering what it raised.

    gRPC logs an exception from the request iterator and fails the call with a
    generic UNKNOWN; keeping it lets `upload` raise the caller's own error instead.
    """

    def __init__(self, requests: Iterator[RequestT]) -> None:
        self._requests = requests
        self.error: Exception | None = None

    def __next__(self) -> RequestT:
        try:
            return next(self._requests)
        except StopIteration:
            raise
        except Exception as err:
            self.error = err
            raise


def upload(
    method: grpc.StreamUnaryMultiCallable[RequestT, ResponseT],
    items: Iterable[ItemT],
    to_request: Callable[[Sequence[ItemT]], RequestT],
    *,
    batch_size: int,
    timeout: float | None,
    metadata: Sequence[tuple[str, str]],
) -> ResponseT:
    """Sends `items` as requests of up to `batch_size` items each; returns the reply.

    gRPC pulls the next request only when flow control lets it send one, so however
    long `items` is, only a few batches are in memory at a time.
    """
    requests = _Requests(to_request(batch) for batch in batches(items, batch_size))
    call = method.future(requests, timeout=timeout, metadata=tuple(metadata))
    try:
        return call.result()
    except grpc.RpcError as err:
        if requests.error is not None:
            raise requests.error from None
        raise from_rpc_error(err) from err
    except BaseException:
        call.cancel()  # e.g. KeyboardInterrupt while waiting: stop sending
        raise
