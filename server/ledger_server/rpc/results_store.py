"""ResultsStoreService: translate, call the use case off the event loop, translate back."""

from __future__ import annotations

from typing import Any

import grpc

from ledger.v1 import results_store_service_pb2 as rs
from ledger.v1 import results_store_service_pb2_grpc as rs_grpc
from ledger_server.api_keys import Role
from ledger_server.domain.cache import ImmutableCache
from ledger_server.domain.results_store import ResultsStore
from ledger_server.rpc import convert
from ledger_server.rpc.handler import Runtime, Servicer, unary

Context = grpc.aio.ServicerContext[Any, Any]


class ResultsStoreServicer(Servicer, rs_grpc.ResultsStoreServiceServicer):
    def __init__(
        self, runtime: Runtime, store: ResultsStore, *, reply_cache_size: int = 10_000
    ) -> None:
        super().__init__(runtime)
        self.store = store
        # A job never changes, so neither does its GetJob reply: the wire form is built
        # once per job and served as is, which keeps the hottest read near an empty RPC.
        self._job_replies: ImmutableCache[str, rs.GetJobResponse] = ImmutableCache(reply_cache_size)

    @unary(Role.WRITER)
    async def StoreEstimate(  # noqa: N802 - gRPC method names
        self, request: rs.StoreEstimateRequest, context: Context
    ) -> rs.StoreEstimateResponse:
        command = convert.store_estimate_command(request)
        job = await self.runtime.offload(self.store.store_estimate, command)
        return rs.StoreEstimateResponse(job=convert.job_out(job))

    @unary(Role.READER)
    async def GetJob(self, request: rs.GetJobRequest, context: Context) -> rs.GetJobResponse:  # noqa: N802
        # Jobs never change, so a cached one is answered right here on the event loop.
        reply = self._job_replies.get(request.job_id)
        if reply is None:
            job = self.store.peek_job(request.job_id)
            if job is None:
                job = await self.runtime.offload(self.store.get_job, request.job_id)
            reply = rs.GetJobResponse(job=convert.job_out(job))
            self._job_replies.put(request.job_id, reply)
        return reply

    @unary(Role.READER)
    async def ListJobs(self, request: rs.ListJobsRequest, context: Context) -> rs.ListJobsResponse:  # noqa: N802
        filters = convert.job_filters(request)
        page = await self.runtime.offload(
            self.store.list_jobs, filters, request.page_size, request.page_token
        )
        return rs.ListJobsResponse(
            jobs=[convert.job_out(j) for j in page.items], next_page_token=page.next_page_token
        )

    @unary(Role.READER)
    async def ListJobResources(  # noqa: N802
        self, request: rs.ListJobResourcesRequest, context: Context
    ) -> rs.ListJobResourcesResponse:
        job, page = await self.runtime.offload(
            self.store.list_job_resources,
            request.job_id,
            request.service,
            request.region,
            request.page_size,
            request.page_token,
        )
        return rs.ListJobResourcesResponse(
            resources=[convert.resource_out(r, job.currency_code) for r in page.items],
            next_page_token=page.next_page_token,
        )

    @unary(Role.READER)
    async def ListJobServices(  # noqa: N802
        self, request: rs.ListJobServicesRequest, context: Context
    ) -> rs.ListJobServicesResponse:
        job, page = await self.runtime.offload(
            self.store.list_job_services, request.job_id, request.page_size, request.page_token
        )
        return rs.ListJobServicesResponse(
            services=[convert.service_out(s, job.currency_code) for s in page.items],
            next_page_token=page.next_page_token,
        )

    @unary(Role.READER)
    async def ListJobRegions(  # noqa: N802
        self, request: rs.ListJobRegionsRequest, context: Context
    ) -> rs.ListJobRegionsResponse:
        job, page = await self.runtime.offload(
            self.store.list_job_regions, request.job_id, request.page_size, request.page_token
        )
        return rs.ListJobRegionsResponse(
            regions=[convert.region_out(r, job.currency_code) for r in page.items],
            next_page_token=page.next_page_token,
        )

    @unary(Role.READER)
    async def CompareJobs(  # noqa: N802
        self, request: rs.CompareJobsRequest, context: Context
    ) -> rs.CompareJobsResponse:
        result = await self.runtime.offload(
            self.store.compare_jobs,
            request.base_job_id,
            request.target_job_id,
            request.max_resource_diffs,
        )
        return convert.comparison_out(result)

    @unary(Role.READER)
    async def GetCostTrend(  # noqa: N802
        self, request: rs.GetCostTrendRequest, context: Context
    ) -> rs.GetCostTrendResponse:
        filters = convert.job_filters(request)
        page = await self.runtime.offload(
            self.store.get_cost_trend, filters, request.page_size, request.page_token
        )
        return rs.GetCostTrendResponse(
            points=[convert.trend_point_out(p) for p in page.items],
            next_page_token=page.next_page_token,
        )
