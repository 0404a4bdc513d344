"""The synchronous Ledger client."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Self, TypeVar

import grpc

from ledger.v1 import results_store_service_pb2 as pb
from ledger.v1.results_store_service_pb2_grpc import ResultsStoreServiceStub
from ledger_client import convert, messages
from ledger_client.connection import DEFAULT_TARGET, DEFAULT_TIMEOUT, connection_settings
from ledger_client.errors import from_rpc_error
from ledger_client.messages import PagedRequest
from ledger_client.pagers import Pager
from ledger_client.types import (
    CostTrendPoint,
    Estimate,
    Job,
    JobComparison,
    RegionCost,
    ResourceCost,
    ServiceCost,
)

RequestT = TypeVar("RequestT")
PagedRequestT = TypeVar("PagedRequestT", bound=PagedRequest)
ResponseT = TypeVar("ResponseT")
ItemT = TypeVar("ItemT")
CallMetadata = Sequence[tuple[str, str]]


class Client:
    """A blocking client of ledger.v1.ResultsStoreService.

    Every call has a deadline (`timeout` seconds unless the call gives its own), sends
    the API key as `authorization: Bearer <key>`, and raises `LedgerError` subclasses.

        with Client(api_key="...") as ledger:
            job = ledger.store_estimate(estimate, user_id="alice")
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
    ) -> None:
        self._settings = connection_settings(
            target=target,
            api_key=api_key,
            timeout=timeout,
            secure=secure,
            root_certificates=root_certificates,
            private_key=private_key,
            certificate_chain=certificate_chain,
            options=options,
        )
        settings = self._settings
        if settings.credentials is None:
            self._channel = grpc.insecure_channel(settings.target, options=settings.options)
        else:
            self._channel = grpc.secure_channel(
                settings.target, settings.credentials, options=settings.options
            )
        self._stub = ResultsStoreServiceStub(self._channel)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()

    def _invoke(
        self,
        method: grpc.UnaryUnaryMultiCallable[RequestT, ResponseT],
        request: RequestT,
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

    def _pager(
        self,
        method: grpc.UnaryUnaryMultiCallable[PagedRequestT, ResponseT],
        request: PagedRequestT,
        read_page: Callable[[ResponseT], tuple[list[ItemT], str]],
        timeout: float | None,
        metadata: CallMetadata,
    ) -> Pager[ItemT]:
        def fetch_page(page_token: str) -> tuple[list[ItemT], str]:
            request.page_token = page_token
            return read_page(self._invoke(method, request, timeout, metadata))

        return Pager(fetch_page)

    def store_estimate(
        self,
        estimate: Estimate,
        *,
        user_id: str = "",
        terraform_plan_hash: str = "",
        profile: str = "",
        labels: Mapping[str, str] | None = None,
        request_id: str | None = None,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> Job:
        """Stores `estimate` as a new job. `request_id` defaults to a fresh UUID."""
        request = messages.store_estimate_request(
            estimate,
            user_id=user_id,
            terraform_plan_hash=terraform_plan_hash,
            profile=profile,
            labels=labels,
            request_id=request_id,
        )
        response = self._invoke(self._stub.StoreEstimate, request, timeout, metadata)
        return convert.job_from_proto(response.job)

    def get_job(
        self, job_id: str, *, timeout: float | None = None, metadata: CallMetadata = ()
    ) -> Job:
        request = pb.GetJobRequest(job_id=job_id)
        response = self._invoke(self._stub.GetJob, request, timeout, metadata)
        return convert.job_from_proto(response.job)

    def list_jobs(
        self,
        *,
        user_id: str = "",
        profile: str = "",
        terraform_plan_hash: str = "",
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        page_size: int = 0,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> Pager[Job]:
        """Jobs newest first; pages are fetched as the iteration reaches them."""
        request = messages.list_jobs_request(
            user_id=user_id,
            profile=profile,
            terraform_plan_hash=terraform_plan_hash,
            start_time=start_time,
            end_time=end_time,
            page_size=page_size,
        )
        return self._pager(self._stub.ListJobs, request, messages.jobs_page, timeout, metadata)

    def list_job_resources(
        self,
        job_id: str,
        *,
        service: str = "",
        region: str = "",
        page_size: int = 0,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> Pager[ResourceCost]:
        """The job's resources, most expensive first."""
        request = pb.ListJobResourcesRequest(
            job_id=job_id, service=service, region=region, page_size=page_size
        )
        return self._pager(
            self._stub.ListJobResources, request, messages.resources_page, timeout, metadata
        )

    def list_job_services(
        self,
        job_id: str,
        *,
        page_size: int = 0,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> Pager[ServiceCost]:
        request = pb.ListJobServicesRequest(job_id=job_id, page_size=page_size)
        return self._pager(
            self._stub.ListJobServices, request, messages.services_page, timeout, metadata
        )

    def list_job_regions(
        self,
        job_id: str,
        *,
        page_size: int = 0,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> Pager[RegionCost]:
        request = pb.ListJobRegionsRequest(job_id=job_id, page_size=page_size)
        return self._pager(
            self._stub.ListJobRegions, request, messages.regions_page, timeout, metadata
        )

    def compare_jobs(
        self,
        base_job_id: str,
        target_job_id: str,
        *,
        max_resource_diffs: int = 0,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> JobComparison:
        """`max_resource_diffs` caps the resource list (0: the server's 1,000; at most 5,000)."""
        request = pb.CompareJobsRequest(
            base_job_id=base_job_id,
            target_job_id=target_job_id,
            max_resource_diffs=max_resource_diffs,
        )
        response = self._invoke(self._stub.CompareJobs, request, timeout, metadata)
        return convert.comparison_from_proto(response)

    def get_cost_trend(
        self,
        *,
        user_id: str = "",
        terraform_plan_hash: str = "",
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        page_size: int = 0,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> Pager[CostTrendPoint]:
        """Totals of one user's or one plan's jobs, oldest first. Give exactly one of the two."""
        request = messages.cost_trend_request(
            user_id=user_id,
            terraform_plan_hash=terraform_plan_hash,
            start_time=start_time,
            end_time=end_time,
            page_size=page_size,
        )
        return self._pager(self._stub.GetCostTrend, request, messages.trend_page, timeout, metadata)
