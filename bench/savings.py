"""SavingsService benchmarks: reads that do not grow with history, ingest against COPY.

  R1    GetSavingsSummary for the last 30 days (no filter: every instance, top savers,
        ongoing savings, the 24/7 projection), median latency, over N instances with
        E events of history (full: 10,000 instances, 1,000,000 events, 50 nights each).
  R10   the same after ten times more history over a ten times longer past (full:
        10,000,000 events over 500 nights). R10 / R1 is the growth of a read with
        history: target <= 1.5. Beside both, the buffers the top savers' query touches
        (EXPLAIN ANALYZE): equal at R1 and R10 when the read does the same work.
  I     RecordInstanceEvents through the real server, batches of 100 events from
        concurrent callers, each caller its own instances: events/s, as a ratio to
  COPY  raw COPY of the same event rows into a table shaped like savings_events (its
        indexes included, no ledger work): the machine's bulk-ingest limit.

History is made up (every instance stopped each night, started each morning) and loaded
with COPY, with ledger rows and totals computed by the service's own domain functions;
a sample of instances is then replayed through RecordInstanceEvents under new ids, and
the run fails unless the server computes the same savings as were loaded.

Self-contained: a throw-away database (a fresh one on the embedded PostgreSQL, or one
created next to DATABASE_URL's and dropped at the end) and its own `ledger serve`.

    .venv/bin/python bench/savings.py --quick   # 1,000 instances, 100k then 1M events
    .venv/bin/python bench/savings.py           # 10,000 instances, 1M then 10M events
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import grpc
import psycopg2
import savings_history as history
from google.protobuf import timestamp_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from savings_reads import top_savers_reads
from servers import database, dsn, server_process
from sqlalchemy.engine import make_url

from ledger.v1 import savings_service_pb2 as pb
from ledger.v1.savings_service_pb2_grpc import SavingsServiceStub
from ledger_server.config import normalize_database_url
from ledger_server.storage.migrate import upgrade

GROWTH_TARGET = 1.5


@dataclass(frozen=True)
class Plan:
    instances: int
    nights: int  # of the first history; then ten times as many
    summary_calls: int
    ingest_instances: int
    ingest_nights: int
    sample: int


FULL = Plan(10_000, 50, 30, 400, 25, 5)
QUICK = Plan(1_000, 50, 15, 100, 20, 3)


@contextmanager
def savings_database() -> Iterator[str]:
    """A fresh, migrated database, dropped at the end."""
    given = normalize_database_url(os.environ.get("DATABASE_URL", ""))
    if not given:
        with database() as db:  # a fresh ledger_bench on the embedded PostgreSQL
            yield db.url
        return
    base = make_url(given)
    name = f"ledger_bench_savings_{os.getpid()}"
    admin = psycopg2.connect(dsn(base.set(database="postgres").render_as_string(False)))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def wait_serving(channel: grpc.Channel) -> None:
    check = health_pb2_grpc.HealthStub(channel)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if check.Check(health_pb2.HealthCheckRequest(), timeout=1).status == 1:
                return
        except grpc.RpcError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the server did not report SERVING within 60 s (.ledger/bench-server.log)")


def summary_latency(stub: SavingsServiceStub, calls: int) -> tuple[float, float, int]:
    """Median and 90th percentile seconds of GetSavingsSummary (last 30 days), and the
    savings it reported."""
    request = pb.GetSavingsSummaryRequest(
        range=pb.SavingsRange(preset=pb.SAVINGS_RANGE_PRESET_LAST_30_DAYS)
    )
    reply = pb.GetSavingsSummaryResponse()
    for _ in range(3):  # warm-up: plans cached, pages in memory
        reply = stub.GetSavingsSummary(request, timeout=120)
    took = []
    for _ in range(calls):
        started = time.perf_counter()
        reply = stub.GetSavingsSummary(request, timeout=120)
        took.append(time.perf_counter() - started)
    return statistics.median(took), statistics.quantiles(took, n=10)[-1], reply.savings_cents


def ingest_events(fleet: history.Fleet, plan: Plan, prefix: str) -> list[list[pb.InstanceEvent]]:
    """Per caller, its instances' events in time order, as wire events."""
    out = []
    for n in range(plan.ingest_instances):
        events = history.nights(fleet, n, 0, plan.ingest_nights)
        out.append(
            [
                pb.InstanceEvent(
                    event_id=f"{prefix}{e.event_id}",
                    instance_id=f"{prefix}{e.instance_id}",
                    kind=int(e.kind),  # type: ignore[arg-type]
                    occur_time=_stamp(e.occur_time),
                    source="bench",
                )
                for e in sorted(events, key=lambda e: e.occur_time)
            ]
        )
    return out


