"""The metrics the RPC wrappers and the database side report, as a scrape shows them."""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Iterator
from multiprocessing.synchronize import Event

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import create_engine, text

from ledger_server.metrics import (
    Metrics,
    MetricsEndpoint,
    PrometheusMetrics,
    WorkerMetrics,
    for_server,
)
from tests.support.metrics import Scrape, scrape, scrape_until

STREAMS = "ledger_rpc_streams_open"
MESSAGES = "ledger_rpc_stream_messages_total"
IN_USE = "ledger_db_connections_in_use"
WAITING = "ledger_db_tasks_waiting"


@pytest.fixture
def served() -> Iterator[tuple[PrometheusMetrics, int]]:
    registry = CollectorRegistry()
    endpoint = MetricsEndpoint("127.0.0.1:0", registry)
    try:
        yield PrometheusMetrics(registry), endpoint.port
    finally:
        endpoint.close()


def test_streams_open_and_messages_by_direction(served: tuple[PrometheusMetrics, int]) -> None:
    metrics, port = served
    metrics.stream_opened("FollowLogs")
    metrics.stream_opened("FollowLogs")
    metrics.messages("FollowLogs", "out", 5)
    metrics.messages("FollowLogs", "in")
    metrics.stream_closed("FollowLogs")
    metrics.call_finished("FollowLogs", "CANCELLED", 12.5)
    seen = scrape(port)
    assert seen.value(STREAMS, method="FollowLogs") == 1
    assert seen.value(MESSAGES, method="FollowLogs", direction="out") == 5
    assert seen.value(MESSAGES, method="FollowLogs", direction="in") == 1
    assert seen.value("ledger_rpc_calls_total", method="FollowLogs", code="CANCELLED") == 1


@pytest.mark.parametrize("metrics", [Metrics(), PrometheusMetrics(CollectorRegistry())])
def test_messages_refuse_a_direction_but_in_and_out(metrics: Metrics) -> None:
    # Off or on, the same mistake in a stream wrapper fails the same way.
    with pytest.raises(ValueError, match="direction must be 'in' or 'out'"):
        metrics.messages("FollowLogs", "sent")


def test_connections_in_use_follow_the_pool(
    served: tuple[PrometheusMetrics, int], database_url: str
) -> None:
    metrics, port = served
    engine = create_engine(database_url, pool_size=2)
    metrics.watch_pool(engine, 2)
    try:
        assert scrape(port).value(IN_USE) == 0
        with engine.connect() as first, engine.connect() as second:
            first.execute(text("SELECT 1"))
            second.execute(text("SELECT 1"))
            assert scrape(port).value(IN_USE) == 2
            first.invalidate()  # a connection found dead still comes back
        assert scrape(port).value(IN_USE) == 0
        assert scrape(port).value("ledger_db_pool_size") == 2
    finally:
        engine.dispose()


def test_tasks_waiting_for_a_database_thread(served: tuple[PrometheusMetrics, int]) -> None:
    metrics, port = served
    executor = metrics.database_executor(1)
    busy = threading.Event()
    release = threading.Event()

    def hold_the_thread() -> None:
        busy.set()
        release.wait(10)

    first = executor.submit(hold_the_thread)
    assert busy.wait(10)
    queued = [executor.submit(time.sleep, 0) for _ in range(3)]
    assert scrape(port).value(WAITING) == 3
    release.set()
    for future in (first, *queued):
        future.result(10)
    assert scrape(port).value(WAITING) == 0

    # Tasks cancelled while queued (at shutdown) stop waiting too.
    release.clear()
    busy.clear()
    executor.submit(hold_the_thread)
    assert busy.wait(10)
    executor.submit(time.sleep, 0)
    assert scrape(port).value(WAITING) == 1
    release.set()
    executor.shutdown(wait=True, cancel_futures=True)
    assert scrape(port).value(WAITING) == 0


def _worker(up: bool, ready: Event) -> None:
    """A worker's side: records the way LedgerServer does under `--workers`."""
    metrics, served = for_server("127.0.0.1:1", workers=2)
    assert served is None  # workers never serve: the supervisor does
    metrics.stream_opened("FollowLogs")
    metrics.call_finished("GetJob", "OK", 0.01)
    metrics.database_up(up)
    ready.set()
    time.sleep(60)  # live until terminated


def test_worker_metrics_add_up_and_drop_the_gauges_of_ended_workers() -> None:
    context = multiprocessing.get_context("spawn")
    with WorkerMetrics() as recorded:
        endpoint = MetricsEndpoint("127.0.0.1:0", recorded.registry())
        readies = [context.Event(), context.Event()]
        workers = [
            context.Process(target=_worker, args=(up, ready))
            for up, ready in zip((True, False), readies, strict=True)
        ]
        try:
            for worker in workers:
                worker.start()
            assert all(ready.wait(60) for ready in readies)
            both = scrape(endpoint.port)
            assert both.value(STREAMS, method="FollowLogs") == 2
            assert both.value("ledger_rpc_calls_total", method="GetJob", code="OK") == 2
            assert both.value("ledger_database_up") == 0  # one of them cannot reach it

            workers[1].terminate()
            workers[1].join(10)
            assert workers[1].pid is not None
            recorded.worker_ended(workers[1].pid)
            one: Scrape = scrape_until(endpoint.port, lambda s: s.value("ledger_database_up") == 1)
            assert one.value(STREAMS, method="FollowLogs") == 1  # its stream ended with it
            assert one.value("ledger_database_up") == 1
            # What it did stays done: counters keep an ended worker's calls.
            assert one.value("ledger_rpc_calls_total", method="GetJob", code="OK") == 2
        finally:
            for worker in workers:
                worker.terminate()
                worker.join(10)
            endpoint.close()
    assert not recorded.path.exists()
