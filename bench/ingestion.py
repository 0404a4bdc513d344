"""Ingestion benchmark: StreamCostRecords end to end, as a ratio to a raw COPY of the same rows.

In one run on one machine:

  FRESH      N new records through StreamCostRecords (the real server in its own
             process, one client stream, batches of 5,000 as the SDK sends them, with a
             request id): records/s from the first message to the report.
  UNCHANGED  the same N records again: every one classified unchanged, nothing stored.
  REVISED    the same N records with 10% of the costs changed: 10% new revisions.
  COPY       the same rows, already as text, COPY'd by bare psycopg2 into a plain table
             with cost_records' columns (no index, no trigger): the machine's limit for
             getting these rows into PostgreSQL at all.
  FLOOR      the SQL work the bulk design cannot avoid, with no Python per record: the
             same N records already normalised and rendered as the server's staging
             COPY text (before the clock), then, per batch of 5,000 in one transaction,
             the server's own statements (storage/ingestion/bulk.py: COPY into the
             staging table, current revisions, aggregate deltas, INSERT ... SELECT into
             cost_records with its indexes) on a fresh database of the real schema.
  ratio      FRESH / COPY (target >= 0.5x), and FLOOR / COPY: the best FRESH can reach
             on this machine with this design. Below 0.5x the target is out of reach.

The client sends pre-serialized messages, so its own CPU (on the same cores) stays
small. Self-contained: its own PostgreSQL (embedded; or DATABASE_URL) and server.

    .venv/bin/python bench/ingestion.py            # 1,000,000 records
    .venv/bin/python bench/ingestion.py --quick    # 100,000 records
    .venv/bin/python bench/ingestion.py --stages   # per stage, in-process (no gRPC)
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import grpc
import psycopg2
from servers import database, dsn, server_process, sibling_database

from ledger.v1 import ingestion_service_pb2 as ing
from ledger_server.domain.ingestion.normalise import normalise_batch
from ledger_server.rpc.ingestion.convert import records_in
from ledger_server.storage.ingestion.bulk import classify_copy_text, copy_rows

STREAM = "/ledger.v1.IngestionService/StreamCostRecords"
BATCH = 5_000
PROVIDERS = ("aws", "gcp", "azure")
REGIONS = tuple(f"region-{i}" for i in range(10))
SERVICES = tuple(f"Service {i}" for i in range(20))
FIRST_DAY = date(2026, 1, 1)
# The first record number of the workload (tests start elsewhere: their tables are shared).
FIRST_RECORD = 0
RAW_TABLE = """
CREATE TABLE bench_raw_cost_rows (
    charge_period_start timestamptz, charge_period_end timestamptz, provider text,
    billing_account_id text, sub_account_id text, service text, region text, sku text,
    resource_id text, charge_category text, billing_currency text, billed_cost numeric,
    effective_cost numeric, usage_quantity numeric, usage_unit text
)
"""


def record(n: int, revised: bool = False) -> ing.CostRecordInput:
    """Record `n` of the workload: 30 days per SKU, so every n is a key of its own."""
    day = FIRST_DAY + timedelta(days=n % 30)
    cents = (n * 7919) % 250_000 + 1 + (1 if revised else 0)
    return ing.CostRecordInput(
        charge_period_start=day.isoformat(),
        provider=PROVIDERS[n % 3],
        billing_account_id=f"account-{n % 7}",
        sub_account_id=f"project-{n % 41}",
        service=SERVICES[n % 20],
        region=REGIONS[n % 10],
        sku=f"sku-{n // 30}",
        resource_id=f"i-{n:012x}",
        charge_category=ing.CHARGE_CATEGORY_USAGE,
        billing_currency="USD",
        billed_cost=f"{cents // 100}.{cents % 100:02d}",
        effective_cost=f"{cents // 100}.{cents % 100:02d}",
        usage_quantity=f"{n % 24 + 1}",
        usage_unit="Hours",
    )


def batches(count: int, revised_every: int = 0) -> list[bytes]:
    """The stream's messages, serialized once, before anything is timed."""
    messages = []
    request_id = str(uuid.uuid4())
    first, end = FIRST_RECORD, FIRST_RECORD + count
    for start in range(first, end, BATCH):
        message = ing.StreamCostRecordsRequest(
            records=[
                record(n, revised=bool(revised_every) and (n - first) % revised_every == 0)
                for n in range(start, min(start + BATCH, end))
            ]
        )
        if start == first:
            message.source = "bench"
            message.request_id = request_id
        messages.append(message.SerializeToString())
    return messages