def _stamp(moment: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def ingest_rate(target: str, per_instance: list[list[pb.InstanceEvent]], callers: int) -> float:
    """Events/s of RecordInstanceEvents, batches of 100, `callers` threads."""
    with grpc.insecure_channel(target) as channel:
        stub = SavingsServiceStub(channel)
        for events in per_instance:  # the instances first, untimed
            stub.RecordInstance(
                pb.RecordInstanceRequest(
                    instance_id=events[0].instance_id, provider="aws", hourly_cost_cents=120,
                    effective_time=_stamp(datetime(2020, 1, 1, tzinfo=UTC)),
                ),
                timeout=60,
            )  # fmt: skip
    batches: list[list[list[pb.InstanceEvent]]] = [[] for _ in range(callers)]
    for index, events in enumerate(per_instance):
        mine = batches[index % callers]
        mine.extend(events[i : i + 100] for i in range(0, len(events), 100))
    errors: list[BaseException] = []

    def send(own: list[list[pb.InstanceEvent]]) -> None:
        try:
            with grpc.insecure_channel(target) as channel:
                stub = SavingsServiceStub(channel)
                for batch in own:
                    stub.RecordInstanceEvents(
                        pb.RecordInstanceEventsRequest(events=batch), timeout=120
                    )
        except BaseException as error:  # reported after the run
            errors.append(error)

    threads = [threading.Thread(target=send, args=(own,)) for own in batches]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"RecordInstanceEvents failed: {errors[0]}")
    return sum(len(events) for events in per_instance) / elapsed


def copy_rate(url: str, per_instance: list[list[pb.InstanceEvent]]) -> float:
    """Rows/s of one COPY of the same events into a table shaped like savings_events."""
    rows = [
        (
            f"copy-{e.event_id}",
            e.instance_id,
            e.kind,
            e.occur_time.ToDatetime(tzinfo=UTC),
            "bench",
            "",
        )
        for events in per_instance
        for e in events
    ]
    connection = psycopg2.connect(dsn(url))
    with connection, connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE ledger.bench_copy_events (LIKE ledger.savings_events INCLUDING ALL)"
        )
    started = time.perf_counter()
    with connection, connection.cursor() as cursor:
        history._copy(
            cursor, "bench_copy_events",
            "event_id, instance_id, kind, occur_time, source, schedule_id", iter(rows),
        )  # fmt: skip
    elapsed = time.perf_counter() - started
    with connection, connection.cursor() as cursor:
        cursor.execute("DROP TABLE ledger.bench_copy_events")
    connection.close()
    return len(rows) / elapsed


