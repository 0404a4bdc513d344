"""The one error mapper and the access log, seen from a real channel."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

import grpc
import pytest
from grpc_status import rpc_status

from ledger.v1 import results_store_service_pb2 as rs
from ledger.v1 import results_store_service_pb2_grpc as rs_grpc
from ledger_server.api_keys import Role
from ledger_server.domain.results_store.use_cases import ResultsStore
from ledger_server.rpc.auth import Authorizer
from ledger_server.rpc.handler import Call, Runtime, unary
from ledger_server.rpc.results_store.servicer import ResultsStoreServicer
from ledger_server.rpc.service import add_to_server
from tests.conftest import READER_KEY
from tests.support.server import ServerThread


class ExplodingServicer(ResultsStoreServicer):
    """The real servicer, but GetJob fails the way a bug would."""

    @unary(Role.READER)
    async def GetJob(self, request: rs.GetJobRequest, call: Call) -> rs.GetJobResponse:  # noqa: N802
        raise RuntimeError('SELECT secret FROM ledger.jobs -- File "x.py", line 1')


async def _call_exploding_server() -> grpc.aio.AioRpcError:
    server = grpc.aio.server()
    runtime = Runtime(Authorizer([]), ThreadPoolExecutor(1))
    add_to_server(ExplodingServicer(runtime, cast(ResultsStore, None)), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            with pytest.raises(grpc.aio.AioRpcError) as failed:
                await rs_grpc.ResultsStoreServiceStub(channel).GetJob(rs.GetJobRequest())
            return failed.value
    finally:
        await server.stop(0)


def test_unexpected_errors_are_internal_with_a_correlation_id_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="ledger.rpc"):
        error = asyncio.run(_call_exploding_server())
    assert error.code() == grpc.StatusCode.INTERNAL
    message = error.details() or ""
    assert "SELECT" not in message and "File" not in message and "secret" not in message
    status = rpc_status.from_call(error)
    assert status is not None
    correlation_id = message.split("correlation id ")[1].split()[0]
    logged = [r for r in caplog.records if getattr(r, "correlation_id", None) == correlation_id]
    assert logged and logged[0].exc_info is not None  # the operators get the traceback


def test_every_rpc_logs_one_line(server: ServerThread, caplog: pytest.LogCaptureFixture) -> None:
    request_id = f"log-{uuid.uuid4()}"
    with (
        caplog.at_level(logging.INFO, logger="ledger.rpc"),
        grpc.insecure_channel(server.target) as channel,
    ):
        stub = rs_grpc.ResultsStoreServiceStub(channel)
        with pytest.raises(grpc.RpcError):
            stub.GetJob(
                rs.GetJobRequest(job_id=str(uuid.uuid4())),
                metadata=(("authorization", f"Bearer {READER_KEY}"), ("x-request-id", request_id)),
            )
        # The server writes its line after the status is on the wire: give it a moment.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not logged_with(caplog, request_id):
            time.sleep(0.01)
    lines = logged_with(caplog, request_id)
    assert len(lines) == 1
    line: Any = lines[0]
    assert (line.method, line.code, line.caller) == ("GetJob", "NOT_FOUND", "dash")
    assert line.duration_ms >= 0


def logged_with(caplog: pytest.LogCaptureFixture, request_id: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "request_id", None) == request_id]
