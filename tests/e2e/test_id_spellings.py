"""Job ids are accepted in one spelling only, before any cache or lookup sees them.

`uuid.UUID` would take braces, `urn:uuid:`, no hyphens and any number of hyphens around
the digits; a server that took those could be made to keep megabytes per call under a
key that names a job it already knows.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from ledger.v1 import estimate_pb2, money_pb2
from ledger.v1 import results_store_service_pb2 as rs
from ledger.v1 import results_store_service_pb2_grpc as rs_grpc
from tests.conftest import ADMIN_KEY
from tests.support.process import ServeProcess
from tests.support.server import ServerThread

AUTH = (("authorization", f"Bearer {ADMIN_KEY}"),)
PADDING = "-" * 7_500_000  # twice this is 15 MB, inside the 16 MiB message limit


def padded(job_id: str) -> str:
    return f"{PADDING}{job_id}{PADDING}"


SPELLINGS: dict[str, Callable[[str], str]] = {
    "15 MB of hyphens around it": padded,
    "urn:uuid: prefix": lambda job_id: f"urn:uuid:{job_id}",
    "braces": lambda job_id: f"{{{job_id}}}",
    "no hyphens": lambda job_id: job_id.replace("-", ""),
    "hyphens moved": lambda job_id: job_id.replace("-", "")[:4] + "-" + job_id[4:],
    "surrounding spaces": lambda job_id: f" {job_id} ",
}


def stored_job_id(stub: rs_grpc.ResultsStoreServiceStub) -> str:
    request = rs.StoreEstimateRequest(
        user_id=f"ids-{uuid.uuid4()}",
        estimate=estimate_pb2.Estimate(
            by_resource=[
                estimate_pb2.ResourceCost(
                    address="aws_instance.web", monthly_cost=money_pb2.Money(units=7)
                )
            ]
        ),
    )
    job_id: str = stub.StoreEstimate(request, metadata=AUTH, timeout=10).job.job_id
    return job_id


@pytest.fixture
def stub(server: ServerThread) -> Iterator[rs_grpc.ResultsStoreServiceStub]:
    with grpc.insecure_channel(server.target) as channel:
        yield rs_grpc.ResultsStoreServiceStub(channel)


def violated_fields(error: grpc.RpcError) -> list[str]:
    status = rpc_status.from_call(error)
    assert status is not None
    fields = []
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
            fields += [v.field for v in bad_request.field_violations]
    return fields


@pytest.mark.parametrize("spelling", SPELLINGS.values(), ids=SPELLINGS.keys())
def test_get_job_refuses_every_other_spelling_of_a_stored_id(
    stub: rs_grpc.ResultsStoreServiceStub, spelling: Callable[[str], str]
) -> None:
    job_id = stored_job_id(stub)
    # Read once in its own spelling, so the job is cached when the others arrive.
    assert stub.GetJob(rs.GetJobRequest(job_id=job_id), metadata=AUTH).job.job_id == job_id
    with pytest.raises(grpc.RpcError) as refused:
        stub.GetJob(rs.GetJobRequest(job_id=spelling(job_id)), metadata=AUTH, timeout=30)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(refused.value) == ["job_id"]
    assert PADDING not in (refused.value.details() or "")


def test_get_job_takes_upper_case_hex_as_the_same_job(
    stub: rs_grpc.ResultsStoreServiceStub,
) -> None:
    job_id = stored_job_id(stub)
    got = stub.GetJob(rs.GetJobRequest(job_id=job_id.upper()), metadata=AUTH).job
    assert got.job_id == job_id


@pytest.mark.parametrize(
    ("method", "request_of", "field"),
    [
        ("ListJobResources", lambda bad: rs.ListJobResourcesRequest(job_id=bad), "job_id"),
        ("ListJobServices", lambda bad: rs.ListJobServicesRequest(job_id=bad), "job_id"),
        ("ListJobRegions", lambda bad: rs.ListJobRegionsRequest(job_id=bad), "job_id"),
        (
            "CompareJobs",
            lambda bad: rs.CompareJobsRequest(base_job_id=bad, target_job_id=bad[-36:]),
            "base_job_id",
        ),
    ],
)
def test_every_rpc_taking_a_job_id_refuses_a_padded_one(
    stub: rs_grpc.ResultsStoreServiceStub,
    method: str,
    request_of: Callable[[str], Any],
    field: str,
) -> None:
    job_id = stored_job_id(stub)
    with pytest.raises(grpc.RpcError) as refused:
        getattr(stub, method)(request_of(padded(job_id)), metadata=AUTH, timeout=30)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in violated_fields(refused.value)


def test_get_job_with_padded_ids_does_not_grow_the_server(database_url: str) -> None:
    """40 refused calls of 15 MB each: a server keeping them would grow by hundreds of MB."""
    serve = ServeProcess("--listen", "127.0.0.1:0", database_url=database_url)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{serve.port}") as channel:
            stub = rs_grpc.ResultsStoreServiceStub(channel)
            job_id = stored_job_id(stub)
            request = rs.GetJobRequest(job_id=padded(job_id))

            def call() -> None:
                with pytest.raises(grpc.RpcError) as refused:
                    stub.GetJob(request, timeout=30)
                assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT

            for _ in range(10):  # the allocator's arenas settle on the first large messages
                call()
            before = serve.rss_bytes()
            for _ in range(40):
                call()
            grown = serve.rss_bytes() - before
        # A few messages' worth of allocator slack, not 40 calls' worth (600 MB).
        assert grown < 96 * 2**20, f"the server grew by {grown / 2**20:.0f} MiB"
    finally:
        serve.stop()
