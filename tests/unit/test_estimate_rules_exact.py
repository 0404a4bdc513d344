"""StoreEstimate rules, exactly: the whole job a valid estimate becomes, and every refusal
with the field it names and the words a caller reads."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest

from ledger_server.domain.errors import InvalidArgument
from ledger_server.domain.money import WireMoney, wire_from_decimal
from ledger_server.domain.results_store.estimate_rules import MAX_RESOURCES, prepare_new_job
from ledger_server.domain.results_store.estimates import (
    Breakdown,
    BreakdownInput,
    EstimateInput,
    RegionCostInput,
    RegionTotal,
    Resource,
    ResourceInput,
    ServiceCostInput,
    ServiceTotal,
    StoreEstimateCommand,
)

D = Decimal


def usd(units: int, nanos: int = 0, code: str = "") -> WireMoney:
    return WireMoney(code, units, nanos)


def estimate(*resources: ResourceInput, **fields: Any) -> EstimateInput:
    given: dict[str, Any] = {
        "currency_code": "USD",
        "total_monthly_cost": None,
        "confidence_score": 0.5,
        "resources": resources,
    }
    given.update(fields)
    return EstimateInput(**given)


def refusals(command: StoreEstimateCommand) -> list[tuple[str, str]]:
    with pytest.raises(InvalidArgument) as refused:
        prepare_new_job(command)
    return [(v.field, v.description) for v in refused.value.violations]


def refusals_of(*resources: ResourceInput, **fields: Any) -> list[tuple[str, str]]:
    return refusals(StoreEstimateCommand(estimate=estimate(*resources, **fields)))


def test_a_valid_estimate_becomes_exactly_this_job() -> None:
    job = prepare_new_job(
        StoreEstimateCommand(
            estimate=estimate(
                ResourceInput(
                    "aws_instance.web",
                    usd(10, 500_000_000),
                    name="web",
                    resource_type="aws_instance",
                    service="EC2",
                    region="us-east-1",
                    hourly_cost=usd(0, 14_383_562, "EUR"),
                    breakdown=BreakdownInput(usd(6), usd(2), usd(1, 500_000_000), usd(1)),
                    cost_drivers={"type": "m5"},
                    assumptions={"hours": 730},
                ),
                ResourceInput("aws_s3_bucket.a", usd(20), service="S3", region="us-east-1"),
                ResourceInput("b", usd(0, 1), hourly_cost=usd(0, 1)),
                currency_code="EUR",
                confidence_score=0.75,
            ),
            user_id="alice",
            terraform_plan_hash="plan-1",
            profile="prod",
            labels={"team": "web"},
        )
    )
    assert isinstance(job.job_id, uuid.UUID)
    assert (job.user_id, job.terraform_plan_hash, job.profile, job.labels) == (
        "alice",
        "plan-1",
        "prod",
        {"team": "web"},
    )
    assert (job.currency_code, job.confidence_score) == ("EUR", 0.75)
    assert (job.total_monthly_cost, job.total_hourly_cost) == (
        D("30.500000001"),
        D("0.014383563"),
    )
    assert job.resources == (
        Resource(
            0,
            "aws_instance.web",
            "web",
            "aws_instance",
            "EC2",
            "us-east-1",
            D("10.5"),
            D("0.014383562"),
            Breakdown(D(6), D(2), D("1.5"), D(1)),
            {"type": "m5"},
            {"hours": 730},
        ),
        Resource(1, "aws_s3_bucket.a", "aws_s3_bucket.a", "", "S3", "us-east-1", D(20),
                 None, None, {}, {}),
        Resource(2, "b", "b", "", "unknown", "unknown", D("0.000000001"),
                 D("0.000000001"), None, {}, {}),
    )  # fmt: skip
    assert job.services == (
        ServiceTotal("S3", D(20), 1),
        ServiceTotal("EC2", D("10.5"), 1),
        ServiceTotal("unknown", D("0.000000001"), 1),
    )
    assert job.regions == (
        RegionTotal(
            "us-east-1",
            D("30.5"),
            2,
            (ServiceTotal("S3", D(20), 1), ServiceTotal("EC2", D("10.5"), 1)),
        ),
        RegionTotal(
            "unknown", D("0.000000001"), 1, (ServiceTotal("unknown", D("0.000000001"), 1),)
        ),
    )


def test_totals_order_by_cost_then_name_not_by_name() -> None:
    job = prepare_new_job(
        StoreEstimateCommand(
            estimate=estimate(
                ResourceInput("a", usd(1), service="A", region="a"),
                ResourceInput("b", usd(3), service="B", region="b"),
                ResourceInput("c", usd(3), service="C", region="c"),
                ResourceInput("d", usd(2), service="D", region="c"),
            )
        )
    )
    assert [s.service for s in job.services] == ["B", "C", "D", "A"]
    assert [r.region for r in job.regions] == ["c", "b", "a"]
    assert [s.service for s in job.regions[0].services] == ["C", "D"]


def test_an_empty_estimate_totals_zero_on_the_wire() -> None:
    job = prepare_new_job(StoreEstimateCommand(estimate=estimate()))
    assert wire_from_decimal(job.total_monthly_cost, "USD") == WireMoney("USD", 0, 0)
    assert wire_from_decimal(job.total_hourly_cost, "USD") == WireMoney("USD", 0, 0)
    assert (job.resources, job.services, job.regions) == ((), (), ())
    default = prepare_new_job(StoreEstimateCommand(estimate=estimate(currency_code="")))
    assert default.currency_code == "USD"


def test_metadata_limits_and_their_messages() -> None:
    assert refusals(
        StoreEstimateCommand(
            estimate=estimate(),
            user_id="u" * 257,
            terraform_plan_hash="h" * 257,
            profile="p" * 65,
            labels={"Team": "x"},
        )
    ) == [
        ("user_id", "must be at most 256 characters, got 257"),
        ("terraform_plan_hash", "must be at most 256 characters, got 257"),
        ("profile", "must be at most 64 characters, got 65"),
        (
            "labels['Team']",
            "key must be 1-63 characters of a-z, 0-9, '_', '-', '.', '/' starting with a "
            "letter or digit",
        ),
    ]
    prepare_new_job(
        StoreEstimateCommand(
            estimate=estimate(), user_id="u" * 256, terraform_plan_hash="h" * 256, profile="p" * 64
        )
    )
    assert refusals(
        StoreEstimateCommand(estimate=estimate(), terraform_plan_hash="a\x00", profile="\x00")
    ) == [
        ("terraform_plan_hash", "must not contain NUL characters"),
        ("profile", "must not contain NUL characters"),
    ]


def test_no_estimate_and_a_bad_currency_stop_the_checks_there() -> None:
    assert refusals(StoreEstimateCommand(estimate=None, user_id="u" * 257)) == [
        ("user_id", "must be at most 256 characters, got 257"),
        ("estimate", "is required"),
    ]
    assert refusals_of(ResourceInput("", usd(1)), currency_code="usd") == [
        ("estimate.currency_code", "must be a 3-letter ISO 4217 code like 'USD'")
    ]


@pytest.mark.parametrize(
    ("field", "limit"),
    [("name", 1024), ("resource_type", 256), ("service", 256), ("region", 256)],
)
def test_each_resource_text_has_its_limit_and_no_nul(field: str, limit: int) -> None:
    def resource(value: str) -> ResourceInput:
        texts: dict[str, Any] = {field: value}
        return ResourceInput("a", usd(1))._replace(**texts)

    prepare_new_job(StoreEstimateCommand(estimate=estimate(resource("x" * limit))))
    assert refusals_of(resource("x" * (limit + 1))) == [
        (f"estimate.by_resource[0].{field}", f"must be at most {limit} characters, got {limit + 1}")
    ]
    assert refusals_of(ResourceInput("ok", usd(1)), resource("a\x00")) == [
        (f"estimate.by_resource[1].{field}", "must not contain NUL characters")
    ]


def test_addresses_are_required_unique_short_and_without_nul() -> None:
    prepare_new_job(
        StoreEstimateCommand(
            estimate=estimate(ResourceInput("x", usd(1)), ResourceInput("y" * 1024, usd(1)))
        )
    )
    assert refusals_of(
        ResourceInput("", usd(1)),
        ResourceInput("y" * 1025, usd(1)),
        ResourceInput("n\x00", usd(1)),
        ResourceInput("d", usd(1)),
        ResourceInput("d", usd(1)),
    ) == [
        ("estimate.by_resource[0].address", "is required"),
        ("estimate.by_resource[1].address", "must be at most 1024 characters, got 1025"),
        ("estimate.by_resource[2].address", "must not contain NUL characters"),
        ("estimate.by_resource[4].address", "duplicates by_resource[3]: addresses must be unique"),
    ]


def test_at_most_10000_resources() -> None:
    many = tuple(ResourceInput(f"r{i}", usd(1)) for i in range(MAX_RESOURCES + 1))
    assert len(prepare_new_job(StoreEstimateCommand(estimate=estimate(*many[:-1]))).resources) == (
        MAX_RESOURCES
    )
    assert refusals_of(*many) == [
        ("estimate.by_resource", "must hold at most 10000 resources, got 10001")
    ]


def test_amounts_of_a_resource_name_their_field() -> None:
    assert refusals_of(
        ResourceInput("m", None),
        ResourceInput("h", usd(1), hourly_cost=usd(-1)),
        ResourceInput("c", usd(1), hourly_cost=usd(1, 0, "EUR")),
        # A refused part counts as zero, so these cost zero: no second violation.
        ResourceInput("b", usd(0), breakdown=BreakdownInput(compute=usd(0, -1))),
        ResourceInput("s", usd(0), breakdown=BreakdownInput(storage=usd(0, 1_000_000_000))),
        ResourceInput("n", usd(0), breakdown=BreakdownInput(network=usd(1, 0, "EUR"))),
        ResourceInput("o", usd(0), breakdown=BreakdownInput(other=usd(1, -1))),
        ResourceInput("j", usd(1), cost_drivers={"k": float("inf")}),
        ResourceInput("k", usd(1), assumptions={"k": "\x00"}),
    ) == [
        ("estimate.by_resource[0].monthly_cost", "is required"),
        ("estimate.by_resource[1].hourly_cost", "must not be negative"),
        (
            "estimate.by_resource[2].hourly_cost.currency_code",
            "must be empty or 'USD', the estimate's currency; got 'EUR'",
        ),
        ("estimate.by_resource[3].breakdown.compute", "must not be negative"),
        (
            "estimate.by_resource[4].breakdown.storage.nanos",
            "must be between -999999999 and 999999999",
        ),
        (
            "estimate.by_resource[5].breakdown.network.currency_code",
            "must be empty or 'USD', the estimate's currency; got 'EUR'",
        ),
        ("estimate.by_resource[6].breakdown.other.nanos", "must have the same sign as units"),
        ("estimate.by_resource[7].cost_drivers", "numbers must be finite (no NaN or infinity)"),
        ("estimate.by_resource[8].assumptions", "must not contain NUL characters"),
    ]


def test_breakdown_parts_add_up_to_the_monthly_cost() -> None:
    parts = BreakdownInput(usd(1), usd(2), usd(3), usd(4, 0, "USD"))
    job = prepare_new_job(
        StoreEstimateCommand(estimate=estimate(ResourceInput("a", usd(10), breakdown=parts)))
    )
    assert job.resources[0].breakdown == Breakdown(D(1), D(2), D(3), D(4))
    assert job.resources[0].breakdown.total() == 10
    assert refusals_of(ResourceInput("a", usd(9), breakdown=parts)) == [
        ("estimate.by_resource[0].breakdown", "parts add up to 10 but monthly_cost is 9")
    ]
    assert refusals_of(
        ResourceInput("a", usd(1), breakdown=BreakdownInput(usd(1), other=usd(1)))
    ) == [("estimate.by_resource[0].breakdown", "parts add up to 2 but monthly_cost is 1")]


def test_given_aggregates_must_reconcile_exactly() -> None:
    resources = (
        ResourceInput("a", usd(10), service="EC2", region="r1"),
        ResourceInput("b", usd(5), service="S3", region="r1"),
    )
    assert refusals_of(
        *resources,
        total_monthly_cost=usd(15, 0, "EUR"),
        by_service=(
            ServiceCostInput("EC2", None, 1),
            ServiceCostInput("EC2", usd(10), 1),
            ServiceCostInput("S3", usd(5, 0, "EUR"), 1),
        ),
        by_region=(
            RegionCostInput("r1", usd(15), 2, (ServiceCostInput("EC2", usd(-1), 1),)),
            RegionCostInput("r9", usd(0), 0, (ServiceCostInput("EC2", usd(0), 0),)),
            RegionCostInput("r1", usd(15), 2),
        ),
    ) == [
        (
            "estimate.total_monthly_cost.currency_code",
            "must be empty or 'USD', the estimate's currency; got 'EUR'",
        ),
        ("estimate.by_service[0].monthly_cost", "is required"),
        ("estimate.by_service[1].service", "'EC2' is listed twice"),
        (
            "estimate.by_service[2].monthly_cost.currency_code",
            "must be empty or 'USD', the estimate's currency; got 'EUR'",
        ),
        ("estimate.by_region[0].services[0].monthly_cost", "must not be negative"),
        ("estimate.by_region[0].services", "misses service 'S3' (5 over 1 resources)"),
        ("estimate.by_region[1].services[0].service", "no resource has service 'EC2'"),
        ("estimate.by_region[1].region", "no resource has region 'r9'"),
        ("estimate.by_region[2].region", "'r1' is listed twice"),
    ]


def test_aggregates_without_a_service_or_region_mean_unknown() -> None:
    job = prepare_new_job(
        StoreEstimateCommand(
            estimate=estimate(
                ResourceInput("a", usd(2)),
                by_service=(ServiceCostInput("", usd(2), 1),),
                by_region=(RegionCostInput("", usd(2), 1, (ServiceCostInput("", usd(2), 1),)),),
            )
        )
    )
    assert job.total_monthly_cost == 2


def test_aggregates_may_name_the_estimate_currency_on_every_amount() -> None:
    eur = "EUR"
    job = prepare_new_job(
        StoreEstimateCommand(
            estimate=estimate(
                ResourceInput("a", usd(2, 0, eur), service="S", region="r"),
                currency_code=eur,
                total_monthly_cost=usd(2, 0, eur),
                by_service=(ServiceCostInput("S", usd(2, 0, eur), 1),),
                by_region=(
                    RegionCostInput(
                        "r", usd(2, 0, eur), 1, (ServiceCostInput("S", usd(2, 0, eur), 1),)
                    ),
                ),
            )
        )
    )
    assert (job.currency_code, job.total_monthly_cost) == ("EUR", 2)
