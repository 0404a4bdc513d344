"""`ledger serve --workers N`: several processes answer on one address and stop as one."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from ledger.v1 import estimate_pb2, money_pb2
from ledger.v1 import results_store_service_pb2 as rs
from ledger.v1 import results_store_service_pb2_grpc as rs_grpc
from ledger_server.cli import main
from tests.support.process import ServeProcess, free_port

CALLERS = 16  # connections: the chance that all land on one of two workers is 2 in 65,536


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def two_workers(database_url: str, port: int) -> Iterator[ServeProcess]:
    serve = ServeProcess(
        "--workers", "2", "--listen", f"127.0.0.1:{port}", database_url=database_url
    )
    try:
        serve.wait_for("serving", 2)
        yield serve
    finally:
        serve.stop()


def worker_pids(serve: ServeProcess) -> list[int]:
    pids = serve.entries("workers started")[0]["pids"]
    assert isinstance(pids, list)
    return [int(pid) for pid in pids]


def is_running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def estimate_request(n: int) -> rs.StoreEstimateRequest:
    return rs.StoreEstimateRequest(
        user_id=f"workers-{n}",
        estimate=estimate_pb2.Estimate(
            by_resource=[
                estimate_pb2.ResourceCost(
                    address="aws_instance.web", monthly_cost=money_pb2.Money(units=n + 1)
                )
            ]
        ),
    )


def test_serve_workers_share_the_address_and_the_stored_jobs(
    two_workers: ServeProcess, port: int
) -> None:
    workers = set(worker_pids(two_workers))
    assert len(workers) == 2
    assert {e["pid"] for e in two_workers.entries("serving")} == workers

    # One connection per caller, as separate services would have.
    options = [("grpc.use_local_subchannel_pool", 1)]
    channels = [grpc.insecure_channel(f"127.0.0.1:{port}", options=options) for _ in range(CALLERS)]
    try:
        stubs = [rs_grpc.ResultsStoreServiceStub(channel) for channel in channels]
        job_ids = [
            stub.StoreEstimate(estimate_request(n), timeout=10).job.job_id
            for n, stub in enumerate(stubs)
        ]
        # Every worker reads what any worker stored: they share only the database.
        for stub in stubs:
            for n, job_id in enumerate(job_ids):
                job = stub.GetJob(rs.GetJobRequest(job_id=job_id), timeout=10).job
                assert (job.user_id, job.total_monthly_cost.units) == (f"workers-{n}", n + 1)
    finally:
        for channel in channels:
            channel.close()

    answered_by = {e["pid"] for e in two_workers.entries("rpc") if e["method"] == "StoreEstimate"}
    assert answered_by == workers  # the kernel spread the connections over both


def test_serve_workers_stop_together_on_sigterm(two_workers: ServeProcess) -> None:
    workers = worker_pids(two_workers)
    two_workers.process.send_signal(signal.SIGTERM)
    assert two_workers.process.wait(timeout=30) == 0
    assert len(two_workers.entries("shutting down")) == 2  # each worker drained
    assert not [pid for pid in workers if is_running(pid)]


def test_serve_workers_stop_all_when_one_dies(two_workers: ServeProcess) -> None:
    first, second = worker_pids(two_workers)
    os.kill(first, signal.SIGKILL)
    # A group at part strength would go unnoticed: the supervisor stops and says so.
    assert two_workers.process.wait(timeout=30) == 1
    assert two_workers.entries("a worker ended on its own: stopping the others")
    assert not is_running(second)


def test_serve_workers_stop_when_the_supervisor_is_killed(two_workers: ServeProcess) -> None:
    workers = worker_pids(two_workers)
    two_workers.process.kill()
    two_workers.process.wait(10)
    deadline = time.monotonic() + 30
    while any(is_running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in workers if is_running(pid)]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--workers", "2", "--listen", "127.0.0.1:0"], "2 workers need a fixed port to share"),
        (["--workers", "0"], "workers must be at least 1, got 0"),
        (
            ["--workers", "2", "--listen", "unix:/tmp/ledger.sock", "--api-keys", "ops:admin:k"],
            "2 workers need a host:port",
        ),
    ],
)
def test_serve_refuses_workers_that_cannot_work(
    arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Refused before anything starts: no database, no process, exit status 2.
    assert main(["serve", *arguments]) == 2
    assert message in capsys.readouterr().err
