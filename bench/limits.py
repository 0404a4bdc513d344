"""The database's own limits, measured with bare psycopg2: baseline A and COPY.

A writes exactly the rows StoreEstimate writes for an estimate, one transaction each,
so S/A says how much of the database's write rate the server delivers;
`check_same_rows` proves the "exactly" on every run. COPY is context: the most rows
the database ingests in bulk, with no target.
"""

from __future__ import annotations

import csv
import io
import itertools
import threading
import time
import uuid
from collections.abc import Sequence

import psycopg2
import psycopg2.extensions
import psycopg2.extras
from machine import Cpu, Probe
from runs import Run
from servers import dsn
from workload import EstimateRows, EstimateSpec, estimate_rows

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
