"""How every asyncio sub-client sends its calls; the same steps as `calls.Calls`."""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable, Iterable, Sequence
from typing import Any, TypeVar

import grpc

from ledger_client.async_streams import AsyncResumableStream, async_upload
from ledger_client.connection import CallMetadata, CallSettings
from ledger_client.errors import from_rpc_error
from ledger_client.pagers import AsyncPager, PagedRequest
from ledger_client.reconnect import ReconnectPolicy

CursorT = TypeVar("CursorT")
ItemT = TypeVar("ItemT")
MessageT = TypeVar("MessageT")
PagedRequestT = TypeVar("PagedRequestT", bound=PagedRequest)
RequestT = TypeVar("RequestT")
ResponseT = TypeVar("ResponseT")


class AsyncCalls:
    """Sends calls on one grpc.aio channel with one client's settings."""

    def __init__(self, channel: grpc.aio.Channel, settings: CallSettings) -> None:
        self._channel = channel
        self._settings = settings

    @property
    def channel(self) -> grpc.aio.Channel:
        """The channel to build a service's stub on."""
        return self._channel

    async def unary(
        self,
        method: grpc.aio.UnaryUnaryMultiCallable[RequestT, ResponseT],
        request: RequestT,
        *,
        timeout: float | None,
        metadata: CallMetadata,
    ) -> ResponseT:
        try:
            return await method(
                request,
                timeout=self._settings.deadline(timeout),
                metadata=self._settings.metadata(metadata),
            )
        except grpc.RpcError as err:
            raise from_rpc_error(err) from err

    def pager(
        self,
        method: grpc.aio.UnaryUnaryMultiCallable[PagedRequestT, ResponseT],
        request: PagedRequestT,
        read_page: Callable[[ResponseT], tuple[list[ItemT], str]],
        *,
        timeout: float | None,
        metadata: CallMetadata,
    ) -> AsyncPager[ItemT]:
        """Items of every page; each page is one call with its own deadline."""

        async def fetch_page(page_token: str) -> tuple[list[ItemT], str]:
            request.page_token = page_token
            reply = await self.unary(method, request, timeout=timeout, metadata=metadata)
            return read_page(reply)

        return AsyncPager(fetch_page)

    def server_stream(
        self,
        method: grpc.aio.UnaryStreamMultiCallable[RequestT, MessageT],
        request_at: Callable[[CursorT], RequestT],
        cursor_of: Callable[[MessageT], CursorT],
        *,
        start: CursorT,
        timeout: float | None,
        metadata: CallMetadata,
        policy: ReconnectPolicy | None = None,
    ) -> AsyncResumableStream[MessageT, CursorT]:
        """A stream reopened with `request_at(cursor)` after UNAVAILABLE.

        `cursor_of(message)` is where the stream continues after `message`. The
        deadline covers the whole stream; pass `NO_DEADLINE` to follow it for good.
        """
        call_metadata = self._settings.metadata(metadata)

        def open_stream(
            cursor: CursorT, remaining: float | None
        ) -> grpc.aio.UnaryStreamCall[Any, MessageT]:
            return method(request_at(cursor), timeout=remaining, metadata=call_metadata)

        return AsyncResumableStream(
            open_stream,
            cursor_of,
            start=start,
            timeout=self._settings.deadline(timeout),
            policy=policy,
        )

    async def client_stream(
        self,
        method: grpc.aio.StreamUnaryMultiCallable[RequestT, ResponseT],
        items: Iterable[ItemT] | AsyncIterable[ItemT],
        to_request: Callable[[Sequence[ItemT]], RequestT],
        *,
        batch_size: int,
        timeout: float | None,
        metadata: CallMetadata,
    ) -> ResponseT:
        """Uploads `items` in requests of up to `batch_size` items; returns the reply."""
        return await async_upload(
            method,
            items,
            to_request,
            batch_size=batch_size,
            timeout=self._settings.deadline(timeout),
            metadata=self._settings.metadata(metadata),
        )
