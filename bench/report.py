"""The printed report: the figures as ratios to their limits, and where the CPU went."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from runs import Run, paired_ratios

STORE_TARGET = 0.5
GET_JOB_TARGET = 0.7


@dataclass
class Results:
    environment: dict[str, str]
    baseline: Run
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


def report(r: Results) -> str:
    def ms(seconds: float) -> str:
        return f"{1000 * seconds:.1f} ms"

    def verdict(ratio: float, target: float, run: Run) -> str:
        if run.errors:
            return "ERRORS"
        return "PASS" if ratio >= target else "BELOW TARGET"

    # Each ratio is the median over rounds of (window / the limit's window next to it):
    # a burst of foreign load during one window then moves one round, not the figure.
    store_rounds = paired_ratios(r.store, r.baseline)
    read_rounds = paired_ratios(r.get_job, r.check)
    store_ratio = statistics.median(store_rounds)
    read_ratio = statistics.median(read_rounds)
    results = [
        (
            "A  raw DB: psycopg2, 1 txn/estimate",
            f"{r.baseline.rate:,.0f} est/s",
            ms(r.baseline.percentile(50)),
            ms(r.baseline.percentile(99)),
            "1.00x A",
            "(limit)",
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
        (
            "S  StoreEstimate via gRPC",
            f"{r.store.rate:,.0f} est/s",
            ms(r.store.percentile(50)),
            ms(r.store.percentile(99)),
            f"{store_ratio:.3f}x A",
            f">= {STORE_TARGET:.2f}x",
            verdict(store_ratio, STORE_TARGET, r.store),
        ),
        (
            "C  Health/Check (empty RPC)",
            f"{r.check.rate:,.0f} calls/s",
            ms(r.check.percentile(50)),
            ms(r.check.percentile(99)),
            "1.00x C",
            "(limit)",
            "ERRORS" if r.check.errors else "",
        ),
        (
            "G  GetJob (repeat reads)",
            f"{r.get_job.rate:,.0f} calls/s",
            ms(r.get_job.percentile(50)),
            ms(r.get_job.percentile(99)),
            f"{read_ratio:.3f}x C",
            f">= {GET_JOB_TARGET:.2f}x",
            verdict(read_ratio, GET_JOB_TARGET, r.get_job),
        ),
    ]
    runs = (("A", r.baseline), ("S", r.store), ("C", r.check), ("G", r.get_job))
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
        f"  server: `ledger serve --workers {r.workers}`, log level {r.log_level}; GetJob over "
        f"the {r.get_job_ids} most recently stored jobs.",
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
        f"S/A {' '.join(f'{x:.2f}' for x in store_rounds)}; "
        f"G/C {' '.join(f'{x:.2f}' for x in read_rounds)}.",
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
