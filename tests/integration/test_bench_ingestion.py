"""bench/ingestion.py in a tiny mode: its workload loads, re-loads and revises as it
claims, against the real server, and its COPY baseline writes the same rows."""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

from tests.conftest import WRITER_KEY
from tests.support.database import connect
from tests.support.server import ServerThread

BENCH = Path(__file__).resolve().parents[2] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))  # the benchmark's modules import each other by name

import ingestion  # noqa: E402


def test_bench_ingestion_workload_counts_fresh_unchanged_and_revised(
    server: ServerThread,
) -> None:
    count = 23
    first = 10_000_000  # record numbers of this test alone: the tables are shared
    key = (("authorization", f"Bearer {WRITER_KEY}"),)
    ingestion.FIRST_RECORD = first
    try:
        fresh = ingestion.stream(server.target, ingestion.batches(count), "fresh", key)
        again = ingestion.stream(server.target, ingestion.batches(count), "unchanged", key)
        revised = ingestion.stream(
            server.target, ingestion.batches(count, revised_every=10), "revised", key
        )
    finally:
        ingestion.FIRST_RECORD = 0
    assert ingestion.check(fresh, count, 0, 0) == []
    assert ingestion.check(again, 0, 0, count) == []
    assert ingestion.check(revised, 0, 3, count - 3) == []


def test_bench_ingestion_raw_copy_stores_every_row(database_url: str) -> None:
    seconds = ingestion.raw_copy(database_url, 50, keep=True)
    assert seconds > 0
    with connect(database_url) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(DISTINCT sku), sum(billed_cost) FROM bench_raw_cost_rows"
        )
        rows, skus, total = cursor.fetchone()  # type: ignore[misc]
        cursor.execute("DROP TABLE bench_raw_cost_rows")
        connection.commit()
    assert (rows, skus) == (50, 2)
    assert total == sum(Decimal(ingestion.record(n).billed_cost) for n in range(50))
