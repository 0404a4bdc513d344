"""How every asyncio sub-client sends its calls; the same steps as `calls.Calls`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import grpc

from ledger_client.connection import CallMetadata, CallSettings
from ledger_client.errors import from_rpc_error
from ledger_client.pagers import AsyncPager, PagedRequest

ItemT = TypeVar("ItemT")
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
