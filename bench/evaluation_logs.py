"""Evaluation log benchmarks: append throughput, and 500 followers of one evaluation.

  R     raw database limit for the same writes: bare psycopg2, one transaction per batch
        with the server's own statements (the evaluation's lock, its last sequence, the
        INSERT of one row of N lines, the NOTIFY), `--appenders` threads, lines/s.
  A     AppendEvaluationLogs through the real server (separate process): `--appenders`
        client streams, each appending batches of N lines to its own evaluation as fast
        as flow control allows; lines/s (target >= 100k) and the ratio to R.
  G0    GetEvaluation, `--readers` callers, with nothing else running: calls/s.
  F     500 followers (StreamEvaluationLogs with follow) of one evaluation on one server
        while a paced appender adds batches: every follower must receive every line,
        once and in order, and each stream must end by itself when the evaluation
        completes; append->receive latency p50/p99 (target p99 <= 100 ms), measured from
        just before a batch is written to when a follower has its message.
  G1    GetEvaluation during F, as a ratio to G0 (target >= 0.5x).
  F0    the machine's limit for F's fan-out: the same messages, at the same rate, to the
        same followers' process from a bare grpc.aio server (fanout_limit.py).

The followers' client runs in its own process, so its work does not count against the
server's figures in this process; it shares the machine's cores all the same.

Self-contained: starts its own PostgreSQL (embedded; or DATABASE_URL) and its own server.

    .venv/bin/python bench/evaluation_logs.py            # about a minute
    .venv/bin/python bench/evaluation_logs.py --quick    # about 30 seconds
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, MutableMapping, Sequence
from dataclasses import dataclass, field

import grpc
import psycopg2
from fanout_limit import RAW_FOLLOW, raw_fanout_process
from grpc_load import cycle_requests, drive, open_channels
from machine import Probe, environment
from report import render
from runs import Run
from servers import SERVER_LOG, database, dsn, server_process, wait_serving

from ledger.v1 import evaluation_log_pb2 as el
from ledger.v1 import evaluation_pb2 as ev
from ledger.v1 import evaluation_service_pb2 as es

SERVICE = "/ledger.v1.EvaluationService/"
CREATE = SERVICE + "CreateEvaluation"
UPDATE = SERVICE + "UpdateEvaluation"
GET = SERVICE + "GetEvaluation"
APPEND = SERVICE + "AppendEvaluationLogs"
STREAM = SERVICE + "StreamEvaluationLogs"
LINE = "x" * 60  # a typical log line's payload, after its batch tag


@dataclass(frozen=True)
class Plan:
    append_seconds: float
    batch_lines: int
    follow_seconds: float
    follow_batches_per_second: float
    follow_batch_lines: int
    read_seconds: float


FULL = Plan(6.0, 1000, 10.0, 10.0, 200, 4.0)
QUICK = Plan(3.0, 1000, 5.0, 10.0, 200, 2.0)
TINY = Plan(0.5, 100, 1.0, 10.0, 10, 0.3)  # --tiny: a smoke run of every phase, no figures


def batch_lines(index: int, count: int) -> list[str]:
    """Lines tagged with their batch, so a follower knows when the batch was sent."""
    return [f"b{index:08d} {line:05d} {LINE}" for line in range(count)]


def append_request(evaluation_id: str, lines: Sequence[str]) -> bytes:
    return es.AppendEvaluationLogsRequest(
        evaluation_id=evaluation_id, lines=[el.EvaluationLogLine(text=t) for t in lines]
    ).SerializeToString()


async def create_evaluation(channel: grpc.aio.Channel, name: str) -> str:
    request = es.CreateEvaluationRequest(
        evaluation_id=f"bench_{name}_{uuid.uuid4().hex[:12]}", code="print('hi')"
    )
    create: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(CREATE)
    reply = await create(request.SerializeToString(), timeout=30)
    return es.CreateEvaluationResponse.FromString(reply).evaluation.evaluation_id


async def complete(channel: grpc.aio.Channel, evaluation_id: str) -> None:
    request = es.UpdateEvaluationRequest(
        evaluation_id=evaluation_id, status=ev.EVALUATION_STATUS_COMPLETED
    )
    update: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(UPDATE)
    await update(request.SerializeToString(), timeout=30)


# --- R: the database's own limit for these writes -----------------------------------------


def raw_appends(url: str, lines: int, evaluation_ids: Sequence[str], seconds: float) -> Run:
    """Batches written by bare psycopg2 with the server's statements, one trip each."""
    texts = batch_lines(0, lines)
    run = Run()
    deadline = time.perf_counter() + seconds
    lock = threading.Lock()

    def worker(evaluation_id: str) -> None:
        connection = psycopg2.connect(dsn(url))
        statement = (
            "SELECT pg_advisory_xact_lock(hashtextextended(%(lock)s, 0));"
            "INSERT INTO ledger.evaluation_log_batches (evaluation_id, first_sequence, "
            "last_sequence, line_count, text_characters, lines, streams) SELECT %(id)s, "
            "coalesce(max(last_sequence), 0) + 1, coalesce(max(last_sequence), 0) + %(n)s, "
            "%(n)s, %(chars)s, %(lines)s, %(streams)s FROM ledger.evaluation_log_batches "
            "WHERE evaluation_id = %(id)s;"
            "SELECT pg_notify('ledger_changes', %(payload)s)"
        )
        parameters = {
            "lock": f"evaluation:{evaluation_id}",
            "id": evaluation_id,
            "n": lines,
            "chars": sum(map(len, texts)),
            "lines": texts,
            "streams": [1] * lines,
            "payload": f"evaluation_logs:{evaluation_id}",
        }
        done = 0
        latencies: list[float] = []
        with connection.cursor() as cursor:
            while True:  # at least one batch, so a tiny window still proves the writes
                started = time.perf_counter()
                cursor.execute(statement, parameters)
                connection.commit()
                latencies.append(time.perf_counter() - started)
                done += lines
                if started >= deadline:
                    break
        connection.close()
        with lock:
            run.calls += done
            run.latencies.extend(latencies)

    started = time.perf_counter()
    workers = [threading.Thread(target=worker, args=(e,)) for e in evaluation_ids]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    run.seconds = time.perf_counter() - started
    return run


