"""The printed report: the figures as ratios to their limits, and where the CPU went."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from runs import Run, paired_ratios

STORE_TARGET = 0.5
GET_JOB_TARGET = 0.7
COLD_GET_JOB_TARGET = 0.5


@dataclass
class Results:
    environment: dict[str, str]
    baseline: Run  # A5
    one_trip: Run  # A1
    store: Run
    copy_rows_per_s: float
    copy_rows: int
    check: Run
    get_job: Run
    resources: int
    concurrency: int
    get_job_ids: int
    mode: str
    log_level: str
    workers: int
    bare: Run
    cold: Run
    cold_ids: int
    cold_repeats: int


def render(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A Markdown table: first column left-aligned, the others right-aligned."""
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        cells = [c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(row)]
        return "| " + " | ".join(cells) + " |"

    rule = (
        "|"
        + "|".join(("-" * (w + 1) + ":") if i else "-" * (w + 2) for i, w in enumerate(widths))
        + "|"
    )
    return [line(header), rule, *(line(row) for row in rows)]


Row = tuple[str, str, str, str, str, str, str]


def rounds(ratios: Sequence[float]) -> str:
    return " ".join(f"{x:.2f}" for x in ratios)


def report(r: Results) -> str:
    def ms(seconds: float) -> str:
        return f"{1000 * seconds:.1f} ms"

    def verdict(ratio: float, target: float, run: Run) -> str:
        if run.errors:
            return "ERRORS"
        return "PASS" if ratio >= target else "BELOW TARGET"

    # Each ratio is the median over rounds of (window / the limit's window next to it):
    # a burst of foreign load during one window then moves one round, not the figure.
    store_rounds = paired_ratios(r.store, r.one_trip)
    store_a5_rounds = paired_ratios(r.store, r.baseline)
    a5_rounds = paired_ratios(r.baseline, r.one_trip)
    read_rounds = paired_ratios(r.get_job, r.check)
    cold_rounds = paired_ratios(r.cold, r.bare)
    store_ratio = statistics.median(store_rounds)
    read_ratio = statistics.median(read_rounds)
    cold_ratio = statistics.median(cold_rounds)

    def row(name: str, run: Run, unit: str, ratio: str, target: str, result: str) -> Row:
        rate = f"{run.rate:,.0f} {unit}"
        return (name, rate, ms(run.percentile(50)), ms(run.percentile(99)), ratio, target, result)

    def limit(name: str, run: Run, unit: str, ratio: str) -> Row:
        return row(name, run, unit, ratio, "(limit)", "ERRORS" if run.errors else "")

    def figure(name: str, run: Run, unit: str, ratio: float, of: str, target: float) -> Row:
        return row(
            name, run, unit, f"{ratio:.3f}x {of}", f">= {target:.2f}x", verdict(ratio, target, run)
        )

    results = [
        limit("A1 raw DB: 1 round trip/estimate", r.one_trip, "est/s", "1.00x A1"),
        row(
            "A5 raw DB: 5 INSERTs/estimate",
            r.baseline,
            "est/s",
            f"{statistics.median(a5_rounds):.3f}x A1",
            "(earlier limit)",
            "ERRORS" if r.baseline.errors else "",
        ),
        (
            "   raw COPY of job_resources rows",
            f"{r.copy_rows_per_s:,.0f} rows/s",
            "",
            "",
            f"= {r.copy_rows_per_s / r.resources:,.0f} est/s",
            "(limit)",
            "",
        ),
        figure(
            "S  StoreEstimate, with request_id", r.store, "est/s", store_ratio, "A1", STORE_TARGET
        ),
        limit("C  Health/Check (empty RPC)", r.check, "calls/s", "1.00x C"),
        figure("G  GetJob, hot (cached)", r.get_job, "calls/s", read_ratio, "C", GET_JOB_TARGET),
        limit("B  raw DB: GetJob's query", r.bare, "reads/s", "1.00x B"),
        figure(
            "GC GetJob, cold (uncached)", r.cold, "calls/s", cold_ratio, "B", COLD_GET_JOB_TARGET
        ),
    ]
    runs = (
        ("A1", r.one_trip),
        ("A5", r.baseline),
        ("S", r.store),
        ("C", r.check),
        ("G", r.get_job),
        ("B", r.bare),
        ("GC", r.cold),
    )
    cpu = [
        (
            name,
            f"{run.calls:,}",
            f"{run.seconds:.1f} s",
            run.cpu.share(run.cpu.busy),
            run.cpu.share(run.cpu.client),
            run.cpu.share(run.cpu.server),
            run.cpu.share(run.cpu.postgres),
            run.cpu.share(run.cpu.others),
            run.cpu.per_call(run.cpu.client, run.calls),
            run.cpu.per_call(run.cpu.server, run.calls),
            run.cpu.per_call(run.cpu.postgres, run.calls),
        )
        for name, run in runs
    ]
    out = [
        f"Ledger ResultsStore benchmark, {r.mode} mode, "
        f"{datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        "",
        "Environment:",
        *(f"  {k:<26} {v}" for k, v in r.environment.items()),
        "",
        f"Workload: {r.resources} resources per estimate (5 services x 3 regions), "
        f"{r.concurrency} concurrent callers",
        f"  (gRPC: an aio channel each, pre-serialized requests; A: {r.concurrency} threads "
        "with a connection each);",
        f"  server: `ledger serve --workers {r.workers}`, log level {r.log_level}; hot GetJob "
        f"over the {r.get_job_ids} most recently stored jobs;",
        f"  cold GetJob over {r.cold_ids:,} jobs written behind the server's back, "
        + (
            "each read once."
            if not r.cold_repeats
            else f"{r.cold_repeats:,} calls reused a job (the pool ran out: cold no longer)."
        ),
        "",
        *render(("measurement", "rate", "p50", "p99", "ratio", "target", "result"), results),
        "",
        "Where the CPU went in the measured windows (share of all cores; CPU ms per call):",
        "",
        *render(
            (
                "",
                "calls",
                "time",
                "busy",
                "client",
                "server",
                "PostgreSQL",
                "others",
                "client ms",
                "server ms",
                "PostgreSQL ms",
            ),
            cpu,
        ),
        "",
        "Ratios are medians over rounds of paired windows: "
        f"S/A1 {rounds(store_rounds)}; G/C {rounds(read_rounds)}; GC/B {rounds(cold_rounds)}.",
        f"Against the earlier baseline: S/A5 {statistics.median(store_a5_rounds):.3f} "
        f"(rounds {rounds(store_a5_rounds)}); A5/A1 {rounds(a5_rounds)}.",
        f"For scale: the empty RPC reaches C/B = {r.check.rate / r.bare.rate:.3f}"
        if r.bare.rate
        else "For scale: B read nothing",
        "  (no gRPC call, cached or not, is answered faster than Health/Check).",
        f"COPY wrote {r.copy_rows:,} rows; S wrote {r.store.rate * r.resources:,.0f} resource "
        f"rows/s = {r.store.rate * r.resources / r.copy_rows_per_s:.2f}x COPY.",
    ]
    disturbed = [
        f"{name} {run.cpu.share(run.cpu.others)}"
        for name, run in runs
        if run.cpu.others is not None and run.cpu.others > 0.1 * run.cpu.capacity
    ]
    if disturbed:
        out.append(
            "WARNING: other processes used a tenth of the machine or more during "
            f"{', '.join(disturbed)}: those figures are disturbed; run again on a quieter machine."
        )
    for name, run in runs:
        if run.errors:
            out.append(f"{name}: {run.errors} errors, the first: {run.first_error}")
    return "\n".join(out)