def check_sample(
    target: str,
    fleet: history.Fleet,
    nights: int,
    sample: int,
    metadata: tuple[tuple[str, str], ...] = (),
) -> None:
    """Replays sample instances' loaded events through the server under new ids, every
    start before every stop; the server must compute exactly what was loaded."""
    first = fleet.today - timedelta(days=nights + 3)
    day_range = pb.SavingsRange(start_date=first.isoformat(), end_date=fleet.today.isoformat())
    with grpc.insecure_channel(target) as channel:
        stub = SavingsServiceStub(channel)
        for n in range(sample):
            revision = fleet.revision(n)
            copy_id = f"check-{uuid.uuid4().hex[:8]}-{revision.instance_id}"
            stub.RecordInstance(
                pb.RecordInstanceRequest(
                    instance_id=copy_id, provider=revision.provider, engine=revision.engine,
                    hourly_cost_cents=revision.hourly_cost_cents,
                    schedule_id=revision.schedule_id,
                    effective_time=_stamp(history.EPOCH),
                ),
                timeout=60,
                metadata=metadata,
            )  # fmt: skip
            events = history.nights(fleet, n, 0, nights)
            events = events[1::2] + events[::2]  # every start before every stop
            for i in range(0, len(events), 250):
                stub.RecordInstanceEvents(
                    pb.RecordInstanceEventsRequest(
                        events=[
                            pb.InstanceEvent(
                                event_id=f"{copy_id}-{e.event_id}", instance_id=copy_id,
                                kind=int(e.kind), occur_time=_stamp(e.occur_time),  # type: ignore[arg-type]
                            )
                            for e in events[i : i + 250]
                        ]
                    ),
                    timeout=120,
                    metadata=metadata,
                )  # fmt: skip
            loaded = stub.GetInstanceSavings(
                pb.GetInstanceSavingsRequest(instance_id=revision.instance_id, range=day_range),
                metadata=metadata,
            )
            replayed = stub.GetInstanceSavings(
                pb.GetInstanceSavingsRequest(instance_id=copy_id, range=day_range),
                metadata=metadata,
            )
            if (loaded.savings_cents, loaded.stopped_minutes) != (
                replayed.savings_cents,
                replayed.stopped_minutes,
            ) or not loaded.savings_cents:
                raise RuntimeError(
                    f"loaded history of {revision.instance_id} does not match the server's "
                    f"own computation: {loaded.savings_cents} vs {replayed.savings_cents}"
                )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a tenth of the instances")
    parser.add_argument("--concurrency", type=int, default=4, help="ingest callers (4)")
    parser.add_argument(
        "--log-level", default=os.environ.get("LEDGER_LOG_LEVEL", "INFO"), help="the server's"
    )
    parser.add_argument(
        "--workers", type=int, default=int(os.environ.get("LEDGER_WORKERS") or 1),
        help="server processes (default LEDGER_WORKERS, else 1)",
    )  # fmt: skip
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    plan = QUICK if args.quick else FULL
    started = time.perf_counter()

    def say(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f}s] {message}", file=sys.stderr, flush=True)

    fleet = history.Fleet(plan.instances, datetime.now(UTC).date())
    with savings_database() as url:
        say(f"loading {plan.instances:,} instances x {plan.nights} nights")
        small = history.load(url, fleet, 0, plan.nights, new=True)
        with server_process(url, args.log_level, args.workers) as (target, _process):
            with grpc.insecure_channel(target) as channel:
                wait_serving(channel)
                stub = SavingsServiceStub(channel)
                say(f"R1: GetSavingsSummary over {small:,} events")
                r1 = summary_latency(stub, plan.summary_calls)
                reads1 = top_savers_reads(url)
                say(f"loading {plan.nights * 9} older nights")
                large = small + history.load(url, fleet, plan.nights, plan.nights * 10, new=False)
                say(f"R10: GetSavingsSummary over {large:,} events")
                r10 = summary_latency(stub, plan.summary_calls)
                reads10 = top_savers_reads(url)
            if r1[2] != r10[2]:
                raise RuntimeError(f"older history changed the last 30 days: {r1[2]} {r10[2]}")
            per_instance = ingest_events(fleet, plan, f"ingest-{os.getpid()}-")
            events = sum(len(e) for e in per_instance)
            say(f"I: RecordInstanceEvents, {events:,} events, {args.concurrency} callers")
            ingest = ingest_rate(target, per_instance, args.concurrency)
            say("COPY of the same rows")
            copy = copy_rate(url, per_instance)
            say(f"checking {plan.sample} loaded instances against the server's computation")
            check_sample(target, fleet, plan.nights * 10, plan.sample)
    growth = r10[0] / r1[0]
    print(
        "\n".join(
            [
                f"SavingsService ({'quick' if args.quick else 'full'}; {plan.instances:,} "
                f"instances, workers {args.workers}, {os.cpu_count()} CPUs)",
                "",
                "| figure | value |",
                "|---|---:|",
                f"| R1 GetSavingsSummary, last 30 days, {small:,} events (median / p90) | "
                f"{r1[0] * 1000:.1f} / {r1[1] * 1000:.1f} ms |",
                f"| R10 the same, {large:,} events over a 10x longer past (median / p90) | "
                f"{r10[0] * 1000:.1f} / {r10[1] * 1000:.1f} ms |",
                f"| R10 / R1 (target <= {GROWTH_TARGET}) | {growth:.2f}"
                f"{'' if growth <= GROWTH_TARGET else ' MISSED'} |",
                f"| top savers' query at R1: buffers, entries read | {reads1.buffers:,}, "
                f"{reads1.entries:,} ({', '.join(reads1.scans)}) |",
                f"| the same at R10 | {reads10.buffers:,}, {reads10.entries:,} "
                f"({', '.join(reads10.scans)}) |",
                f"| I RecordInstanceEvents, batches of 100, {args.concurrency} callers | "
                f"{ingest:,.0f} events/s |",
                f"| COPY of the same {events:,} rows | {copy:,.0f} rows/s |",
                f"| I / COPY | {ingest / copy:.3f} |",
                "",
                f"Loaded history checked: {plan.sample} instances replayed through "
                "RecordInstanceEvents give the loaded savings.",
            ]
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
