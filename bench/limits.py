"""The database's own limits, measured with bare psycopg2: baselines A1 and A5, COPY, B.

A1 writes exactly the rows StoreEstimate writes for an estimate (the request id's claim
included) with the server's own statements, in one round trip per estimate: the database
at its best, the limit S is set against. A5 is the earlier baseline, one INSERT per
table (five round trips and no request id), kept for comparison with earlier figures.
`check_same_rows` proves the "exactly" for both on every run. COPY is context: the most
rows the database ingests in bulk, with no target. B reads jobs the way GetJob does
when its cache does not have them, with the same query, the limit cold GetJob is set
against.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg2
import psycopg2.extensions
import psycopg2.extras
from machine import Cpu, Probe
from runs import Run
from servers import dsn
from sqlalchemy import select
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.postgresql.psycopg2 import dialect as psycopg2_dialect
from workload import EstimateRows, EstimateSpec, estimate_rows, new_job, request_body

from ledger_server.domain.results_store.use_cases import STORE_ESTIMATE
from ledger_server.storage.results_store.repository import (
    # The repository's own statement builders: A1 sends exactly the SQL the server sends.
    _insert_json_rows,
    _insert_rows,
    _job_row,
    _resource_row,
)
from ledger_server.storage.results_store.tables import (
    job_region_services,
    job_regions,
    job_resources,
    job_services,
    jobs,
)
from ledger_server.storage.schema import request_ids

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


def _rows_of(cursor: psycopg2.extensions.cursor, job_id: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row written for `job_id` in every table keyed by a job (found from the
    catalogue, so a table added later is compared too), and its request id's claim; all
    but ids, times and the request's own digest."""
    cursor.execute(
        "SELECT table_name FROM information_schema.columns "
        "WHERE table_schema = 'ledger' AND column_name = 'job_id' ORDER BY 1"
    )
    found: dict[str, list[tuple[Any, ...]]] = {}
    for (table,) in cursor.fetchall():
        cursor.execute(
            f"SELECT to_jsonb(t) - 'job_id' - 'create_time' FROM ledger.{table} t "
            "WHERE job_id = %s ORDER BY 1",
            (job_id,),
        )
        found[table] = cursor.fetchall()
    cursor.execute(
        "SELECT to_jsonb(t) - 'request_id' - 'fingerprint' - 'resource_id' - 'create_time' "
        "FROM ledger.request_ids t WHERE resource_id = %s",
        (job_id,),
    )
    found["request_ids"] = cursor.fetchall()
    return found


def check_same_rows(url: str, spec: EstimateSpec, server_job_id: str) -> None:
    """Proves A5 and A1 write exactly what the server writes (but ids, times, digests).

    The server's job was stored with a request id; A1 claims one too, A5 does not.
    """
    connection = psycopg2.connect(dsn(url))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT terraform_plan_hash FROM ledger.jobs WHERE job_id = %s", (server_job_id,)
        )
        plan_hash = str(cursor.fetchone()[0])  # type: ignore[index]
        server = _rows_of(cursor, server_job_id)
        a5 = str(uuid.uuid4())
        write_estimate(cursor, estimate_rows(spec), a5, plan_hash)
        connection.commit()
        template = OneRoundTrip.render(cursor, spec)
        a1 = str(uuid.uuid4())
        cursor.execute(template.statement(a1, plan_hash, f"row-check-{a1}"))
        connection.commit()
        for name, job_id, expected in (
            ("A5", a5, {**server, "request_ids": []}),
            ("A1", a1, server),
        ):
            mine = _rows_of(cursor, job_id)
            for table, rows in expected.items():
                if mine[table] != rows or (table != "request_ids" and not rows):
                    raise AssertionError(
                        f"baseline {name} writes different ledger.{table} rows than the "
                        f"server:\nserver: {rows[:2]}\nbaseline: {mine[table][:2]}"
                    )
        if not server["request_ids"]:
            raise AssertionError("the server's job was stored without a request id")
    connection.close()


@dataclass(frozen=True)
class OneRoundTrip:
    """Baseline A1's statement for one estimate: the server's own SQL, ids left to fill.

    Rendered once per estimate before the run by the server's own code (its validation
    and aggregates, its repository's statements, its request-id claim), with stand-in
    ids; each call swaps in fresh ids, so the client does no per-call SQL work.
    """

    template: bytes
    job_id: bytes
    plan_hash: bytes
    request_id: bytes

    @staticmethod
    def render(cursor: psycopg2.extensions.cursor, spec: EstimateSpec) -> OneRoundTrip:
        # Stand-ins the values swapped in cannot contain: a fresh UUID's text is hex and
        # dashes, and so are the benchmark's plan hashes and request ids; both stand-ins
        # hold other letters.
        plan_hash = f"stand-in-plan-hash-{uuid.uuid4().hex}"
        request_id = f"stand-in-request-id-{uuid.uuid4().hex}"
        job = new_job(request_body(spec), plan_hash)
        job_id = str(job.job_id)
        claim = (
            pg_insert(request_ids)
            .values(
                method=STORE_ESTIMATE,
                request_id=request_id,
                fingerprint=hashlib.sha256(request_id.encode()).digest(),
                resource_id=job_id,
            )
            .on_conflict_do_nothing()
            .returning(request_ids.c.request_id)
        )
        compiled = claim.compile(dialect=postgresql.dialect())  # type: ignore[no-untyped-call]
        statements = [
            cursor.mogrify(str(compiled), compiled.params),
            _insert_rows(cursor, jobs, [_job_row(job_id, job)]),
            _insert_json_rows(
                cursor,
                job_services,
                [(job_id, t.service, t.monthly_cost, t.resource_count) for t in job.services],
            ),
            _insert_json_rows(
                cursor,
                job_regions,
                [(job_id, r.region, r.monthly_cost, r.resource_count) for r in job.regions],
            ),
            _insert_json_rows(
                cursor,
                job_region_services,
                [
                    (job_id, r.region, t.service, t.monthly_cost, t.resource_count)
                    for r in job.regions
                    for t in r.services
                ],
            ),
            _insert_json_rows(
                cursor, job_resources, [_resource_row(job_id, r) for r in job.resources]
            ),
            cursor.mogrify("SELECT create_time FROM ledger.jobs WHERE job_id = %s", (job_id,)),
        ]
        return OneRoundTrip(
            b";".join(statements), job_id.encode(), plan_hash.encode(), request_id.encode()
        )

    def statement(self, job_id: str, plan_hash: str, request_id: str) -> bytes:
        """The statement with these ids; `job_id` first, as the other stand-ins are no
        UUID and cannot occur in it."""
        return (
            self.template.replace(self.job_id, job_id.encode())
            .replace(self.plan_hash, plan_hash.encode())
            .replace(self.request_id, request_id.encode())
        )


