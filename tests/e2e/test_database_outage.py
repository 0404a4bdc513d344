"""Losing the database in the middle of a call is UNAVAILABLE (retry), never INTERNAL.

The calls are held inside PostgreSQL by a table lock, so the connection is lost while
a statement runs: the backend killed (`pg_terminate_backend`, as an operator or a
failover would) or the network cut.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import grpc
import pytest

from ledger.v1 import estimate_pb2, money_pb2
from ledger.v1 import results_store_service_pb2 as rs
from ledger.v1 import results_store_service_pb2_grpc as rs_grpc
from tests.conftest import server_settings
from tests.support.database import connect
from tests.support.locks import table_locked, waiting_backends
from tests.support.proxy import CuttableProxy
from tests.support.server import ServerThread


def store_request() -> rs.StoreEstimateRequest:
    return rs.StoreEstimateRequest(
        user_id=f"outage-{uuid.uuid4()}",
        request_id=str(uuid.uuid4()),
        estimate=estimate_pb2.Estimate(
            by_resource=[
                estimate_pb2.ResourceCost(
                    address="aws_instance.web", monthly_cost=money_pb2.Money(units=3)
                )
            ]
        ),
    )


CALLS: dict[str, Callable[[rs_grpc.ResultsStoreServiceStub], Any]] = {
    "StoreEstimate": lambda stub: stub.StoreEstimate(store_request(), timeout=30),
    "GetJob": lambda stub: stub.GetJob(rs.GetJobRequest(job_id=str(uuid.uuid4())), timeout=30),
    "ListJobs": lambda stub: stub.ListJobs(rs.ListJobsRequest(user_id="outage"), timeout=30),
}


@pytest.fixture
def proxy(database_url: str) -> Iterator[CuttableProxy]:
    cuttable = CuttableProxy(database_url)
    yield cuttable
    cuttable.close()


@pytest.fixture
def stub(proxy: CuttableProxy) -> Iterator[rs_grpc.ResultsStoreServiceStub]:
    thread = ServerThread(server_settings(api_keys=[]), proxy.url).start()
    try:
        with grpc.insecure_channel(thread.target) as channel:
            yield rs_grpc.ResultsStoreServiceStub(channel)
    finally:
        thread.stop()


def terminate(database_url: str, pids: list[int]) -> None:
    with connect(database_url) as admin, admin.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s) AS pid", (pids,))


def code_of(call: Future[Any]) -> grpc.StatusCode:
    try:
        call.result(30)
    except grpc.RpcError as error:
        code: grpc.StatusCode = error.code()
        return code
    return grpc.StatusCode.OK


@pytest.mark.parametrize("method", CALLS)
@pytest.mark.parametrize("loss", ["backend terminated", "network cut"])
def test_connection_lost_mid_call_is_unavailable(
    database_url: str,
    proxy: CuttableProxy,
    stub: rs_grpc.ResultsStoreServiceStub,
    method: str,
    loss: str,
) -> None:
    with ThreadPoolExecutor(1) as caller, table_locked(database_url, "ledger.jobs") as locker:
        call = caller.submit(CALLS[method], stub)
        blocked = waiting_backends(database_url, locker)
        if loss == "backend terminated":
            terminate(database_url, blocked)
        else:
            proxy.cut()
        code = code_of(call)
    assert code == grpc.StatusCode.UNAVAILABLE
    proxy.restore()
