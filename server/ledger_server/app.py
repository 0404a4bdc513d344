"""Composition root: settings -> engine -> use cases -> servicers -> gRPC server.

Nothing is built at import time. `LedgerServer` is what `ledger serve` runs and what the
end-to-end tests start in-process, so both exercise the same wiring.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer

from ledger_server import metrics
from ledger_server.config import Settings, normalize_database_url
from ledger_server.domain.changes import Changes
from ledger_server.domain.ingestion.use_cases import Ingestion
from ledger_server.domain.ports import Transactions
from ledger_server.domain.results_store.use_cases import ResultsStore
from ledger_server.domain.savings.policy import policy_from
from ledger_server.domain.savings.recording import SavingsRecorder
from ledger_server.domain.savings.reports import SavingsReports
from ledger_server.reflection import enable_reflection
from ledger_server.rpc.auth import Authorizer
from ledger_server.rpc.evaluations.wiring import evaluation_servicer
from ledger_server.rpc.handler import Runtime
from ledger_server.rpc.ingestion.servicer import IngestionServicer
from ledger_server.rpc.results_store.servicer import ResultsStoreServicer
from ledger_server.rpc.savings.servicer import SavingsServicer
from ledger_server.rpc.service import Servicer, add_to_server
from ledger_server.storage import migrate
from ledger_server.storage.database import SqlTransactions, make_engine, ping
from ledger_server.storage.embedded import start_embedded
from ledger_server.storage.notifications import PgChanges
from ledger_server.storage.roles import UnsafeRole

log = logging.getLogger("ledger.server")
# After the grace period: time to roll back the database work still running and answer
# its calls, before grpc cancels them. `ledger serve --workers` allows grace + 5 s.
INTERRUPT_SECONDS = 3.0


def build_servicers(
    settings: Settings, runtime: Runtime, transactions: Transactions, changes: Changes
) -> list[Servicer]:
    """Every ledger.v1 service this server runs: a new service adds one line here."""
    savings = policy_from(settings.savings_restart_caps, settings.savings_time_zone)
    return [
        ResultsStoreServicer(
            runtime, ResultsStore(transactions, cache_size=settings.job_cache_size)
        ),
        evaluation_servicer(settings, runtime, transactions, changes),
        IngestionServicer(runtime, Ingestion(transactions)),
        SavingsServicer(
            runtime, SavingsRecorder(transactions, savings), SavingsReports(transactions, savings)
        ),
    ]


def resolve_database_url(settings: Settings) -> str:
    """DATABASE_URL when set; otherwise the embedded PostgreSQL under the data dir."""
    if settings.database_url:
        return normalize_database_url(settings.database_url)
    return start_embedded(settings.data_dir / "postgres")


class LedgerServer:
    def __init__(self, settings: Settings, database_url: str) -> None:
        self.settings = settings
        self.database_url = database_url
        self.port = 0
        self.metrics, self._metrics_registry = metrics.for_server(
            settings.metrics_listen, settings.workers
        )
        self._metrics_endpoint: metrics.MetricsEndpoint | None = None
        self.metrics_port = 0
        self._engine = make_engine(
            database_url, role=settings.set_role, pool_size=settings.pool_size
        )
        self.metrics.watch_pool(self._engine, settings.pool_size)
        self._transactions = SqlTransactions(self._engine)
        # Wake-ups of commits made by any server process (LISTEN/NOTIFY, one connection).
        self._changes = PgChanges(database_url, role=settings.set_role)
        self._executor = self.metrics.database_executor(settings.pool_size)
        self._health = HealthServicer()
        self._server: grpc.aio.Server | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._runtime: Runtime | None = None
        self.servicers: list[Servicer] = []
        self.service_names: list[str] = []
        self.serving = False

    async def start(self) -> int:
        settings = self.settings
        limit = settings.max_message_bytes
        server = grpc.aio.server(
            options=[
                ("grpc.max_receive_message_length", limit),
                ("grpc.max_send_message_length", limit),
                # One connection cannot open calls without end: past this, its client
                # waits for a slot (and a client that ignores the limit is refused).
                ("grpc.max_concurrent_streams", settings.max_concurrent_streams),
                # Only workers share a port; a lone server must fail loudly when the
                # port is taken, not quietly split the traffic with a stranger.
                ("grpc.so_reuseport", 1 if settings.workers > 1 else 0),
            ]
        )
        runtime = Runtime(Authorizer(settings.api_keys), self._executor, self.metrics)
        self._runtime = runtime
        for servicer in build_servicers(settings, runtime, self._transactions, self._changes):
            add_to_server(servicer, server)
            self.servicers.append(servicer)
            self.service_names.append(servicer.SERVICE.full_name)
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        enable_reflection(
            [*self.service_names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name],
            server,
        )
        # Before listening: a role that could rewrite history is refused (UnsafeRole).
        await self._check_database()
        self._changes.start()
        self.port = self._bind(server)
        if self._metrics_registry is not None:
            self._metrics_endpoint = metrics.MetricsEndpoint(
                settings.metrics_listen, self._metrics_registry
            )
            self.metrics_port = self._metrics_endpoint.port
            log.info(
                "metrics serving",
                extra={"metrics_listen": settings.metrics_listen, "port": self.metrics_port},
            )
        await server.start()
        self._server = server
        self._watcher = asyncio.create_task(self._watch_database())
        if not runtime.authorizer.enabled:
            log.warning("no API keys configured: authentication is off (loopback only)")
        log.info("serving", extra={"listen": settings.listen, "port": self.port})
        return self.port

    def _bind(self, server: grpc.aio.Server) -> int:
        s = self.settings
        if s.tls_cert and s.tls_key:
            credentials = grpc.ssl_server_credentials(
                [(s.tls_key.read_bytes(), s.tls_cert.read_bytes())],
                root_certificates=s.tls_client_ca.read_bytes() if s.tls_client_ca else None,
                require_client_auth=s.tls_client_ca is not None,
            )
            port = server.add_secure_port(s.listen, credentials)
        else:
            port = server.add_insecure_port(s.listen)
        if port == 0:
            raise OSError(f"could not listen on {s.listen}")
        return port

    async def _check_database(self) -> None:
        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, ping, self._engine)
            healthy = True
        except Exception as error:  # any failure to answer SELECT 1 means not serving
            if isinstance(error, UnsafeRole) and self._watcher is None:
                raise  # at start: refuse to serve rather than serve as that role
            healthy = False
            if self.serving:
                log.warning("database unreachable", extra={"error": type(error).__name__})
        self.metrics.database_up(healthy)
        if healthy != self.serving or self._watcher is None:
            status = (
                health_pb2.HealthCheckResponse.SERVING
                if healthy
                else health_pb2.HealthCheckResponse.NOT_SERVING
            )
            for name in ["", *self.service_names]:
                await self._health.set(name, status)
            if healthy and not self.serving:
                log.info("database reachable: serving")
        self.serving = healthy

    async def _watch_database(self) -> None:
        while True:
            await asyncio.sleep(self.settings.health_interval)
            await self._check_database()

    async def stop(self, grace: float | None = None) -> None:
        """Graceful stop: report NOT_SERVING, end open streams, let calls finish, close."""
        await self._health.enter_graceful_shutdown()
        if self._runtime is not None:
            # Streams would otherwise hold the server for the whole grace period; ended
            # with UNAVAILABLE, their clients resume from their cursor on another server.
            self._runtime.end_streams()
        if self._watcher:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        if self._server:
            await self._drain(
                self._server, self.settings.shutdown_grace if grace is None else grace
            )
        self._changes.stop()
        self._executor.shutdown(wait=True, cancel_futures=True)
        self._engine.dispose()
        if self._metrics_endpoint:  # last: a scrape during the drain still sees it
            self._metrics_endpoint.close()

    async def _drain(self, server: grpc.aio.Server, grace: float) -> None:
        """Lets calls finish for `grace` seconds, then rolls back the writes still running.

        grpc cancels the calls left after its grace period and answers them UNAVAILABLE,
        but cannot stop a database thread: a write still waiting inside PostgreSQL then
        committed after its caller was told otherwise. So once the grace period is over,
        the open units of work are rolled back (`SqlTransactions.interrupt`), their calls
        answer with what became of them, and only then is the rest (streams) cancelled.
        """
        stopping = asyncio.create_task(server.stop(grace + INTERRUPT_SECONDS))
        done, _ = await asyncio.wait({stopping}, timeout=grace)
        if not done:
            deadline = asyncio.get_running_loop().time() + INTERRUPT_SECONDS
            interrupted = await asyncio.to_thread(self._transactions.interrupt, INTERRUPT_SECONDS)
            if interrupted:
                log.warning(
                    "interrupted database work still running after the grace period",
                    extra={"transactions": interrupted},
                )
            if self._runtime is not None:
                await self._runtime.answered(deadline)
            await server.stop(0)
        await stopping

    async def wait(self) -> None:
        if self._server:
            await self._server.wait_for_termination()


# Young objects are collected after this many more allocations than deallocations
# (Python's default is 700). Each request allocates hundreds of short-lived objects
# (messages, rows, frames), so at 700 the collector ran hundreds of times a second, and
# every tenth pass of the middle generation walked the whole heap.
YOUNG_COLLECTION_THRESHOLD = 10_000


def settle_heap() -> None:
    """Tunes the cyclic collector for serving, once the server has started.

    Everything built while starting (modules, descriptors, the schema, pools) lives as
    long as the process, yet each full collection walked it all, holding the event loop
    for 65-73 ms in the middle of log fan-outs: it is frozen out of the collector's
    sight (a frozen object is never collected: this is the one moment it is done, so
    what it keeps is bounded). And young objects are collected less often. What
    requests allocate is still collected; only later.
    """
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, middle, old)


async def serve(settings: Settings) -> None:
    settings.check()
    loop = asyncio.get_running_loop()
    # Handlers first: a SIGTERM that arrives while starting still means a clean stop.
    stopping = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    url = await loop.run_in_executor(None, resolve_database_url, settings)
    if settings.migrate:
        await loop.run_in_executor(None, migrate.upgrade, settings.migrate_database_url or url)
    server = LedgerServer(settings, url)
    await server.start()
    settle_heap()
    await stopping.wait()
    log.info("shutting down", extra={"grace_seconds": settings.shutdown_grace})
    await server.stop()