def baseline_a(
    url: str, pool: Sequence[EstimateRows], threads: int, seconds: float, probe: Probe
) -> Run:
    """A5: threads each with an owner connection, one transaction per estimate, one
    INSERT per table (five round trips, plus the commit)."""
    prefix = uuid.uuid4().hex[:8]

    def write(cursor: psycopg2.extensions.cursor, n: int) -> None:
        write_estimate(cursor, pool[n % len(pool)], str(uuid.uuid4()), f"{prefix}{n:032x}")

    return _threads(url, threads, seconds, probe, write, autocommit=False)


def baseline_a1(
    url: str, pool: Sequence[OneRoundTrip], threads: int, seconds: float, probe: Probe
) -> Run:
    """Threads each with an owner connection in autocommit mode, one statement string per
    estimate: PostgreSQL runs it as one implicit transaction, in one round trip."""
    prefix = uuid.uuid4().hex[:8]

    def write(cursor: psycopg2.extensions.cursor, n: int) -> None:
        plan_hash = f"{prefix}{n:032x}"
        cursor.execute(pool[n % len(pool)].statement(str(uuid.uuid4()), plan_hash, plan_hash))
        cursor.fetchone()

    return _threads(url, threads, seconds, probe, write, autocommit=True)


def render_pool(url: str, specs: Sequence[EstimateSpec]) -> list[OneRoundTrip]:
    connection = psycopg2.connect(dsn(url))
    with connection.cursor() as cursor:
        pool = [OneRoundTrip.render(cursor, spec) for spec in specs]
    connection.close()
    return pool


def _threads(
    url: str,
    threads: int,
    seconds: float,
    probe: Probe,
    work: Callable[[psycopg2.extensions.cursor, int], None],
    *,
    autocommit: bool,
) -> Run:
    """`threads` threads, an owner connection each, calling `work(cursor, n)` in a loop
    until `seconds` have passed; in a transaction each, committed, unless `autocommit`."""
    connections = [psycopg2.connect(dsn(url)) for _ in range(threads)]
    for connection in connections:
        connection.autocommit = autocommit
    counter = itertools.count()
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
                started = time.perf_counter()
                try:
                    work(cursor, n)
                    if not autocommit:
                        connection.commit()
                except psycopg2.Error as error:
                    if not autocommit:
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


def get_job_query() -> tuple[str, str]:
    """GetJob's query as the server's repository builds it, compiled for psycopg2, and
    the name of its one parameter."""
    statement = select(jobs).where(jobs.c.job_id == uuid.UUID(int=0))
    compiled = statement.compile(dialect=psycopg2_dialect())  # type: ignore[no-untyped-call]
    (name,) = compiled.params
    return str(compiled), name


def bare_reads(
    url: str, next_id: Callable[[], str], threads: int, seconds: float, probe: Probe
) -> Run:
    """B: the read GetJob does on a cache miss, from bare psycopg2: the same query in a
    transaction of its own (BEGIN, SELECT, COMMIT, as the server's unit of work)."""
    query, parameter = get_job_query()

    def read(cursor: psycopg2.extensions.cursor, n: int) -> None:
        cursor.execute(query, {parameter: next_id()})
        if cursor.fetchone() is None:
            raise psycopg2.DataError("a job of the read pool is missing")

    return _threads(url, threads, seconds, probe, read, autocommit=False)


def insert_read_pool(url: str, job_row: tuple[object, ...], count: int) -> list[str]:
    """`count` jobs rows that no server has seen, for cold reads (untimed)."""
    job_ids = [str(uuid.uuid4()) for _ in range(count)]
    connection = psycopg2.connect(dsn(url))
    with connection.cursor() as cursor:
        psycopg2.extras.execute_values(
            cursor,
            f"INSERT INTO ledger.jobs ({JOB_COLUMNS}) VALUES %s",
            [(job_id, f"cold-{job_id}", *job_row) for job_id in job_ids],
            page_size=2000,
        )
    connection.commit()
    connection.close()
    return job_ids


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
