"""bench/ingestion.py in a tiny mode: its workload loads, re-loads and revises as it
claims, against the real server; its COPY baseline writes the same rows, and its floor
writes exactly the records and aggregates the server writes."""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

from tests.conftest import WRITER_KEY
from tests.support.database import connect, fresh_database
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


_RECORD_COLUMNS = (
    "key_id, revision, charge_period_start, charge_period_end, provider, billing_account_id, "
    "sub_account_id, service, region, sku, resource_id, charge_category, billing_currency, "
    "billed_cost, effective_cost, usage_quantity, usage_unit, labels, content_hash"
)
_GROUP = "usage_day, provider, billing_account_id, service, region, sku, charge_category"


def _stored(url: str, skus: list[str]) -> tuple[list[tuple[object, ...]], ...]:
    """The cost records and summed aggregates of `skus` in the database at `url`."""
    with connect(url) as connection, connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {_RECORD_COLUMNS} FROM ledger.cost_records"
            " WHERE sku = ANY(%s) ORDER BY key_id, revision",
            (skus,),
        )
        records = cursor.fetchall()
        cursor.execute(
            f"SELECT {_GROUP}, billing_currency, sum(record_count), sum(billed_cost),"
            f" sum(effective_cost) FROM ledger.cost_aggregates WHERE sku = ANY(%s)"
            f" GROUP BY {_GROUP}, billing_currency ORDER BY {_GROUP}, billing_currency",
            (skus,),
        )
        aggregates = cursor.fetchall()
    return records, aggregates


def test_bench_ingestion_floor_writes_what_the_server_writes(
    server: ServerThread, database_url: str
) -> None:
    count = 67  # three SKUs over 30 days
    first = 20_000_000
    key = (("authorization", f"Bearer {WRITER_KEY}"),)
    ingestion.FIRST_RECORD = first
    try:
        fresh = ingestion.stream(server.target, ingestion.batches(count), "fresh", key)
        with fresh_database() as floor_url:
            seconds, inserted = ingestion.floor(floor_url, count)
            skus = sorted({ingestion.record(n).sku for n in range(first, first + count)})
            from_floor = _stored(floor_url, skus)
    finally:
        ingestion.FIRST_RECORD = 0
    assert ingestion.check(fresh, count, 0, 0) == []
    assert seconds > 0
    assert inserted == count
    from_server = _stored(database_url, skus)
    assert len(from_floor[0]) == count
    assert from_floor == from_server


def test_bench_ingestion_says_when_the_floor_puts_the_target_out_of_reach() -> None:
    assert "UNREACHABLE" in ingestion.ceiling(0.2)
    assert "UNREACHABLE" in ingestion.ceiling(0.49)
    assert "UNREACHABLE" not in ingestion.ceiling(0.5)


def test_bench_ingestion_stages_time_every_stage_of_a_stored_batch() -> None:
    import ingestion_stages

    with fresh_database() as url:
        timings, cpu = ingestion_stages.measure(url, 23)
        with connect(url) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM ledger.cost_records")
            stored = cursor.fetchone()[0]  # type: ignore[index]
    assert stored == 23
    assert len(timings) == 9
    assert set(cpu) == set(timings)
    assert all(len(values) == 1 and values[0] > 0 for values in timings.values())
