"""Conversions between the SDK's dataclasses and the generated ledger.v1 messages."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

from google.protobuf import json_format, struct_pb2, timestamp_pb2

from ledger.v1 import estimate_pb2, results_store_service_pb2
from ledger_client.money import from_money, to_money
from ledger_client.types import (
    CostBreakdown,
    CostDelta,
    CostTrendPoint,
    Estimate,
    Job,
    JobComparison,
    JobTotal,
    RegionCost,
    ResourceChange,
    ResourceCost,
    ResourceDiff,
    ServiceCost,
)

# --- SDK -> wire -------------------------------------------------------------------


def timestamp_from_datetime(moment: datetime) -> timestamp_pb2.Timestamp:
    # A naive datetime would silently be read as UTC; refusing it avoids filters that
    # are off by the caller's UTC offset.
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"datetime {moment.isoformat()} must be timezone-aware")
    timestamp = timestamp_pb2.Timestamp()
    timestamp.FromDatetime(moment)
    return timestamp


def struct_from_mapping(values: Mapping[str, Any], what: str) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    try:
        struct.update(values)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"{what} must hold only JSON values (str, number, bool, None, list, dict): {err}"
        ) from err
    return struct


def breakdown_to_proto(breakdown: CostBreakdown) -> estimate_pb2.CostBreakdown:
    return estimate_pb2.CostBreakdown(
        compute=to_money(breakdown.compute),
        storage=to_money(breakdown.storage),
        network=to_money(breakdown.network),
        other=to_money(breakdown.other),
    )


def resource_to_proto(resource: ResourceCost) -> estimate_pb2.ResourceCost:
    message = estimate_pb2.ResourceCost(
        address=resource.address,
        name=resource.name,
        resource_type=resource.resource_type,
        service=resource.service,
        region=resource.region,
        monthly_cost=to_money(resource.monthly_cost),
    )
    if resource.hourly_cost is not None:
        message.hourly_cost.CopyFrom(to_money(resource.hourly_cost))
    if resource.breakdown is not None:
        message.breakdown.CopyFrom(breakdown_to_proto(resource.breakdown))
    if resource.cost_drivers:
        message.cost_drivers.CopyFrom(
            struct_from_mapping(resource.cost_drivers, f"{resource.address}: cost_drivers")
        )
    if resource.assumptions:
        message.assumptions.CopyFrom(
            struct_from_mapping(resource.assumptions, f"{resource.address}: assumptions")
        )
    return message


def service_cost_to_proto(service: ServiceCost) -> estimate_pb2.ServiceCost:
    return estimate_pb2.ServiceCost(
        service=service.service,
        monthly_cost=to_money(service.monthly_cost),
        resource_count=service.resource_count,
    )


def region_cost_to_proto(region: RegionCost) -> estimate_pb2.RegionCost:
    return estimate_pb2.RegionCost(
        region=region.region,
        monthly_cost=to_money(region.monthly_cost),
        resource_count=region.resource_count,
        services=[service_cost_to_proto(service) for service in region.services],
    )


def estimate_to_proto(estimate: Estimate) -> estimate_pb2.Estimate:
    # Nested amounts leave currency_code empty: it means "the estimate's currency".
    message = estimate_pb2.Estimate(
        currency_code=estimate.currency_code,
        confidence_score=estimate.confidence_score,
        by_resource=[resource_to_proto(resource) for resource in estimate.resources],
        by_service=[service_cost_to_proto(service) for service in estimate.by_service],
        by_region=[region_cost_to_proto(region) for region in estimate.by_region],
    )
    if estimate.total_monthly_cost is not None:
        message.total_monthly_cost.CopyFrom(to_money(estimate.total_monthly_cost))
    return message


# --- wire -> SDK -------------------------------------------------------------------


def datetime_from_timestamp(timestamp: timestamp_pb2.Timestamp) -> datetime:
    return timestamp.ToDatetime(tzinfo=UTC)


def _enum_suffix(name_of: Any, value: int, prefix: str) -> str:
    try:
        name = str(name_of(value))
    except ValueError:  # a value added to the proto after this SDK was built
        return str(value)
    return name.removeprefix(prefix)


def breakdown_from_proto(breakdown: estimate_pb2.CostBreakdown) -> CostBreakdown:
    return CostBreakdown(
        compute=from_money(breakdown.compute),
        storage=from_money(breakdown.storage),
        network=from_money(breakdown.network),
        other=from_money(breakdown.other),
    )


def resource_from_proto(resource: estimate_pb2.ResourceCost) -> ResourceCost:
    return ResourceCost(
        address=resource.address,
        monthly_cost=from_money(resource.monthly_cost),
        name=resource.name,
        resource_type=resource.resource_type,
        service=resource.service,
        region=resource.region,
        hourly_cost=from_money(resource.hourly_cost) if resource.HasField("hourly_cost") else None,
        breakdown=(
            breakdown_from_proto(resource.breakdown) if resource.HasField("breakdown") else None
        ),
        cost_drivers=json_format.MessageToDict(resource.cost_drivers),
        assumptions=json_format.MessageToDict(resource.assumptions),
    )


def service_cost_from_proto(service: estimate_pb2.ServiceCost) -> ServiceCost:
    return ServiceCost(
        service=service.service,
        monthly_cost=from_money(service.monthly_cost),
        resource_count=service.resource_count,
    )


def region_cost_from_proto(region: estimate_pb2.RegionCost) -> RegionCost:
    return RegionCost(
        region=region.region,
        monthly_cost=from_money(region.monthly_cost),
        resource_count=region.resource_count,
        services=tuple(service_cost_from_proto(service) for service in region.services),
    )


def job_from_proto(job: estimate_pb2.Job) -> Job:
    return Job(
        job_id=job.job_id,
        user_id=job.user_id,
        terraform_plan_hash=job.terraform_plan_hash,
        profile=job.profile,
        labels=dict(job.labels),
        currency_code=job.currency_code,
        total_monthly_cost=from_money(job.total_monthly_cost),
        total_hourly_cost=from_money(job.total_hourly_cost),
        confidence_score=job.confidence_score,
        resource_count=job.resource_count,
        schema_version=job.schema_version,
        status=_enum_suffix(estimate_pb2.JobStatus.Name, job.status, "JOB_STATUS_"),
        create_time=datetime_from_timestamp(job.create_time),
    )


def job_total_from_proto(total: results_store_service_pb2.JobTotal) -> JobTotal:
    return JobTotal(
        job_id=total.job_id,
        total_monthly_cost=from_money(total.total_monthly_cost),
        create_time=datetime_from_timestamp(total.create_time),
    )


def cost_delta_from_proto(delta: results_store_service_pb2.CostDelta) -> CostDelta:
    return CostDelta(
        key=delta.key,
        base_monthly_cost=from_money(delta.base_monthly_cost),
        target_monthly_cost=from_money(delta.target_monthly_cost),
        delta=from_money(delta.delta),
    )


def resource_diff_from_proto(diff: results_store_service_pb2.ResourceDiff) -> ResourceDiff:
    change = _enum_suffix(
        results_store_service_pb2.ResourceChange.Name, diff.change, "RESOURCE_CHANGE_"
    )
    return ResourceDiff(
        address=diff.address,
        change=cast(ResourceChange, change),
        base_monthly_cost=from_money(diff.base_monthly_cost),
        target_monthly_cost=from_money(diff.target_monthly_cost),
        delta=from_money(diff.delta),
    )


def comparison_from_proto(
    response: results_store_service_pb2.CompareJobsResponse,
) -> JobComparison:
    return JobComparison(
        base=job_total_from_proto(response.base),
        target=job_total_from_proto(response.target),
        delta=from_money(response.delta),
        percentage_change=(
            response.percentage_change if response.HasField("percentage_change") else None
        ),
        service_deltas=tuple(cost_delta_from_proto(d) for d in response.service_deltas),
        region_deltas=tuple(cost_delta_from_proto(d) for d in response.region_deltas),
        resource_diffs=tuple(resource_diff_from_proto(d) for d in response.resource_diffs),
        resource_diff_count=response.resource_diff_count,
        currency_code=response.base.total_monthly_cost.currency_code
        or response.delta.currency_code,
    )


def trend_point_from_proto(point: results_store_service_pb2.CostTrendPoint) -> CostTrendPoint:
    return CostTrendPoint(
        job_id=point.job_id,
        create_time=datetime_from_timestamp(point.create_time),
        total_monthly_cost=from_money(point.total_monthly_cost),
        change_from_previous=from_money(point.change_from_previous),
        percentage_change=Decimal(point.percentage_change) if point.percentage_change else None,
        anomaly=point.anomaly,
    )
