"""The request fingerprint (safe retries, AIP-155) covers every field of StoreEstimate.

One request id, then the same request with exactly one part changed: each must be
ALREADY_EXISTS, or a "retry" that changed that part would be answered with the old job.
A check on the request's descriptor makes a field added later fail here until it has a
variant.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor

from ledger.v1 import estimate_pb2, money_pb2
from ledger.v1 import results_store_service_pb2 as rs
from ledger.v1 import results_store_service_pb2_grpc as rs_grpc
from tests.conftest import ADMIN_KEY
from tests.support.results_store_requests import full_request, money
from tests.support.server import ServerThread

METADATA = (("authorization", f"Bearer {ADMIN_KEY}"),)


@pytest.fixture(scope="module")
def stub(server: ServerThread) -> Iterator[rs_grpc.ResultsStoreServiceStub]:
    with grpc.insecure_channel(server.target) as channel:
        yield rs_grpc.ResultsStoreServiceStub(channel)


Variant = Callable[[rs.StoreEstimateRequest], None]


def _resource(request: rs.StoreEstimateRequest, index: int) -> estimate_pb2.ResourceCost:
    return request.estimate.by_resource[index]


def _set(path: str, value: Any) -> Variant:
    def change(request: rs.StoreEstimateRequest) -> None:
        *parents, name = path.split(".")
        target: Any = request
        for part in parents:
            target = (
                _resource(request, int(part[1:])) if part.startswith("#") else getattr(target, part)
            )
        setattr(target, name, value)

    return change


def _with_services(request: rs.StoreEstimateRequest) -> None:
    request.estimate.by_service.add(service="AmazonEC2", monthly_cost=money(10, 500_000_000))
    request.estimate.by_service[0].resource_count = 1
    request.estimate.by_service.add(service="AmazonS3", monthly_cost=money(5, 1), resource_count=1)


def _with_regions(services: bool) -> Variant:
    def change(request: rs.StoreEstimateRequest) -> None:
        region = request.estimate.by_region.add(
            region="eu-west-1", monthly_cost=money(15, 500_000_001), resource_count=2
        )
        if services:
            region.services.add(
                service="AmazonEC2", monthly_cost=money(10, 500_000_000), resource_count=1
            )
            region.services.add(service="AmazonS3", monthly_cost=money(5, 1), resource_count=1)

    return change


# Every variant keeps the request valid and changes one part of it. Money, Struct, map
# and aggregate entries count as one part each; Money's own fields are varied once below.
VARIANTS: dict[str, Variant] = {
    "user_id": _set("user_id", "someone-else"),
    "terraform_plan_hash": _set("terraform_plan_hash", "another-plan"),
    "profile": _set("profile", "dev"),
    "labels": lambda r: r.labels.update({"env": "dev"}),
    "estimate.currency_code": _set("estimate.currency_code", "GBP"),
    "estimate.confidence_score": _set("estimate.confidence_score", 0.5),
    "estimate.total_monthly_cost": lambda r: r.estimate.total_monthly_cost.CopyFrom(
        money(15, 500_000_001)
    ),
    "estimate.by_service": _with_services,
    "estimate.by_region": _with_regions(services=False),
    "estimate.by_region.services": _with_regions(services=True),
    "estimate.by_resource": lambda r: r.estimate.by_resource.append(
        estimate_pb2.ResourceCost(address="extra", monthly_cost=money(0))
    ),
    "estimate.by_resource.address": _set("estimate.#1.address", "aws_s3_bucket.other"),
    "estimate.by_resource.name": _set("estimate.#1.name", "other"),
    "estimate.by_resource.resource_type": _set("estimate.#1.resource_type", "aws_s3_object"),
    "estimate.by_resource.service": _set("estimate.#1.service", "AmazonS3Glacier"),
    "estimate.by_resource.region": _set("estimate.#1.region", "eu-central-1"),
    "estimate.by_resource.monthly_cost": _set("estimate.#1.monthly_cost.units", 6),
    "estimate.by_resource.monthly_cost (nanos)": _set("estimate.#1.monthly_cost.nanos", 2),
    "estimate.by_resource.monthly_cost (currency_code)": _set(
        "estimate.#1.monthly_cost.currency_code", "EUR"
    ),
    "estimate.by_resource.hourly_cost": _set("estimate.#0.hourly_cost.nanos", 1),
    "estimate.by_resource.breakdown": lambda r: _resource(r, 1).breakdown.compute.CopyFrom(
        money(5, 1)
    ),
    "estimate.by_resource.breakdown.compute": _set(
        "estimate.#0.breakdown.compute.currency_code", "EUR"
    ),
    "estimate.by_resource.breakdown.storage": _set(
        "estimate.#0.breakdown.storage.currency_code", "EUR"
    ),
    "estimate.by_resource.breakdown.network": _set(
        "estimate.#0.breakdown.network.currency_code", "EUR"
    ),
    "estimate.by_resource.breakdown.other": _set(
        "estimate.#0.breakdown.other.currency_code", "EUR"
    ),
    "estimate.by_resource.cost_drivers": lambda r: _resource(r, 0).cost_drivers.update(
        {"count": 3.0}
    ),
    "estimate.by_resource.assumptions": lambda r: _resource(r, 0).assumptions.update(
        {"hours_per_month": 720.0}
    ),
}
# Message types whose fields are one part each (see above); Money is varied field by field
# on one amount, every other amount as a whole.
_WHOLE = {"google.protobuf.Struct", "ledger.v1.ServiceCost", "ledger.v1.RegionCost"}


def _parts(message: descriptor.Descriptor, prefix: str = "") -> set[str]:
    parts = set()
    for field in message.fields:
        path = f"{prefix}{field.name}"
        parts.add(path)
        nested = field.message_type
        if nested is None or nested.GetOptions().map_entry or nested.full_name in _WHOLE:
            continue
        if nested.full_name == "ledger.v1.Money":
            continue
        parts |= _parts(nested, f"{path}.")
    return parts


def test_store_estimate_variants_cover_every_field_of_the_request() -> None:
    """A field added to the request later fails here until a variant covers it."""
    expected = _parts(rs.StoreEstimateRequest.DESCRIPTOR) - {"request_id", "estimate"}
    varied = {path.split(" ")[0] for path in VARIANTS}
    assert sorted(expected - varied) == []
    assert sorted(varied - expected) == ["estimate.by_region.services"]
    money_fields = {f.name for f in money_pb2.Money.DESCRIPTOR.fields}
    on_one_amount = {"units"} | {
        path.split(" ")[1].strip("()") for path in VARIANTS if path.endswith(")")
    }
    assert on_one_amount == money_fields


def test_store_estimate_same_request_id_with_any_field_changed_is_already_exists(
    stub: rs_grpc.ResultsStoreServiceStub, user: str
) -> None:
    request = full_request(user)
    request.request_id = f"fingerprint-{uuid.uuid4()}"
    first = stub.StoreEstimate(request, metadata=METADATA).job
    assert stub.StoreEstimate(request, metadata=METADATA).job == first  # a true retry
    for path, vary in VARIANTS.items():
        changed = rs.StoreEstimateRequest()
        changed.CopyFrom(request)
        vary(changed)
        assert changed != request, f"the {path} variant changed nothing"
        fresh = rs.StoreEstimateRequest()
        fresh.CopyFrom(changed)
        fresh.request_id = f"valid-{uuid.uuid4()}"
        stub.StoreEstimate(fresh, metadata=METADATA)  # the variant alone is a valid request
        try:
            answer = stub.StoreEstimate(changed, metadata=METADATA)
        except grpc.RpcError as error:
            code = error.code()
        else:
            code = grpc.StatusCode.OK
            assert answer.job == first, f"{path}: a new job under a used request id"
        assert code == grpc.StatusCode.ALREADY_EXISTS, (
            f"{path} changed but the request id answered {code.name}"
        )
