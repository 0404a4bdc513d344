"""The asyncio Ledger client (grpc.aio); the same services and calls as `Client`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

import grpc

from ledger_client.aliases import results_alias
from ledger_client.async_calls import AsyncCalls
from ledger_client.connection import (
    DEFAULT_TARGET,
    DEFAULT_TIMEOUT,
    CallSettings,
    channel_spec,
    refuse_spec_with_channel,
)
from ledger_client.costs import AsyncCostsClient
from ledger_client.evaluations import AsyncEvaluationsClient
from ledger_client.results_store import AsyncResultsStoreClient
from ledger_client.savings import AsyncSavingsClient


class AsyncClient:
    """An asyncio Ledger client; create it inside a running loop.

    Behaves like `Client`: a deadline on every call, the API key as
    `authorization: Bearer <key>`, `LedgerError` subclasses on failure. `list_*`
    return async iterators directly (no await):

        async with AsyncClient(api_key="...") as ledger:
            async for job in ledger.results.list_jobs(user_id="alice"):
                ...

    `channel=` takes a `grpc.aio.Channel` you built; the client leaves it open.
    """

    def __init__(
        self,
        *,
        target: str = DEFAULT_TARGET,
        api_key: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        secure: bool = False,
        root_certificates: bytes | None = None,
        private_key: bytes | None = None,
        certificate_chain: bytes | None = None,
        options: Sequence[tuple[str, Any]] = (),
        channel: grpc.aio.Channel | None = None,
    ) -> None:
        settings = CallSettings(timeout=timeout, api_key=api_key)
        spec = channel_spec(
            target=target,
            secure=secure,
            root_certificates=root_certificates,
            private_key=private_key,
            certificate_chain=certificate_chain,
            options=options,
        )
        if channel is not None:
            refuse_spec_with_channel(spec)
        self._owns_channel = channel is None
        self._channel = spec.open_aio() if channel is None else channel
        calls = AsyncCalls(self._channel, settings)
        # One line per service; its module holds the rest.
        self.results = AsyncResultsStoreClient(calls)
        self.evaluations = AsyncEvaluationsClient(calls)
        self.costs = AsyncCostsClient(calls)
        self.savings = AsyncSavingsClient(calls)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._owns_channel:
            await self._channel.close()

    store_estimate = results_alias(AsyncResultsStoreClient.store_estimate)
    get_job = results_alias(AsyncResultsStoreClient.get_job)
    list_jobs = results_alias(AsyncResultsStoreClient.list_jobs)
    list_job_resources = results_alias(AsyncResultsStoreClient.list_job_resources)
    list_job_services = results_alias(AsyncResultsStoreClient.list_job_services)
    list_job_regions = results_alias(AsyncResultsStoreClient.list_job_regions)
    compare_jobs = results_alias(AsyncResultsStoreClient.compare_jobs)
    get_cost_trend = results_alias(AsyncResultsStoreClient.get_cost_trend)
