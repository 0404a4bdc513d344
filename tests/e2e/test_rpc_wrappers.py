"""The shared RPC wrappers, for every call shape, through a real channel.

A probe service (tests/support/probe_service.py) is served through the same `unary`,
`server_stream` and `client_stream` wrappers and the same registration as every
ledger.v1 service, so these tests hold for services that stream later.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from ledger_server.api_keys import parse_keys
from tests.support.probe_service import Int64, probe_server

KEYS = parse_keys("dash:reader:reader-key,ci:writer:writer-key")
READER = (("authorization", "Bearer reader-key"),)
WRITER = (("authorization", "Bearer writer-key"),)


def _detail(error: grpc.aio.AioRpcError, kind: Any) -> Any:
    """The first detail of type `kind` in the error's google.rpc.Status."""
    status = rpc_status.from_call(error)
    assert status is not None
    for detail in status.details:
        if detail.Is(kind.DESCRIPTOR):
            found = kind()
            detail.Unpack(found)
            return found
    raise AssertionError(f"no {kind.DESCRIPTOR.name} in {status}")


def _reason(error: grpc.aio.AioRpcError) -> str:
    return str(_detail(error, error_details_pb2.ErrorInfo).reason)


def _field(error: grpc.aio.AioRpcError) -> str:
    return str(_detail(error, error_details_pb2.BadRequest).field_violations[0].field)


def _stubs(channel: grpc.aio.Channel) -> tuple[Any, Any, Any]:
    echo = channel.unary_unary(
        "/ledger.testing.v1.ProbeService/Echo",
        request_serializer=Int64.SerializeToString,
        response_deserializer=Int64.FromString,
    )
    count = channel.unary_stream(
        "/ledger.testing.v1.ProbeService/Count",
        request_serializer=Int64.SerializeToString,
        response_deserializer=Int64.FromString,
    )
    total = channel.stream_unary(
        "/ledger.testing.v1.ProbeService/Sum",
        request_serializer=Int64.SerializeToString,
        response_deserializer=Int64.FromString,
    )
    return echo, count, total


def test_server_stream_authorizes_yields_and_logs_one_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> list[int]:
        async with probe_server(KEYS) as probe, grpc.aio.insecure_channel(probe.target) as ch:
            _, count, _ = _stubs(ch)
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                async for _ in count(Int64(value=3)):
                    pass
            assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
            seen = [m.value async for m in count(Int64(value=3), metadata=READER)]
            assert probe.state.callers == ["dash"]  # the handler knows who called
            return seen

    with caplog.at_level(logging.INFO, logger="ledger.rpc"):
        assert asyncio.run(scenario()) == [0, 1, 2]
    lines = [r for r in caplog.records if getattr(r, "method", "") == "Count"]
    assert [(r.code, r.messages_out, r.caller) for r in lines] == [  # type: ignore[attr-defined]
        ("UNAUTHENTICATED", 0, "-"),
        ("OK", 3, "dash"),
    ]


def test_server_stream_maps_a_domain_error_raised_mid_stream() -> None:
    async def scenario() -> tuple[list[int], grpc.aio.AioRpcError]:
        async with probe_server(KEYS) as probe, grpc.aio.insecure_channel(probe.target) as ch:
            _, count, _ = _stubs(ch)
            seen: list[int] = []
            with pytest.raises(grpc.aio.AioRpcError) as failed:
                async for message in count(Int64(value=-1), metadata=READER):
                    seen.append(message.value)
            return seen, failed.value

    seen, error = asyncio.run(scenario())
    assert seen == [0, 1, 2]
    # ProbeNotFound subclasses NotFound: the mapper resolves it through its bases.
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert _reason(error) == "PROBE_NOT_FOUND"


def test_server_stream_stops_its_work_when_the_client_cancels() -> None:
    async def scenario() -> bool:
        async with probe_server(KEYS) as probe, grpc.aio.insecure_channel(probe.target) as ch:
            _, count, _ = _stubs(ch)
            stream = count(Int64(value=0), metadata=READER)  # endless
            await stream.read()
            stream.cancel()
            await asyncio.wait_for(probe.state.count_cleaned_up.wait(), 2)
            return probe.state.count_cleaned_up.is_set()

    assert asyncio.run(scenario())


def test_stopping_ends_open_streams_with_unavailable_before_the_grace_runs_out() -> None:
    async def scenario() -> tuple[grpc.aio.AioRpcError, float]:
        async with probe_server(KEYS) as probe, grpc.aio.insecure_channel(probe.target) as ch:
            _, count, _ = _stubs(ch)
            stream = count(Int64(value=0), metadata=READER)
            await stream.read()
            started = time.monotonic()
            stopping = asyncio.create_task(probe.stop(grace=30))
            with pytest.raises(grpc.aio.AioRpcError) as ended:
                while True:
                    await stream.read()
            elapsed = time.monotonic() - started
            await stopping
            return ended.value, elapsed

    error, elapsed = asyncio.run(scenario())
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert _reason(error) == "SERVER_SHUTTING_DOWN"
    assert elapsed < 5  # promptly, not after the 30 s grace


def test_client_stream_authorizes_by_role_and_answers_once() -> None:
    async def scenario() -> tuple[int, grpc.StatusCode, grpc.StatusCode]:
        async with probe_server(KEYS) as probe, grpc.aio.insecure_channel(probe.target) as ch:
            _, _, total = _stubs(ch)

            async def values() -> AsyncIterator[Int64]:
                for number in range(1, 101):
                    yield Int64(value=number)

            answer = await total(values(), metadata=WRITER)
            codes = []
            for metadata in ((), READER):
                with pytest.raises(grpc.aio.AioRpcError) as refused:
                    await total(values(), metadata=metadata)
                codes.append(refused.value.code())
            return answer.value, codes[0], codes[1]

    total, no_key, reader = asyncio.run(scenario())
    assert total == 5050
    assert no_key == grpc.StatusCode.UNAUTHENTICATED
    assert reader == grpc.StatusCode.PERMISSION_DENIED


def test_malformed_messages_are_invalid_argument_in_every_call_shape() -> None:
    garbage = b"\xff\xff\xff\xff"

    async def scenario() -> list[tuple[grpc.StatusCode, str]]:
        async with probe_server(KEYS) as probe, grpc.aio.insecure_channel(probe.target) as opened:
            ch: Any = opened  # raw bytes in and out: no serializers
            raw = {"request_serializer": None, "response_deserializer": None}
            calls = [
                ch.unary_unary("/ledger.testing.v1.ProbeService/Echo", **raw)(
                    garbage, metadata=READER
                ),
                ch.stream_unary("/ledger.testing.v1.ProbeService/Sum", **raw)(
                    iter([Int64(value=1).SerializeToString(), garbage]), metadata=WRITER
                ),
            ]
            results = []
            for pending in calls:
                with pytest.raises(grpc.aio.AioRpcError) as refused:
                    await pending
                results.append((refused.value.code(), _field(refused.value)))
            stream = ch.unary_stream("/ledger.testing.v1.ProbeService/Count", **raw)(
                garbage, metadata=READER
            )
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                async for _ in stream:
                    pass
            results.append((refused.value.code(), _field(refused.value)))
            return results

    assert asyncio.run(scenario()) == [(grpc.StatusCode.INVALID_ARGUMENT, "request")] * 3
