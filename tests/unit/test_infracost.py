"""The Infracost importer on documents shaped like `infracost breakdown --format json`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from ledger_client.convert import estimate_to_proto
from ledger_client.infracost import InfracostFormatError, estimate_from_infracost
from ledger_client.infracost_rules import cost_kind
from ledger_client.types import CostBreakdown


def component(
    name: str, monthly: str | None, *, unit: str = "hours", quantity: str | None = "730"
) -> dict[str, Any]:
    hourly = None if monthly is None else str(Decimal(monthly) / 730)
    return {
        "name": name,
        "unit": unit,
        "hourlyQuantity": None,
        "monthlyQuantity": quantity,
        "price": "0.5",
        "hourlyCost": hourly,
        "monthlyCost": monthly,
    }


def resource(
    name: str,
    monthly: str | None,
    components: list[dict[str, Any]] | None = None,
    subresources: list[dict[str, Any]] | None = None,
    *,
    hourly: str | None = None,
    resource_type: str | None = None,
) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "name": name,
        "metadata": {},
        "hourlyCost": hourly,
        "monthlyCost": monthly,
        "costComponents": components or [],
        "subresources": subresources or [],
    }
    if resource_type is not None:
        raw["resourceType"] = resource_type
    return raw


def project(name: str, *resources: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "metadata": {}, "breakdown": {"resources": list(resources)}}


def document(*projects: dict[str, Any], total: str | None = "auto") -> dict[str, Any]:
    if total == "auto":
        total = str(
            sum(
                (
                    Decimal(r["monthlyCost"] or 0)
                    for p in projects
                    for r in p["breakdown"]["resources"]
                ),
                Decimal(0),
            )
        )
    return {
        "version": "0.2",
        "currency": "USD",
        "projects": list(projects),
        "totalMonthlyCost": total,
    }


def web_instance(name: str = "aws_instance.web") -> dict[str, Any]:
    return resource(
        name,
        "120.5",
        [component("Instance usage (Linux/UNIX, on-demand, t3.large)", "100")],
        [
            resource("root_block_device", "20.5", [component("Storage (gp3)", "20.5", unit="GB")]),
        ],
        hourly="0.165068493",
    )


def test_estimate_from_infracost_counts_subresources_once() -> None:
    estimate = estimate_from_infracost(document(project("app", web_instance())))

    (web,) = estimate.resources
    assert web.monthly_cost == Decimal("120.5")
    assert estimate.total_monthly_cost == Decimal("120.5")
    assert web.breakdown == CostBreakdown(compute=Decimal(100), storage=Decimal("20.5"))


def test_estimate_from_infracost_treats_null_costs_as_unknown_usage_not_failure() -> None:
    lambda_function = resource(
        "aws_lambda_function.api",
        "3",
        [
            component("Requests", None, unit="1M requests", quantity=None),
            component("Duration", "3", unit="GB-seconds"),
        ],
        resource_type="aws_lambda_function",
    )
    bucket = resource("aws_s3_bucket.logs", None, [component("Storage", None, unit="GB")])

    estimate = estimate_from_infracost(document(project("app", lambda_function, bucket)))

    function, logs = estimate.resources
    assert function.monthly_cost == Decimal(3)
    assert function.assumptions == {"usage_based": True, "hours_per_month": 730}
    requests = function.cost_drivers["components"][0]
    assert requests == {
        "name": "Requests",
        "unit": "1M requests",
        "monthly_quantity": None,
        "price": "0.5",
        "subresource": None,
    }
    assert logs.monthly_cost == Decimal(0)
    assert logs.assumptions["usage_based"] is True
    assert estimate.total_monthly_cost == Decimal(3)


def test_estimate_from_infracost_breakdown_buckets_sum_to_monthly_cost() -> None:
    database = resource(
        "aws_db_instance.main",
        "163.4444444444444445",
        [
            component("Database instance (on-demand, db.t3.large)", "99.2222222222222222"),
            component("Storage (general purpose SSD, gp2)", "23.1111111111111111", unit="GB"),
            component("Data transfer out", "40.0000000000000001", unit="GB"),
            component("Performance insights API", "1.1111111111111111", unit="1k requests"),
        ],
    )

    estimate = estimate_from_infracost(document(project("db", database)))

    (db,) = estimate.resources
    assert db.breakdown is not None
    assert db.breakdown.compute == Decimal("99.222222222")
    assert db.breakdown.storage == Decimal("23.111111111")
    assert db.breakdown.network == Decimal("40")
    assert db.breakdown.other == Decimal("1.111111111")
    assert db.monthly_cost == db.breakdown.total == Decimal("163.444444444")
    # Every amount fits the wire's 9 fractional digits without further rounding.
    assert estimate_to_proto(estimate).by_resource[0].monthly_cost.nanos == 444_444_444


def test_estimate_from_infracost_rounds_hourly_cost_half_even_to_nine_digits() -> None:
    even = resource(
        "aws_eip.a", "0", [component("IP address (if unused)", "0")], hourly="0.0000000025"
    )
    odd = resource(
        "aws_eip.b", "0", [component("IP address (if unused)", "0")], hourly="0.0000000035"
    )

    estimate = estimate_from_infracost(document(project("net", even, odd)))

    assert [r.hourly_cost for r in estimate.resources] == [
        Decimal("0.000000002"),
        Decimal("0.000000004"),
    ]


def test_estimate_from_infracost_prefixes_project_name_only_on_address_collision() -> None:
    doc = document(
        project("staging", web_instance(), resource("aws_s3_bucket.logs", "0")),
        project("prod", web_instance()),
    )

    estimate = estimate_from_infracost(doc)

    assert [r.address for r in estimate.resources] == [
        "staging:aws_instance.web",
        "aws_s3_bucket.logs",
        "prod:aws_instance.web",
    ]
    assert estimate.total_monthly_cost == Decimal(241)


def test_estimate_from_infracost_derives_type_service_and_region() -> None:
    nameless_type = resource('module.db["eu"].module.core.aws_db_instance.main[0]', "10")
    doc = document(project("app", nameless_type, resource("google_compute_instance.vm", "5")))

    estimate = estimate_from_infracost(doc, default_region="eu-west-1")

    db, vm = estimate.resources
    assert (db.resource_type, db.service, db.region) == (
        "aws_db_instance",
        "AmazonRDS",
        "eu-west-1",
    )
    assert (vm.resource_type, vm.service) == ("google_compute_instance", "Compute Engine")


@pytest.mark.parametrize(
    ("name", "unit", "resource_type", "kind"),
    [
        ("Instance usage (Linux/UNIX, on-demand, m5.8xlarge)", "hours", "aws_instance", "compute"),
        ("Requests", "1M requests", "aws_lambda_function", "compute"),
        ("Duration", "GB-seconds", "aws_lambda_function", "compute"),
        ("Provisioned IOPS", "IOPS", "aws_ebs_volume", "storage"),
        ("EBS snapshot storage", "GB", "aws_ebs_snapshot", "storage"),
        ("PUT, COPY, POST, LIST requests", "1k requests", "aws_s3_bucket", "storage"),
        ("Data processed", "GB", "aws_nat_gateway", "network"),
        ("Load balancer capacity units", "LCU", "aws_lb", "network"),
        ("Data transfer out to internet", "GB", "aws_instance", "network"),
        ("Read request unit (RRU)", "1M units", "aws_dynamodb_table", "other"),
    ],
)
def test_cost_kind_classifies_infracost_component_names(
    name: str, unit: str, resource_type: str, kind: str
) -> None:
    assert cost_kind(name, unit, resource_type) == kind


def test_estimate_from_infracost_rejects_root_total_that_disagrees_with_resources() -> None:
    doc = document(project("app", web_instance()), total="999.99")

    with pytest.raises(InfracostFormatError) as raised:
        estimate_from_infracost(doc)

    assert "999.99" in str(raised.value)
    assert "120.5" in str(raised.value)


def test_estimate_from_infracost_accepts_null_root_total() -> None:
    estimate = estimate_from_infracost(document(project("app", web_instance()), total=None))

    assert estimate.total_monthly_cost == Decimal("120.5")


def test_estimate_from_infracost_rejects_document_without_projects() -> None:
    with pytest.raises(InfracostFormatError, match=r"\$\.projects: missing"):
        estimate_from_infracost({"version": "0.2", "totalMonthlyCost": "0"})


def test_estimate_from_infracost_names_json_path_of_wrong_type() -> None:
    doc = document(project("app", web_instance()))
    doc["projects"][0]["breakdown"]["resources"][0]["subresources"][0]["costComponents"][0][
        "monthlyCost"
    ] = 20.5

    with pytest.raises(InfracostFormatError) as raised:
        estimate_from_infracost(doc)

    assert str(raised.value).startswith(
        "$.projects[0].breakdown.resources[0].subresources[0].costComponents[0].monthlyCost:"
    )


def test_estimate_from_infracost_rejects_components_that_disagree_with_resource_cost() -> None:
    doubled = resource("aws_instance.web", "50", [component("Instance usage", "100")])

    with pytest.raises(InfracostFormatError, match="monthlyCost is 50 but its cost components"):
        estimate_from_infracost(document(project("app", doubled)))


def test_estimate_from_infracost_uses_document_currency() -> None:
    doc = document(project("app", web_instance()))
    doc["currency"] = "EUR"

    assert estimate_from_infracost(doc).currency_code == "EUR"
