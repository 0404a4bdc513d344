"""The one error mapper and the access log, seen from a real channel."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

import grpc
import pytest
from google.rpc import code_pb2, error_details_pb2
from grpc_status import rpc_status

from ledger.v1 import results_store_service_pb2 as rs
from ledger.v1 import results_store_service_pb2_grpc as rs_grpc
from ledger_server.api_keys import Role
from ledger_server.domain.results_store.use_cases import ResultsStore
from ledger_server.rpc.auth import Authorizer
from ledger_server.rpc.handler import Call, Runtime, unary
from ledger_server.rpc.results_store.servicer import ResultsStoreServicer
from ledger_server.rpc.service import add_to_server
from tests.conftest import READER_KEY, server_settings
from tests.support.database import connect
from tests.support.leaks import assert_no_leak, error_texts
from tests.support.server import ServerThread


class ExplodingServicer(ResultsStoreServicer):
    """The real servicer, but GetJob fails the way a bug would."""

    @unary(Role.READER)
    async def GetJob(self, request: rs.GetJobRequest, call: Call) -> rs.GetJobResponse:  # noqa: N802
        raise RuntimeError(
            'relation "ledger.jobs" does not exist\nLINE 1: SELECT secret FROM ledger.jobs\n'
            'Traceback (most recent call last):\n  File "/srv/ledger/server/ledger_server/'
            'rpc/handler.py", line 1, in handler'
        )


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
    assert_no_leak(error_texts(error), "INTERNAL")
    message = error.details() or ""
    assert "secret" not in " ".join(error_texts(error))
    correlation_id = message.split("correlation id ")[1].split()[0]
    assert message == f"internal error; quote correlation id {correlation_id} to the operators"
    assert_internal_details(error, correlation_id)
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


def assert_internal_details(error: grpc.RpcError, correlation_id: str) -> None:
    """INTERNAL carries one ErrorInfo with the correlation id and nothing else."""
    status = rpc_status.from_call(error)
    assert status is not None and status.code == code_pb2.INTERNAL
    assert status.message == error.details()
    assert [detail.type_url for detail in status.details] == [
        "type.googleapis.com/google.rpc.ErrorInfo"
    ]
    info = error_details_pb2.ErrorInfo()
    status.details[0].Unpack(info)
    assert (info.reason, info.domain, dict(info.metadata)) == (
        "INTERNAL",
        "ledger.v1",
        {"correlation_id": correlation_id},
    )


@pytest.fixture
def role_without_privileges(database_url: str) -> Iterator[str]:
    """A database role that may read nothing: every query the server runs as it fails."""
    role = f"ledger_test_{uuid.uuid4().hex[:8]}"
    with connect(database_url) as connection, connection.cursor() as cursor:
        cursor.execute(f'CREATE ROLE "{role}"')
    yield role
    with connect(database_url) as connection, connection.cursor() as cursor:
        cursor.execute(f'DROP ROLE "{role}"')


def test_a_database_error_nobody_mapped_is_internal_and_shows_nothing_of_it(
    database_url: str, role_without_privileges: str, caplog: pytest.LogCaptureFixture
) -> None:
    """psycopg2's text for this one holds SQL and table names; the caller sees none of it."""
    thread = ServerThread(
        server_settings(api_keys=[], db_role=role_without_privileges), database_url
    ).start()
    try:
        with (
            caplog.at_level(logging.ERROR, logger="ledger.rpc"),
            grpc.insecure_channel(thread.target) as channel,
            pytest.raises(grpc.RpcError) as failed,
        ):
            rs_grpc.ResultsStoreServiceStub(channel).GetJob(
                rs.GetJobRequest(job_id=str(uuid.uuid4()))
            )
    finally:
        thread.stop()
    error = failed.value
    assert error.code() == grpc.StatusCode.INTERNAL
    assert_no_leak(error_texts(error), "INTERNAL")
    correlation_id = (error.details() or "").split("correlation id ")[1].split()[0]
    assert_internal_details(error, correlation_id)
    logged = [r for r in caplog.records if getattr(r, "correlation_id", None) == correlation_id]
    assert logged and "permission denied" in str(logged[0].exc_info[1])  # type: ignore[index]
