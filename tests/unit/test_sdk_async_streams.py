"""The asyncio streaming helpers against a real grpc.aio server: the same promises as
the sync ones (resume at the cursor, give up in bounds, cancel, bounded uploads)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import TypeVar

import grpc
import pytest
from google.rpc import code_pb2

from ledger_client import (
    NO_DEADLINE,
    AsyncResumableStream,
    InvalidArgument,
    NotFound,
    ReconnectPolicy,
    Unavailable,
    channel_options,
)
from ledger_client.async_calls import AsyncCalls
from ledger_client.connection import CallSettings
from tests.unit.grpc_servers import SERVER_OPTIONS, generic_handlers
from tests.unit.stream_services import (
    SERVICE,
    Break,
    Follow,
    Int64,
    Text,
    Upload,
    cursor_after,
    handlers,
    lines_request,
    request_at,
)

FAST = ReconnectPolicy(max_reconnects=3, initial_backoff=0.01, max_backoff=0.05)
API_KEY = "follower-key"
T = TypeVar("T")


class AsyncHarness:
    """A grpc.aio server with the test handlers, and AsyncCalls on a channel to it."""

    def __init__(self, follow: Follow, upload: Upload) -> None:
        self.handlers = handlers(follow, upload, aio=True)
        self.port = 0

    async def start(self) -> None:
        self.server = grpc.aio.server(options=SERVER_OPTIONS)
        self.server.add_generic_rpc_handlers(generic_handlers(self.handlers))
        self.port = self.server.add_insecure_port(f"127.0.0.1:{self.port}")
        await self.server.start()
        self.channel = grpc.aio.insecure_channel(
            f"127.0.0.1:{self.port}", options=channel_options()
        )
        self.calls = AsyncCalls(self.channel, CallSettings(timeout=10, api_key=API_KEY))

    async def restart(self) -> None:
        """Drops every connection, as a crashed or restarted server does, and comes back."""
        await self.server.stop(grace=None)
        self.server = grpc.aio.server(options=SERVER_OPTIONS)
        self.server.add_generic_rpc_handlers(generic_handlers(self.handlers))
        self.server.add_insecure_port(f"127.0.0.1:{self.port}")
        await self.server.start()

    def follow(
        self, timeout: float | None = None, policy: ReconnectPolicy = FAST
    ) -> AsyncResumableStream[Int64, int]:
        method = self.channel.unary_stream(
            f"/{SERVICE}/Follow",
            request_serializer=Int64.SerializeToString,
            response_deserializer=Int64.FromString,
        )
        return self.calls.server_stream(
            method, request_at, cursor_after, start=0, timeout=timeout, metadata=(), policy=policy
        )

    async def upload(self, lines: Iterable[str] | AsyncIterator[str]) -> int:
        method = self.channel.stream_unary(
            f"/{SERVICE}/Upload",
            request_serializer=Text.SerializeToString,
            response_deserializer=Int64.FromString,
        )
        reply = await self.calls.client_stream(
            method, lines, lines_request, batch_size=64, timeout=None, metadata=()
        )
        return reply.value

    async def close(self) -> None:
        await self.channel.close()
        await self.server.stop(grace=None)


def run(
    scenario: Callable[[AsyncHarness], Awaitable[T]],
    follow: Follow | None = None,
    upload: Upload | None = None,
) -> T:
    async def main() -> T:
        harness = AsyncHarness(follow or Follow(), upload or Upload())
        await harness.start()
        try:
            return await scenario(harness)
        finally:
            await harness.close()

    return asyncio.run(main())


async def values_of(stream: AsyncIterator[Int64]) -> list[int]:
    return [message.value async for message in stream]


def test_follow_resumes_exactly_at_the_cursor_after_unavailable() -> None:
    follow = Follow(breaks=[Break(5, reason="SERVER_SHUTTING_DOWN"), Break(0), Break(3)], total=20)

    async def scenario(ledger: AsyncHarness) -> tuple[list[int], int]:
        async with ledger.follow() as stream:
            return await values_of(stream), stream.cursor

    values, cursor = run(scenario, follow)
    assert values == list(range(20))
    assert (follow.starts, cursor) == ([0, 5, 5, 8], 20)
    assert all(m["authorization"] == f"Bearer {API_KEY}" for m in follow.metadata)


def test_follow_survives_a_dropped_connection() -> None:
    follow = Follow(interval=0.005)

    async def scenario(ledger: AsyncHarness) -> list[int]:
        values = []
        async with ledger.follow() as stream:
            async for message in stream:
                values.append(message.value)
                if message.value == 10:
                    await ledger.restart()
                if message.value == 30:
                    break
        return values

    assert run(scenario, follow) == list(range(31))
    assert len(follow.starts) == 2 and follow.starts[1] > 0


def test_follow_gives_up_after_bounded_reconnects_without_progress() -> None:
    follow = Follow(breaks=[Break(2)] + [Break(0)] * 10, total=100)
    values: list[int] = []

    async def scenario(ledger: AsyncHarness) -> None:
        async for message in ledger.follow():
            values.append(message.value)

    started = time.monotonic()
    with pytest.raises(Unavailable):
        run(scenario, follow)
    assert values == [0, 1]
    assert follow.starts == [0, 2, 2, 2]
    assert time.monotonic() - started < 2


def test_follow_raises_other_errors_at_once() -> None:
    follow = Follow(breaks=[Break(1, code_pb2.NOT_FOUND, "EVALUATION_NOT_FOUND")], total=10)

    with pytest.raises(NotFound) as missing:
        run(lambda ledger: values_of(ledger.follow()), follow)
    assert missing.value.reason == "EVALUATION_NOT_FOUND"
    assert follow.starts == [0]


def test_cancelling_the_following_task_cancels_the_call() -> None:
    follow = Follow(interval=0.01)  # never ends by itself
    received: list[int] = []

    async def scenario(ledger: AsyncHarness) -> bool:
        async def consume() -> None:
            async for message in ledger.follow(timeout=NO_DEADLINE):
                received.append(message.value)

        task = asyncio.create_task(consume())
        while len(received) < 3:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return await asyncio.to_thread(follow.ended.wait, 5)

    assert run(scenario, follow), "the server saw the call cancelled"
    assert received[:3] == [0, 1, 2]


def test_aclose_from_another_task_ends_a_waiting_follower() -> None:
    follow = Follow(interval=3600)  # one message, then a long silence

    async def scenario(ledger: AsyncHarness) -> tuple[list[int], bool]:
        stream = ledger.follow(timeout=NO_DEADLINE)
        task = asyncio.create_task(values_of(stream))
        while not follow.starts:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)
        await stream.aclose()
        values = await asyncio.wait_for(task, 5)  # ends, neither raising nor hanging
        return values, await asyncio.to_thread(follow.ended.wait, 5)

    assert run(scenario, follow) == ([0], True)


def test_follow_with_no_deadline_sends_none() -> None:
    follow = Follow(breaks=[Break(1)], total=3)

    async def scenario(ledger: AsyncHarness) -> list[int]:
        return await values_of(ledger.follow(timeout=NO_DEADLINE))

    assert run(scenario, follow) == [0, 1, 2]
    assert follow.time_remaining == [None, None]


def test_upload_of_many_items_reads_them_only_as_the_server_takes_them() -> None:
    upload = Upload()
    upload.gate.clear()
    total = 256 * 1024  # 256 MiB of 1 KiB lines
    produced = 0

    async def lines() -> AsyncIterator[str]:
        nonlocal produced
        for _ in range(total):
            produced += 1
            yield "x" * 1023

    async def scenario(ledger: AsyncHarness) -> tuple[int, int]:
        sending = asyncio.create_task(ledger.upload(lines()))
        await asyncio.sleep(1)
        held_back = produced
        upload.gate.set()
        return held_back, await asyncio.wait_for(sending, 60)

    held_back, counted = run(scenario, upload=upload)
    assert held_back < total / 8, f"{held_back} lines read before the server read any"
    assert counted == total
    assert upload.metadata["authorization"] == f"Bearer {API_KEY}"


def test_upload_failure_is_a_typed_error() -> None:
    upload = Upload(fail_after=2)

    with pytest.raises(InvalidArgument) as refused:
        run(lambda ledger: ledger.upload(f"line {n}" for n in range(10_000)), upload=upload)
    assert refused.value.reason == "BAD_LINE"
    assert [v.field for v in refused.value.field_violations] == ["lines[3]"]


def test_upload_raises_the_callers_own_error_and_ends_the_call() -> None:
    # The call is cancelled, but gRPC may hand the server that cancel as the end of its
    # request stream, so a server cannot tell "all sent" from it: Ledger's client streams
    # that must arrive whole say so in their last message (WriteEvaluationOutput's
    # finish_write), and the others commit message by message.
    upload = Upload()

    async def lines() -> AsyncIterator[str]:
        for n in range(200):
            yield f"line {n}"
        raise ValueError("line 200 is not valid UTF-8")

    with pytest.raises(ValueError, match="line 200"):
        run(lambda ledger: ledger.upload(lines()), upload=upload)
    assert upload.ended.wait(5)  # the server is not left waiting for more