def copy_text(count: int) -> io.StringIO:
    buffer = io.StringIO()
    for n in range(count):
        r = record(n)
        end = date.fromisoformat(r.charge_period_start) + timedelta(days=1)
        buffer.write(
            "\t".join(
                (
                    r.charge_period_start,
                    end.isoformat(),
                    r.provider,
                    r.billing_account_id,
                    r.sub_account_id,
                    r.service,
                    r.region,
                    r.sku,
                    r.resource_id,
                    "usage",
                    r.billing_currency,
                    r.billed_cost,
                    r.effective_cost,
                    r.usage_quantity,
                    r.usage_unit,
                )
            )
            + "\n"
        )
    buffer.seek(0)
    return buffer


@dataclass(frozen=True)
class Load:
    name: str
    seconds: float
    report: ing.StreamCostRecordsResponse

    def rate(self, records: int) -> float:
        return records / self.seconds


def stream(
    target: str, messages: Sequence[bytes], name: str, metadata: Sequence[tuple[str, str]] = ()
) -> Load:
    with grpc.insecure_channel(target) as channel:
        call = channel.stream_unary(
            STREAM,
            request_serializer=lambda body: body,
            response_deserializer=ing.StreamCostRecordsResponse.FromString,
        )
        started = time.perf_counter()
        response = call(iter(messages), timeout=3600, metadata=tuple(metadata))
        return Load(name, time.perf_counter() - started, response)


def raw_copy(url: str, count: int, *, keep: bool = False) -> float:
    """Seconds to COPY `count` rows as text into a plain table, one connection; the table
    is dropped afterwards unless `keep`."""
    text = copy_text(count)
    connection = psycopg2.connect(dsn(url))
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_raw_cost_rows")
        cursor.execute(RAW_TABLE)
    connection.commit()
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.copy_expert("COPY bench_raw_cost_rows FROM STDIN", text)
    connection.commit()
    seconds = time.perf_counter() - started
    if not keep:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE bench_raw_cost_rows")
        connection.commit()
    connection.close()
    return seconds


def staged_batches(count: int) -> list[str]:
    """The workload as the server stages it: normalised by the domain and rendered by
    bulk.copy_rows, one text per batch of BATCH records."""
    texts = []
    first, end = FIRST_RECORD, FIRST_RECORD + count
    for start in range(first, end, BATCH):
        inputs = records_in([record(n) for n in range(start, min(start + BATCH, end))])
        valid, rejections, _ = normalise_batch(inputs, start - first)
        assert not rejections, rejections[:3]
        texts.append(copy_rows(valid).getvalue())
    return texts


def floor(url: str, count: int) -> tuple[float, int]:
    """Seconds for the server's SQL alone to store `count` fresh records (see FLOOR
    above), on `url`'s database, and how many records it inserted."""
    texts = staged_batches(count)
    run_id = uuid.uuid4()
    inserted = 0
    connection = psycopg2.connect(dsn(url))
    try:
        started = time.perf_counter()
        for text in texts:
            with connection.cursor() as cursor:
                inserted += classify_copy_text(cursor, run_id, io.StringIO(text))[0]
            connection.commit()
        seconds = time.perf_counter() - started
    finally:
        connection.close()
    return seconds, inserted


