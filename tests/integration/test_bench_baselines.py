"""The benchmark's limits measure what the server does: same rows written, same query read.

S/A and GC/B only mean something while the baselines do the server's work and no more;
the benchmark checks the rows on every run, and these tests check it on every test run,
so a change to the server's writes or reads that the baselines do not follow fails here.
"""

from __future__ import annotations

import random
import sys
import uuid
from pathlib import Path

import grpc
from sqlalchemy import create_engine, event

from ledger.v1 import results_store_service_pb2 as rs
from ledger_server.storage.results_store.repository import SqlResultsRepository
from tests.conftest import WRITER_KEY
from tests.support.server import ServerThread

BENCH = Path(__file__).resolve().parents[2] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))  # the benchmark's modules import each other by name

import limits  # noqa: E402
import machine  # noqa: E402
import workload  # noqa: E402


def test_bench_baselines_a1_and_a5_write_the_rows_store_estimate_writes(
    server: ServerThread, database_url: str
) -> None:
    spec = workload.make_estimate(random.Random(7), 0, 25)
    body = workload.unique_request(
        workload.request_body(spec), f"plan-{uuid.uuid4()}", f"req-{uuid.uuid4()}"
    )
    with grpc.insecure_channel(server.target) as channel:
        store: grpc.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(
            "/ledger.v1.ResultsStoreService/StoreEstimate"
        )
        answer = store(body, metadata=(("authorization", f"Bearer {WRITER_KEY}"),))
    job_id = rs.StoreEstimateResponse.FromString(answer).job.job_id
    limits.check_same_rows(database_url, spec, job_id)  # raises on any difference


def test_bench_bare_read_sends_the_query_the_repository_sends(database_url: str) -> None:
    engine = create_engine(database_url)
    sent: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def record(*args: object) -> None:
        sent.append(str(args[2]))

    with engine.begin() as connection:
        SqlResultsRepository(connection).get_job(uuid.uuid4())
    engine.dispose()
    assert sent == [limits.get_job_query()[0]]


def test_bench_bare_reads_find_every_job_of_the_read_pool(database_url: str) -> None:
    spec = workload.make_estimate(random.Random(7), 0, 3)
    pool = limits.insert_read_pool(database_url, workload.estimate_rows(spec).job, 50)
    ids = iter(pool)
    run = limits.bare_reads(database_url, lambda: next(ids, pool[0]), 2, 0.2, machine.Probe())
    assert run.errors == 0, run.first_error
    assert run.calls > 0
