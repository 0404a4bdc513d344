"""`ledger serve --workers N`: several server processes on one address.

A Python process runs its handlers on one core at a time (one GIL), so a host with more
cores serves more with more processes. The supervisor prepares the database once (the
embedded PostgreSQL, migrations), then starts N workers that each run the whole server
on the same address with SO_REUSEPORT: the kernel spreads incoming connections over
them. Workers share nothing but the database, which is how Ledger scales anyway (any
number of stateless processes on one PostgreSQL), so no request needs a particular one.

SIGTERM or SIGINT to the supervisor reaches every worker, and each drains as a single
server does. A worker that dies on its own takes the others down with it and the
supervisor exits non-zero, so the process manager restarts the group whole instead of
leaving it serving at part strength unnoticed.

With metrics on, the supervisor serves them for all: workers write their figures into
files in a directory it creates (or empties) before they start and removes when they
have stopped, and it drops the gauges of a worker that has ended (see metrics.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from types import FrameType

from ledger_server import logs
from ledger_server.config import Settings
from ledger_server.metrics import MetricsEndpoint, WorkerMetrics

log = logging.getLogger("ledger.server")


def run_workers(settings: Settings) -> int:
    """Runs `settings.workers` servers until SIGTERM/SIGINT; the exit status."""
    from ledger_server.app import resolve_database_url
    from ledger_server.storage import migrate

    settings.check()
    stopping = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, request_stop)

    with contextlib.ExitStack() as cleanup:
        # Before the workers: they must find the directory in their environment.
        recorded = _serve_metrics(settings.metrics_listen, cleanup)
        url = resolve_database_url(settings)
        if settings.migrate:
            migrate.upgrade(settings.migrate_database_url or url)
        if stopping.is_set():  # stopped while the database was being prepared
            return 0
        worker_settings = dataclasses.replace(settings, database_url=url, migrate=False)
        workers = _start(worker_settings, request_stop)

        def forget_ended() -> None:
            """An ended worker's streams and connections are over: drop its gauges."""
            for worker in workers:
                if recorded and worker.pid is not None and not worker.is_alive():
                    recorded.worker_ended(worker.pid)

        failed = _supervise(workers, stopping)
        forget_ended()  # at once: the others may take their grace period to drain
        _stop_all(workers, settings.shutdown_grace)
        forget_ended()
        return 1 if failed else 0


def _serve_metrics(listen: str, cleanup: contextlib.ExitStack) -> WorkerMetrics | None:
    """Serves every worker's metrics on `listen` until `cleanup` closes; None if off."""
    if not listen:
        return None
    recorded = cleanup.enter_context(WorkerMetrics())
    endpoint = MetricsEndpoint(listen, recorded.registry())
    cleanup.callback(endpoint.close)  # after the workers have stopped: scrapes see the drain
    log.info(
        "metrics serving",
        extra={"metrics_listen": listen, "port": endpoint.port, "directory": str(recorded.path)},
    )
    return recorded


def _start(
    settings: Settings, request_stop: Callable[[int, FrameType | None], None]
) -> list[BaseProcess]:
    # spawn, not fork: a forked child would inherit the parent's threads and locks.
    context = multiprocessing.get_context("spawn")
    workers: list[BaseProcess] = [
        context.Process(target=_worker, args=(settings,), name=f"ledger-worker-{n}")
        for n in range(settings.workers)
    ]
    # Workers start with SIGINT ignored (inherited across exec) until their server takes
    # it over: a Ctrl-C to the terminal's whole process group during start-up then
    # reaches only the supervisor, which stops them in order instead of every worker
    # dying mid-import with a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        for worker in workers:
            worker.start()
    finally:
        signal.signal(signal.SIGINT, request_stop)
    # Every log line carries its pid: this one's is the supervisor's.
    log.info("workers started", extra={"workers": len(workers), "pids": [w.pid for w in workers]})
    return workers


def _supervise(workers: Sequence[BaseProcess], stopping: threading.Event) -> bool:
    """Waits for a stop request (False) or for a worker to end on its own (True)."""
    sentinels = [w.sentinel for w in workers]
    while not stopping.is_set():
        ended = wait(sentinels, timeout=0.2)
        if ended and not stopping.is_set():
            gone = [w for w in workers if not w.is_alive()]
            log.error(
                "a worker ended on its own: stopping the others",
                extra={"pids": [w.pid for w in gone], "exit_codes": [w.exitcode for w in gone]},
            )
            return True
    log.info("shutting down workers", extra={"workers": len(workers)})
    return False


def _stop_all(workers: Sequence[BaseProcess], grace: float) -> None:
    for worker in workers:
        if worker.is_alive() and worker.pid is not None:
            os.kill(worker.pid, signal.SIGTERM)
    for worker in workers:
        worker.join(grace + 5)  # each worker drains within its own grace period
        if worker.is_alive():
            log.error("a worker did not stop in time: killing it", extra={"pid": worker.pid})
            worker.kill()
            worker.join()


def _worker(settings: Settings) -> None:
    from ledger_server.app import serve

    logs.configure(settings.log_level)
    threading.Thread(
        target=_stop_when_orphaned, args=(os.getppid(),), name="supervisor-watch", daemon=True
    ).start()
    asyncio.run(serve(settings))


def _stop_when_orphaned(supervisor: int) -> None:
    """A worker whose supervisor was killed outright drains and exits, not lingers."""
    while os.getppid() == supervisor:
        time.sleep(1)
    log.warning("the supervisor is gone: stopping", extra={"supervisor": supervisor})
    os.kill(os.getpid(), signal.SIGTERM)
