"""The server platform as a caller sees it: health, auth, shutdown, many open streams."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from ledger.v1 import estimate_pb2, money_pb2
from ledger.v1 import results_store_service_pb2 as rs
from ledger.v1 import results_store_service_pb2_grpc as rs_grpc
from ledger_client import Client, Estimate, ResourceCost
from ledger_server.api_keys import parse_keys
from ledger_server.config import Settings
from tests.conftest import ADMIN_KEY, READER_KEY, WRITER_KEY, server_settings
from tests.support.leaks import assert_no_leak, error_texts
from tests.support.proxy import CuttableProxy
from tests.support.server import ServerThread

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
RESULTS = "ledger.v1.ResultsStoreService"


def bearer(key: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {key}"),)


def small_estimate(user: str) -> rs.StoreEstimateRequest:
    return rs.StoreEstimateRequest(
        user_id=user,
        estimate=estimate_pb2.Estimate(
            by_resource=[
                estimate_pb2.ResourceCost(
                    address="aws_instance.web", monthly_cost=money_pb2.Money(units=42)
                )
            ]
        ),
    )


@pytest.fixture
def channel(server: ServerThread) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(server.target) as opened:
        yield opened


def wait_for(health: health_pb2_grpc.HealthStub, service: str, status: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if health.Check(health_pb2.HealthCheckRequest(service=service)).status == status:
            return
        time.sleep(0.05)
    raise AssertionError(f"health of {service!r} never became {status}")


def test_health_reports_serving_for_server_and_each_service(channel: grpc.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    for service in ("", RESULTS):
        assert health.Check(health_pb2.HealthCheckRequest(service=service)).status == SERVING


def test_health_follows_the_database_and_outage_is_unavailable(database_url: str) -> None:
    proxy = CuttableProxy(database_url)
    thread = ServerThread(server_settings(api_keys=[]), proxy.url).start()
    try:
        with grpc.insecure_channel(thread.target) as opened:
            health = health_pb2_grpc.HealthStub(opened)
            store = rs_grpc.ResultsStoreServiceStub(opened)
            wait_for(health, "", SERVING)
            proxy.cut()
            wait_for(health, "", NOT_SERVING)
            assert health.Check(health_pb2.HealthCheckRequest(service=RESULTS)).status == (
                NOT_SERVING
            )
            with pytest.raises(grpc.RpcError) as outage:
                store.StoreEstimate(small_estimate("outage"))
            assert outage.value.code() == grpc.StatusCode.UNAVAILABLE
            assert outage.value.details() == "the database is unavailable; retry shortly"
            assert_no_leak(error_texts(outage.value), "UNAVAILABLE")
            proxy.restore()
            wait_for(health, "", SERVING)
            stored = store.StoreEstimate(small_estimate("after-outage"))
            assert stored.job.total_monthly_cost.units == 42
    finally:
        thread.stop()
        proxy.close()


@pytest.mark.parametrize(
    ("metadata", "code"),
    [
        ((), grpc.StatusCode.UNAUTHENTICATED),
        (bearer("not-a-key"), grpc.StatusCode.UNAUTHENTICATED),
        ((("authorization", "Basic abc"),), grpc.StatusCode.UNAUTHENTICATED),
        (bearer(READER_KEY), grpc.StatusCode.PERMISSION_DENIED),
    ],
)
def test_store_estimate_needs_a_writer_key(
    channel: grpc.Channel, metadata: tuple[tuple[str, str], ...], code: grpc.StatusCode
) -> None:
    store = rs_grpc.ResultsStoreServiceStub(channel)
    with pytest.raises(grpc.RpcError) as refused:
        store.StoreEstimate(small_estimate(f"auth-{uuid.uuid4()}"), metadata=metadata)
    assert refused.value.code() == code


def test_keys_by_role_and_header(channel: grpc.Channel) -> None:
    store = rs_grpc.ResultsStoreServiceStub(channel)
    user = f"roles-{uuid.uuid4()}"
    job = store.StoreEstimate(small_estimate(user), metadata=bearer(WRITER_KEY)).job
    store.StoreEstimate(small_estimate(user), metadata=(("x-api-key", ADMIN_KEY),))
    got = store.GetJob(rs.GetJobRequest(job_id=job.job_id), metadata=(("x-api-key", READER_KEY),))
    assert got.job == job
    listed = store.ListJobs(rs.ListJobsRequest(user_id=user), metadata=bearer(READER_KEY))
    assert len(listed.jobs) == 2


def test_health_and_reflection_need_no_key(channel: grpc.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    assert health.Check(health_pb2.HealthCheckRequest()).status == SERVING
    reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
    answers = list(
        reflection.ServerReflectionInfo(
            iter(
                [
                    reflection_pb2.ServerReflectionRequest(list_services=""),
                    reflection_pb2.ServerReflectionRequest(file_containing_symbol=RESULTS),
                ]
            )
        )
    )
    listed = {s.name for s in answers[0].list_services_response.service}
    assert RESULTS in listed
    files = answers[1].file_descriptor_response.file_descriptor_proto
    assert files, answers[1]
    # The service's own calls still need a key on the same channel.
    with pytest.raises(grpc.RpcError) as refused:
        rs_grpc.ResultsStoreServiceStub(channel).ListJobs(rs.ListJobsRequest())
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED


@pytest.fixture
def keyed_server(database_url: str) -> Iterator[ServerThread]:
    """Keys in the two other accepted spellings: `role:key` and `name:role:sha256=<hex>`."""
    digest = hashlib.sha256(b"hashed-writer-secret").hexdigest()
    keys = parse_keys(f"reader:plain-reader-secret, robot:writer:sha256={digest}")
    thread = ServerThread(server_settings(api_keys=keys), database_url).start()
    yield thread
    thread.stop()


def test_api_keys_given_as_role_key_and_as_a_sha256_digest(keyed_server: ServerThread) -> None:
    digest = hashlib.sha256(b"hashed-writer-secret").hexdigest()
    user = f"keys-{uuid.uuid4()}"
    with grpc.insecure_channel(keyed_server.target) as opened:
        store = rs_grpc.ResultsStoreServiceStub(opened)
        job = store.StoreEstimate(small_estimate(user), metadata=bearer("hashed-writer-secret")).job
        read = store.GetJob(
            rs.GetJobRequest(job_id=job.job_id), metadata=bearer("plain-reader-secret")
        )
        assert read.job == job
        refusals = [
            # The reader key ("role:key") may read but not write.
            (bearer("plain-reader-secret"), grpc.StatusCode.PERMISSION_DENIED),
            # The digest is what is configured, not a key a caller can present.
            (bearer(f"sha256={digest}"), grpc.StatusCode.UNAUTHENTICATED),
            (bearer(digest), grpc.StatusCode.UNAUTHENTICATED),
            # "role:key" names the role; the role is no part of the secret.
            (bearer("reader:plain-reader-secret"), grpc.StatusCode.UNAUTHENTICATED),
        ]
        for metadata, code in refusals:
            with pytest.raises(grpc.RpcError) as refused:
                store.StoreEstimate(small_estimate(user), metadata=metadata)
            assert refused.value.code() == code, metadata


def test_server_refuses_to_listen_beyond_loopback_without_keys() -> None:
    with pytest.raises(ValueError, match="no API keys"):
        Settings(listen="0.0.0.0:50051").check()
    Settings(listen="127.0.0.1:50051").check()
    Settings(listen="[::1]:50051").check()


def test_graceful_stop_reports_not_serving_and_ends_streams(database_url: str) -> None:
    thread = ServerThread(server_settings(), database_url).start()
    with grpc.insecure_channel(thread.target) as opened:
        watch = health_pb2_grpc.HealthStub(opened).Watch(health_pb2.HealthCheckRequest())
        assert next(watch).status == SERVING
        thread.stop(grace=1)
        seen = []
        with pytest.raises(grpc.RpcError) as ended:
            for update in watch:
                seen.append(update.status)
    assert seen == [NOT_SERVING]  # told first, then the stream ends with UNAVAILABLE
    assert ended.value.code() == grpc.StatusCode.UNAVAILABLE


async def _many_streams_then_unary(
    target: str, user: str, job_ids: list[str], streams: int, connections: int
) -> list[float]:
    # Spread over connections: one connection may only hold max_concurrent_streams (100).
    channels = [
        grpc.aio.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1)])
        for _ in range(connections)
    ]
    async with contextlib.AsyncExitStack() as stack:
        for channel in channels:
            await stack.enter_async_context(channel)
        watches = [
            health_pb2_grpc.HealthStub(channels[n % connections]).Watch(
                health_pb2.HealthCheckRequest()
            )
            for n in range(streams)
        ]
        first = await asyncio.gather(*(w.read() for w in watches))
        assert all(update.status == SERVING for update in first)
        store = rs_grpc.ResultsStoreServiceStub(channels[0])
        latencies = []
        for job_id in job_ids:
            # Both calls run on the server's database threads: this server stored none of
            # these jobs and has read none, and ListJobs is never cached.
            started = time.perf_counter()
            got = await store.GetJob(
                rs.GetJobRequest(job_id=job_id), metadata=bearer(READER_KEY), timeout=5
            )
            listed = await store.ListJobs(
                rs.ListJobsRequest(user_id=user, page_size=1),
                metadata=bearer(READER_KEY),
                timeout=5,
            )
            latencies.append(time.perf_counter() - started)
            assert got.job.job_id == job_id
            assert len(listed.jobs) == 1
        for watch in watches:
            watch.cancel()
        return latencies


def test_500_open_streams_do_not_starve_unary_calls(
    server: ServerThread, database_url: str
) -> None:
    user = f"streams-{uuid.uuid4()}"
    with grpc.insecure_channel(server.target) as opened:
        store = rs_grpc.ResultsStoreServiceStub(opened)
        job_ids = [
            store.StoreEstimate(small_estimate(user), metadata=bearer(WRITER_KEY)).job.job_id
            for _ in range(25)
        ]
    fresh = ServerThread(server_settings(), database_url).start()  # its cache is empty
    try:
        latencies = asyncio.run(_many_streams_then_unary(fresh.target, user, job_ids, 500, 10))
    finally:
        fresh.stop()
    assert len(latencies) == 25  # every unary call answered within its 5 s deadline


def test_serve_stops_cleanly_on_sigterm(database_url: str, tmp_path: object) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "LEDGER_LOG_LEVEL": "INFO"}
    process = subprocess.Popen(
        [sys.executable, "-m", "ledger_server", "serve", "--listen", "127.0.0.1:0"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        for line in process.stderr:
            if '"serving"' in line:
                break
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
        assert "shutting down" in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()


def test_sdk_retries_through_a_database_outage(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """UNAVAILABLE is retried by the SDK; its request_id keeps the retry from storing twice."""
    proxy = CuttableProxy(database_url)
    thread = ServerThread(server_settings(api_keys=[]), proxy.url).start()
    user = f"retry-{uuid.uuid4()}"
    caplog.set_level(logging.INFO, logger="ledger.rpc")
    try:
        with Client(target=thread.target, timeout=10) as ledger:
            proxy.cut()
            restorer = threading.Timer(0.4, proxy.restore)
            restorer.start()
            job = ledger.results.store_estimate(
                Estimate(resources=[ResourceCost("aws_instance.web", Decimal(42))]), user_id=user
            )
            restorer.join()
            # The server logs an attempt just after answering it: wait for the last line.
            deadline = time.monotonic() + 5
            while "OK" not in store_codes(caplog) and time.monotonic() < deadline:
                time.sleep(0.01)
            attempts = store_codes(caplog)
            assert "UNAVAILABLE" in attempts and attempts[-1] == "OK"  # refused, retried, stored
            assert job.total_monthly_cost == 42
            assert [j.job_id for j in ledger.results.list_jobs(user_id=user)] == [job.job_id]
    finally:
        thread.stop()
        proxy.close()


def store_codes(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The status of every StoreEstimate the server logged, in order."""
    return [
        str(getattr(r, "code", ""))
        for r in caplog.records
        if getattr(r, "method", None) == "StoreEstimate"
    ]
