"""How every sync sub-client sends its calls (asyncio: `async_calls`).

A service's sub-client builds requests and reads replies. Everything in between
happens here, once for all services: the deadline (the client's default, the call's
own `timeout=`, or `NO_DEADLINE`), the metadata with the API key, `grpc.RpcError` turned into a
`LedgerError`, and paging.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import grpc

from ledger_client.connection import CallMetadata, CallSettings
from ledger_client.errors import from_rpc_error
from ledger_client.pagers import PagedRequest, Pager

ItemT = TypeVar("ItemT")
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
