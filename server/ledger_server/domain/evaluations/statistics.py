"""Statistics computed on write: each version appends the change it makes to the totals.

An evaluation counts, in the hour it was created, once: under its latest status and
language, with its output and error bytes and, once it is finished with a run time, in
one bucket of the run-time histogram. A new version appends rows that take away what
the version before it counted and add what it counts; a deleted evaluation counts
nothing. Reading statistics sums these rows over a range of hours and never looks at an
evaluation.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from ledger_server.domain.evaluations.records import Evaluation, Status
from ledger_server.domain.evaluations.rules import MAX_RUNTIME_MS

# Upper bounds (inclusive, ms) of the run-time histogram's buckets; the last holds every
# run time a version may carry, so no run falls outside.
RUNTIME_BOUNDS_MS = (
    10,
    25,
    50,
    100,
    250,
    500,
    1_000,
    2_500,
    5_000,
    10_000,
    30_000,
    60_000,
    300_000,
    600_000,
    1_800_000,
    3_600_000,
    MAX_RUNTIME_MS,
)


@dataclass(frozen=True)
class StatDelta:
    """One row of the statistics: a change to the totals of one hour, status, language."""

    hour: datetime
    language: str
    status: Status
    evaluations: int
    runtime_bucket: int | None = None
    runtime_ms: int = 0
    output_bytes: int = 0

    def negated(self) -> StatDelta:
        return StatDelta(
            self.hour,
            self.language,
            self.status,
            -self.evaluations,
            self.runtime_bucket,
            -self.runtime_ms,
            -self.output_bytes,
        )


def hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def runtime_bucket(runtime_ms: int) -> int:
    return bisect.bisect_left(RUNTIME_BOUNDS_MS, runtime_ms)


def _counted(evaluation: Evaluation | None) -> StatDelta | None:
    if evaluation is None or evaluation.deleted:
        return None
    timed = evaluation.status.terminal and evaluation.runtime_ms is not None
    size = sum(c.size for c in (evaluation.output, evaluation.error) if c is not None)
    return StatDelta(
        hour_of(evaluation.create_time),
        evaluation.language,
        evaluation.status,
        1,
        runtime_bucket(evaluation.runtime_ms or 0) if timed else None,
        (evaluation.runtime_ms or 0) if timed else 0,
        size,
    )


def deltas(before: Evaluation | None, after: Evaluation) -> list[StatDelta]:
    """The rows that move the totals from counting `before` to counting `after`."""
    old, new = _counted(before), _counted(after)
    if old == new:
        return []
    rows = [] if old is None else [old.negated()]
    return rows if new is None else [*rows, new]


@dataclass(frozen=True)
class RuntimeSummary:
    count: int
    average_ms: int
    p50_ms: int
    p95_ms: int


@dataclass(frozen=True)
class Statistics:
    evaluations: int
    by_status: dict[Status, int]
    by_language: dict[str, int]
    runtime: RuntimeSummary
    output_bytes: int


def summarise(
    counts: Iterable[tuple[Status, str, int]],
    histogram: Iterable[tuple[int, int]],
    runtime_total_ms: int,
    output_bytes: int,
) -> Statistics:
    """Statistics from summed rows: (status, language, count) and (bucket, count)."""
    by_status: dict[Status, int] = {}
    by_language: dict[str, int] = {}
    for status, language, count in counts:
        if count:
            by_status[status] = by_status.get(status, 0) + count
            by_language[language] = by_language.get(language, 0) + count
    buckets = sorted((bucket, count) for bucket, count in histogram if count)
    timed = sum(count for _, count in buckets)
    runtime = RuntimeSummary(
        timed,
        (runtime_total_ms + timed // 2) // timed if timed else 0,
        _percentile(buckets, timed, 50),
        _percentile(buckets, timed, 95),
    )
    return Statistics(sum(by_status.values()), by_status, by_language, runtime, output_bytes)


def _percentile(buckets: list[tuple[int, int]], total: int, percent: int) -> int:
    """The upper bound of the bucket holding the `percent`-th percentile (0 if empty)."""
    if not total:
        return 0
    rank = -(-total * percent // 100)  # ceil: the smallest count covering percent
    seen = 0
    for bucket, count in buckets:
        seen += count
        if seen >= rank:
            return RUNTIME_BOUNDS_MS[min(bucket, len(RUNTIME_BOUNDS_MS) - 1)]
    return RUNTIME_BOUNDS_MS[-1]
