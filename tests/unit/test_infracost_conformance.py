"""The importer on real Infracost output, kept outside the repository in ../shared.

The files are never copied into the project, so in a user's clone (no ../shared)
these tests skip; the behaviours they pin are also covered by test_infracost.py.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ledger_client.convert import estimate_to_proto
from ledger_client.infracost import InfracostFormatError, estimate_from_infracost
from ledger_client.types import CostBreakdown

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "infracost"


def fixture(name: str) -> dict[str, Any]:
    if not FIXTURES.is_dir():
        pytest.skip(f"{FIXTURES}: no ../shared/fixtures here (a user's clone has none)")
    document: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return document


def test_infracost_diff_prior_imports_two_resources_totalling_2045_92() -> None:
    estimate = estimate_from_infracost(fixture("diff_prior.json"))

    assert estimate.currency_code == "USD"
    assert estimate.total_monthly_cost == Decimal("2045.92")
    assert [(r.address, r.monthly_cost) for r in estimate.resources] == [
        ("aws_instance.web_app", Decimal("742.64")),
        ("aws_instance.web_app2", Decimal("1303.28")),
    ]


def test_infracost_diff_current_counts_subresources_once() -> None:
    estimate = estimate_from_infracost(fixture("diff_current.json"))

    (web_app,) = estimate.resources
    assert estimate.total_monthly_cost == web_app.monthly_cost == Decimal("1303.28")
    # 1121.28 instance + 5 root disk + (125 + 52) io1 volume and its IOPS.
    assert web_app.breakdown == CostBreakdown(compute=Decimal("1121.28"), storage=Decimal(182))
    assert web_app.hourly_cost == Decimal("1.785315068")
    assert (web_app.resource_type, web_app.service) == ("aws_instance", "AmazonEC2")
    assert len(web_app.cost_drivers["components"]) == 4


def test_infracost_prior_to_current_delta_is_minus_742_64() -> None:
    prior = estimate_from_infracost(fixture("diff_prior.json"))
    current = estimate_from_infracost(fixture("diff_current.json"))

    assert current.total_monthly_cost is not None and prior.total_monthly_cost is not None
    assert current.total_monthly_cost - prior.total_monthly_cost == Decimal("-742.64")


def test_infracost_example_out_imports_five_resources_with_zero_usage_components() -> None:
    estimate = estimate_from_infracost(fixture("example_out.json"))

    costs = {r.address: r.monthly_cost for r in estimate.resources}
    assert costs == {
        "aws_instance.web_app": Decimal("742.64"),
        "aws_instance.zero_cost_instance": Decimal(182),
        "aws_lambda_function.hello_world": Decimal("436.6675"),
        "aws_lambda_function.zero_cost_lambda": Decimal(0),
        "aws_s3_bucket.usage": Decimal(0),
    }
    assert estimate.total_monthly_cost == Decimal("1361.3075")
    hello_world = next(r for r in estimate.resources if r.address.endswith("hello_world"))
    # 0.59817465753424657534316749 in the file: rounded explicitly to the wire's nanos.
    assert hello_world.hourly_cost == Decimal("0.598174658")
    assert estimate_to_proto(estimate).by_resource[2].hourly_cost.nanos == 598_174_658


def test_infracost_no_diff_raises_format_error_naming_root_total() -> None:
    with pytest.raises(InfracostFormatError) as raised:
        estimate_from_infracost(fixture("no_diff.json"))

    assert "1272.9834" in str(raised.value)
    assert "add up to 0 USD" in str(raised.value)
