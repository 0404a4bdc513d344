"""The evaluation state machine, the Celery mapping, and the checks of what callers send."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ledger_server.domain.errors import FailedPrecondition, InvalidArgument, Violations
from ledger_server.domain.evaluations import rules, status
from ledger_server.domain.evaluations.records import TERMINAL, RunningInfo, Status, TaskState

S = Status


@pytest.mark.parametrize(
    ("current", "new"),
    [
        (S.QUEUED, S.PROVISIONING),
        (S.QUEUED, S.RUNNING),
        (S.QUEUED, S.COMPLETED),
        (S.QUEUED, S.QUEUED),
        (S.PROVISIONING, S.RUNNING),
        (S.PROVISIONING, S.QUEUED),
        (S.PROVISIONING, S.TIMEOUT),
        (S.RUNNING, S.COMPLETED),
        (S.RUNNING, S.FAILED),
        (S.RUNNING, S.CANCELLED),
        (S.RUNNING, S.TIMEOUT),
        (S.RUNNING, S.QUEUED),
        (S.RUNNING, S.RUNNING),
    ],
)
def test_update_evaluation_allows_the_documented_moves(current: Status, new: Status) -> None:
    assert status.may_move(current, new)
    status.check_change("e", current, new)


@pytest.mark.parametrize(
    ("current", "new"),
    [(S.RUNNING, S.PROVISIONING), (S.PROVISIONING, S.COMPLETED)]
    + [(terminal, new) for terminal in TERMINAL for new in Status],
)
def test_update_evaluation_refuses_other_moves(current: Status, new: Status) -> None:
    assert not status.may_move(current, new)
    with pytest.raises(FailedPrecondition) as refused:
        status.check_change("e", current, new)
    expected = "EVALUATION_FINISHED" if current.terminal else "ILLEGAL_TRANSITION"
    assert refused.value.reason == expected
    assert refused.value.metadata["current_status"] == current.value


def test_update_evaluation_of_a_terminal_evaluation_refuses_even_an_unchanged_status() -> None:
    with pytest.raises(FailedPrecondition) as refused:
        status.check_change("e", S.COMPLETED, None)
    assert refused.value.reason == "EVALUATION_FINISHED"
    status.check_change("e", S.RUNNING, None)


def test_illegal_transition_names_both_states() -> None:
    with pytest.raises(FailedPrecondition) as refused:
        status.check_change("eval_1", S.RUNNING, S.PROVISIONING)
    assert "running" in refused.value.message and "provisioning" in refused.value.message
    assert refused.value.metadata["requested_status"] == "provisioning"


def test_apply_task_update_maps_every_celery_state() -> None:
    assert status.TASK_STATUS == {
        TaskState.PENDING: S.QUEUED,
        TaskState.STARTED: S.RUNNING,
        TaskState.RETRY: S.QUEUED,
        TaskState.SUCCESS: S.COMPLETED,
        TaskState.FAILURE: S.FAILED,
        TaskState.REVOKED: S.CANCELLED,
    }


@pytest.mark.parametrize("value", ["eval_20240701_120000_abc123", "a", "A-b.c:d_e", "9" * 128])
def test_create_evaluation_accepts_ids_of_the_documented_shape(value: str) -> None:
    rules.check_id(value)


@pytest.mark.parametrize("value", ["-a", ".a", "a b", "a/b", "a" * 129, "é", "a\x00"])
def test_create_evaluation_refuses_other_ids(value: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        rules.check_id(value)
    assert refused.value.violations[0].field == "evaluation_id"


def test_create_evaluation_requires_an_id_only_where_one_is_needed() -> None:
    rules.check_id("", required=False)
    with pytest.raises(InvalidArgument):
        rules.check_id("")


def test_new_evaluation_id_looks_like_the_seeds() -> None:
    made = rules.new_evaluation_id(datetime(2024, 7, 1, 12, 0, 0, tzinfo=UTC))
    assert (
        made.startswith("eval_20240701_120000_") and len(made) == len("eval_20240701_120000_") + 12
    )
    rules.check_id(made)


@pytest.mark.parametrize(
    ("language", "ok"),
    [
        ("python", True),
        ("c++", True),
        ("c#", True),
        ("Python", False),
        ("", True),
        ("x" * 33, False),
    ],
)
def test_create_evaluation_checks_the_language(language: str, ok: bool) -> None:
    violations = Violations()
    rules.check_language(language, violations)
    assert bool(violations) is not ok


def test_create_evaluation_checks_the_code_size_in_bytes() -> None:
    violations = Violations()
    rules.check_code("é" * (rules.MAX_CODE_BYTES // 2 + 1), violations)
    assert violations.items[0].field == "code"
    fits = Violations()
    rules.check_code("a" * rules.MAX_CODE_BYTES, fits)
    assert not fits


def test_update_evaluation_checks_running_info_limits() -> None:
    violations = Violations()
    rules.check_running(
        RunningInfo(container_id="c" * 257, start_time=datetime(1969, 1, 1, tzinfo=UTC)),
        violations,
    )
    assert {v.field for v in violations.items} == {"running.container_id", "running.start_time"}


def test_add_evaluation_event_reserves_the_servers_prefix() -> None:
    violations = Violations()
    rules.check_event("ledger.updated", "", violations)
    assert violations.items[0].field == "type"
    fine = Violations()
    rules.check_event("worker.heartbeat", "ok", fine)
    assert not fine


def test_metadata_changes_set_keys_and_remove_those_set_to_null() -> None:
    merged = rules.merged_metadata({"a": 1, "b": 2}, {"b": None, "c": {"d": 1}})
    assert merged == {"a": 1, "c": {"d": 1}}
