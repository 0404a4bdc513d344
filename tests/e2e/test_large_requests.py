"""A maximal request is refused without stalling the server for anyone else.

Every call and stream shares one event loop, and protobuf parses while holding the GIL:
a request that made the server parse or convert millions of entries on that loop would
leave every other caller, health checks included, waiting for seconds.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from ledger.v1 import estimate_pb2, money_pb2
from ledger.v1 import results_store_service_pb2 as rs
from ledger.v1 import results_store_service_pb2_grpc as rs_grpc
from ledger_server.rpc.messages import INLINE_PARSE_BYTES
from ledger_wire.limits import MAX_MESSAGE_BYTES
from tests.conftest import WRITER_KEY
from tests.support.server import ServerThread

STORE_ESTIMATE = "/ledger.v1.ResultsStoreService/StoreEstimate"
CALLERS = 3  # callers sending at once, each on its own connection


def repeated(one_entry: bytes, count: int) -> bytes:
    """A StoreEstimateRequest whose estimate repeats `one_entry` (a serialized Estimate)."""
    request = rs.StoreEstimateRequest(user_id="maximal")
    request.estimate.MergeFromString(one_entry * count)  # repeated fields concatenate
    return request.SerializeToString()


def tiny_resources() -> bytes:
    one = estimate_pb2.Estimate(by_resource=[estimate_pb2.ResourceCost(address="r" * 15)])
    return repeated(one.SerializeToString(), 800_000)


def empty_resources() -> bytes:
    one = estimate_pb2.Estimate(by_resource=[estimate_pb2.ResourceCost()])
    return repeated(one.SerializeToString(), 8_000_000)  # two bytes each


class HealthPoller:
    """Asks Health/Check over its own channel, again and again, timing every answer."""

    def __init__(self, target: str) -> None:
        self._channel = grpc.insecure_channel(target)
        self._health = health_pb2_grpc.HealthStub(self._channel)
        self._health.Check(health_pb2.HealthCheckRequest(), timeout=10)  # connected
        self.latencies: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while not self._stop.is_set():
            started = time.perf_counter()
            # A failed check counts as the time it took: at least its 5 s deadline.
            with contextlib.suppress(grpc.RpcError):
                self._health.Check(health_pb2.HealthCheckRequest(), timeout=5)
            self.latencies.append(time.perf_counter() - started)

    def __enter__(self) -> HealthPoller:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(10)
        self._channel.close()


@pytest.mark.parametrize(
    "build",
    [tiny_resources, empty_resources],
    ids=["800k tiny resources", "8M empty resources"],
)
def test_store_estimate_refuses_maximal_requests_while_health_keeps_answering(
    server: ServerThread, build: Callable[[], bytes]
) -> None:
    body = build()
    assert 15_000_000 < len(body) <= MAX_MESSAGE_BYTES
    channels = [grpc.insecure_channel(server.target) for _ in range(CALLERS)]
    # Bytes in, bytes out: the test's own process does no protobuf work during the calls.
    calls: list[grpc.UnaryUnaryMultiCallable[bytes, bytes]] = [
        channel.unary_unary(STORE_ESTIMATE) for channel in channels
    ]
    try:
        with HealthPoller(server.target) as health, ThreadPoolExecutor(CALLERS) as callers:
            time.sleep(0.1)
            codes = list(callers.map(lambda call: store(call, body), calls))
            time.sleep(0.1)
    finally:
        for channel in channels:
            channel.close()
    assert codes == [grpc.StatusCode.INVALID_ARGUMENT] * CALLERS
    assert len(health.latencies) > 2
    assert max(health.latencies) < 1.0, f"health waited {max(health.latencies):.2f} s"


def store(call: grpc.UnaryUnaryMultiCallable[bytes, bytes], body: bytes) -> grpc.StatusCode:
    try:
        call(body, metadata=(("authorization", f"Bearer {WRITER_KEY}"),), timeout=60)
    except grpc.RpcError as refused:
        code: grpc.StatusCode = refused.code()
        return code
    return grpc.StatusCode.OK


def test_store_estimate_stores_a_large_request_parsed_off_the_loop(server: ServerThread) -> None:
    """A request above the inline-parsing size is parsed on a worker thread, then stored."""
    resources = [
        estimate_pb2.ResourceCost(
            address=f"aws_instance.web[{n}]",
            service="AmazonEC2",
            monthly_cost=money_pb2.Money(units=1),
        )
        for n in range(5_000)
    ]
    for resource in resources:
        resource.cost_drivers.update({"instance_type": "m5.large", "hours": 730})
    request = rs.StoreEstimateRequest(
        user_id="large", estimate=estimate_pb2.Estimate(by_resource=resources)
    )
    assert request.ByteSize() > INLINE_PARSE_BYTES
    with grpc.insecure_channel(server.target) as channel:
        stored = rs_grpc.ResultsStoreServiceStub(channel).StoreEstimate(
            request, metadata=(("authorization", f"Bearer {WRITER_KEY}"),), timeout=60
        )
    assert (stored.job.resource_count, stored.job.total_monthly_cost.units) == (5_000, 5_000)
