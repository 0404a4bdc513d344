"""Load on the server through gRPC: one aio channel, N concurrent tasks, raw bytes.

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


async def drive(
    channel: grpc.aio.Channel,
    method: str,
    next_request: Callable[[], bytes],
    concurrency: int,
    seconds: float,
    probe: Probe,
    keep: list[bytes] | None = None,
) -> Run:
    """Calls `method` from `concurrency` tasks until `seconds` have passed.

    Requests and responses stay raw bytes (no serializer on the client), so the client
    spends as little of the shared CPU as gRPC allows.
    """
    call: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(method)
    run = Run()
    before = probe.sample()
    deadline = before.wall + seconds

    async def task() -> None:
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

    await asyncio.gather(*(task() for _ in range(concurrency)))
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
        return unique_request(bodies[n % len(bodies)], f"{prefix}{n:032x}")

    return next_request


def cycle_requests(requests: Sequence[bytes]) -> Callable[[], bytes]:
    iterator = itertools.cycle(requests)
    return lambda: next(iterator)
