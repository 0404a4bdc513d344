"""StoreEstimate requests for the end-to-end tests: one with every field set."""

from __future__ import annotations

from ledger.v1 import estimate_pb2, money_pb2
from ledger.v1 import results_store_service_pb2 as rs


def money(units: int, nanos: int = 0, currency: str = "") -> money_pb2.Money:
    return money_pb2.Money(currency_code=currency, units=units, nanos=nanos)


def full_request(user: str) -> rs.StoreEstimateRequest:
    """A request with every field set (but request_id), aggregates left to the server."""
    request = rs.StoreEstimateRequest(
        user_id=user,
        terraform_plan_hash=f"plan-{user}",
        profile="prod",
        labels={"team": "web", "env": "prod"},
        estimate=estimate_pb2.Estimate(currency_code="EUR", confidence_score=0.75),
    )
    web = request.estimate.by_resource.add(
        address="aws_instance.web",
        name="web",
        resource_type="aws_instance",
        service="AmazonEC2",
        region="eu-west-1",
        monthly_cost=money(10, 500_000_000),
        hourly_cost=money(0, 14_383_562),
        breakdown=estimate_pb2.CostBreakdown(
            compute=money(6), storage=money(2), network=money(1, 500_000_000), other=money(1)
        ),
    )
    web.cost_drivers.update({"instance_type": "m5.large", "count": 2.0})
    web.assumptions.update({"hours_per_month": 730.0})
    request.estimate.by_resource.add(
        address="aws_s3_bucket.logs",
        name="logs",
        resource_type="aws_s3_bucket",
        service="AmazonS3",
        region="eu-west-1",
        monthly_cost=money(5, 1),
    )
    return request
