"""The details an evaluation's caller reads: timeline entries, refusal metadata, the
output-size limit, damaged contents, and the defaults of the lists."""

from __future__ import annotations

import hashlib
import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from ledger_server.domain.errors import DataLoss, FailedPrecondition, Violations
from ledger_server.domain.evaluations import outputs, rules, statistics, status, timeline
from ledger_server.domain.evaluations.commands import (
    AddEvent,
    CreateEvaluation,
    EvaluationFilters,
    UpdateEvaluation,
)
from ledger_server.domain.evaluations.records import (
    Change,
    Compression,
    Content,
    Evaluation,
    Location,
    ResourceLimits,
    RunningInfo,
    Status,
    TaskInfo,
    TaskState,
)
from ledger_server.domain.evaluations.use_cases import Evaluations
from ledger_server.domain.evaluations.version_cache import LocalVersions, TwoLevels, version_size
from tests.support.memory_store import MemoryTransactions

T0 = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
FIRST = Evaluation("e", 1, Status.QUEUED, "go", T0, T0, Change.CREATED)


def test_timeline_entry_of_a_new_evaluation() -> None:
    event = timeline.version_event(None, FIRST)
    assert (event.type, event.message, event.version, event.event_time) == (
        "ledger.created", "version 1: created as queued", 1, T0,
    )  # fmt: skip
    assert event.metadata == {"version": 1, "status": "queued"}


def test_timeline_entry_of_a_change_that_keeps_the_status() -> None:
    after = replace(FIRST, version=2, change=Change.OUTPUT_WRITTEN)
    event = timeline.version_event(FIRST, after)
    assert (event.type, event.message) == ("ledger.output_written", "version 2: output written")
    assert event.metadata == {"version": 2, "status": "queued"}


def test_timeline_entry_of_a_task_report_names_the_task() -> None:
    task = TaskInfo("celery-1", TaskState.STARTED, 2)
    after = replace(FIRST, version=2, status=Status.RUNNING, change=Change.TASK_UPDATE, task=task)
    event = timeline.version_event(FIRST, after)
    assert (event.type, event.message) == ("ledger.task_update", "version 2: queued -> running")
    assert event.metadata == {
        "version": 2,
        "status": "running",
        "previous_status": "queued",
        "task_id": "celery-1",
        "task_state": "STARTED",
        "retries": 2,
    }
    # A later version that still carries the task does not repeat it.
    later = replace(after, version=3, change=Change.UPDATED)
    assert "task_id" not in timeline.version_event(after, later).metadata


def test_timeline_entry_of_a_delete() -> None:
    event = timeline.version_event(FIRST, replace(FIRST, version=2, change=Change.DELETED))
    assert (event.type, event.message) == ("ledger.deleted", "version 2: deleted")


def test_refusals_of_the_state_machine_carry_their_metadata() -> None:
    with pytest.raises(FailedPrecondition) as finished:
        status.check_change("e9", Status.TIMEOUT, Status.RUNNING)
    assert finished.value.message == (
        "evaluation 'e9' is timeout, a final status: it takes no more changes"
    )
    assert finished.value.metadata == {"evaluation_id": "e9", "current_status": "timeout"}
    with pytest.raises(FailedPrecondition) as illegal:
        status.check_change("e9", Status.RUNNING, Status.PROVISIONING)
    assert illegal.value.message == "evaluation 'e9' cannot move from running to provisioning"
    assert illegal.value.metadata == {
        "evaluation_id": "e9",
        "current_status": "running",
        "requested_status": "provisioning",
    }


@pytest.mark.parametrize(("size", "refused"), [(rules.MAX_OUTPUT_BYTES, False),
                                                (rules.MAX_OUTPUT_BYTES + 1, True)])  # fmt: skip
def test_output_size_limit_names_the_field_and_the_way_out(size: int, refused: bool) -> None:
    violations = Violations()
    rules.check_output_size(size, "error", violations)
    expected = [
        (
            "error",
            "must be at most 8388608 bytes; upload larger outputs with WriteEvaluationOutput",
        )
    ]
    assert [(v.field, v.description) for v in violations.items] == (expected if refused else [])


