"""Prometheus metrics as an operator scrapes them: GET /metrics from a real server."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from ledger.v1 import estimate_pb2, money_pb2
from ledger.v1 import results_store_service_pb2 as rs
from ledger.v1 import results_store_service_pb2_grpc as rs_grpc
from tests.conftest import READER_KEY, WRITER_KEY, server_settings
from tests.support.metrics import Scrape, scrape, scrape_until
from tests.support.process import ServeProcess, free_port
from tests.support.proxy import CuttableProxy
from tests.support.server import ServerThread

CALLS = "ledger_rpc_calls_total"
LATENCY = "ledger_rpc_duration_seconds"
CHANNELS = 16  # connections: the chance that all land on one of two workers is 2 in 65,536
MISSING_JOB = "00000000-0000-0000-0000-000000000000"


def estimate(user: str) -> rs.StoreEstimateRequest:
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


def status_of(call: object) -> grpc.StatusCode:
    assert isinstance(call, grpc.RpcError)
    code: grpc.StatusCode = call.code()
    return code


@pytest.fixture
def metered(database_url: str) -> Iterator[ServerThread]:
    """A server of its own, so that its counters start at zero."""
    thread = ServerThread(server_settings(metrics_listen="127.0.0.1:0"), database_url).start()
    try:
        yield thread
    finally:
        thread.stop()


def metrics_port(thread: ServerThread) -> int:
    assert thread.server is not None
    return thread.server.metrics_port


def test_metrics_count_every_call_by_method_and_code(metered: ServerThread) -> None:
    writer, reader = (("authorization", f"Bearer {WRITER_KEY}"),), (("x-api-key", READER_KEY),)
    with grpc.insecure_channel(metered.target) as channel:
        store = rs_grpc.ResultsStoreServiceStub(channel)
        job = store.StoreEstimate(estimate("metrics"), metadata=writer).job
        for _ in range(7):
            store.GetJob(rs.GetJobRequest(job_id=job.job_id), metadata=reader)
        for _ in range(3):
            with pytest.raises(grpc.RpcError) as missing:
                store.GetJob(rs.GetJobRequest(job_id=MISSING_JOB), metadata=reader)
            assert status_of(missing.value) == grpc.StatusCode.NOT_FOUND
        for _ in range(2):
            with pytest.raises(grpc.RpcError) as keyless:
                store.StoreEstimate(estimate("metrics"))
            assert status_of(keyless.value) == grpc.StatusCode.UNAUTHENTICATED

    seen = scrape(metrics_port(metered))
    assert seen.value(CALLS, method="GetJob", code="OK") == 7
    assert seen.value(CALLS, method="GetJob", code="NOT_FOUND") == 3
    assert seen.value(CALLS, method="StoreEstimate", code="OK") == 1
    assert seen.value(CALLS, method="StoreEstimate", code="UNAUTHENTICATED") == 2
    assert seen.value(f"{LATENCY}_count", method="GetJob", code="OK") == 7
    assert seen.value(f"{LATENCY}_bucket", method="GetJob", code="OK", le="+Inf") == 7
    assert (seen.value(f"{LATENCY}_sum", method="GetJob", code="OK") or 0) > 0
    assert seen.value("ledger_database_up") == 1
    assert seen.value("ledger_db_pool_size") == 8  # the test settings' pool


def test_metrics_are_served_on_their_path_only(metered: ServerThread) -> None:
    with pytest.raises(urllib.error.HTTPError) as elsewhere:
        scrape(metrics_port(metered), path="/")
    assert elsewhere.value.code == 404


def test_database_up_follows_the_health_watcher(database_url: str) -> None:
    proxy = CuttableProxy(database_url)
    settings = server_settings(metrics_listen="127.0.0.1:0")
    thread = ServerThread(settings, proxy.url).start()
    try:
        port = metrics_port(thread)
        assert scrape(port).value("ledger_database_up") == 1
        proxy.cut()
        down = scrape_until(port, lambda seen: seen.value("ledger_database_up") == 0)
        assert down.value("ledger_database_up") == 0
        proxy.restore()
        up = scrape_until(port, lambda seen: seen.value("ledger_database_up") == 1)
        assert up.value("ledger_database_up") == 1
    finally:
        thread.stop()
        proxy.close()


def call_through_many_channels(port: int, reads: int) -> None:
    """One StoreEstimate, `reads` GetJobs and one refused GetJob on each of CHANNELS."""
    options = [("grpc.use_local_subchannel_pool", 1)]  # a connection of its own each
    target = f"127.0.0.1:{port}"
    channels = [grpc.insecure_channel(target, options=options) for _ in range(CHANNELS)]
    try:
        for n, channel in enumerate(channels):
            store = rs_grpc.ResultsStoreServiceStub(channel)
            job = store.StoreEstimate(estimate(f"metrics-workers-{n}"), timeout=10).job
            for _ in range(reads):
                store.GetJob(rs.GetJobRequest(job_id=job.job_id), timeout=10)
            with pytest.raises(grpc.RpcError) as refused:
                store.GetJob(rs.GetJobRequest(job_id="not-a-uuid"), timeout=10)
            assert status_of(refused.value) == grpc.StatusCode.INVALID_ARGUMENT
    finally:
        for channel in channels:
            channel.close()


def two_workers(database_url: str, metrics: int, **env: str) -> tuple[ServeProcess, int]:
    """`ledger serve --workers 2` with metrics on `metrics`; it and its gRPC port."""
    port = free_port()
    serve = ServeProcess(
        "--workers",
        "2",
        "--listen",
        f"127.0.0.1:{port}",
        # The URL as psql prints it, and settings from the environment as a container has them.
        database_url=database_url.replace("postgresql+psycopg2://", "postgresql://", 1),
        env={"LEDGER_METRICS_LISTEN": f"127.0.0.1:{metrics}", "LEDGER_DB_POOL_SIZE": "4", **env},
    )
    serve.wait_for("serving", 2)
    return serve, port


def test_one_scrape_adds_up_every_worker(database_url: str) -> None:
    metrics = free_port()
    serve, port = two_workers(database_url, metrics)
    try:
        call_through_many_channels(port, reads=3)
        seen = scrape(metrics)
        answered_by = {e["pid"] for e in serve.entries("rpc") if e["method"] == "StoreEstimate"}
        directory = Path(str(serve.entries("metrics serving")[0]["directory"]))
    finally:
        serve.stop()

    workers = serve.entries("workers started")[0]["pids"]
    assert isinstance(workers, list) and answered_by == set(workers)  # both answered calls
    assert seen.value(CALLS, method="StoreEstimate", code="OK") == CHANNELS
    assert seen.value(CALLS, method="GetJob", code="OK") == 3 * CHANNELS
    assert seen.value(CALLS, method="GetJob", code="INVALID_ARGUMENT") == CHANNELS
    assert seen.value(f"{LATENCY}_count", method="GetJob", code="OK") == 3 * CHANNELS
    assert seen.value("ledger_db_pool_size") == 2 * 4  # both workers are live
    assert seen.value("ledger_database_up") == 1
    assert seen.value("ledger_database_up", pid=str(workers[0])) is None  # one series
    assert not directory.exists()  # the supervisor removed the workers' files
    with pytest.raises(urllib.error.URLError):
        scrape(metrics)


def test_workers_start_from_zero_in_a_given_metrics_directory(
    database_url: str, tmp_path: Path
) -> None:
    """An operator's PROMETHEUS_MULTIPROC_DIR holding an earlier run's files is emptied."""
    earlier_run = (
        "from ledger_server.metrics import for_server\n"
        "metrics, _ = for_server('127.0.0.1:1', workers=2)\n"
        "metrics.call_finished('GetJob', 'OK', 0.01)\n"
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    subprocess.run([sys.executable, "-c", earlier_run], env=env, check=True, timeout=60)
    assert list(tmp_path.glob("*.db"))

    metrics = free_port()
    serve, port = two_workers(database_url, metrics, PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    try:
        call_through_many_channels(port, reads=1)
        seen: Scrape = scrape(metrics)
    finally:
        serve.stop()
    assert seen.value(CALLS, method="GetJob", code="OK") == CHANNELS  # not one more
    assert tmp_path.is_dir() and not list(tmp_path.glob("*.db"))  # theirs, left empty
