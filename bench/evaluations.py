"""EvaluationService benchmark: GetEvaluation against the cheapest RPC the server serves.

  C   grpc.health.v1 Health/Check on the same server (the machine's own limit for an
      RPC through this server: no database, no work).
  G   GetEvaluation (BASIC view) of evaluations with a few versions each, 16 concurrent
      callers: each call reads the latest version's number from PostgreSQL and the
      version itself from the server's version cache. Reported as G/C, measured in
      alternating rounds so a drift of the shared machine hits both alike.
  U   UpdateEvaluation appending versions (metadata changes, distinct evaluations), with
      their timeline and statistics rows: versions/s, for scale (no limit to set it
      against here; the raw write limits are results_store's A1 and COPY).

Self-contained like results_store.py: its own PostgreSQL (embedded, or DATABASE_URL, used
as given and migrated: give it a database of its own), its own `ledger serve` on
127.0.0.1 and a throw-away blob directory.

    .venv/bin/python bench/evaluations.py --quick    # about 20 seconds
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from google.protobuf import struct_pb2
from grpc_health.v1 import health_pb2
from grpc_load import HEALTH_CHECK, cycle_requests, drive, open_channels
from machine import Probe, environment
from runs import Run, paired_ratios
from servers import SERVER_LOG, database, server_process, wait_serving

from ledger.v1 import evaluation_pb2 as ev
from ledger.v1 import evaluation_service_pb2 as es

SERVICE = "/ledger.v1.EvaluationService"
GET_EVALUATION = f"{SERVICE}/GetEvaluation"
UPDATE_EVALUATION = f"{SERVICE}/UpdateEvaluation"
CREATE_EVALUATION = f"{SERVICE}/CreateEvaluation"


@dataclass(frozen=True)
class Plan:
    evaluations: int
    warmup: float
    window: float
    rounds: int
    update: float


FULL = Plan(evaluations=2000, warmup=2.0, window=1.0, rounds=10, update=3.0)
QUICK = Plan(evaluations=300, warmup=0.8, window=0.6, rounds=4, update=1.5)


async def create_evaluations(channel: object, count: int) -> list[str]:
    create = channel.unary_unary(  # type: ignore[attr-defined]
        CREATE_EVALUATION,
        request_serializer=es.CreateEvaluationRequest.SerializeToString,
        response_deserializer=es.CreateEvaluationResponse.FromString,
    )
    update = channel.unary_unary(  # type: ignore[attr-defined]
        UPDATE_EVALUATION,
        request_serializer=es.UpdateEvaluationRequest.SerializeToString,
        response_deserializer=es.UpdateEvaluationResponse.FromString,
    )
    ids = []
    for n in range(count):
        created = await create(
            es.CreateEvaluationRequest(code=f"print({n})", metadata=struct({"n": n}))
        )
        evaluation_id = created.evaluation.evaluation_id
        await update(
            es.UpdateEvaluationRequest(
                evaluation_id=evaluation_id, status=ev.EVALUATION_STATUS_RUNNING
            )
        )
        # Running, so the update phase may append more versions to it.
        await update(es.UpdateEvaluationRequest(evaluation_id=evaluation_id, output="ok\n"))
        ids.append(evaluation_id)
    return ids


def struct(values: dict[str, int]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(values)
    return message


def update_requests(ids: Sequence[str]) -> Callable[[], bytes]:
    counter = itertools.count()

    def next_request() -> bytes:
        n = next(counter)
        return es.UpdateEvaluationRequest(
            evaluation_id=ids[n % len(ids)], metadata_changes=struct({"step": n})
        ).SerializeToString()

    return next_request


async def measure(args: argparse.Namespace, plan: Plan, url: str, probe: Probe) -> str:
    say = args.progress
    concurrency = args.concurrency
    with server_process(url, args.log_level, args.workers) as (target, process):
        probe.server_pid = process.pid
        channels = open_channels(target, concurrency)
        try:
            await wait_serving(channels[0], process)
            say(f"server on {target} (pid {process.pid}); log in {SERVER_LOG}")
            say(f"creating {plan.evaluations} running evaluations, 3 versions each")
            ids = await create_evaluations(channels[0], plan.evaluations)
            reads = [es.GetEvaluationRequest(evaluation_id=i).SerializeToString() for i in ids]
            empty = health_pb2.HealthCheckRequest(service="").SerializeToString()
            next_check, next_read = cycle_requests([empty]), cycle_requests(reads)
            say("warming up")
            await drive(channels, HEALTH_CHECK, next_check, concurrency, plan.warmup, probe)
            await drive(channels, GET_EVALUATION, next_read, concurrency, plan.warmup, probe)
            check, get = Run(), Run()
            for round_ in range(plan.rounds):
                say(f"round {round_ + 1}/{plan.rounds}: Health/Check, GetEvaluation")
                check.merge(
                    await drive(channels, HEALTH_CHECK, next_check, concurrency, plan.window, probe)
                )
                get.merge(
                    await drive(
                        channels, GET_EVALUATION, next_read, concurrency, plan.window, probe
                    )
                )
            say("UpdateEvaluation")
            update = await drive(
                channels, UPDATE_EVALUATION, update_requests(ids), concurrency, plan.update, probe
            )
        finally:
            for channel in channels:
                await channel.close()
    ratios = paired_ratios(get, check)
    errors = check.errors + get.errors + update.errors
    lines = [
        f"mode {'quick' if args.quick else 'full'}, {concurrency} callers, "
        f"{args.workers} worker(s), {plan.evaluations} evaluations",
        f"C  Health/Check      {check.rate:9.0f} calls/s   p50 {check.percentile(50) * 1e3:.2f} ms",
        f"G  GetEvaluation     {get.rate:9.0f} calls/s   p50 {get.percentile(50) * 1e3:.2f} ms"
        f"   p99 {get.percentile(99) * 1e3:.2f} ms",
        f"G/C {statistics.median(ratios):.2f} (median of {len(ratios)} rounds: "
        f"{', '.join(f'{r:.2f}' for r in ratios)})",
        f"U  UpdateEvaluation  {update.rate:9.0f} versions/s   p50 "
        f"{update.percentile(50) * 1e3:.2f} ms   p99 {update.percentile(99) * 1e3:.2f} ms",
        f"errors: {errors}"
        + (f" (first: {get.first_error or update.first_error})" if errors else ""),
    ]
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="short windows (~20 s in all)")
    parser.add_argument("--concurrency", type=int, default=16, help="callers (default 16)")
    parser.add_argument(
        "--log-level", default=os.environ.get("LEDGER_LOG_LEVEL", "INFO"), help="server log level"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("LEDGER_WORKERS") or 1),
        help="server processes (default LEDGER_WORKERS, else 1)",
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
    with tempfile.TemporaryDirectory(prefix="ledger-bench-blobs-") as blobs:
        os.environ.setdefault("LEDGER_BLOB_DIR", blobs)
        args.progress("starting PostgreSQL")
        with database() as db:
            probe = Probe(postmaster_pid=db.postmaster_pid)
            machine = environment(db.description)
            text = asyncio.run(measure(args, plan, db.url, probe))
    print("\n".join(f"{key}: {value}" for key, value in machine.items()))
    print(text)
    return 1 if "errors: 0" not in text else 0


if __name__ == "__main__":
    sys.exit(main())