def test_code_limit_counts_bytes_for_ascii_and_beyond() -> None:
    fits, too_big = Violations(), Violations()
    rules.check_code("é" * (rules.MAX_CODE_BYTES // 2), fits)
    rules.check_code("a" * (rules.MAX_CODE_BYTES + 1), too_big)
    assert not fits
    assert too_big.items[0].description == "must be at most 1048576 bytes as UTF-8, got 1048577"


def _blob(data: bytes) -> tuple[io.BytesIO, Content]:
    content = outputs.describe(hashlib.sha256(data).digest(), len(data), data, Location.BLOB_STORE)
    return io.BytesIO(data), content


def test_a_damaged_content_is_data_loss_naming_its_digest() -> None:
    source, content = _blob(b"abc" * 1000)
    with pytest.raises(DataLoss) as lost:
        list(outputs.verified_chunks(io.BytesIO(b"abd" * 1000), content, 0, 0, 100))
    digest = content.sha256_hex
    assert (lost.value.reason, lost.value.metadata) == ("CONTENT_CORRUPTED", {"sha256": digest})
    assert lost.value.message == (
        f"the stored content {digest} no longer matches its SHA-256; it is not served"
    )
    shorter = io.BytesIO(b"abc" * 999)
    with pytest.raises(DataLoss):
        next(outputs.verified_chunks(shorter, content, 10, 5, 100))
    assert b"".join(outputs.verified_chunks(source, content, 2990, 0, 4)) == b"c" + b"abc" * 3


def test_describe_and_preview_of_a_blob() -> None:
    data = "ü".encode() * 3000
    content = outputs.describe(b"\x01" * 32, len(data), data, Location.BLOB_STORE)
    assert (content.compression, content.stored_bytes, content.size) == (
        Compression.NONE, 6000, 6000,
    )  # fmt: skip
    assert content.preview == "ü" * 1000 and content.preview_truncated
    exactly = outputs.preview_of(b"x" * 1000, 1000)
    assert exactly == ("x" * 1000, False)


def test_statistics_count_a_runtime_only_once_finished() -> None:
    running = replace(FIRST, status=Status.RUNNING, runtime_ms=500)
    (row,) = statistics.deltas(None, running)
    assert (row.runtime_bucket, row.runtime_ms) == (None, 0)
    done = replace(running, status=Status.FAILED, runtime_ms=0)
    counted = statistics.deltas(running, done)[-1]
    assert (counted.runtime_bucket, counted.runtime_ms) == (0, 0)
    assert statistics.hour_of(T0) == datetime(2026, 5, 1, 9, tzinfo=UTC)


def test_percentiles_of_the_top_bucket_are_its_bound() -> None:
    top = len(statistics.RUNTIME_BOUNDS_MS) - 1
    result = statistics.summarise([], [(top, 2)], 2 * rules.MAX_RUNTIME_MS, 0)
    assert result.runtime.p50_ms == result.runtime.p95_ms == rules.MAX_RUNTIME_MS
    one = statistics.summarise([], [(0, 19), (3, 1)], 19 * 5 + 90, 0)
    assert (one.runtime.p50_ms, one.runtime.p95_ms, one.runtime.average_ms) == (10, 10, 9)


def test_version_size_grows_with_previews_and_metadata() -> None:
    content = Content(
        b"\x00" * 32, 10, Location.DATABASE_INLINE, Compression.NONE, 10, "p" * 100, False
    )
    assert version_size(FIRST) == 2000 + 64 * len("{}")
    assert version_size(replace(FIRST, output=content, error=content)) == 2000 + 800 + 128
    assert version_size(replace(FIRST, metadata={"k": 1})) == 2000 + 64 * len("{'k': 1}")


def test_two_levels_fill_the_local_cache_from_the_shared_one() -> None:
    local, shared = LocalVersions(), LocalVersions()
    shared.put(FIRST)
    both = TwoLevels(local, shared)
    assert local.get("e", 1) is None and both.get("e", 1) == FIRST
    assert local.get("e", 1) == FIRST
    assert both.get("e", 2) is None
    second = replace(FIRST, version=2)
    both.put(second)
    assert local.get("e", 2) == shared.get("e", 2) == second
    with_code = replace(FIRST, version=3, code="print()")
    both.put(with_code)
    assert local.get("e", 3) is None and shared.get("e", 3) is None


def test_lists_default_to_their_documented_page_sizes() -> None:
    evaluations = Evaluations(MemoryTransactions())
    made = evaluations.create(CreateEvaluation(code="x", evaluation_id="e"), None)
    for n in range(120):
        evaluations.update(UpdateEvaluation("e", metadata_changes={"n": n}), None)
        evaluations.create(
            CreateEvaluation(code="x", evaluation_id=f"r{n}", status=Status.RUNNING), None
        )
    assert made.version == 1
    assert len(evaluations.list(EvaluationFilters(), 0, "").items) == 50
    assert len(evaluations.list_versions("e", 0, "").items) == 50
    assert len(evaluations.list_running(0, "").items) == 50
    assert len(evaluations.list_events("e", 0, "").items) == 100


def test_update_evaluation_completing_at_its_start_has_no_runtime_left_to_guess() -> None:
    evaluations = Evaluations(MemoryTransactions(), clock=lambda: T0)
    evaluations.create(CreateEvaluation(code="x", evaluation_id="e"), None)
    done = evaluations.update(
        UpdateEvaluation("e", status=Status.COMPLETED, start_time=T0, complete_time=T0), None
    )
    assert done.runtime_ms == 0
    later = T0 + timedelta(milliseconds=1500)
    other = Evaluations(MemoryTransactions(), clock=lambda: later)
    other.create(CreateEvaluation(code="x", evaluation_id="e"), None)
    timed = other.update(UpdateEvaluation("e", status=Status.COMPLETED, start_time=T0), None)
    assert timed.runtime_ms == 1500 and isinstance(timed.runtime_ms, int)


def test_a_statistics_row_negated_takes_back_each_figure() -> None:
    row = statistics.StatDelta(T0, "go", Status.FAILED, 1, 3, 120, 7)
    assert row.negated() == statistics.StatDelta(T0, "go", Status.FAILED, -1, 3, -120, -7)


def test_summarise_adds_up_one_status_over_languages_and_rounds_the_average() -> None:
    result = statistics.summarise(
        [(Status.COMPLETED, "a", 1), (Status.COMPLETED, "b", 2), (Status.FAILED, "a", 4)],
        [(0, 2)],
        runtime_total_ms=5,
        output_bytes=0,
    )
    assert result.by_status == {Status.COMPLETED: 3, Status.FAILED: 4}
    assert result.by_language == {"a": 5, "b": 2}
    assert result.runtime.average_ms == 3 and type(result.runtime.average_ms) is int


def test_percentiles_take_the_smallest_count_that_covers_them() -> None:
    halves = statistics.summarise([], [(0, 50), (1, 50)], 0, 0)
    assert (halves.runtime.p50_ms, halves.runtime.p95_ms) == (10, 25)
    odd = statistics.summarise([], [(0, 50), (1, 51)], 0, 0)
    assert odd.runtime.p50_ms == 25  # the 51st of 101


def test_hour_of_drops_minutes_seconds_and_microseconds() -> None:
    moment = datetime(2026, 5, 1, 9, 59, 58, 999_999, tzinfo=UTC)
    assert statistics.hour_of(moment) == datetime(2026, 5, 1, 9, tzinfo=UTC)


def test_limits_at_their_maximum_are_accepted() -> None:
    violations = Violations()
    rules.check_running(
        RunningInfo(limits=ResourceLimits(1_000_000, 1 << 50, 365 * 24 * 3600)), violations
    )
    rules.check_runtime(rules.MAX_RUNTIME_MS, violations)
    rules.check_runtime(0, violations)
    assert not violations
    empty = Violations()
    rules.check_code("", empty)
    assert [(v.field, v.description) for v in empty.items] == [("code", "is required")]


def test_add_evaluation_event_keeps_what_was_sent() -> None:
    evaluations = Evaluations(MemoryTransactions(), clock=lambda: T0)
    evaluations.create(CreateEvaluation(code="x", evaluation_id="e"), None)
    added = evaluations.add_event(AddEvent("e", "note", "hello", {"k": [1]}), None)
    assert (added.type, added.message, added.metadata, added.event_time, added.version) == (
        "note", "hello", {"k": [1]}, T0, 0,
    )  # fmt: skip
