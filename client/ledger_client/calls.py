"""How every sync sub-client sends its calls (asyncio: `async_calls`).

A service's sub-client builds requests and reads replies. Everything in between
happens here, once for all services: the deadline (the client's default, the call's
own `timeout=`, or `NO_DEADLINE`), the metadata with the API key, `grpc.RpcError`
turned into a `LedgerError`, paging, resumable server streams and batched uploads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

import grpc

from ledger_client.connection import CallMetadata, CallSettings
from ledger_client.errors import from_rpc_error
from ledger_client.pagers import PagedRequest, Pager
from ledger_client.reconnect import ReconnectPolicy
from ledger_client.streams import ResumableStream, StreamCall, upload

CursorT = TypeVar("CursorT")
ItemT = TypeVar("ItemT")
MessageT = TypeVar("MessageT")
PagedRequestT = TypeVar("PagedRequestT", bound=PagedRequest)
RequestT = TypeVar("RequestT")
ResponseT = TypeVar("ResponseT")


class Calls:
    """Sends calls on one channel with one client's settings; shared by its sub-clients."""

    def __init__(self, channel: grpc.Channel, settings: CallSettings) -> None:
        self._channel = channel
        self._settings = settings

    @property
    def channel(self) -> grpc.Channel:
        """The channel to build a service's stub on."""
        return self._channel

    def unary(
        self,
        method: grpc.UnaryUnaryMultiCallable[RequestT, ResponseT],
        request: RequestT,
        *,
        timeout: float | None,
        metadata: CallMetadata,
    ) -> ResponseT:
        try:
            return method(
                request,
                timeout=self._settings.deadline(timeout),
                metadata=self._settings.metadata(metadata),
            )
        except grpc.RpcError as err:
            raise from_rpc_error(err) from err

    def pager(
        self,
        method: grpc.UnaryUnaryMultiCallable[PagedRequestT, ResponseT],
        request: PagedRequestT,
        read_page: Callable[[ResponseT], tuple[list[ItemT], str]],
        *,
        timeout: float | None,
        metadata: CallMetadata,
    ) -> Pager[ItemT]:
        """Items of every page; each page is one call with its own deadline."""

        def fetch_page(page_token: str) -> tuple[list[ItemT], str]:
            request.page_token = page_token
            return read_page(self.unary(method, request, timeout=timeout, metadata=metadata))

        return Pager(fetch_page)

    def server_stream(
        self,
        method: grpc.UnaryStreamMultiCallable[RequestT, MessageT],
        request_at: Callable[[CursorT], RequestT],
        cursor_of: Callable[[MessageT], CursorT],
        *,
        start: CursorT,
        timeout: float | None,
        metadata: CallMetadata,
        policy: ReconnectPolicy | None = None,
    ) -> ResumableStream[MessageT, CursorT]:
        """A stream reopened with `request_at(cursor)` after UNAVAILABLE.

        `cursor_of(message)` is where the stream continues after `message`. The
        deadline covers the whole stream; pass `NO_DEADLINE` to follow it for good.
        """
        call_metadata = self._settings.metadata(metadata)

        def open_stream(cursor: CursorT, remaining: float | None) -> StreamCall[MessageT]:
            return method(request_at(cursor), timeout=remaining, metadata=call_metadata)

        return ResumableStream(
            open_stream,
            cursor_of,
            start=start,
            timeout=self._settings.deadline(timeout),
            policy=policy,
        )

    def client_stream(
        self,
        method: grpc.StreamUnaryMultiCallable[RequestT, ResponseT],
        items: Iterable[ItemT],
        to_request: Callable[[Sequence[ItemT]], RequestT],
        *,
        batch_size: int,
        timeout: float | None,
        metadata: CallMetadata,
    ) -> ResponseT:
        """Uploads `items` in requests of up to `batch_size` items; returns the reply."""
        return upload(
            method,
            items,
            to_request,
            batch_size=batch_size,
            timeout=self._settings.deadline(timeout),
            metadata=self._settings.metadata(metadata),
        )
