"""Prometheus metrics: what every RPC, stream and database task did, on one address.

The RPC wrappers report through `Metrics`; with metrics off (the default) that is a class
whose methods do nothing, so nothing is counted and nothing is served. With
`LEDGER_METRICS_LISTEN` set, `PrometheusMetrics` counts and `MetricsEndpoint` answers
`GET /metrics`:

  ledger_rpc_calls_total{method,code}                   RPCs finished, by status code
  ledger_rpc_duration_seconds{method,code}              their latency (histogram)
  ledger_rpc_streams_open{method}                       streams open now
  ledger_rpc_stream_messages_total{method,direction}    stream messages, in or out
  ledger_db_connections_in_use                          pooled connections checked out
  ledger_db_tasks_waiting                               database tasks queued for a thread
  ledger_db_pool_size                                   database threads (= connections used)
  ledger_database_up                                    1 while the health check reaches it

Database work runs on a bounded pool of threads, each holding at most one pooled
connection, so `connections_in_use / pool_size` is how busy the database side is and
`tasks_waiting` is the queue in front of it: calls that wait for a thread, not for
PostgreSQL.

With `--workers N` every worker writes its figures into files in a directory the
supervisor owns (prometheus-client's multiprocess mode) and the supervisor alone serves
the address, so one scrape shows the whole server: counters and histograms summed over
every worker that ever ran, gauges summed over the live ones, and `database_up` the
lowest among the live ones (0 when any worker cannot reach the database).
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from socketserver import ThreadingMixIn
from types import TracebackType
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, make_wsgi_app
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from ledger_server.config import split_metrics_listen

if TYPE_CHECKING:
    from sqlalchemy import Engine

P = ParamSpec("P")
R = TypeVar("R")

# prometheus-client decides when it is imported whether values live in memory or in
# this directory's files, so a worker must have it in its environment from the start.
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
PATH = "/metrics"
DIRECTIONS = ("in", "out")
# From a cached read (well under a millisecond) to a call near its deadline.
LATENCY_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
)  # fmt: skip


class Metrics:
    """What the server reports about itself. This one records nothing: metrics are off."""

    def call_finished(self, method: str, code: str, seconds: float) -> None:
        """An RPC (unary or streaming) ended with status `code` after `seconds`."""

    def stream_opened(self, method: str) -> None:
        """A stream of `method` began; `stream_closed` follows when it ends, however."""

    def stream_closed(self, method: str) -> None:
        """A stream of `method` ended."""

    def messages(self, method: str, direction: str, count: int = 1) -> None:
        """`count` stream messages went `direction`: "in" from the caller, "out" to it."""
        _check_direction(direction)

    def database_up(self, up: bool) -> None:
        """What the latest health check of the database found."""

    def watch_pool(self, engine: Engine, size: int) -> None:
        """Counts `engine`'s connections in use; `size` is how many threads may use it."""

    def database_executor(self, threads: int) -> ThreadPoolExecutor:
        """The thread pool that runs database work, measured if metrics are on."""
        return ThreadPoolExecutor(threads, thread_name_prefix="ledger-db")


