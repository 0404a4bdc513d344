"""ResultsStoreService promises checked where a shortcut cannot answer for them.

Each test here reads from the database rather than a cache, or varies exactly the part
of a request a promise is about, so the test fails when that promise breaks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor, timestamp_pb2
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from ledger.v1 import estimate_pb2
from ledger.v1 import results_store_service_pb2 as rs
from ledger.v1 import results_store_service_pb2_grpc as rs_grpc
from ledger_client import (
    Client,
    Estimate,
    FailedPrecondition,
    InvalidArgument,
    RegionCost,
    ResourceCost,
    ServiceCost,
)
from tests.conftest import ADMIN_KEY, server_settings
from tests.support.results_store_requests import full_request, money
from tests.support.server import ServerThread

D = Decimal
METADATA = (("authorization", f"Bearer {ADMIN_KEY}"),)
Counts = Callable[[], dict[str, int]]


@pytest.fixture(scope="module")
def other_server(database_url: str) -> Iterator[ServerThread]:
    """A second server on the same database: its cache holds nothing the tests stored."""
    thread = ServerThread(server_settings(), database_url).start()
    yield thread
    thread.stop()


@pytest.fixture(scope="module")
def stub(server: ServerThread) -> Iterator[rs_grpc.ResultsStoreServiceStub]:
    with grpc.insecure_channel(server.target) as channel:
        yield rs_grpc.ResultsStoreServiceStub(channel)


@pytest.fixture(scope="module")
def other_stub(other_server: ServerThread) -> Iterator[rs_grpc.ResultsStoreServiceStub]:
    with grpc.insecure_channel(other_server.target) as channel:
        yield rs_grpc.ResultsStoreServiceStub(channel)


def is_set(message: Message, field: descriptor.FieldDescriptor) -> bool:
    value = getattr(message, field.name)
    if field.message_type is not None and not field.message_type.GetOptions().map_entry:
        return message.HasField(field.name)
    return bool(value)  # maps, strings, numbers, enums: set means not the default


# --- GetJob reads what was stored, not what was cached ---------------------------------


def test_get_job_through_another_server_equals_the_stored_job_field_by_field(
    stub: rs_grpc.ResultsStoreServiceStub,
    other_stub: rs_grpc.ResultsStoreServiceStub,
    user: str,
) -> None:
    request = full_request(user)
    stored = stub.StoreEstimate(request, metadata=METADATA).job
    read = other_stub.GetJob(rs.GetJobRequest(job_id=stored.job_id), metadata=METADATA).job

    unset = [f.name for f in estimate_pb2.Job.DESCRIPTOR.fields if not is_set(stored, f)]
    assert unset == [], f"fields left at their default check nothing: {unset}"
    for field in estimate_pb2.Job.DESCRIPTOR.fields:
        assert getattr(read, field.name) == getattr(stored, field.name), field.name
    # What was stored is what was sent, not only what the first server remembered.
    assert dict(read.labels) == {"team": "web", "env": "prod"}
    assert (read.user_id, read.terraform_plan_hash, read.profile) == (
        user,
        f"plan-{user}",
        "prod",
    )
    assert read.currency_code == "EUR"
    assert read.total_monthly_cost == money(15, 500_000_001, "EUR")
    assert read.total_hourly_cost == money(0, 14_383_562, "EUR")
    assert (read.confidence_score, read.resource_count, read.schema_version) == (0.75, 2, 1)
    assert read.status == estimate_pb2.JOB_STATUS_COMPLETED


def test_get_job_through_another_server_gives_the_sdk_the_same_job(
    client: Client, other_server: ServerThread, user: str
) -> None:
    stored = client.results.store_estimate(
        Estimate(
            resources=[ResourceCost("aws_instance.web", D("1121.280000001"), hourly_cost=D(1))],
            confidence_score=0.5,
        ),
        user_id=user,
        terraform_plan_hash="plan-sdk",
        profile="dev",
        labels={"team": "sdk"},
    )
    with Client(target=other_server.target, api_key=ADMIN_KEY) as other:
        assert other.results.get_job(stored.job_id) == stored


# --- CompareJobs --------------------------------------------------------------------------


def test_compare_jobs_of_two_currencies_is_failed_precondition(client: Client, user: str) -> None:
    usd = client.results.store_estimate(Estimate(resources=[ResourceCost("a", D(1))]), user_id=user)
    eur = client.results.store_estimate(
        Estimate(resources=[ResourceCost("a", D(1))], currency_code="EUR"), user_id=user
    )
    for base, target in ((usd, eur), (eur, usd)):
        with pytest.raises(FailedPrecondition) as refused:
            client.results.compare_jobs(base.job_id, target.job_id)
        assert refused.value.reason == "CURRENCY_MISMATCH"
        assert refused.value.message == (
            f"jobs use different currencies ({base.currency_code} and {target.currency_code}); "
            "compare jobs of one currency"
        )
    assert client.results.compare_jobs(eur.job_id, eur.job_id).delta == 0


# --- StoreEstimate: aggregates inside a region ----------------------------------------


def _ec2(address: str, cost: int) -> ResourceCost:
    return ResourceCost(address, D(cost), service="AmazonEC2", region="us-east-1")


def _s3(address: str, cost: int) -> ResourceCost:
    return ResourceCost(address, D(cost), service="AmazonS3", region="us-east-1")


@pytest.mark.parametrize(
    ("services", "field", "description"),
    [
        (
            (ServiceCost("AmazonEC2", D(11), 1), ServiceCost("AmazonS3", D(5), 1)),
            "estimate.by_region[0].services[0].monthly_cost",
            "is 11 but the resources of service 'AmazonEC2' add up to 10",
        ),
        (
            (ServiceCost("AmazonEC2", D(10), 2), ServiceCost("AmazonS3", D(5), 1)),
            "estimate.by_region[0].services[0].resource_count",
            "is 2 but 1 resources have service 'AmazonEC2'",
        ),
        (
            (ServiceCost("AmazonEC2", D(10), 1),),
            "estimate.by_region[0].services",
            "misses service 'AmazonS3' (5 over 1 resources)",
        ),
        (
            (
                ServiceCost("AmazonEC2", D(10), 1),
                ServiceCost("AmazonS3", D(5), 1),
                ServiceCost("AmazonRDS", D(0), 0),
            ),
            "estimate.by_region[0].services[2].service",
            "no resource has service 'AmazonRDS'",
        ),
    ],
    ids=["amount", "count", "missing", "extra"],
)
def test_store_estimate_region_services_that_do_not_add_up_are_invalid(
    client: Client,
    user: str,
    row_counts: Counts,
    services: tuple[ServiceCost, ...],
    field: str,
    description: str,
) -> None:
    before = row_counts()
    with pytest.raises(InvalidArgument) as refused:
        client.results.store_estimate(
            Estimate(
                resources=[_ec2("a", 10), _s3("b", 5)],
                by_region=[RegionCost("us-east-1", D(15), 2, services)],
            ),
            user_id=user,
        )
    violations = [(v.field, v.description) for v in refused.value.field_violations]
    assert violations == [(field, description)]
    assert row_counts() == before


# --- page tokens belong to their query ----------------------------------------------


def _stamp(seconds: int) -> timestamp_pb2.Timestamp:
    return timestamp_pb2.Timestamp(seconds=seconds)


def _two_jobs(stub: rs_grpc.ResultsStoreServiceStub, user: str) -> tuple[str, str]:
    ids = []
    for _ in range(2):
        request = full_request(user)
        request.estimate.by_resource.add(
            address="aws_lambda_function.f",
            service="AWSLambda",
            region="us-east-1",
            monthly_cost=money(1),
        )
        ids.append(stub.StoreEstimate(request, metadata=METADATA).job.job_id)
    return ids[0], ids[1]


def _replays(user: str, job: str, other_job: str) -> list[tuple[str, Message, list[Message]]]:
    """Per List: a first request (page_size 1), then the same RPC with other filters."""
    after_2000 = _stamp(946_684_800)
    before_2100 = _stamp(4_102_444_800)
    plan = f"plan-{user}"
    return [
        (
            "ListJobs",
            rs.ListJobsRequest(user_id=user, page_size=1),
            [
                rs.ListJobsRequest(user_id=f"{user}-other", page_size=1),
                rs.ListJobsRequest(user_id=user, profile="prod", page_size=1),
                rs.ListJobsRequest(user_id=user, terraform_plan_hash=plan, page_size=1),
                rs.ListJobsRequest(user_id=user, page_size=1, start_time=after_2000),
                rs.ListJobsRequest(user_id=user, page_size=1, end_time=before_2100),
                rs.ListJobsRequest(page_size=1),
            ],
        ),
        (
            "ListJobResources",
            rs.ListJobResourcesRequest(job_id=job, page_size=1),
            [
                rs.ListJobResourcesRequest(job_id=other_job, page_size=1),
                rs.ListJobResourcesRequest(job_id=job, service="AmazonEC2", page_size=1),
                rs.ListJobResourcesRequest(job_id=job, region="eu-west-1", page_size=1),
            ],
        ),
        (
            "ListJobServices",
            rs.ListJobServicesRequest(job_id=job, page_size=1),
            [rs.ListJobServicesRequest(job_id=other_job, page_size=1)],
        ),
        (
            "ListJobRegions",
            rs.ListJobRegionsRequest(job_id=job, page_size=1),
            [rs.ListJobRegionsRequest(job_id=other_job, page_size=1)],
        ),
        (
            "GetCostTrend",
            rs.GetCostTrendRequest(user_id=user, page_size=1),
            [
                rs.GetCostTrendRequest(user_id=f"{user}-other", page_size=1),
                rs.GetCostTrendRequest(terraform_plan_hash=plan, page_size=1),
                rs.GetCostTrendRequest(user_id=user, page_size=1, start_time=after_2000),
                rs.GetCostTrendRequest(user_id=user, page_size=1, end_time=before_2100),
            ],
        ),
    ]


def _refusal(error: grpc.RpcError) -> list[tuple[str, str]]:
    status = rpc_status.from_call(error)
    assert status is not None
    violations = []
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
            violations += [(v.field, v.description) for v in bad_request.field_violations]
    return violations


def test_every_list_refuses_its_page_token_under_other_filters(
    stub: rs_grpc.ResultsStoreServiceStub, user: str
) -> None:
    job, other_job = _two_jobs(stub, user)
    tokens: dict[str, str] = {}
    for rpc, first, others in _replays(user, job, other_job):
        method: Any = getattr(stub, rpc)
        token = method(first, metadata=METADATA).next_page_token
        assert token, f"{rpc} should have a second page"
        tokens[rpc] = token
        again = type(first)()
        again.CopyFrom(first)
        again.page_token = token  # type: ignore[attr-defined]
        assert method(again, metadata=METADATA) is not None  # the token is good for its query
        for other in others:
            other.page_token = token  # type: ignore[attr-defined]
            with pytest.raises(grpc.RpcError) as refused:
                method(other, metadata=METADATA)
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (rpc, other)
            assert _refusal(refused.value) == [
                ("page_token", "is not a token this list returned for these filters")
            ], (rpc, other)
    # A token of one list is no token of another list over the same job.
    swapped = rs.ListJobRegionsRequest(job_id=job, page_token=tokens["ListJobServices"])
    with pytest.raises(grpc.RpcError) as refused:
        stub.ListJobRegions(swapped, metadata=METADATA)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
