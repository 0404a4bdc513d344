"""F0: this machine's own limit for fanning log messages out to 500 followers.

A bare `grpc.aio` server in a process of its own, with no database, no Ledger code and
no authentication, streams the same messages F's followers get (StreamEvaluationLogs
replies of the same size, at the same rate) to the same followers' process. Its
latency (from the moment a message exists to when a follower has it) is what gRPC in
Python can do on this machine at this moment: F's latency is set against it.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import multiprocessing.queues
import multiprocessing.synchronize
import time
from collections.abc import AsyncIterator
from typing import Any

import grpc

from ledger.v1 import evaluation_log_pb2 as el
from ledger.v1 import evaluation_service_pb2 as es

RAW_FOLLOW = "/bench.Fanout/Follow"


def message(index: int, lines: list[str]) -> bytes:
    first = index * len(lines) + 1
    reply = es.StreamEvaluationLogsResponse(
        lines=[el.EvaluationLogLine(sequence=first + i, text=t) for i, t in enumerate(lines)],
        last_sequence=first + len(lines) - 1,
    )
    return reply.SerializeToString()


def raw_fanout_process(
    port: multiprocessing.queues.Queue[int],
    start: multiprocessing.synchronize.Event,
    rate: float,
    batches: list[list[str]],
    results: multiprocessing.queues.Queue[str],
) -> None:
    results.put(json.dumps(asyncio.run(_serve(port, start, rate, batches))))


async def _serve(
    port: multiprocessing.queues.Queue[int],
    start: multiprocessing.synchronize.Event,
    rate: float,
    batches: list[list[str]],
) -> list[float]:
    messages: list[bytes] = []
    state: dict[str, Any] = {"grew": asyncio.Event(), "done": False}

    async def follow(request: bytes, context: Any) -> AsyncIterator[bytes]:
        sent = 0
        while True:
            while sent >= len(messages):
                if state["done"]:
                    return
                await state["grew"].wait()
            yield messages[sent]
            sent += 1

    server = grpc.aio.server(options=[("grpc.max_concurrent_streams", 100)])
    handler: grpc.RpcMethodHandler[Any, Any] = grpc.unary_stream_rpc_method_handler(
        follow  # raw bytes both ways
    )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler("bench.Fanout", {"Follow": handler}),)
    )
    port.put(server.add_insecure_port("127.0.0.1:0"))
    await server.start()
    await asyncio.get_running_loop().run_in_executor(None, start.wait)
    rendered = [message(i, lines) for i, lines in enumerate(batches)]
    sent_at: list[float] = []
    began = time.perf_counter()
    for index, data in enumerate(rendered):
        delay = began + index / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        sent_at.append(time.time())
        messages.append(data)
        grew, state["grew"] = state["grew"], asyncio.Event()
        grew.set()
    state["done"] = True
    state["grew"].set()
    await server.stop(30)  # returns once every follower has had every message
    return sent_at
