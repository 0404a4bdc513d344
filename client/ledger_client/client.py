"""The synchronous Ledger client: one channel, one sub-client per ledger.v1 service."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

import grpc

from ledger_client.aliases import results_alias
from ledger_client.calls import Calls
from ledger_client.connection import (
    DEFAULT_TARGET,
    DEFAULT_TIMEOUT,
    CallSettings,
    channel_spec,
    refuse_spec_with_channel,
)
from ledger_client.costs import CostsClient
from ledger_client.evaluations import EvaluationsClient
from ledger_client.results_store import ResultsStoreClient
from ledger_client.savings import SavingsClient


class Client:
    """A blocking Ledger client; each service is an attribute (`results`, ...).

    Every call has a deadline (`timeout` seconds unless the call gives its own
    `timeout=`, or `NO_DEADLINE`), sends the API key as `authorization: Bearer <key>`,
    and raises `LedgerError` subclasses. The channel retries UNAVAILABLE on every
    ledger.v1 service and allows messages up to the server's limit.

        with Client(api_key="...") as ledger:
            job = ledger.results.store_estimate(estimate, user_id="alice")

    `channel=` uses a channel you built (interceptors, a test double) instead of
    opening one; the client then leaves it open on `close()`. Build it with
    `channel_options()` to keep Ledger's retries and message limits.
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
        channel: grpc.Channel | None = None,
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
        self._channel = spec.open() if channel is None else channel
        calls = Calls(self._channel, settings)
        # One line per service; its module holds the rest.
        self.results = ResultsStoreClient(calls)
        self.evaluations = EvaluationsClient(calls)
        self.costs = CostsClient(calls)
        self.savings = SavingsClient(calls)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._owns_channel:
            self._channel.close()

    store_estimate = results_alias(ResultsStoreClient.store_estimate)
    get_job = results_alias(ResultsStoreClient.get_job)
    list_jobs = results_alias(ResultsStoreClient.list_jobs)
    list_job_resources = results_alias(ResultsStoreClient.list_job_resources)
    list_job_services = results_alias(ResultsStoreClient.list_job_services)
    list_job_regions = results_alias(ResultsStoreClient.list_job_regions)
    compare_jobs = results_alias(ResultsStoreClient.compare_jobs)
    get_cost_trend = results_alias(ResultsStoreClient.get_cost_trend)
