"""Where one ingested record's time goes, per stage, measured in-process (no gRPC).

For each batch of the benchmark's workload (bench/ingestion.py, 5,000 records): parse
the serialized message, protobuf -> RecordInput, normalise and validate, render the
staging COPY text, then the server's bulk statements one by one (storage/ingestion/
bulk.py), each batch committed. Prints the median microseconds per record of each
stage over the batches. Needs DATABASE_URL (a fresh database is made next to it).

    DATABASE_URL=postgresql+psycopg2://... .venv/bin/python bench/ingestion_stages.py
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from functools import partial
from typing import TypeVar

import psycopg2
from ingestion import BATCH, batches
from servers import dsn, sibling_database

from ledger.v1 import ingestion_service_pb2 as ing
from ledger_server.config import normalize_database_url
from ledger_server.domain.ingestion.normalise import normalise_batch
from ledger_server.rpc.ingestion.convert import records_in
from ledger_server.storage.ingestion import bulk

T = TypeVar("T")


def measure(url: str, count: int) -> dict[str, list[float]]:
    """Microseconds per record of every stage, one figure per batch."""
    timings: dict[str, list[float]] = defaultdict(list)
    run_id = {"run_id": str(uuid.uuid4())}
    connection = psycopg2.connect(dsn(url))
    cursor = connection.cursor()

    def timed(stage: str, size: int, work: Callable[[], T]) -> T:
        started = time.perf_counter()
        result = work()
        timings[stage].append((time.perf_counter() - started) * 1e6 / size)
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
    return timings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=50_000, help="default 50,000")
    args = parser.parse_args(argv)
    url = normalize_database_url(os.environ.get("DATABASE_URL", ""))
    if not url:
        print("set DATABASE_URL (a fresh database is made next to it)", file=sys.stderr)
        return 2
    with sibling_database(url, "stages") as scratch:
        timings = measure(scratch, args.records)
    print(f"us/record, median of {len(next(iter(timings.values())))} batches of {BATCH:,}:")
    python = sql = 0.0
    for stage, values in timings.items():
        median = statistics.median(values)
        if stage.startswith("SQL"):
            sql += median
        else:
            python += median
        print(f"  {stage:<26} {median:6.2f}")
    print(f"  {'Python':<26} {python:6.2f}\n  {'SQL':<26} {sql:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
