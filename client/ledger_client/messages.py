"""ResultsStoreService's request builders and page readers, for both its sub-clients.

Only sending the request differs between the sync and the asyncio sub-client;
everything on either side of the call lives here.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from ledger.v1 import results_store_service_pb2 as pb
from ledger_client import convert
from ledger_client.money import to_money
from ledger_client.types import CostTrendPoint, Estimate, Job, RegionCost, ResourceCost, ServiceCost


def store_estimate_request(
    estimate: Estimate,
    *,
    user_id: str,
    terraform_plan_hash: str,
    profile: str,
    labels: Mapping[str, str] | None,
    request_id: str | None,
) -> pb.StoreEstimateRequest:
    # Always idempotent by default: the channel retries UNAVAILABLE, and a retried
    # store must return the first job rather than write a second one.
    return pb.StoreEstimateRequest(
        estimate=convert.estimate_to_proto(estimate),
        user_id=user_id,
        terraform_plan_hash=terraform_plan_hash,
        profile=profile,
        labels=dict(labels or {}),
        request_id=str(uuid.uuid4()) if request_id is None else request_id,
    )


def list_jobs_request(
    *,
    user_id: str,
    profile: str,
    terraform_plan_hash: str,
    start_time: datetime | None,
    end_time: datetime | None,
    order_by: str,
    page_size: int,
) -> pb.ListJobsRequest:
    request = pb.ListJobsRequest(
        user_id=user_id,
        profile=profile,
        terraform_plan_hash=terraform_plan_hash,
        order_by=order_by,
        page_size=page_size,
    )
    if start_time is not None:
        request.start_time.CopyFrom(convert.timestamp_from_datetime(start_time))
    if end_time is not None:
        request.end_time.CopyFrom(convert.timestamp_from_datetime(end_time))
    return request


def cost_trend_request(
    *,
    user_id: str,
    terraform_plan_hash: str,
    start_time: datetime | None,
    end_time: datetime | None,
    anomaly_percent: Decimal | None,
    anomaly_amount: Decimal | None,
    page_size: int,
) -> pb.GetCostTrendRequest:
    request = pb.GetCostTrendRequest(
        user_id=user_id, terraform_plan_hash=terraform_plan_hash, page_size=page_size
    )
    if anomaly_percent is not None:
        # The wire takes the percent as exact decimal text ("12.5"), never a float.
        request.anomaly_percent = format(anomaly_percent, "f")
    if anomaly_amount is not None:
        request.anomaly_amount.CopyFrom(to_money(anomaly_amount))
    if start_time is not None:
        request.start_time.CopyFrom(convert.timestamp_from_datetime(start_time))
    if end_time is not None:
        request.end_time.CopyFrom(convert.timestamp_from_datetime(end_time))
    return request


def jobs_page(response: pb.ListJobsResponse) -> tuple[list[Job], str]:
    return [convert.job_from_proto(job) for job in response.jobs], response.next_page_token


def resources_page(response: pb.ListJobResourcesResponse) -> tuple[list[ResourceCost], str]:
    resources = [convert.resource_from_proto(resource) for resource in response.resources]
    return resources, response.next_page_token


def services_page(response: pb.ListJobServicesResponse) -> tuple[list[ServiceCost], str]:
    services = [convert.service_cost_from_proto(service) for service in response.services]
    return services, response.next_page_token


def regions_page(response: pb.ListJobRegionsResponse) -> tuple[list[RegionCost], str]:
    regions = [convert.region_cost_from_proto(region) for region in response.regions]
    return regions, response.next_page_token


def trend_page(response: pb.GetCostTrendResponse) -> tuple[list[CostTrendPoint], str]:
    points = [convert.trend_point_from_proto(point) for point in response.points]
    return points, response.next_page_token
