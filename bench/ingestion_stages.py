"""Where one ingested record's time goes, per stage, measured in-process (no gRPC).

For each batch of the benchmark's workload (bench/ingestion.py, 5,000 records): parse
the serialized message, protobuf -> RecordInput, normalise and validate, render the
staging COPY text, then the server's bulk statements one by one (storage/ingestion/
bulk.py), each batch committed. Prints, per stage, the median wall-clock microseconds
per record over the batches and the CPU microseconds per record over all of them: this
thread's for the Python stages, the PostgreSQL backend's (from /proc) for the SQL ones.
On a shared machine the CPU figures are the steadier: they leave out time spent waiting
for a core. An analysis, not a benchmark of its own: bench/ingestion.py runs it.

    .venv/bin/python bench/ingestion.py --stages                 # 50,000 records
    .venv/bin/python bench/ingestion.py --stages --records 100000
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from functools import partial
from typing import TypeVar

import psycopg2
from ingestion import BATCH, batches
from machine import _proc_times
from servers import dsn, sibling_database

from ledger.v1 import ingestion_service_pb2 as ing
from ledger_server.domain.ingestion.normalise import normalise_batch
from ledger_server.rpc.ingestion.convert import records_in
from ledger_server.storage.ingestion import bulk

T = TypeVar("T")


def measure(url: str, count: int) -> tuple[dict[str, list[float]], dict[str, float]]:
    """Wall-clock microseconds per record of every stage, one figure per batch, and the
    CPU seconds of every stage over all batches."""
    timings: dict[str, list[float]] = defaultdict(list)
    cpu: dict[str, float] = defaultdict(float)
    run_id = {"run_id": str(uuid.uuid4())}
    connection = psycopg2.connect(dsn(url))
    cursor = connection.cursor()
    cursor.execute("SELECT pg_backend_pid()")
    backend = int(cursor.fetchone()[0])  # type: ignore[index]

    def backend_cpu() -> float:
        return _proc_times(backend) or 0.0

    def timed(stage: str, size: int, work: Callable[[], T]) -> T:
        sql = stage.startswith("SQL")
        clock = backend_cpu if sql else time.thread_time
        cpu_before, started = clock(), time.perf_counter()
        result = work()
        timings[stage].append((time.perf_counter() - started) * 1e6 / size)
        cpu[stage] += clock() - cpu_before
        return result

    copy = f"COPY cost_staging ({', '.join(bulk.STAGING_COLUMNS)}) FROM STDIN"
    for body in batches(count):
        message = ing.StreamCostRecordsRequest.FromString(body)
        size = len(message.records)
        inputs = timed("protobuf -> RecordInput", size, partial(records_in, message.records))
        valid, _, _ = timed("normalise and validate", size, partial(normalise_batch, inputs))
        text = timed("render COPY text", size, partial(bulk.copy_rows, valid))
        cursor.execute(bulk.CREATE_STAGING)
        timed("SQL: COPY into staging", size, partial(cursor.copy_expert, copy, text))
        timed("SQL: current revisions", size, partial(cursor.execute, bulk.READ_CURRENT))
        for stage, statement in (
            ("SQL: aggregate deltas", bulk.INSERT_DELTAS),
            ("SQL: INSERT new", bulk.INSERT_NEW),
            ("SQL: INSERT revised", bulk.INSERT_REVISED),
        ):
            timed(stage, size, partial(cursor.execute, statement, run_id))
        timed("SQL: commit", size, connection.commit)
    connection.close()
    return timings, cpu


def report(url: str, records: int) -> None:
    """Measures `records` in a fresh database next to `url` and prints the table."""
    with sibling_database(url, "stages") as scratch:
        timings, cpu = measure(scratch, records)
    batches_measured = len(next(iter(timings.values())))
    print(
        f"us/record over {batches_measured} batches of {BATCH:,}: wall (median) and CPU "
        "(Python: this thread; SQL: the PostgreSQL backend)"
    )
    totals = {"Python": [0.0, 0.0], "SQL": [0.0, 0.0]}
    for stage, values in timings.items():
        wall = statistics.median(values)
        used = cpu[stage] * 1e6 / records
        total = totals["SQL" if stage.startswith("SQL") else "Python"]
        total[0] += wall
        total[1] += used
        print(f"  {stage:<26} {wall:6.2f}  {used:6.2f}")
    for name, (wall, used) in totals.items():
        print(f"  {name:<26} {wall:6.2f}  {used:6.2f}")