# --- A: appends through the server --------------------------------------------------------


async def appends(
    channels: Sequence[grpc.aio.Channel], plan: Plan, appenders: int
) -> tuple[Run, int]:
    """Client streams appending as fast as flow control allows; lines/s stored."""
    evaluation_ids = [await create_evaluation(channels[0], f"append{i}") for i in range(appenders)]
    run = Run()
    deadline = time.perf_counter() + plan.append_seconds
    stored = 0

    async def appender(index: int) -> None:
        nonlocal stored
        request = append_request(evaluation_ids[index], batch_lines(index, plan.batch_lines))
        method: grpc.aio.StreamUnaryMultiCallable[bytes, bytes] = channels[
            index % len(channels)
        ].stream_unary(APPEND)
        call = method(timeout=120)
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            await call.write(request)
            run.latencies.append(time.perf_counter() - started)
        await call.done_writing()
        reply = es.AppendEvaluationLogsResponse.FromString(await call)
        stored += reply.stored_line_count

    started = time.perf_counter()
    await asyncio.gather(*(appender(i) for i in range(appenders)))
    run.seconds = time.perf_counter() - started
    run.calls = stored
    return run, stored


# --- F: the followers, in a process of their own -------------------------------------------


@dataclass
class FollowResult:
    followers: int
    complete: int  # followers that received every line, in order, and saw the stream end
    lines_each: list[int] = field(default_factory=list)
    # (batch index, time.time() on arrival) of every message every follower received; the
    # parent sets them against when it sent each batch (one clock: the same machine).
    arrivals: list[tuple[int, float]] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def follow_process(
    target: str,
    evaluation_id: str,
    followers: int,
    ready: multiprocessing.synchronize.Event,
    results: multiprocessing.queues.Queue[str],
    path: str = STREAM,
) -> None:
    result = asyncio.run(_follow_all(target, evaluation_id, followers, ready, path))
    results.put(json.dumps(result.__dict__))