def check(load: Load, inserted: int, revised: int, unchanged: int) -> list[str]:
    run = load.report.run
    got = (run.inserted_count, run.revised_count, run.unchanged_count, run.rejected_count)
    want = (inserted, revised, unchanged, 0)
    return [] if got == want else [f"{load.name}: counted {got}, expected {want}"]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="100,000 records (default 1,000,000)")
    parser.add_argument("--records", type=int, help="records per load (overrides --quick)")
    parser.add_argument("--log-level", default=os.environ.get("LEDGER_LOG_LEVEL", "INFO"))
    parser.add_argument("--workers", type=int, default=1, help="server processes (default 1)")
    parser.add_argument(
        "--stages",
        action="store_true",
        help="instead: where a record's time goes, per stage, in-process (ingestion_stages.py;"
        " 50,000 records unless --records)",
    )
    return parser.parse_args(argv)


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.stages:
        from ingestion_stages import report  # it imports this module

        with database() as db:
            report(db.url, args.records or 50_000)
        return 0
    count = args.records or (100_000 if args.quick else 1_000_000)
    progress(f"starting PostgreSQL; {count:,} records per load")
    with database() as db:
        progress("raw COPY of the same rows")
        copy_seconds = raw_copy(db.url, count)
        progress("floor: the server's SQL on pre-rendered batches, in a fresh database")
        with sibling_database(db.url, "floor") as floor_url:
            floor_seconds, floor_inserted = floor(floor_url, count)
        with server_process(db.url, args.log_level, args.workers) as (target, process):
            _wait(target, process)
            fresh_messages = batches(count)
            progress("fresh load")
            fresh = stream(target, fresh_messages, "fresh")
            progress("unchanged re-load")
            unchanged = stream(target, batches(count), "unchanged")
            del fresh_messages
            revised_messages = batches(count, revised_every=10)
            progress("10% revised")
            revised = stream(target, revised_messages, "revised")
    tenth = len(range(0, count, 10))
    problems = [
        *check(fresh, count, 0, 0),
        *check(unchanged, 0, 0, count),
        *check(revised, 0, tenth, count - tenth),
    ]
    if floor_inserted != count:
        problems.append(f"floor: inserted {floor_inserted}, expected {count}")
    copy_rate = count / copy_seconds
    floor_rate = count / floor_seconds
    print(f"ingestion: {count:,} records, batches of {BATCH:,}, PostgreSQL {db.version}")
    for load in (fresh, unchanged, revised):
        print(
            f"  {load.name:<10} {load.rate(count):>10,.0f} records/s  {load.seconds:7.2f} s  "
            f"ratio to COPY {load.rate(count) / copy_rate:.2f}x"
        )
    print(
        f"  {'FLOOR':<10} {floor_rate:>10,.0f} records/s  {floor_seconds:7.2f} s  "
        f"ratio to COPY {floor_rate / copy_rate:.2f}x  (the server's SQL alone, no Python)"
    )
    print(f"  {'raw COPY':<10} {copy_rate:>10,.0f} rows/s     {copy_seconds:7.2f} s")
    ratio = fresh.rate(count) / copy_rate
    print(f"  fresh / COPY = {ratio:.2f}x (target >= 0.5x): {'met' if ratio >= 0.5 else 'MISSED'}")
    print(f"  fresh / FLOOR = {fresh.rate(count) / floor_rate:.2f}x")
    print(ceiling(floor_rate / copy_rate))
    for problem in problems:
        print(f"  ERROR {problem}")
    return 1 if problems else 0


def ceiling(floor_ratio: float, target: float = 0.5) -> str:
    """Whether the target is reachable at all: FRESH cannot beat the floor."""
    if floor_ratio < target:
        return (
            f"  ceiling: FLOOR / COPY = {floor_ratio:.2f}x < {target}x: the target is "
            "UNREACHABLE by construction on this machine (the design's SQL alone is slower)"
        )
    return (
        f"  ceiling: FLOOR / COPY = {floor_ratio:.2f}x >= {target}x: the target is "
        "reachable in principle (what is left is the server's Python)"
    )


def _wait(target: str, process: object) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    deadline = time.monotonic() + 60
    with grpc.insecure_channel(target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            try:
                if health.Check(health_pb2.HealthCheckRequest(), timeout=1).status == 1:
                    return
            except grpc.RpcError:
                time.sleep(0.1)
    raise RuntimeError("the server did not report SERVING within 60 s")


if __name__ == "__main__":
    sys.exit(main())
