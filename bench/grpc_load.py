"""Load on the server through gRPC: N concurrent callers, each on its own channel, raw bytes.

Each caller has its own channel and so its own connection, as callers in different
services would: a server with several workers (SO_REUSEPORT) gets them spread over its
processes by the kernel, connection by connection.

The client shares the machine's cores with the server and PostgreSQL, so it does as
little per call as gRPC allows: requests are serialized once, before the run, and
responses stay bytes.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import Callable, Sequence

import grpc
from machine import Cpu, Probe
from runs import Run
from workload import unique_request

STORE_ESTIMATE = "/ledger.v1.ResultsStoreService/StoreEstimate"
GET_JOB = "/ledger.v1.ResultsStoreService/GetJob"
HEALTH_CHECK = "/grpc.health.v1.Health/Check"


def open_channels(target: str, count: int) -> list[grpc.aio.Channel]:
    """`count` channels with a connection each (a local subchannel pool: none shared)."""
    options = [
        ("grpc.use_local_subchannel_pool", 1),
        ("grpc.max_receive_message_length", 16 * 1024 * 1024),
    ]
    return [grpc.aio.insecure_channel(target, options=options) for _ in range(count)]


async def drive(
    channels: Sequence[grpc.aio.Channel],
    method: str,
    next_request: Callable[[], bytes],
    concurrency: int,
    seconds: float,
    probe: Probe,
    keep: list[bytes] | None = None,
) -> Run:
    """Calls `method` from `concurrency` tasks until `seconds` have passed.

    Task i calls through channels[i % len(channels)].

    Requests and responses stay raw bytes (no serializer on the client), so the client
    spends as little of the shared CPU as gRPC allows.
    """
    calls: list[grpc.aio.UnaryUnaryMultiCallable[bytes, bytes]] = [
        channel.unary_unary(method) for channel in channels
    ]
    run = Run()
    before = probe.sample()
    deadline = before.wall + seconds

    async def task(index: int) -> None:
        call = calls[index % len(calls)]
        latencies = run.latencies
        while time.perf_counter() < deadline:
            request = next_request()
            started = time.perf_counter()
            try:
                response = await call(request, timeout=30)
            except grpc.aio.AioRpcError as error:
                run.errors += 1
                run.first_error = run.first_error or f"{error.code().name}: {error.details()}"
                continue
            latencies.append(time.perf_counter() - started)
            if keep is not None:
                keep.append(response)

    await asyncio.gather(*(task(index) for index in range(concurrency)))
    after = probe.sample()
    run.calls = len(run.latencies)
    run.seconds = after.wall - before.wall
    run.cpu = Cpu.between(before, after)
    return run


def store_requests(bodies: Sequence[bytes]) -> Callable[[], bytes]:
    counter = itertools.count()
    prefix = uuid.uuid4().hex[:8]

    def next_request() -> bytes:
        n = next(counter)
        return unique_request(bodies[n % len(bodies)], f"{prefix}{n:032x}", f"{prefix}-{n}")

    return next_request


def cycle_requests(requests: Sequence[bytes]) -> Callable[[], bytes]:
    iterator = itertools.cycle(requests)
    return lambda: next(iterator)