async def _follow_all(
    target: str,
    evaluation_id: str,
    followers: int,
    ready: multiprocessing.synchronize.Event,
    path: str,
) -> FollowResult:
    # At most 100 streams per connection (the server's limit): 50 followers per channel.
    channels = open_channels(target, (followers + 49) // 50)
    request = es.StreamEvaluationLogsRequest(
        evaluation_id=evaluation_id, follow=True
    ).SerializeToString()
    parsed: dict[bytes, tuple[int, int, int]] = {}  # message -> first, last, batch index
    result = FollowResult(followers, 0)

    async def follower(index: int) -> None:
        method: grpc.aio.UnaryStreamMultiCallable[bytes, bytes] = channels[
            index % len(channels)
        ].unary_stream(path)
        call = method(request)
        expected = 1
        lines = 0
        try:
            async for data in _messages(call):
                info = parsed.get(data)
                if info is None:
                    message = es.StreamEvaluationLogsResponse.FromString(data)
                    first = message.lines[0]
                    info = (first.sequence, message.last_sequence, int(first.text[1:9]))
                    parsed[data] = info
                first_sequence, last_sequence, batch = info
                if first_sequence != expected:
                    raise AssertionError(f"expected line {expected}, got {first_sequence}")
                expected = last_sequence + 1
                lines += last_sequence - first_sequence + 1
                result.arrivals.append((batch, time.time()))
        except (grpc.aio.AioRpcError, AssertionError) as error:
            result.errors.append(str(error)[:200])
            return
        result.lines_each.append(lines)
        result.complete += 1

    tasks = [asyncio.create_task(follower(i)) for i in range(followers)]
    await asyncio.sleep(1.0)  # every stream open and waiting before the appends start
    ready.set()
    await asyncio.gather(*tasks)
    for channel in channels:
        await channel.close()
    return result


async def _messages(call: grpc.aio.UnaryStreamCall[bytes, bytes]) -> AsyncIterator[bytes]:
    while True:
        data = await call.read()
        if data is grpc.aio.EOF:
            return
        yield data  # type: ignore[misc]


async def paced_appends(
    channel: grpc.aio.Channel,
    evaluation_id: str,
    plan: Plan,
    sent_at: MutableMapping[int, float],
) -> int:
    """Batches at a steady rate, each tagged with its index; returns lines appended."""
    method: grpc.aio.StreamUnaryMultiCallable[bytes, bytes] = channel.stream_unary(APPEND)
    call = method(timeout=120)
    interval = 1 / plan.follow_batches_per_second
    batches = int(plan.follow_seconds * plan.follow_batches_per_second)
    start = time.perf_counter()
    for index in range(batches):
        delay = start + index * interval - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        request = append_request(evaluation_id, batch_lines(index, plan.follow_batch_lines))
        sent_at[index] = time.time()
        await call.write(request)
    await call.done_writing()
    reply = es.AppendEvaluationLogsResponse.FromString(await call)
    return int(reply.stored_line_count)


def raw_fanout(followers: int, plan: Plan) -> FollowResult:
    """F0: the followers' process against fanout_limit's bare server (see there)."""
    spawn = multiprocessing.get_context("spawn")
    batches = int(plan.follow_seconds * plan.follow_batches_per_second)
    lines = [batch_lines(i, plan.follow_batch_lines) for i in range(batches)]
    port: multiprocessing.Queue[int] = spawn.Queue()
    start, ready = spawn.Event(), spawn.Event()
    sent: multiprocessing.Queue[str] = spawn.Queue()
    received: multiprocessing.Queue[str] = spawn.Queue()
    server = spawn.Process(
        target=raw_fanout_process,
        args=(port, start, plan.follow_batches_per_second, lines, sent),
    )
    server.start()
    target = f"127.0.0.1:{port.get(True, 60)}"
    child = spawn.Process(
        target=follow_process, args=(target, "", followers, ready, received, RAW_FOLLOW)
    )
    child.start()
    ready.wait(60)
    start.set()
    sent_at = json.loads(sent.get(True, 180))
    result = FollowResult(**json.loads(received.get(True, 180)))
    server.join(10)
    child.join(10)
    result.latencies = [arrived - sent_at[batch] for batch, arrived in result.arrivals]
    return result


# --- the run --------------------------------------------------------------------------------


@dataclass
class Results:
    raw: Run
    append: Run
    idle: Run
    busy: Run
    follow: FollowResult
    limit: FollowResult  # F0
    follow_lines: int
    appenders: int
    plan: Plan
    mode: str


async def measure(args: argparse.Namespace, plan: Plan, url: str, probe: Probe) -> Results:
    say = args.progress
    with server_process(url, args.log_level, 1) as (target, process):
        probe.server_pid = process.pid
        channels = open_channels(target, max(args.appenders, args.readers))
        try:
            await wait_serving(channels[0], process)
            say(f"server serving on {target} (pid {process.pid}); log in {SERVER_LOG}")

            say(f"R: raw appends, {args.appenders} threads")
            raw_ids = [
                await create_evaluation(channels[0], f"raw{i}") for i in range(args.appenders)
            ]
            raw = await asyncio.to_thread(
                raw_appends, url, plan.batch_lines, raw_ids, plan.append_seconds
            )
            say(f"A: AppendEvaluationLogs, {args.appenders} streams")
            append, _ = await appends(channels, plan, args.appenders)

            followed = await create_evaluation(channels[0], "followed")
            get = es.GetEvaluationRequest(evaluation_id=followed).SerializeToString()
            say(f"G0: GetEvaluation idle, {args.readers} callers")
            idle = await drive(
                channels, GET, cycle_requests([get]), args.readers, plan.read_seconds, probe
            )

            say(f"F: {args.followers} followers in a process of their own")
            # Spawned, not forked: gRPC's threads do not survive a fork.
            spawn = multiprocessing.get_context("spawn")
            sent_at: dict[int, float] = {}
            ready = spawn.Event()
            queue: multiprocessing.Queue[str] = spawn.Queue()
            child = spawn.Process(
                target=follow_process,
                args=(target, followed, args.followers, ready, queue),
            )
            child.start()
            await asyncio.to_thread(ready.wait, 60)
            say("F: paced appends, and G1: GetEvaluation meanwhile")
            appending = asyncio.create_task(paced_appends(channels[0], followed, plan, sent_at))
            busy = await drive(
                channels, GET, cycle_requests([get]), args.readers, plan.follow_seconds, probe
            )
            follow_lines = await appending
            await complete(channels[0], followed)  # every follower's stream now ends
            payload = await asyncio.to_thread(queue.get, True, 120)
            child.join(10)
            follow = FollowResult(**json.loads(payload))
            follow.latencies = [
                arrived - sent_at[batch] for batch, arrived in follow.arrivals if batch in sent_at
            ]
        finally:
            for channel in channels:
                await channel.close()
        probe.server_pid = None
    say(f"F0: the same fan-out from a bare grpc.aio server, {args.followers} followers")
    limit = await asyncio.to_thread(raw_fanout, args.followers, plan)
    return Results(
        raw,
        append,
        idle,
        busy,
        follow,
        limit,
        follow_lines,
        args.appenders,
        plan,
        "tiny" if args.tiny else "quick" if args.quick else "full",
    )


def percentile(values: Sequence[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered)) - 1))]


