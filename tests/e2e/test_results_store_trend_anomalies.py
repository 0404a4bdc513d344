"""GetCostTrend's percentage changes and anomaly marks through a real server.

These calls use the generated stub to see the wire as grpcurl would; jobs are stored
through the SDK, and tests/e2e/test_sdk_results_options.py asks for anomalies through it.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import grpc
import pytest

from ledger.v1 import money_pb2
from ledger.v1 import results_store_service_pb2 as rs
from ledger.v1 import results_store_service_pb2_grpc as rs_grpc
from ledger_client import Client, Estimate, InvalidArgument, ResourceCost
from ledger_client.errors import from_rpc_error
from tests.conftest import READER_KEY
from tests.support.server import ServerThread

METADATA = (("authorization", f"Bearer {READER_KEY}"),)


@pytest.fixture(scope="module")
def stub(server: ServerThread) -> Iterator[rs_grpc.ResultsStoreServiceStub]:
    with grpc.insecure_channel(server.target) as channel:
        yield rs_grpc.ResultsStoreServiceStub(channel)


def store_series(client: Client, plan: str, *totals: str, currency: str = "USD") -> None:
    for total in totals:
        resources = [ResourceCost("aws_instance.web", Decimal(total))] if total != "0" else []
        client.results.store_estimate(
            Estimate(resources=resources, currency_code=currency),
            user_id=f"owner-of-{plan}",
            terraform_plan_hash=plan,
        )


def trend(
    stub: rs_grpc.ResultsStoreServiceStub, request: rs.GetCostTrendRequest
) -> list[rs.CostTrendPoint]:
    """Every point of the trend, two per page, following page tokens."""
    request.page_size = 2
    points: list[rs.CostTrendPoint] = []
    while True:
        response = stub.GetCostTrend(request, metadata=METADATA)
        points += response.points
        if not response.next_page_token:
            return points
        request.page_token = response.next_page_token


def refused_fields(
    stub: rs_grpc.ResultsStoreServiceStub, request: rs.GetCostTrendRequest
) -> set[str]:
    with pytest.raises(grpc.RpcError) as raised:
        stub.GetCostTrend(request, metadata=METADATA)
    error = from_rpc_error(raised.value)
    assert isinstance(error, InvalidArgument), error
    return {violation.field for violation in error.field_violations}


@pytest.fixture
def plan(client: Client, user: str) -> str:
    """A plan whose totals went 100, 120, 90, 90, 150."""
    store_series(client, user, "100", "120", "90", "90", "150")
    return user


def test_get_cost_trend_reports_exact_percentage_changes_across_pages(
    stub: rs_grpc.ResultsStoreServiceStub, plan: str
) -> None:
    points = trend(stub, rs.GetCostTrendRequest(terraform_plan_hash=plan))
    assert [p.percentage_change for p in points] == ["", "20.00", "-25.00", "0.00", "66.67"]
    assert [p.anomaly for p in points] == [False] * 5  # no threshold given


def test_get_cost_trend_marks_changes_over_a_percent_in_either_direction(
    stub: rs_grpc.ResultsStoreServiceStub, plan: str
) -> None:
    request = rs.GetCostTrendRequest(terraform_plan_hash=plan, anomaly_percent="20")
    points = trend(stub, request)
    # 120 is +20.00%, not more than 20; 90 opens the second page and is judged
    # against 120 from the first.
    assert [p.anomaly for p in points] == [False, False, True, False, True]
    request = rs.GetCostTrendRequest(terraform_plan_hash=plan, anomaly_percent="19.99")
    assert [p.anomaly for p in trend(stub, request)] == [False, True, True, False, True]


def test_get_cost_trend_marks_changes_over_an_amount(
    stub: rs_grpc.ResultsStoreServiceStub, plan: str
) -> None:
    request = rs.GetCostTrendRequest(
        terraform_plan_hash=plan, anomaly_amount=money_pb2.Money(units=29, nanos=999_999_999)
    )
    assert [p.anomaly for p in trend(stub, request)] == [False, False, True, False, True]
    in_euros = rs.GetCostTrendRequest(
        terraform_plan_hash=plan, anomaly_amount=money_pb2.Money(currency_code="EUR")
    )
    assert not any(p.anomaly for p in trend(stub, in_euros))
    in_dollars = rs.GetCostTrendRequest(
        terraform_plan_hash=plan, anomaly_amount=money_pb2.Money(currency_code="USD")
    )
    assert [p.anomaly for p in trend(stub, in_dollars)] == [False, True, True, False, True]


def test_get_cost_trend_with_both_thresholds_marks_changes_over_both(
    stub: rs_grpc.ResultsStoreServiceStub, plan: str
) -> None:
    request = rs.GetCostTrendRequest(
        terraform_plan_hash=plan, anomaly_percent="10", anomaly_amount=money_pb2.Money(units=50)
    )
    assert [p.anomaly for p in trend(stub, request)] == [False, False, False, False, True]


def test_get_cost_trend_growth_from_zero_has_no_percentage_and_exceeds_any(
    client: Client, stub: rs_grpc.ResultsStoreServiceStub, user: str
) -> None:
    store_series(client, user, "0", "0", "5", "5")
    request = rs.GetCostTrendRequest(terraform_plan_hash=user, anomaly_percent="999999999999999.99")
    points = trend(stub, request)
    assert [p.percentage_change for p in points] == ["", "0.00", "", "0.00"]
    assert [p.anomaly for p in points] == [False, False, True, False]


@pytest.mark.parametrize(
    ("percent", "amount", "fields"),
    [
        ("-5", None, {"anomaly_percent"}),
        ("NaN", None, {"anomaly_percent"}),
        ("1e3", None, {"anomaly_percent"}),
        ("12.345", None, {"anomaly_percent"}),
        ("x" * 100_000, None, {"anomaly_percent"}),
        ("", money_pb2.Money(units=-1), {"anomaly_amount"}),
        ("", money_pb2.Money(units=1, nanos=-1), {"anomaly_amount.nanos"}),
        ("", money_pb2.Money(units=10**12 + 1), {"anomaly_amount"}),
        ("", money_pb2.Money(currency_code="usd", units=1), {"anomaly_amount.currency_code"}),
        ("-1", money_pb2.Money(units=-1), {"anomaly_percent", "anomaly_amount"}),
    ],
)
def test_get_cost_trend_bad_thresholds_are_invalid(
    stub: rs_grpc.ResultsStoreServiceStub,
    user: str,
    percent: str,
    amount: money_pb2.Money | None,
    fields: set[str],
) -> None:
    request = rs.GetCostTrendRequest(user_id=user, anomaly_percent=percent)
    if amount is not None:
        request.anomaly_amount.CopyFrom(amount)
    assert refused_fields(stub, request) == fields
