"""ListJobs' order_by through a real server: what a caller sees, page by page.

These calls use the generated stub to see the wire as grpcurl would; jobs are stored
through the SDK, and tests/e2e/test_sdk_results_options.py lists them through it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import grpc
import pytest

from ledger.v1 import results_store_service_pb2 as rs
from ledger.v1 import results_store_service_pb2_grpc as rs_grpc
from ledger_client import Client, Estimate, InvalidArgument, Job, ResourceCost
from ledger_client.errors import from_rpc_error
from tests.conftest import READER_KEY
from tests.support.server import ServerThread

METADATA = (("authorization", f"Bearer {READER_KEY}"),)


@pytest.fixture(scope="module")
def stub(server: ServerThread) -> Iterator[rs_grpc.ResultsStoreServiceStub]:
    with grpc.insecure_channel(server.target) as channel:
        yield rs_grpc.ResultsStoreServiceStub(channel)


def store(client: Client, user: str, cost: str, profile: str = "prod") -> Job:
    return client.results.store_estimate(
        Estimate(resources=[ResourceCost("aws_instance.web", Decimal(cost))]),
        user_id=user,
        profile=profile,
    )


def list_all(
    stub: rs_grpc.ResultsStoreServiceStub, request: rs.ListJobsRequest
) -> tuple[list[str], int]:
    """Every job id the list returns, following page tokens, and how many pages it took."""
    ids: list[str] = []
    pages = 0
    while True:
        response = stub.ListJobs(request, metadata=METADATA)
        ids += [job.job_id for job in response.jobs]
        pages += 1
        if not response.next_page_token:
            return ids, pages
        request.page_token = response.next_page_token


def refusal(stub: rs_grpc.ResultsStoreServiceStub, request: rs.ListJobsRequest) -> set[str]:
    """The fields INVALID_ARGUMENT names for `request`."""
    with pytest.raises(grpc.RpcError) as raised:
        stub.ListJobs(request, metadata=METADATA)
    error = from_rpc_error(raised.value)
    assert isinstance(error, InvalidArgument), error
    return {violation.field for violation in error.field_violations}


def test_list_jobs_order_by_cost_pages_most_and_least_expensive_first(
    client: Client, stub: rs_grpc.ResultsStoreServiceStub, user: str
) -> None:
    jobs = [store(client, user, cost) for cost in ("30", "10", "50", "10", "20.5")]
    older_ten, newer_ten = jobs[1], jobs[3]
    most_first = [jobs[2], jobs[0], jobs[4], newer_ten, older_ten]  # ties: newest first

    request = rs.ListJobsRequest(user_id=user, order_by="total_monthly_cost desc", page_size=2)
    ids, pages = list_all(stub, request)
    assert ids == [job.job_id for job in most_first]
    assert pages == 3

    for spelling in ("total_monthly_cost", "total_monthly_cost asc", " total_monthly_cost  asc"):
        request = rs.ListJobsRequest(user_id=user, order_by=spelling, page_size=2)
        assert list_all(stub, request)[0] == [job.job_id for job in reversed(most_first)]


def test_list_jobs_order_by_cost_combines_with_every_filter(
    client: Client, stub: rs_grpc.ResultsStoreServiceStub, user: str
) -> None:
    cheap_dev = store(client, user, "1", profile="dev")
    dear_dev = store(client, user, "100", profile="dev")
    store(client, user, "50", profile="prod")
    request = rs.ListJobsRequest(
        user_id=user, profile="dev", order_by="total_monthly_cost desc", page_size=1
    )
    assert list_all(stub, request)[0] == [dear_dev.job_id, cheap_dev.job_id]
    plan = rs.ListJobsRequest(
        user_id=user, profile="dev", terraform_plan_hash="none", order_by="total_monthly_cost"
    )
    assert list_all(stub, plan)[0] == []


def test_list_jobs_order_by_create_time_asc_lists_oldest_first(
    client: Client, stub: rs_grpc.ResultsStoreServiceStub, user: str
) -> None:
    jobs = [store(client, user, str(cost)) for cost in range(5)]
    oldest_first = [job.job_id for job in jobs]
    for spelling in ("create_time", "create_time asc"):
        request = rs.ListJobsRequest(user_id=user, order_by=spelling, page_size=2)
        assert list_all(stub, request)[0] == oldest_first
    newest_first = rs.ListJobsRequest(user_id=user, order_by="create_time desc", page_size=2)
    assert list_all(stub, newest_first)[0] == oldest_first[::-1]
    window = rs.ListJobsRequest(user_id=user, order_by="create_time asc")
    window.start_time.FromDatetime(jobs[1].create_time)
    window.end_time.FromDatetime(jobs[4].create_time)
    assert list_all(stub, window)[0] == oldest_first[1:4]


@pytest.mark.parametrize(
    "order_by",
    ["create_time DESC", "total_monthly_cost desc, create_time desc", "job_id", "x" * 10_000],
)
def test_list_jobs_order_by_unknown_is_invalid(
    stub: rs_grpc.ResultsStoreServiceStub, order_by: str
) -> None:
    assert refusal(stub, rs.ListJobsRequest(order_by=order_by)) == {"order_by"}


def test_list_jobs_order_by_cost_refuses_a_time_range(
    stub: rs_grpc.ResultsStoreServiceStub, user: str
) -> None:
    request = rs.ListJobsRequest(user_id=user, order_by="total_monthly_cost desc")
    request.start_time.FromDatetime(datetime.now(UTC) - timedelta(days=1))
    assert refusal(stub, request) == {"order_by"}


def test_list_jobs_page_token_is_bound_to_its_order(
    client: Client, stub: rs_grpc.ResultsStoreServiceStub, user: str
) -> None:
    for cost in ("3", "1", "2"):
        store(client, user, cost)
    first = stub.ListJobs(rs.ListJobsRequest(user_id=user, page_size=1), metadata=METADATA)
    token = first.next_page_token
    # "create_time desc" is the default spelled out: the same list, the same tokens.
    same = rs.ListJobsRequest(
        user_id=user, page_size=1, order_by="create_time desc", page_token=token
    )
    assert stub.ListJobs(same, metadata=METADATA).jobs
    for other in ("create_time asc", "total_monthly_cost desc", "total_monthly_cost asc"):
        request = rs.ListJobsRequest(user_id=user, page_size=1, order_by=other, page_token=token)
        assert refusal(stub, request) == {"page_token"}
    by_cost = stub.ListJobs(
        rs.ListJobsRequest(user_id=user, page_size=1, order_by="total_monthly_cost desc"),
        metadata=METADATA,
    )
    flipped = rs.ListJobsRequest(
        user_id=user, page_size=1, order_by="total_monthly_cost", page_token=by_cost.next_page_token
    )
    assert refusal(stub, flipped) == {"page_token"}
