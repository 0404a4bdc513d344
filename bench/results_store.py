"""ResultsStore benchmarks, reported as ratios to this machine's own limits.

Absolute times on a shared machine drift from run to run, so every figure here is set
against a limit measured in the same run, on the same machine, at the same moment:

  A1    raw database limit for writes: bare psycopg2, 16 threads, one round trip per
        estimate carrying the server's own statements (the rows StoreEstimate writes,
        the request id's claim included).
  A5    the earlier write baseline: one INSERT per table, five round trips, no request id.
  COPY  raw COPY of job_resources rows (an upper bound for bulk row ingest).
  S     StoreEstimate through the real server (separate process), 16 concurrent callers,
        every request with a request_id as the SDK sends it: estimates/s as a ratio to
        A1 (target >= 0.5x).
  C     grpc.health.v1 Health/Check on the same server: the cheapest RPC it serves.
  G     GetJob, hot: jobs the server has cached, as a ratio to C (target >= 0.7x).
  B     raw database limit for reads: bare psycopg2 reading jobs rows with GetJob's own
        query, one transaction each, 16 threads.
  GC    GetJob, cold: each call a job no server process has read or stored (more of them
        than the job cache holds), as a ratio to B (target >= 0.5x).

Self-contained: starts its own PostgreSQL (embedded, unix socket; or DATABASE_URL when
set) and its own server on 127.0.0.1, and stops both at the end.

    .venv/bin/python bench/results_store.py            # about two minutes
    .venv/bin/python bench/results_store.py --quick    # about 40 seconds

This script holds the plan (which windows, in which order) and the command line; the
pieces live next to it: workload.py (the estimates), limits.py (A1, A5, COPY and B),
grpc_load.py (the callers of S, C, G and GC), servers.py (PostgreSQL and `ledger serve`),
machine.py (CPU from /proc, the environment), runs.py (what a window counted) and
report.py (the tables).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

from grpc_health.v1 import health_pb2
from grpc_load import (
    GET_JOB,
    HEALTH_CHECK,
    STORE_ESTIMATE,
    cycle_requests,
    drive,
    open_channels,
    store_requests,
)
from limits import (
    bare_reads,
    baseline_a,
    baseline_a1,
    check_same_rows,
    copy_limit,
    insert_read_pool,
    render_pool,
)
from machine import Probe, environment
from report import Results, report
from runs import Run
from servers import SERVER_LOG, Database, database, server_process, wait_serving
from workload import estimate_rows, make_estimate, request_body, unique_request

from ledger.v1 import results_store_service_pb2 as rs


@dataclass(frozen=True)
class Plan:
    """How long each window lasts and how many rounds of each pair to run."""

    warmup: float
    baseline: float
    store: float
    rounds: int
    read: float
    read_rounds: int
    copy_jobs: int
    cold: float
    cold_rounds: int
    cold_jobs: int  # rows never read by the server; far more than its 10,000-job cache


# Windows in seconds. Measurements alternate round by round, so a drift of the machine's
# speed during the run hits a figure and its limit alike.
FULL = Plan(
    warmup=2.0,
    baseline=3.0,
    store=4.0,
    rounds=4,
    read=1.0,
    read_rounds=10,
    copy_jobs=4000,
    cold=1.0,
    cold_rounds=6,
    cold_jobs=120_000,
)
QUICK = Plan(
    warmup=0.8,
    baseline=2.0,
    store=2.5,
    rounds=1,
    read=0.6,
    read_rounds=3,
    copy_jobs=800,
    cold=0.6,
    cold_rounds=3,
    cold_jobs=40_000,
)


class Once:
    """Hands out each id once; counts the calls that had to take one again."""

    def __init__(self, ids: Sequence[str]) -> None:
        self._ids = ids
        self._next = 0
        self.repeated = 0

    def __call__(self) -> str:
        index = self._next
        self._next += 1
        if index >= len(self._ids):
            self.repeated += 1
        return self._ids[index % len(self._ids)]

    @property
    def used(self) -> int:
        return min(self._next, len(self._ids))


async def measure(args: argparse.Namespace, plan: Plan, db: Database, probe: Probe) -> Results:
    """Row check and warm-up, then rounds of A/S, COPY, then rounds of C/G."""
    rng = random.Random(20261123)
    specs = [make_estimate(rng, i, args.resources) for i in range(64)]
    bodies = [request_body(s) for s in specs]
    rows = [estimate_rows(s) for s in specs]
    one_trip = render_pool(db.url, specs)
    concurrency = args.concurrency
    say = args.progress
    machine = environment(db.description)  # before the run loads the machine

    with server_process(db.url, args.log_level, args.workers) as (target, process):
        probe.server_pid = process.pid
        channels = open_channels(target, concurrency)
        try:
            channel = channels[0]
            await wait_serving(channel, process)
            say(
                f"server serving on {target} (pid {process.pid}, "
                f"{args.workers} worker{'s' if args.workers > 1 else ''}); "
                f"log in {SERVER_LOG}"
            )

            first = await channel.unary_unary(
                STORE_ESTIMATE,
                request_serializer=rs.StoreEstimateRequest.SerializeToString,
                response_deserializer=rs.StoreEstimateResponse.FromString,
            )(
                rs.StoreEstimateRequest.FromString(
                    unique_request(bodies[0], "row-check", f"row-check-{os.getpid()}")
                )
            )
            check_same_rows(db.url, specs[0], first.job.job_id)
            say("row check: baselines A1 and A5 write the same rows as StoreEstimate")

            say("warming up")
            await asyncio.to_thread(baseline_a, db.url, rows, concurrency, plan.warmup, probe)
            await asyncio.to_thread(baseline_a1, db.url, one_trip, concurrency, plan.warmup, probe)
            next_store = store_requests(bodies)
            await drive(channels, STORE_ESTIMATE, next_store, concurrency, plan.warmup, probe)

            baseline, one_trip_baseline, store = Run(), Run(), Run()
            stored: list[bytes] = []
            for round_ in range(plan.rounds):
                say(f"round {round_ + 1}/{plan.rounds}: baseline A5")
                baseline.merge(
                    await asyncio.to_thread(
                        baseline_a, db.url, rows, concurrency, plan.baseline, probe
                    )
                )
                say(f"round {round_ + 1}/{plan.rounds}: baseline A1")
                one_trip_baseline.merge(
                    await asyncio.to_thread(
                        baseline_a1, db.url, one_trip, concurrency, plan.baseline, probe
                    )
                )
                say(f"round {round_ + 1}/{plan.rounds}: StoreEstimate")
                store.merge(
                    await drive(
                        channels,
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
            await drive(channels, HEALTH_CHECK, next_check, concurrency, plan.warmup / 2, probe)
            # Every worker caches the jobs it has served: warm up long enough for each of
            # them to have seen every job, so the rounds measure the steady state.
            await drive(channels, GET_JOB, next_read, concurrency, plan.warmup * 2, probe)
            check, get_job = Run(), Run()
            for round_ in range(plan.read_rounds):
                say(f"round {round_ + 1}/{plan.read_rounds}: Health/Check, GetJob")
                check.merge(
                    await drive(channels, HEALTH_CHECK, next_check, concurrency, plan.read, probe)
                )
                get_job.merge(
                    await drive(channels, GET_JOB, next_read, concurrency, plan.read, probe)
                )

            # Cold reads: jobs written behind the server's back, each read once, so no
            # call finds its job in any worker's cache. B reads other rows of the same
            # pool, so every read of both finds its row in PostgreSQL's buffers alike.
            say(f"cold reads: writing {plan.cold_jobs:,} jobs no server has seen")
            pool = await asyncio.to_thread(insert_read_pool, db.url, rows[0].job, plan.cold_jobs)
            # A third for GC, each read once: more jobs than GC reads in the run and than
            # a worker's cache holds. B may read its rows more than once: it caches nothing.
            third = len(pool) // 3
            next_cold_id, next_bare_id = Once(pool[:third]), Once(pool[third:])

            def next_cold() -> bytes:
                return rs.GetJobRequest(job_id=next_cold_id()).SerializeToString()

            say("warming up cold reads")
            await asyncio.to_thread(
                bare_reads, db.url, next_bare_id, concurrency, plan.warmup / 2, probe
            )
            await drive(channels, GET_JOB, next_cold, concurrency, plan.warmup / 2, probe)
            bare, cold = Run(), Run()
            for round_ in range(plan.cold_rounds):
                say(f"round {round_ + 1}/{plan.cold_rounds}: bare read B, cold GetJob")
                bare.merge(
                    await asyncio.to_thread(
                        bare_reads, db.url, next_bare_id, concurrency, plan.cold, probe
                    )
                )
                cold.merge(await drive(channels, GET_JOB, next_cold, concurrency, plan.cold, probe))
        finally:
            for open_channel in channels:
                await open_channel.close()
        probe.server_pid = None

    return Results(
        environment=machine,
        baseline=baseline,
        one_trip=one_trip_baseline,
        store=store,
        copy_rows_per_s=copy_rate,
        copy_rows=copy_rows,
        check=check,
        get_job=get_job,
        resources=args.resources,
        concurrency=concurrency,
        get_job_ids=len(job_ids),
        bare=bare,
        cold=cold,
        cold_ids=next_cold_id.used,
        cold_repeats=next_cold_id.repeated,
        mode="quick" if args.quick else "full",
        log_level=args.log_level,
        workers=args.workers,
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="short windows (~40 s in all)")
    parser.add_argument("--concurrency", type=int, default=16, help="callers (default 16)")
    parser.add_argument("--resources", type=int, default=25, help="per estimate (default 25)")
    parser.add_argument(
        "--log-level",
        default=os.environ.get("LEDGER_LOG_LEVEL", "INFO"),
        help="the server's log level (default LEDGER_LOG_LEVEL, else INFO as deployed)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("LEDGER_WORKERS") or os.cpu_count() or 1),
        help="server processes, `ledger serve --workers` (default LEDGER_WORKERS, else one "
        "per core)",
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
    runs = (
        results.baseline,
        results.one_trip,
        results.store,
        results.check,
        results.get_job,
        results.bare,
        results.cold,
    )
    return 1 if any(run.errors for run in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