def report(r: Results) -> str:
    append_rate = r.append.rate
    raw_rate = r.raw.rate
    ratio = r.busy.rate / r.idle.rate if r.idle.rate else 0.0
    p50 = percentile(r.follow.latencies, 50) * 1000
    p99 = percentile(r.follow.latencies, 99) * 1000
    limit_p99 = percentile(r.limit.latencies, 99) * 1000
    every = r.follow.complete == r.follow.followers and all(
        n == r.follow_lines for n in r.follow.lines_each
    )
    rows = [
        ["R raw appends", f"{raw_rate:,.0f} lines/s", "", ""],
        [
            f"A AppendEvaluationLogs ({r.appenders} streams)",
            f"{append_rate:,.0f} lines/s",
            f"{append_rate / raw_rate:.2f}x R" if raw_rate else "",
            "ok" if append_rate >= 100_000 else "BELOW 100k",
        ],
        [
            f"F {r.follow.followers} followers, each got all {r.follow_lines:,} lines",
            f"{r.follow.complete}/{r.follow.followers} complete",
            "",
            "ok" if every else "MISSED LINES",
        ],
        [
            "F append->receive latency",
            f"p50 {p50:.1f} ms, p99 {p99:.1f} ms",
            f"{len(r.follow.latencies):,} samples",
            "ok" if p99 <= 100 else "ABOVE 100 ms",
        ],
        [
            "F0 bare grpc.aio fan-out, same followers",
            f"p50 {percentile(r.limit.latencies, 50) * 1000:.1f} ms, p99 {limit_p99:.1f} ms",
            f"F p99 = {p99 / limit_p99:.2f}x F0 p99" if limit_p99 else "",
            f"{r.limit.complete}/{r.limit.followers} complete",
        ],
        ["G0 GetEvaluation idle", f"{r.idle.rate:,.0f} calls/s", "", ""],
        [
            "G1 GetEvaluation during F",
            f"{r.busy.rate:,.0f} calls/s",
            f"{ratio:.2f}x G0",
            "ok" if ratio >= 0.5 else "BELOW 0.5x",
        ],
    ]
    lines = [
        f"evaluation logs ({r.mode}): batches of {r.plan.batch_lines} lines to append; "
        f"followers fed {r.plan.follow_batches_per_second:g} batches/s of "
        f"{r.plan.follow_batch_lines} lines"
    ]
    lines += render(["measure", "figure", "ratio", "target"], rows)
    if r.follow.errors:
        lines.append(f"follower errors: {r.follow.errors[:3]}")
    if r.append.first_error or r.busy.errors or r.idle.errors:
        lines.append(f"errors: {r.append.first_error or r.busy.first_error or r.idle.first_error}")
    cpu = r.busy.cpu
    lines.append(
        f"CPU during F, as shares of all cores: machine {cpu.share(cpu.busy)}, server "
        f"{cpu.share(cpu.server)}, PostgreSQL {cpu.share(cpu.postgres)}, this client "
        f"{cpu.share(cpu.client)}, the rest (the followers' process, other users) "
        f"{cpu.share(cpu.others)}"
    )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="short windows (~30 s in all)")
    parser.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--appenders", type=int, default=4, help="append streams (default 4)")
    parser.add_argument("--readers", type=int, default=8, help="GetEvaluation callers (8)")
    parser.add_argument("--followers", type=int, default=500, help="followers (default 500)")
    parser.add_argument(
        "--log-level",
        default=os.environ.get("LEDGER_LOG_LEVEL", "INFO"),
        help="the server's log level (default LEDGER_LOG_LEVEL, else INFO as deployed)",
    )
    # Accepted for `run_all` (which passes every option on); one server process here.
    parser.add_argument("--workers", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    started = time.perf_counter()

    def progress(message: str) -> None:
        print(f"[{time.perf_counter() - started:5.1f}s] {message}", file=sys.stderr, flush=True)

    args.progress = progress
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    plan = TINY if args.tiny else QUICK if args.quick else FULL
    args.progress("starting PostgreSQL")
    with database() as db:
        probe = Probe(postmaster_pid=db.postmaster_pid)
        machine = environment(db.description)
        results = asyncio.run(measure(args, plan, db.url, probe))
        args.progress("stopping")
    print(machine)
    print(report(results))
    failed = (
        results.follow.complete != results.follow.followers
        or results.append.calls == 0
        or results.busy.errors
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
