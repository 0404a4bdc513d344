"""ResultsStoreService: translate, call the use case off the event loop, translate back."""

from __future__ import annotations

from ledger.v1 import results_store_service_pb2 as rs
from ledger_server.api_keys import Role
from ledger_server.domain.results_store.estimates import Job
from ledger_server.domain.results_store.use_cases import ResultsStore
from ledger_server.rpc.handler import Call, Runtime, unary
from ledger_server.rpc.idempotency import request_key
from ledger_server.rpc.results_store import convert
from ledger_server.rpc.service import Servicer


class ResultsStoreServicer(Servicer, service=rs.DESCRIPTOR.services_by_name["ResultsStoreService"]):
    def __init__(self, runtime: Runtime, store: ResultsStore) -> None:
        super().__init__(runtime)
        self.store = store

    @unary(Role.WRITER)
    async def StoreEstimate(  # noqa: N802 - gRPC method names
        self, request: rs.StoreEstimateRequest, call: Call
    ) -> rs.StoreEstimateResponse:
        # Counts are checked here, on the loop, because that is free; converting and
        # fingerprinting up to 16 MiB is not, so it runs with the write on a DB thread.
        convert.check_sizes(request)

        def store() -> rs.StoreEstimateResponse:
            job = self.store.store_estimate(
                convert.store_estimate_command(request), request_key(request)
            )
            return rs.StoreEstimateResponse(job=convert.job_out(job))

        return await self.runtime.offload(store)

    @unary(Role.READER)
    async def GetJob(self, request: rs.GetJobRequest, call: Call) -> rs.GetJobResponse:  # noqa: N802
        # A job never changes, so its reply is built once and kept with the job in the
        # use case's cache: a repeat read is answered right here on the event loop.
        reply = self.store.peek_rendered(request.job_id, _get_job_reply)
        if reply is None:
            job = await self.runtime.offload(self.store.get_job, request.job_id)
            reply = self.store.peek_rendered(request.job_id, _get_job_reply)
            if reply is None:  # the cache is off or full of larger jobs
                reply = _get_job_reply(job)
        return reply

    @unary(Role.READER)
    async def ListJobs(self, request: rs.ListJobsRequest, call: Call) -> rs.ListJobsResponse:  # noqa: N802
        filters = convert.job_filters(request)
        page = await self.runtime.offload(
            self.store.list_jobs,
            filters,
            request.page_size,
            request.page_token,
            order_by=request.order_by,
        )
        return rs.ListJobsResponse(
            jobs=[convert.job_out(j) for j in page.items], next_page_token=page.next_page_token
        )

    @unary(Role.READER)
    async def ListJobResources(  # noqa: N802
        self, request: rs.ListJobResourcesRequest, call: Call
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
        self, request: rs.ListJobServicesRequest, call: Call
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
        self, request: rs.ListJobRegionsRequest, call: Call
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
        self, request: rs.CompareJobsRequest, call: Call
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
        self, request: rs.GetCostTrendRequest, call: Call
    ) -> rs.GetCostTrendResponse:
        filters = convert.job_filters(request)
        page = await self.runtime.offload(
            self.store.get_cost_trend,
            filters,
            request.page_size,
            request.page_token,
            anomaly_percent=request.anomaly_percent,
            anomaly_amount=convert.money_in(request, "anomaly_amount"),
        )
        return rs.GetCostTrendResponse(
            points=[convert.trend_point_out(p) for p in page.items],
            next_page_token=page.next_page_token,
        )


def _get_job_reply(job: Job) -> rs.GetJobResponse:
    """The GetJob reply for `job`; shared between calls, so never modified after this."""
    return rs.GetJobResponse(job=convert.job_out(job))
