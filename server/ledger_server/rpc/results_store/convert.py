"""Proto <-> domain translation for ResultsStoreService. No rules live here: only shapes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ledger.v1 import estimate_pb2, money_pb2
from ledger.v1 import results_store_service_pb2 as rs
from ledger_server.domain.errors import FieldViolation, InvalidArgument
from ledger_server.domain.money import WireMoney, wire_from_decimal
from ledger_server.domain.results_store.comparison import Comparison, CostDelta, ResourceDiff
from ledger_server.domain.results_store.estimate_rules import MAX_RESOURCES
from ledger_server.domain.results_store.estimates import (
    STATUS_COMPLETED,
    BreakdownInput,
    EstimateInput,
    Job,
    RegionCostInput,
    RegionTotal,
    Resource,
    ResourceInput,
    ServiceCostInput,
    ServiceTotal,
    StoreEstimateCommand,
)
from ledger_server.domain.results_store.ports import JobFilters
from ledger_server.domain.results_store.trend import TrendPoint
from ledger_server.rpc.wire import struct_in, time_in, time_out

# --- in --------------------------------------------------------------------------------


def _money_in(message: Any, field: str) -> WireMoney | None:
    if not message.HasField(field):
        return None
    money = getattr(message, field)
    return WireMoney(money.currency_code, money.units, money.nanos)


def _services_in(entries: Any) -> tuple[ServiceCostInput, ...]:
    return tuple(
        ServiceCostInput(e.service, _money_in(e, "monthly_cost"), e.resource_count) for e in entries
    )


def _resource_in(resource: estimate_pb2.ResourceCost) -> ResourceInput:
    breakdown = None
    if resource.HasField("breakdown"):
        b = resource.breakdown
        breakdown = BreakdownInput(
            _money_in(b, "compute"),
            _money_in(b, "storage"),
            _money_in(b, "network"),
            _money_in(b, "other"),
        )
    return ResourceInput(
        address=resource.address,
        monthly_cost=_money_in(resource, "monthly_cost"),
        name=resource.name,
        resource_type=resource.resource_type,
        service=resource.service,
        region=resource.region,
        hourly_cost=_money_in(resource, "hourly_cost"),
        breakdown=breakdown,
        cost_drivers=struct_in(resource.cost_drivers),
        assumptions=struct_in(resource.assumptions),
    )


def check_sizes(request: rs.StoreEstimateRequest) -> None:
    """Refuses oversized lists before any per-item work: counting is free, converting not."""
    e = request.estimate
    for path, count in (
        ("estimate.by_resource", len(e.by_resource)),
        ("estimate.by_service", len(e.by_service)),
        ("estimate.by_region", len(e.by_region)),
    ):
        if count > MAX_RESOURCES:
            raise InvalidArgument(
                [FieldViolation(path, f"must hold at most {MAX_RESOURCES} entries, got {count}")]
            )


def store_estimate_command(request: rs.StoreEstimateRequest) -> StoreEstimateCommand:
    check_sizes(request)
    estimate = None
    if request.HasField("estimate"):
        e = request.estimate
        estimate = EstimateInput(
            currency_code=e.currency_code,
            total_monthly_cost=_money_in(e, "total_monthly_cost"),
            confidence_score=e.confidence_score,
            resources=tuple(_resource_in(r) for r in e.by_resource),
            by_service=_services_in(e.by_service),
            by_region=tuple(
                RegionCostInput(
                    r.region,
                    _money_in(r, "monthly_cost"),
                    r.resource_count,
                    _services_in(r.services),
                )
                for r in e.by_region
            ),
        )
    return StoreEstimateCommand(
        estimate=estimate,
        user_id=request.user_id,
        terraform_plan_hash=request.terraform_plan_hash,
        profile=request.profile,
        labels=dict(request.labels),
    )


def money_in(message: Any, field: str) -> WireMoney | None:
    """A Money field as it arrived, unchecked (the use case checks it); None when unset."""
    return _money_in(message, field)


def job_filters(request: Any) -> JobFilters:
    return JobFilters(
        user_id=request.user_id,
        profile=getattr(request, "profile", ""),
        terraform_plan_hash=request.terraform_plan_hash,
        start_time=time_in(request, "start_time"),
        end_time=time_in(request, "end_time"),
    )


# --- out -------------------------------------------------------------------------------


def money_out(amount: Decimal, currency: str) -> money_pb2.Money:
    wire = wire_from_decimal(amount, currency)
    return money_pb2.Money(currency_code=currency, units=wire.units, nanos=wire.nanos)


_STATUS = {STATUS_COMPLETED: estimate_pb2.JOB_STATUS_COMPLETED}


def job_out(job: Job) -> estimate_pb2.Job:
    currency = job.currency_code
    return estimate_pb2.Job(
        job_id=str(job.job_id),
        user_id=job.user_id,
        terraform_plan_hash=job.terraform_plan_hash,
        profile=job.profile,
        labels=job.labels,
        currency_code=currency,
        total_monthly_cost=money_out(job.total_monthly_cost, currency),
        total_hourly_cost=money_out(job.total_hourly_cost, currency),
        confidence_score=job.confidence_score,
        resource_count=job.resource_count,
        schema_version=job.schema_version,
        status=_STATUS.get(job.status, estimate_pb2.JOB_STATUS_UNSPECIFIED),
        create_time=time_out(job.create_time),
    )


def resource_out(resource: Resource, currency: str) -> estimate_pb2.ResourceCost:
    message = estimate_pb2.ResourceCost(
        address=resource.address,
        name=resource.name,
        resource_type=resource.resource_type,
        service=resource.service,
        region=resource.region,
        monthly_cost=money_out(resource.monthly_cost, currency),
    )
    if resource.hourly_cost is not None:
        message.hourly_cost.CopyFrom(money_out(resource.hourly_cost, currency))
    if resource.breakdown is not None:
        b = resource.breakdown
        message.breakdown.CopyFrom(
            estimate_pb2.CostBreakdown(
                compute=money_out(b.compute, currency),
                storage=money_out(b.storage, currency),
                network=money_out(b.network, currency),
                other=money_out(b.other, currency),
            )
        )
    message.cost_drivers.update(resource.cost_drivers)
    message.assumptions.update(resource.assumptions)
    return message


def service_out(total: ServiceTotal, currency: str) -> estimate_pb2.ServiceCost:
    return estimate_pb2.ServiceCost(
        service=total.service,
        monthly_cost=money_out(total.monthly_cost, currency),
        resource_count=total.resource_count,
    )


def region_out(total: RegionTotal, currency: str) -> estimate_pb2.RegionCost:
    return estimate_pb2.RegionCost(
        region=total.region,
        monthly_cost=money_out(total.monthly_cost, currency),
        resource_count=total.resource_count,
        services=[service_out(s, currency) for s in total.services],
    )


def _delta_out(delta: CostDelta, currency: str) -> rs.CostDelta:
    return rs.CostDelta(
        key=delta.key,
        base_monthly_cost=money_out(delta.base, currency),
        target_monthly_cost=money_out(delta.target, currency),
        delta=money_out(delta.delta, currency),
    )


def _diff_out(diff: ResourceDiff, currency: str) -> rs.ResourceDiff:
    return rs.ResourceDiff(
        address=diff.address,
        change=rs.ResourceChange.Value(f"RESOURCE_CHANGE_{diff.change.value}"),
        base_monthly_cost=money_out(diff.base, currency),
        target_monthly_cost=money_out(diff.target, currency),
        delta=money_out(diff.delta, currency),
    )


def _total_out(job: Job) -> rs.JobTotal:
    return rs.JobTotal(
        job_id=str(job.job_id),
        total_monthly_cost=money_out(job.total_monthly_cost, job.currency_code),
        create_time=time_out(job.create_time),
    )


def comparison_out(result: Comparison) -> rs.CompareJobsResponse:
    currency = result.base.currency_code
    response = rs.CompareJobsResponse(
        base=_total_out(result.base),
        target=_total_out(result.target),
        delta=money_out(result.delta, currency),
        service_deltas=[_delta_out(d, currency) for d in result.service_deltas],
        region_deltas=[_delta_out(d, currency) for d in result.region_deltas],
        resource_diffs=[_diff_out(d, currency) for d in result.resource_diffs],
        resource_diff_count=result.resource_diff_count,
    )
    if result.percentage_change is not None:
        response.percentage_change = float(result.percentage_change)
    return response


def percent_out(percent: Decimal | None) -> str:
    """A percentage as the wire carries it: exactly two decimal places, "" for none."""
    if percent is None:
        return ""
    return f"{percent.quantize(_HUNDREDTH):f}"


_HUNDREDTH = Decimal("0.01")


def trend_point_out(point: TrendPoint) -> rs.CostTrendPoint:
    currency = point.job.currency_code
    return rs.CostTrendPoint(
        job_id=str(point.job.job_id),
        create_time=time_out(point.job.create_time),
        total_monthly_cost=money_out(point.job.total_monthly_cost, currency),
        change_from_previous=money_out(point.change_from_previous, currency),
        percentage_change=percent_out(point.percentage_change),
        anomaly=point.anomaly,
    )
