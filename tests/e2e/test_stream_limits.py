"""One connection cannot hold more calls open than the server allows.

A caller that opens streams without end (or never reads what it asked for) would make
the server hold a call, its buffers and its replies for each. Past
`max_concurrent_streams` a connection's further calls wait for a free slot, while
callers on other connections go on being answered.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from ledger.v1 import results_store_service_pb2 as rs
from ledger.v1 import results_store_service_pb2_grpc as rs_grpc
from ledger_server.config import Settings
from tests.conftest import READER_KEY, server_settings
from tests.support.server import ServerThread

CAP = 10
EXTRA = 5
WATCH = health_pb2.HealthCheckRequest()


@pytest.fixture
def capped(database_url: str) -> Iterator[ServerThread]:
    thread = ServerThread(server_settings(max_concurrent_streams=CAP), database_url).start()
    yield thread
    thread.stop()


def connection(target: str) -> grpc.aio.Channel:
    # A channel of its own connection: channels with equal options would share one.
    return grpc.aio.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1)])


async def first_message(watch: grpc.aio.UnaryStreamCall[object, object], seconds: float) -> str:
    """How a Watch fared: its first message came ("served"), or the status it ended with."""
    try:
        await asyncio.wait_for(watch.read(), seconds)
    except TimeoutError:
        return "still waiting"
    except grpc.aio.AioRpcError as error:
        return str(error.code().name)
    return "served"


async def answered_quickly(target: str, calls: int) -> list[float]:
    """Health checks and GetJob calls on a connection of their own, each one timed."""
    latencies = []
    async with connection(target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        store = rs_grpc.ResultsStoreServiceStub(channel)
        for _ in range(calls):
            started = time.perf_counter()
            await health.Check(WATCH, timeout=5)
            with pytest.raises(grpc.aio.AioRpcError) as missing:
                await store.GetJob(
                    rs.GetJobRequest(job_id=str(uuid.uuid4())),
                    metadata=(("authorization", f"Bearer {READER_KEY}"),),
                    timeout=5,
                )
            assert missing.value.code() == grpc.StatusCode.NOT_FOUND
            latencies.append(time.perf_counter() - started)
    return latencies


async def crowd_one_connection(target: str) -> tuple[list[str], list[bool], list[float], list[str]]:
    async with connection(target) as crowded:
        health = health_pb2_grpc.HealthStub(crowded)
        await health.Check(WATCH, timeout=5)  # the server's limit has reached the client
        watches = [health.Watch(WATCH) for _ in range(CAP + EXTRA)]
        served = await asyncio.gather(*(first_message(w, 2.0) for w in watches[:CAP]))
        waiting = [asyncio.ensure_future(first_message(w, 30)) for w in watches[CAP:]]
        latencies = await answered_quickly(target, 20)
        early = [w.done() for w in waiting]  # nothing came while the others were served
        for watch in watches[:EXTRA]:
            watch.cancel()  # frees as many slots as there are waiting calls
        later = list(await asyncio.gather(*waiting))
        after = "UNAVAILABLE"
        for _ in range(50):  # retried as the SDK would, while cancelled calls wind down
            after = await first_message(health.Watch(WATCH), 5)
            if after != "UNAVAILABLE":
                break
            await asyncio.sleep(0.1)
        for watch in watches:
            watch.cancel()
        return list(served), early, latencies, [*later, after]


def test_calls_past_the_stream_cap_wait_while_other_connections_are_answered(
    capped: ServerThread,
) -> None:
    served, early, latencies, later = asyncio.run(crowd_one_connection(capped.target))
    assert served == ["served"] * CAP
    assert early == [False] * EXTRA  # the extra calls got nothing while over the cap
    assert max(latencies) < 1.0, f"a call on another connection took {max(latencies):.2f} s"
    # Once slots free, a waiting call is served, or refused as UNAVAILABLE (retry) while
    # the server still winds down the calls that were cancelled; none hangs.
    assert set(later[:EXTRA]) <= {"served", "UNAVAILABLE"}
    assert later[EXTRA] == "served"  # and the connection serves new calls again


def test_stream_cap_comes_from_the_environment_with_a_default_of_100() -> None:
    assert Settings.from_env({}).max_concurrent_streams == 100
    assert Settings.from_env({"LEDGER_MAX_CONCURRENT_STREAMS": "32"}).max_concurrent_streams == 32
    with pytest.raises(ValueError, match="LEDGER_MAX_CONCURRENT_STREAMS must be at least 1"):
        Settings.from_env({"LEDGER_MAX_CONCURRENT_STREAMS": "0"})