class PrometheusMetrics(Metrics):
    """`Metrics` that count into `registry` (or, in a worker, its multiprocess files)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._calls = Counter(
            "ledger_rpc_calls",
            "RPCs finished, by method and status code.",
            ["method", "code"],
            registry=registry,
        )
        self._latency = Histogram(
            "ledger_rpc_duration_seconds",
            "Time from an RPC's start to its status, by method and status code.",
            ["method", "code"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self._streams = Gauge(
            "ledger_rpc_streams_open",
            "Streams open now, by method.",
            ["method"],
            multiprocess_mode="livesum",
            registry=registry,
        )
        self._messages = Counter(
            "ledger_rpc_stream_messages",
            "Stream messages, by method and direction (in: from the caller, out: to it).",
            ["method", "direction"],
            registry=registry,
        )
        self._database_up = Gauge(
            "ledger_database_up",
            "1 while the database answers the health check (of every worker), else 0.",
            multiprocess_mode="livemin",
            registry=registry,
        )
        self._connections = Gauge(
            "ledger_db_connections_in_use",
            "Pooled database connections checked out now.",
            multiprocess_mode="livesum",
            registry=registry,
        )
        self._waiting = Gauge(
            "ledger_db_tasks_waiting",
            "Database tasks queued for a free database thread.",
            multiprocess_mode="livesum",
            registry=registry,
        )
        self._pool_size = Gauge(
            "ledger_db_pool_size",
            "Database threads, each using at most one pooled connection at a time.",
            multiprocess_mode="livesum",
            registry=registry,
        )

    def call_finished(self, method: str, code: str, seconds: float) -> None:
        self._calls.labels(method, code).inc()
        self._latency.labels(method, code).observe(seconds)

    def stream_opened(self, method: str) -> None:
        self._streams.labels(method).inc()

    def stream_closed(self, method: str) -> None:
        self._streams.labels(method).dec()

    def messages(self, method: str, direction: str, count: int = 1) -> None:
        _check_direction(direction)
        self._messages.labels(method, direction).inc(count)

    def database_up(self, up: bool) -> None:
        self._database_up.set(1 if up else 0)

    def watch_pool(self, engine: Engine, size: int) -> None:
        from sqlalchemy import event

        self._pool_size.set(size)
        # SQLAlchemy reports every checkin of a checkout, invalidated connections included.
        event.listen(engine, "checkout", lambda *_: self._connections.inc())
        event.listen(engine, "checkin", lambda *_: self._connections.dec())

    def database_executor(self, threads: int) -> ThreadPoolExecutor:
        return _QueueMeasuringExecutor(threads, self._waiting)


def _check_direction(direction: str) -> None:
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be 'in' or 'out', got {direction!r}")


class _QueueMeasuringExecutor(ThreadPoolExecutor):
    """A thread pool that keeps `waiting` at the number of tasks no thread has taken yet."""

    def __init__(self, threads: int, waiting: Gauge) -> None:
        super().__init__(threads, thread_name_prefix="ledger-db")
        self._waiting = waiting

    def submit(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> Future[R]:
        def taken() -> R:
            self._waiting.dec()
            return fn(*args, **kwargs)

        self._waiting.inc()
        try:
            future = super().submit(taken)
        except BaseException:  # shut down: the task never queued
            self._waiting.dec()
            raise
        # Only a task still queued can be cancelled (at shutdown): it never reached `taken`.
        future.add_done_callback(lambda done: self._waiting.dec() if done.cancelled() else None)
        return future


def for_server(metrics_listen: str, workers: int) -> tuple[Metrics, CollectorRegistry | None]:
    """The server's metrics, and the registry it serves itself (None: nothing to serve).

    A lone server serves its own figures; a worker of several writes them into the
    supervisor's directory and the supervisor serves them all (see `WorkerMetrics`).
    """
    if not metrics_listen:
        return Metrics(), None
    registry = CollectorRegistry()
    if workers > 1:
        if not os.environ.get(MULTIPROCESS_DIR):
            raise RuntimeError(f"a worker records metrics in {MULTIPROCESS_DIR}, which is unset")
        return PrometheusMetrics(registry), None
    return PrometheusMetrics(registry), registry


class WorkerMetrics:
    """The supervisor's side of `--workers` metrics: the workers' directory and its reader.

    Entering sets PROMETHEUS_MULTIPROC_DIR for the workers it will start: the operator's
    directory if they set one (emptied first: files of an earlier run would be counted as
    this one's), otherwise a new one. Leaving removes the files, and a directory of its own.
    """

    def __init__(self) -> None:
        self._given = os.environ.get(MULTIPROCESS_DIR, "")
        self.path = Path(self._given)

    def __enter__(self) -> WorkerMetrics:
        if self._given:
            self.path.mkdir(parents=True, exist_ok=True)
            self._remove_files()
        else:
            self.path = Path(tempfile.mkdtemp(prefix="ledger-metrics-"))
        os.environ[MULTIPROCESS_DIR] = str(self.path)
        return self

    def registry(self) -> CollectorRegistry:
        """A registry that reads every worker's files when scraped."""
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(self.path))  # type: ignore[no-untyped-call]
        return registry

    def worker_ended(self, pid: int) -> None:
        """Drops a finished worker's gauges (streams, connections, database_up)."""
        mark_process_dead(pid, str(self.path))  # type: ignore[no-untyped-call]

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._given:
            self._remove_files()
        else:
            shutil.rmtree(self.path, ignore_errors=True)
            os.environ.pop(MULTIPROCESS_DIR, None)

    def _remove_files(self) -> None:
        for stale in self.path.glob("*.db"):
            stale.unlink(missing_ok=True)


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a slow scraper never holds up shutdown


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per scrape would drown the RPC log


class MetricsEndpoint:
    """`GET /metrics` over plain HTTP on its own thread; any other path is 404."""

    def __init__(self, listen: str, registry: CollectorRegistry) -> None:
        host, port = split_metrics_listen(listen)
        metrics = make_wsgi_app(registry)

        def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            if environ.get("PATH_INFO") == PATH:
                result: Iterable[bytes] = metrics(environ, start_response)
                return result
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [f"Ledger serves its metrics on {PATH}\n".encode()]

        try:
            family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]

            class Server(_Server):
                address_family = family

            self._server = make_server(host, port, app, Server, _QuietHandler)
        except OSError as error:
            reason = error.strerror or str(error)
            raise OSError(f"could not serve metrics on {listen}: {reason}") from None
        self.port: int = self._server.server_port
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="metrics-endpoint", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
