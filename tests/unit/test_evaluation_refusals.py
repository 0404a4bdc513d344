"""What a caller reads when an evaluation request is refused: every field named, every
description, every reason and its metadata, exactly."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from ledger_server.domain.errors import InvalidArgument, LedgerError
from ledger_server.domain.evaluations.commands import (
    AddEvent,
    CreateEvaluation,
    EvaluationFilters,
    TaskUpdate,
    UpdateEvaluation,
)
from ledger_server.domain.evaluations.records import ResourceLimits, RunningInfo, TaskState
from ledger_server.domain.evaluations.use_cases import Evaluations
from ledger_server.domain.idempotency import RequestKey
from tests.support.memory_store import MemoryTransactions

OLD = datetime(1969, 12, 31, tzinfo=UTC)
T = datetime(2026, 1, 1, tzinfo=UTC)
BAD_KEY = RequestKey("bad key", b"f")
ID_SHAPE = (
    "must be 1 to 128 characters of letters, digits, '_', '-', '.' and ':', starting with "
    "a letter or digit"
)
KEY_SHAPE = "must be at most 128 printable ASCII characters without spaces (a UUID is ideal)"
TIME_RANGE = "must be between 1970-01-01 and 9999-12-31"
REQUIRED = [("evaluation_id", "is required")]
NEGATIVE_PAGE = [("page_size", "must not be negative")]


def evaluations() -> Evaluations:
    made = Evaluations(MemoryTransactions())
    made.create(CreateEvaluation(code="x", evaluation_id="e1"), None)
    return made


CASES: dict[str, tuple[Callable[[Evaluations], object], list[tuple[str, str]]]] = {
    "create_bad_id": (
        lambda e: e.create(CreateEvaluation(code="x", evaluation_id="-x"), None),
        [("evaluation_id", ID_SHAPE)],
    ),
    "create_bad_key": (
        lambda e: e.create(CreateEvaluation(code="x"), BAD_KEY),
        [("request_id", KEY_SHAPE)],
    ),
    "create_nul_code": (
        lambda e: e.create(CreateEvaluation(code="a\x00"), None),
        [("code", "must not contain NUL characters")],
    ),
    "create_big_code": (
        lambda e: e.create(CreateEvaluation(code="é" * 600_000), None),
        [("code", "must be at most 1048576 bytes as UTF-8, got 1200000")],
    ),
    "create_metadata": (
        lambda e: e.create(CreateEvaluation(code="x", metadata={"a": float("nan")}), None),
        [("metadata", "numbers must be finite (no NaN or infinity)")],
    ),
    "update_bad_key": (
        lambda e: e.update(UpdateEvaluation("e1"), BAD_KEY),
        [("request_id", KEY_SHAPE)],
    ),
    "update_no_id": (lambda e: e.update(UpdateEvaluation(""), None), REQUIRED),
    "update_fields": (
        lambda e: e.update(
            UpdateEvaluation(
                "e1",
                runtime_ms=-1,
                start_time=OLD,
                complete_time=OLD,
                metadata_changes={"k": "\x00"},
                running=RunningInfo(
                    "c" * 257, "h" * 257, "i" * 513, OLD, ResourceLimits(-1, -1, -1)
                ),
            ),
            None,
        ),
        [
            ("runtime_ms", "must be from 0 to 31536000000"),
            ("start_time", TIME_RANGE),
            ("complete_time", TIME_RANGE),
            ("metadata_changes", "must not contain NUL characters"),
            ("running.container_id", "must be at most 256 characters, got 257"),
            ("running.host", "must be at most 256 characters, got 257"),
            ("running.image", "must be at most 512 characters, got 513"),
            ("running.start_time", TIME_RANGE),
            ("running.limits.cpu_millis", "must be from 0 to 1000000"),
            ("running.limits.memory_bytes", "must be from 0 to 1125899906842624"),
            ("running.limits.timeout_seconds", "must be from 0 to 31536000"),
        ],
    ),
    "update_limits_high": (
        lambda e: e.update(
            UpdateEvaluation(
                "e1",
                running=RunningInfo(limits=ResourceLimits(1_000_001, (1 << 50) + 1, 31_536_001)),
            ),
            None,
        ),
        [
            ("running.limits.cpu_millis", "must be from 0 to 1000000"),
            ("running.limits.memory_bytes", "must be from 0 to 1125899906842624"),
            ("running.limits.timeout_seconds", "must be from 0 to 31536000"),
        ],
    ),
    "update_runtime_high": (
        lambda e: e.update(UpdateEvaluation("e1", runtime_ms=31_536_000_001), None),
        [("runtime_ms", "must be from 0 to 31536000000")],
    ),
    "update_expected": (
        lambda e: e.update(UpdateEvaluation("e1", expected_version=-1), None),
        [("expected_version", "must not be negative")],
    ),
    "delete_bad": (lambda e: e.delete("", 0, None), REQUIRED),
    "delete_expected": (
        lambda e: e.delete("e1", -1, None),
        [("expected_version", "must not be negative")],
    ),
    "delete_key": (lambda e: e.delete("e1", 0, BAD_KEY), [("request_id", KEY_SHAPE)]),
    "task_fields": (
        lambda e: e.apply_task_update(TaskUpdate("e1", "t" * 256, None, 1_000_001)),
        [
            ("task_state", "is required"),
            ("task_id", "must be at most 255 characters, got 256"),
            ("retries", "must be from 0 to 1000000"),
        ],
    ),
    "task_nul": (
        lambda e: e.apply_task_update(TaskUpdate("e1", "t\x00", TaskState.PENDING, 0)),
        [("task_id", "must not contain NUL characters")],
    ),
    "task_no_task": (
        lambda e: e.apply_task_update(TaskUpdate("e1", "", TaskState.PENDING, -1)),
        [("task_id", "is required"), ("retries", "must be from 0 to 1000000")],
    ),
    "task_id": (lambda e: e.apply_task_update(TaskUpdate("", "t", TaskState.PENDING, 0)), REQUIRED),
    "event_empty": (lambda e: e.add_event(AddEvent("e1", ""), None), [("type", "is required")]),
    "event_bad_type": (
        lambda e: e.add_event(
            AddEvent("e1", "Bad Type", "m" * 4097, {"x": float("inf")}, OLD), None
        ),
        [
            ("type", "must be 1 to 64 characters of lower-case letters, digits, '_', '-', '.'"),
            ("message", "must be at most 4096 characters, got 4097"),
            ("metadata", "numbers must be finite (no NaN or infinity)"),
            ("event_time", TIME_RANGE),
        ],
    ),
    "event_nul_message": (
        lambda e: e.add_event(AddEvent("e1", "note", "a\x00"), None),
        [("message", "must not contain NUL characters")],
    ),
    "event_reserved": (
        lambda e: e.add_event(AddEvent("e1", "ledger.x"), None),
        [("type", "types starting 'ledger.' are the server's")],
    ),
    "event_key": (
        lambda e: e.add_event(AddEvent("e1", "note"), BAD_KEY),
        [("request_id", KEY_SHAPE)],
    ),
    "event_id": (lambda e: e.add_event(AddEvent("", "note"), None), REQUIRED),
    "list_bad": (
        lambda e: e.list(EvaluationFilters(language="Bad", start_time=T, end_time=T), 0, ""),
        [
            (
                "language",
                "must be 1 to 32 characters of lower-case letters, digits, '+', '#', '.', '_' "
                "and '-'",
            ),
            ("end_time", "must be after start_time"),
        ],
    ),
    "list_size": (lambda e: e.list(EvaluationFilters(), -1, ""), NEGATIVE_PAGE),
    "list_token": (
        lambda e: e.list(EvaluationFilters(), 0, "garbage"),
        [("page_token", "is not a token this list returned for these filters")],
    ),
    "versions_id": (lambda e: e.list_versions("", 0, ""), REQUIRED),
    "versions_size": (lambda e: e.list_versions("e1", -1, ""), NEGATIVE_PAGE),
    "events_id": (lambda e: e.list_events("", 0, ""), REQUIRED),
    "events_size": (lambda e: e.list_events("e1", -1, ""), NEGATIVE_PAGE),
    "running_size": (lambda e: e.list_running(-1, ""), NEGATIVE_PAGE),
    "get_id": (lambda e: e.get(""), REQUIRED),
    "get_version": (lambda e: e.get("e1", version=-1), [("version", "must not be negative")]),
    "stats_range": (lambda e: e.statistics(T, T), [("end_time", "must be after start_time")]),
    "writable_id": (lambda e: e.check_writable(""), REQUIRED),
    "check_update_id": (
        lambda e: e.check_update(UpdateEvaluation("-"), None),
        [("evaluation_id", ID_SHAPE)],
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_evaluation_requests_are_refused_naming_every_bad_field(case: str) -> None:
    run, expected = CASES[case]
    with pytest.raises(InvalidArgument) as refused:
        run(evaluations())
    assert [(v.field, v.description) for v in refused.value.violations] == expected


def _refusal(run: Callable[[Evaluations], object]) -> LedgerError:
    with pytest.raises(LedgerError) as refused:
        run(evaluations())
    return refused.value


def test_get_evaluation_of_a_missing_version_names_it() -> None:
    refused = _refusal(lambda e: e.get("e1", version=9))
    assert (refused.reason, refused.message) == (
        "EVALUATION_VERSION_NOT_FOUND",
        "evaluation_version 'e1@9' not found",
    )
    assert refused.metadata == {"resource": "evaluation_version", "id": "e1@9"}


@pytest.mark.parametrize(
    "run",
    [
        lambda e: e.get("nope"),
        lambda e: e.check_writable("nope"),
        lambda e: e.update(UpdateEvaluation("nope"), None),
        lambda e: e.list_versions("nope", 0, ""),
        lambda e: e.list_events("nope", 0, ""),
        lambda e: e.add_event(AddEvent("nope", "note"), None),
    ],
)
def test_evaluation_rpcs_on_a_missing_evaluation_are_not_found(
    run: Callable[[Evaluations], object],
) -> None:
    refused = _refusal(run)
    assert (refused.reason, refused.message) == (
        "EVALUATION_NOT_FOUND",
        "evaluation 'nope' not found",
    )
    assert refused.metadata == {"resource": "evaluation", "id": "nope"}


def test_update_evaluation_with_a_stale_version_says_which_is_current() -> None:
    def stale(e: Evaluations) -> object:
        e.update(UpdateEvaluation("e1"), None)
        return e.update(UpdateEvaluation("e1", expected_version=1), None)

    refused = _refusal(stale)
    assert refused.reason == "VERSION_MISMATCH"
    assert refused.message == "evaluation 'e1' is at version 2, not 1; read it again and retry"
    assert refused.metadata == {
        "evaluation_id": "e1",
        "current_version": "2",
        "expected_version": "1",
    }


def test_create_evaluation_with_a_taken_id_says_which() -> None:
    refused = _refusal(lambda e: e.create(CreateEvaluation(code="y", evaluation_id="e1"), None))
    assert (refused.reason, refused.message, refused.metadata) == (
        "EVALUATION_EXISTS",
        "evaluation 'e1' already exists",
        {"evaluation_id": "e1"},
    )
