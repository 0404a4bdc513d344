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

This script holds the plan (which windows, in which order) and the command line; the
pieces live next to it: workload.py (the estimates), limits.py (A and COPY),
grpc_load.py (the callers of S, C and G), servers.py (PostgreSQL and `ledger serve`),
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
from limits import baseline_a, check_same_rows, copy_limit
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


# Windows in seconds. Measurements alternate round by round, so a drift of the machine's
# speed during the run hits a figure and its limit alike.
FULL = Plan(warmup=2.0, baseline=3.0, store=4.0, rounds=4, read=1.0, read_rounds=10, copy_jobs=4000)
QUICK = Plan(warmup=0.8, baseline=2.0, store=2.5, rounds=1, read=0.6, read_rounds=3, copy_jobs=800)


async def measure(args: argparse.Namespace, plan: Plan, db: Database, probe: Probe) -> Results:
    """Row check and warm-up, then rounds of A/S, COPY, then rounds of C/G."""
    rng = random.Random(20261123)
    specs = [make_estimate(rng, i, args.resources) for i in range(64)]
    bodies = [request_body(s) for s in specs]
    rows = [estimate_rows(s) for s in specs]
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
            )(rs.StoreEstimateRequest.FromString(unique_request(bodies[0], "row-check")))
            check_same_rows(db.url, specs[0], first.job.job_id)
            say("row check: baseline A writes the same rows as StoreEstimate")

            say("warming up")
            await asyncio.to_thread(baseline_a, db.url, rows, concurrency, plan.warmup, probe)
            next_store = store_requests(bodies)
            await drive(channels, STORE_ESTIMATE, next_store, concurrency, plan.warmup, probe)

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
        finally:
            for open_channel in channels:
                await open_channel.close()
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
        workers=args.workers,
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="short windows (~20 s in all)")
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
    failed = any(run.errors for run in (results.baseline, results.store, results.get_job))
    return 1 if failed or results.check.errors else 0


if __name__ == "__main__":
    sys.exit(main())
