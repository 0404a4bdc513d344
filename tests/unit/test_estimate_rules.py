"""StoreEstimate rules: aggregates derived on write, and given ones reconciled exactly."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledger_server.domain.errors import InvalidArgument
from ledger_server.domain.money import WireMoney
from ledger_server.domain.results_store.estimate_rules import prepare_new_job
from ledger_server.domain.results_store.estimates import (
    BreakdownInput,
    EstimateInput,
    RegionCostInput,
    ResourceInput,
    ServiceCostInput,
    StoreEstimateCommand,
)


def usd(units: int, nanos: int = 0) -> WireMoney:
    return WireMoney("", units, nanos)


def resource(
    address: str, units: int, service: str = "", region: str = "", **kw: object
) -> ResourceInput:
    return ResourceInput(address, usd(units), service=service, region=region, **kw)  # type: ignore[arg-type]


def command(*resources: ResourceInput, **estimate: object) -> StoreEstimateCommand:
    fields: dict[str, object] = {
        "currency_code": "USD",
        "total_monthly_cost": None,
        "confidence_score": 0.9,
        "resources": resources,
    }
    fields.update(estimate)
    return StoreEstimateCommand(estimate=EstimateInput(**fields))  # type: ignore[arg-type]


def violations(cmd: StoreEstimateCommand) -> dict[str, str]:
    with pytest.raises(InvalidArgument) as error:
        prepare_new_job(cmd)
    return {v.field: v.description for v in error.value.violations}


def test_store_estimate_derives_totals_services_and_regions() -> None:
    job = prepare_new_job(
        command(
            resource("a", 10, "EC2", "us-east-1"),
            resource("b", 5, "S3", "us-east-1"),
            resource("c", 7, "EC2", "eu-west-1"),
            resource("d", 1),
        )
    )
    assert job.total_monthly_cost == Decimal(23)
    assert [(s.service, s.monthly_cost, s.resource_count) for s in job.services] == [
        ("EC2", 17, 2),
        ("S3", 5, 1),
        ("unknown", 1, 1),
    ]
    east = job.regions[0]
    assert (east.region, east.monthly_cost, east.resource_count) == ("us-east-1", 15, 2)
    assert [(s.service, s.monthly_cost) for s in east.services] == [("EC2", 10), ("S3", 5)]
    assert [r.region for r in job.regions] == ["us-east-1", "eu-west-1", "unknown"]


def test_store_estimate_keeps_nanos_exact() -> None:
    job = prepare_new_job(
        command(
            ResourceInput("a", usd(0, 100_000_000)),
            ResourceInput("b", usd(0, 200_000_000)),
        )
    )
    assert job.total_monthly_cost == Decimal("0.3")  # 0.1 + 0.2, exactly


def test_store_estimate_accepts_matching_aggregates() -> None:
    job = prepare_new_job(
        command(
            resource("a", 10, "EC2", "r1"),
            resource("b", 5, "S3", "r1"),
            total_monthly_cost=usd(15),
            by_service=(ServiceCostInput("EC2", usd(10), 1), ServiceCostInput("S3", usd(5), 1)),
            by_region=(
                RegionCostInput(
                    "r1",
                    usd(15),
                    2,
                    (ServiceCostInput("S3", usd(5), 1), ServiceCostInput("EC2", usd(10), 1)),
                ),
            ),
        )
    )
    assert job.total_monthly_cost == 15


def test_store_estimate_names_every_aggregate_mismatch() -> None:
    found = violations(
        command(
            resource("a", 10, "EC2", "r1"),
            resource("b", 5, "S3", "r2"),
            total_monthly_cost=usd(16),
            by_service=(ServiceCostInput("EC2", usd(11), 1), ServiceCostInput("RDS", usd(5), 1)),
            by_region=(RegionCostInput("r1", usd(10), 2),),
        )
    )
    assert found["estimate.total_monthly_cost"] == "is 16 but the resources add up to 15"
    assert "add up to 10" in found["estimate.by_service[0].monthly_cost"]
    assert "no resource has service 'RDS'" in found["estimate.by_service[1].service"]
    assert "misses service 'S3'" in found["estimate.by_service"]
    assert "is 2 but 1 resources" in found["estimate.by_region[0].resource_count"]
    assert "misses region 'r2'" in found["estimate.by_region"]


def test_store_estimate_rejects_bad_resources() -> None:
    found = violations(
        command(
            ResourceInput("", usd(1)),
            ResourceInput("x", None),
            ResourceInput("x", usd(-1, 0)),
            ResourceInput("y", usd(1, -5)),
            ResourceInput("z", usd(1, 1_000_000_000)),
            ResourceInput("n\x00ul", usd(1)),
            ResourceInput("b", usd(3), breakdown=BreakdownInput(compute=usd(1), storage=usd(1))),
            ResourceInput("j", usd(1), cost_drivers={"k": float("nan")}),
            confidence_score=float("nan"),
        )
    )
    assert found["estimate.by_resource[0].address"] == "is required"
    assert found["estimate.by_resource[1].monthly_cost"] == "is required"
    assert "duplicates by_resource[1]" in found["estimate.by_resource[2].address"]
    assert found["estimate.by_resource[2].monthly_cost"] == "must not be negative"
    assert "same sign" in found["estimate.by_resource[3].monthly_cost.nanos"]
    assert "between" in found["estimate.by_resource[4].monthly_cost.nanos"]
    assert "NUL" in found["estimate.by_resource[5].address"]
    assert "add up to 2" in found["estimate.by_resource[6].breakdown"]
    assert "finite" in found["estimate.by_resource[7].cost_drivers"]
    assert "from 0 to 1" in found["estimate.confidence_score"]


def test_store_estimate_requires_an_estimate_and_checks_metadata() -> None:
    found = violations(
        StoreEstimateCommand(estimate=None, user_id="u" * 257, labels={"Bad Key": "v"})
    )
    assert found["estimate"] == "is required"
    assert "at most 256" in found["user_id"]
    assert any(key.startswith("labels[") for key in found)


def test_store_estimate_rejects_foreign_currency_amounts() -> None:
    found = violations(command(ResourceInput("a", WireMoney("EUR", 1, 0))))
    assert "'USD'" in found["estimate.by_resource[0].monthly_cost.currency_code"]
    assert (
        "ISO 4217"
        in violations(command(resource("a", 1), currency_code="usd"))["estimate.currency_code"]
    )


def test_store_estimate_caps_amounts() -> None:
    found = violations(command(ResourceInput("a", usd(10**12 + 1))))
    assert "at most" in found["estimate.by_resource[0].monthly_cost"]
