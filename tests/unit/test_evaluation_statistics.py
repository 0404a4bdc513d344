"""Statistics on write: the rows each version appends, and what they sum to."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from ledger_server.domain.evaluations import statistics
from ledger_server.domain.evaluations.records import (
    Change,
    Compression,
    Content,
    Evaluation,
    Location,
    Status,
)

HOUR = datetime(2026, 1, 1, 10, tzinfo=UTC)
CREATED = Evaluation("e", 1, Status.QUEUED, "python", HOUR.replace(minute=42), HOUR, Change.CREATED)


def _content(size: int) -> Content:
    return Content(b"\x00" * 32, size, Location.DATABASE_INLINE, Compression.NONE, size, "", False)


def test_a_new_evaluation_adds_one_to_its_status_and_hour() -> None:
    (row,) = statistics.deltas(None, CREATED)
    assert (row.hour, row.status, row.language, row.evaluations) == (
        HOUR, Status.QUEUED, "python", 1,
    )  # fmt: skip
    assert row.runtime_bucket is None


def test_a_status_change_moves_the_count() -> None:
    running = replace(CREATED, version=2, status=Status.RUNNING)
    rows = statistics.deltas(CREATED, running)
    assert [(r.status, r.evaluations) for r in rows] == [(Status.QUEUED, -1), (Status.RUNNING, 1)]


def test_a_change_that_counts_the_same_adds_no_rows() -> None:
    assert statistics.deltas(CREATED, replace(CREATED, version=2, metadata={"a": 1})) == []


def test_finishing_with_a_runtime_fills_one_histogram_bucket_and_output_bytes() -> None:
    done = replace(CREATED, status=Status.COMPLETED, runtime_ms=120, output=_content(7))
    rows = statistics.deltas(CREATED, done)
    assert rows[-1].runtime_bucket == statistics.runtime_bucket(120)
    assert (rows[-1].runtime_ms, rows[-1].output_bytes) == (120, 7)


def test_deleting_takes_back_everything_it_counted() -> None:
    done = replace(CREATED, status=Status.COMPLETED, runtime_ms=120, output=_content(7))
    rows = statistics.deltas(done, replace(done, deleted=True))
    assert len(rows) == 1 and rows[0] == statistics.deltas(None, done)[0].negated()


def test_summarise_counts_and_percentiles_from_buckets() -> None:
    bucket_of = statistics.runtime_bucket
    result = statistics.summarise(
        [(Status.COMPLETED, "python", 3), (Status.FAILED, "go", 1), (Status.QUEUED, "go", 0)],
        [(bucket_of(40), 3), (bucket_of(4000), 1)],
        runtime_total_ms=3 * 40 + 4000,
        output_bytes=9,
    )
    assert result.evaluations == 4
    assert result.by_status == {Status.COMPLETED: 3, Status.FAILED: 1}
    assert result.by_language == {"python": 3, "go": 1}
    assert (result.runtime.count, result.runtime.average_ms) == (4, 1030)
    assert (result.runtime.p50_ms, result.runtime.p95_ms) == (50, 5000)
    assert result.output_bytes == 9


def test_summarise_of_nothing_is_zero() -> None:
    result = statistics.summarise([], [], 0, 0)
    assert (result.evaluations, result.runtime.p50_ms, result.runtime.average_ms) == (0, 0, 0)


def test_runtime_buckets_hold_every_runtime_a_version_may_carry() -> None:
    assert statistics.runtime_bucket(0) == 0
    assert statistics.runtime_bucket(10) == 0 and statistics.runtime_bucket(11) == 1
    last = len(statistics.RUNTIME_BOUNDS_MS) - 1
    assert statistics.runtime_bucket(statistics.RUNTIME_BOUNDS_MS[-1]) == last
