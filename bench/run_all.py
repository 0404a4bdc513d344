"""Every Ledger benchmark, one after another: what `make bench` runs.

Each benchmark is a module next to this one whose `main(argv) -> int` prints its own
ratios and returns its exit status. A service adds its benchmark with one line in
BENCHMARKS. Options go to every benchmark (`--quick`, `--workers N`, `--log-level L`);
`--only NAME` runs the named ones alone.

    .venv/bin/python bench/run_all.py --quick
    make bench BENCH_ARGS=--quick
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback
from collections.abc import Sequence

BENCHMARKS = [
    "results_store",  # StoreEstimate vs the raw database, GetJob vs Health/Check
    "evaluations",  # GetEvaluation vs Health/Check, UpdateEvaluation versions/s
    "evaluation_logs",  # appended lines/s, 500 followers: every line, latency, GetEvaluation
    "ingestion",  # StreamCostRecords (fresh, unchanged, 10% revised) vs raw COPY
    "savings",  # GetSavingsSummary as history grows, RecordInstanceEvents vs COPY
]


def main(argv: Sequence[str] | None = None, benchmarks: Sequence[str] = BENCHMARKS) -> int:
    parser = argparse.ArgumentParser(
        description="Runs every Ledger benchmark; other options go to each of them."
    )
    parser.add_argument(
        "--only", action="append", choices=benchmarks, help="run this one (may repeat)"
    )
    own, passed_on = parser.parse_known_args(argv)
    chosen = own.only or list(benchmarks)
    statuses: dict[str, int] = {}
    for name in chosen:
        print(f"== {name} {' '.join(passed_on)}".rstrip(), flush=True)
        started = time.monotonic()
        try:
            statuses[name] = importlib.import_module(name).main(list(passed_on))
        except Exception:  # one broken benchmark must not hide the others' figures
            traceback.print_exc()
            statuses[name] = 1
        took = time.monotonic() - started
        print(f"== {name}: exit {statuses[name]} after {took:.0f} s\n", flush=True)
    failed = [name for name, status in statuses.items() if status]
    if len(chosen) > 1:
        print(f"{len(chosen)} benchmarks, failed: {', '.join(failed) or 'none'}", flush=True)
    return max(statuses.values(), default=0)


if __name__ == "__main__":
    sys.exit(main())
