"""`ledger.results`: ledger.v1.ResultsStoreService, sync and asyncio.

Each service owns one module like this one: a sync and an asyncio sub-client with the
same methods, built on the shared call machinery (`calls`, `async_calls`) and this
service's request builders and page readers (`messages`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from ledger.v1 import results_store_service_pb2 as pb
from ledger.v1.results_store_service_pb2_grpc import ResultsStoreServiceStub
from ledger_client import convert, messages
from ledger_client.async_calls import AsyncCalls
from ledger_client.calls import Calls
from ledger_client.connection import CallMetadata
from ledger_client.pagers import AsyncPager, Pager
from ledger_client.types import (
    CostTrendPoint,
    Estimate,
    Job,
    JobComparison,
    RegionCost,
    ResourceCost,
    ServiceCost,
)


class ResultsStoreClient:
    """Cloud cost estimates: store a job per Terraform plan run, read, list, compare.

    Reached as `Client(...).results`; every method takes `timeout=` and `metadata=`.
    """

    def __init__(self, calls: Calls) -> None:
        self._calls = calls
        self._stub = ResultsStoreServiceStub(calls.channel)

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
        response = self._calls.unary(
            self._stub.StoreEstimate, request, timeout=timeout, metadata=metadata
        )
        return convert.job_from_proto(response.job)

    def get_job(
        self, job_id: str, *, timeout: float | None = None, metadata: CallMetadata = ()
    ) -> Job:
        request = pb.GetJobRequest(job_id=job_id)
        response = self._calls.unary(self._stub.GetJob, request, timeout=timeout, metadata=metadata)
        return convert.job_from_proto(response.job)

    def list_jobs(
        self,
        *,
        user_id: str = "",
        profile: str = "",
        terraform_plan_hash: str = "",
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        order_by: str = "",
        page_size: int = 0,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> Pager[Job]:
        """Jobs newest first, or by `order_by` ("total_monthly_cost desc", ...); pages are
        fetched as the iteration reaches them."""
        request = messages.list_jobs_request(
            user_id=user_id,
            profile=profile,
            terraform_plan_hash=terraform_plan_hash,
            start_time=start_time,
            end_time=end_time,
            order_by=order_by,
            page_size=page_size,
        )
        return self._calls.pager(
            self._stub.ListJobs, request, messages.jobs_page, timeout=timeout, metadata=metadata
        )

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
        return self._calls.pager(
            self._stub.ListJobResources,
            request,
            messages.resources_page,
            timeout=timeout,
            metadata=metadata,
        )

    def list_job_services(
        self,
        job_id: str,
        *,
        page_size: int = 0,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> Pager[ServiceCost]:
        """The job's cost per cloud service, most expensive first."""
        request = pb.ListJobServicesRequest(job_id=job_id, page_size=page_size)
        return self._calls.pager(
            self._stub.ListJobServices,
            request,
            messages.services_page,
            timeout=timeout,
            metadata=metadata,
        )

    def list_job_regions(
        self,
        job_id: str,
        *,
        page_size: int = 0,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> Pager[RegionCost]:
        """The job's cost per region with its services, most expensive first."""
        request = pb.ListJobRegionsRequest(job_id=job_id, page_size=page_size)
        return self._calls.pager(
            self._stub.ListJobRegions,
            request,
            messages.regions_page,
            timeout=timeout,
            metadata=metadata,
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
        response = self._calls.unary(
            self._stub.CompareJobs, request, timeout=timeout, metadata=metadata
        )
        return convert.comparison_from_proto(response)

    def get_cost_trend(
        self,
        *,
        user_id: str = "",
        terraform_plan_hash: str = "",
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        anomaly_percent: Decimal | None = None,
        anomaly_amount: Decimal | None = None,
        page_size: int = 0,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> Pager[CostTrendPoint]:
        """Totals of one user's or one plan's jobs, oldest first. Give exactly one of the two.

        A point is marked `anomaly` when its change from the previous one exceeds every
        threshold given: `anomaly_percent` (e.g. Decimal("25")) and/or `anomaly_amount`.
        """
        request = messages.cost_trend_request(
            user_id=user_id,
            terraform_plan_hash=terraform_plan_hash,
            start_time=start_time,
            end_time=end_time,
            anomaly_percent=anomaly_percent,
            anomaly_amount=anomaly_amount,
            page_size=page_size,
        )
        return self._calls.pager(
            self._stub.GetCostTrend,
            request,
            messages.trend_page,
            timeout=timeout,
            metadata=metadata,
        )


class AsyncResultsStoreClient:
    """`ResultsStoreClient` for asyncio, reached as `AsyncClient(...).results`.

    Single calls are awaited; `list_*` and `get_cost_trend` return async iterators
    directly (no await).
    """

    def __init__(self, calls: AsyncCalls) -> None:
        self._calls = calls
        self._stub = ResultsStoreServiceStub(calls.channel)

    async def store_estimate(
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
        response = await self._calls.unary(
            self._stub.StoreEstimate, request, timeout=timeout, metadata=metadata
        )
        return convert.job_from_proto(response.job)

    async def get_job(
        self, job_id: str, *, timeout: float | None = None, metadata: CallMetadata = ()
    ) -> Job:
        request = pb.GetJobRequest(job_id=job_id)
        response = await self._calls.unary(
            self._stub.GetJob, request, timeout=timeout, metadata=metadata
        )
        return convert.job_from_proto(response.job)

    def list_jobs(
        self,
        *,
        user_id: str = "",
        profile: str = "",
        terraform_plan_hash: str = "",
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        order_by: str = "",
        page_size: int = 0,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> AsyncPager[Job]:
        """Jobs newest first, or by `order_by` ("total_monthly_cost desc", ...); pages are
        fetched as the iteration reaches them."""
        request = messages.list_jobs_request(
            user_id=user_id,
            profile=profile,
            terraform_plan_hash=terraform_plan_hash,
            start_time=start_time,
            end_time=end_time,
            order_by=order_by,
            page_size=page_size,
        )
        return self._calls.pager(
            self._stub.ListJobs, request, messages.jobs_page, timeout=timeout, metadata=metadata
        )

    def list_job_resources(
        self,
        job_id: str,
        *,
        service: str = "",
        region: str = "",
        page_size: int = 0,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> AsyncPager[ResourceCost]:
        """The job's resources, most expensive first."""
        request = pb.ListJobResourcesRequest(
            job_id=job_id, service=service, region=region, page_size=page_size
        )
        return self._calls.pager(
            self._stub.ListJobResources,
            request,
            messages.resources_page,
            timeout=timeout,
            metadata=metadata,
        )

    def list_job_services(
        self,
        job_id: str,
        *,
        page_size: int = 0,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> AsyncPager[ServiceCost]:
        """The job's cost per cloud service, most expensive first."""
        request = pb.ListJobServicesRequest(job_id=job_id, page_size=page_size)
        return self._calls.pager(
            self._stub.ListJobServices,
            request,
            messages.services_page,
            timeout=timeout,
            metadata=metadata,
        )

    def list_job_regions(
        self,
        job_id: str,
        *,
        page_size: int = 0,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> AsyncPager[RegionCost]:
        """The job's cost per region with its services, most expensive first."""
        request = pb.ListJobRegionsRequest(job_id=job_id, page_size=page_size)
        return self._calls.pager(
            self._stub.ListJobRegions,
            request,
            messages.regions_page,
            timeout=timeout,
            metadata=metadata,
        )

    async def compare_jobs(
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
        response = await self._calls.unary(
            self._stub.CompareJobs, request, timeout=timeout, metadata=metadata
        )
        return convert.comparison_from_proto(response)

    def get_cost_trend(
        self,
        *,
        user_id: str = "",
        terraform_plan_hash: str = "",
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        anomaly_percent: Decimal | None = None,
        anomaly_amount: Decimal | None = None,
        page_size: int = 0,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> AsyncPager[CostTrendPoint]:
        """Totals of one user's or one plan's jobs, oldest first. Give exactly one of the two.

        A point is marked `anomaly` when its change from the previous one exceeds every
        threshold given: `anomaly_percent` (e.g. Decimal("25")) and/or `anomaly_amount`.
        """
        request = messages.cost_trend_request(
            user_id=user_id,
            terraform_plan_hash=terraform_plan_hash,
            start_time=start_time,
            end_time=end_time,
            anomaly_percent=anomaly_percent,
            anomaly_amount=anomaly_amount,
            page_size=page_size,
        )
        return self._calls.pager(
            self._stub.GetCostTrend,
            request,
            messages.trend_page,
            timeout=timeout,
            metadata=metadata,
        )
