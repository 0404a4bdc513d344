"""The evaluation use cases over in-memory repositories: versions, retries, replays,
conditional updates, deletes, task reports, uploads, events and statistics."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from ledger_server.domain.errors import (
    Aborted,
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
)
from ledger_server.domain.evaluations import outputs
from ledger_server.domain.evaluations.commands import (
    AddEvent,
    CreateEvaluation,
    EvaluationFilters,
    TaskUpdate,
    UpdateEvaluation,
)
from ledger_server.domain.evaluations.records import Channel, RunningInfo, Status, TaskState
from ledger_server.domain.evaluations.use_cases import Evaluations
from ledger_server.domain.evaluations.version_cache import LocalVersions
from ledger_server.domain.idempotency import RequestKey
from tests.support.memory_store import MemoryTransactions

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def db() -> MemoryTransactions:
    return MemoryTransactions()


@pytest.fixture
def evaluations(db: MemoryTransactions) -> Evaluations:
    return Evaluations(db, clock=Clock())


def key(request_id: str, body: bytes = b"body") -> RequestKey:
    return RequestKey(request_id, hashlib.sha256(body).digest())


def prepared(text: str) -> outputs.PreparedContent:
    class NoBlobs:
        def put(self, sha256: bytes, data: bytes) -> None: ...

        def open(self, sha256: bytes) -> Iterator[bytes]:
            raise AssertionError

    return outputs.prepare(text.encode(), NoBlobs(), outputs.Thresholds())  # type: ignore[arg-type]


def test_create_evaluation_makes_version_one_with_the_clocks_time(evaluations: Evaluations) -> None:
    created = evaluations.create(CreateEvaluation(code="x", evaluation_id="e1"), None)
    assert (created.version, created.status, created.language) == (1, Status.QUEUED, "python")
    assert created.create_time == created.update_time == T0 + timedelta(seconds=1)
    assert created.code == ""  # replies never carry the code
    assert evaluations.get("e1", with_code=True).code == "x"


def test_create_evaluation_as_running_or_finished_sets_its_times(evaluations: Evaluations) -> None:
    running = evaluations.create(CreateEvaluation(code="x", status=Status.RUNNING), None)
    done = evaluations.create(CreateEvaluation(code="x", status=Status.FAILED), None)
    assert running.start_time == running.create_time and running.complete_time is None
    assert done.complete_time == done.create_time and done.start_time is None


def test_create_evaluation_refuses_every_bad_field_at_once(evaluations: Evaluations) -> None:
    with pytest.raises(InvalidArgument) as refused:
        evaluations.create(
            CreateEvaluation(code="", language="Py thon", metadata={"k": "\x00"}), None
        )
    assert {v.field for v in refused.value.violations} == {"code", "language", "metadata"}


def test_create_evaluation_with_a_taken_id_writes_nothing(
    evaluations: Evaluations, db: MemoryTransactions
) -> None:
    evaluations.create(CreateEvaluation(code="x", evaluation_id="e1"), None)
    before = len(db.tables.evaluations.events)
    with pytest.raises(AlreadyExists) as refused:
        evaluations.create(CreateEvaluation(code="y", evaluation_id="e1"), key("r"))
    assert refused.value.reason == "EVALUATION_EXISTS"
    assert len(db.tables.evaluations.events) == before and not db.tables.claims


def test_create_evaluation_replays_a_request_id(evaluations: Evaluations) -> None:
    first = evaluations.create(CreateEvaluation(code="x"), key("r1"))
    evaluations.update(UpdateEvaluation(first.evaluation_id, status=Status.RUNNING), None)
    again = evaluations.create(CreateEvaluation(code="x"), key("r1"))
    assert (again.evaluation_id, again.version) == (first.evaluation_id, 1)
    with pytest.raises(AlreadyExists):
        evaluations.create(CreateEvaluation(code="x"), key("r1", b"other"))


def test_update_evaluation_carries_over_what_it_does_not_change(evaluations: Evaluations) -> None:
    e = evaluations.create(CreateEvaluation(code="x", metadata={"a": 1}), None)
    out = prepared("hello")
    first = evaluations.update(UpdateEvaluation(e.evaluation_id, output=out, runtime_ms=5), None)
    second = evaluations.update(UpdateEvaluation(e.evaluation_id, status=Status.RUNNING), None)
    assert second.output == first.output == out.content
    assert (second.runtime_ms, second.metadata, second.version) == (5, {"a": 1}, 3)


def test_update_evaluation_to_a_terminal_state_computes_the_runtime(
    evaluations: Evaluations,
) -> None:
    e = evaluations.create(CreateEvaluation(code="x"), None)
    started = evaluations.update(UpdateEvaluation(e.evaluation_id, status=Status.RUNNING), None)
    done = evaluations.update(UpdateEvaluation(e.evaluation_id, status=Status.COMPLETED), None)
    assert started.start_time is not None and done.complete_time is not None
    assert done.runtime_ms == 1000  # the clock ticks a second per call
    assert done.start_time == started.start_time


def test_update_evaluation_keeps_a_given_runtime_and_times(evaluations: Evaluations) -> None:
    e = evaluations.create(CreateEvaluation(code="x"), None)
    start, end = T0 - timedelta(hours=1), T0 - timedelta(minutes=59)
    done = evaluations.update(
        UpdateEvaluation(
            e.evaluation_id, status=Status.COMPLETED, start_time=start, complete_time=end,
            runtime_ms=7,
        ),
        None,
    )  # fmt: skip
    assert (done.start_time, done.complete_time, done.runtime_ms) == (start, end, 7)


def test_update_evaluation_refuses_a_completion_before_the_start(evaluations: Evaluations) -> None:
    e = evaluations.create(CreateEvaluation(code="x"), None)
    with pytest.raises(InvalidArgument) as refused:
        evaluations.update(
            UpdateEvaluation(
                e.evaluation_id, start_time=T0, complete_time=T0 - timedelta(seconds=1)
            ),
            None,
        )
    assert refused.value.violations[0].field == "complete_time"


def test_update_evaluation_checks_the_merged_metadata(evaluations: Evaluations) -> None:
    e = evaluations.create(CreateEvaluation(code="x", metadata={"a": "x" * 40_000}), None)
    with pytest.raises(InvalidArgument) as refused:
        evaluations.update(
            UpdateEvaluation(e.evaluation_id, metadata_changes={"b": "y" * 40_000}), None
        )
    assert refused.value.violations[0].field == "metadata_changes"


def test_update_evaluation_with_the_expected_version_appends(evaluations: Evaluations) -> None:
    e = evaluations.create(CreateEvaluation(code="x"), None)
    assert (
        evaluations.update(UpdateEvaluation(e.evaluation_id, expected_version=1), None).version == 2
    )
    with pytest.raises(Aborted) as refused:
        evaluations.update(UpdateEvaluation(e.evaluation_id, expected_version=1), None)
    assert refused.value.metadata["current_version"] == "2"
    with pytest.raises(InvalidArgument):
        evaluations.update(UpdateEvaluation(e.evaluation_id, expected_version=-1), None)


def test_update_evaluation_replays_its_request_id_even_after_later_versions(
    evaluations: Evaluations,
) -> None:
    e = evaluations.create(CreateEvaluation(code="x"), None)
    first = evaluations.update(UpdateEvaluation(e.evaluation_id, expected_version=1), key("u"))
    evaluations.update(UpdateEvaluation(e.evaluation_id), None)
    again = evaluations.update(UpdateEvaluation(e.evaluation_id, expected_version=1), key("u"))
    assert again.version == first.version == 2
    with pytest.raises(InvalidArgument):
        evaluations.update(UpdateEvaluation(e.evaluation_id), key("has space"))


def test_update_evaluation_of_an_unknown_evaluation_is_not_found(evaluations: Evaluations) -> None:
    with pytest.raises(NotFound) as missing:
        evaluations.update(UpdateEvaluation("nope"), None)
    assert missing.value.reason == "EVALUATION_NOT_FOUND"


def test_delete_evaluation_appends_a_tombstone(evaluations: Evaluations) -> None:
    e = evaluations.create(CreateEvaluation(code="x"), None)
    gone = evaluations.delete(e.evaluation_id, 0, None)
    assert gone.deleted and gone.version == 2 and gone.delete_time == gone.update_time
    with pytest.raises(NotFound):
        evaluations.get(e.evaluation_id)
    with pytest.raises(NotFound):
        evaluations.delete(e.evaluation_id, 0, None)
    assert evaluations.get(e.evaluation_id, show_deleted=True).deleted
    assert not evaluations.get(e.evaluation_id, version=1, show_deleted=True).deleted
    assert evaluations.list(EvaluationFilters(), 0, "").items == []
    assert len(evaluations.list(EvaluationFilters(show_deleted=True), 0, "").items) == 1


def test_delete_evaluation_with_a_stale_expected_version_is_aborted(
    evaluations: Evaluations,
) -> None:
    e = evaluations.create(CreateEvaluation(code="x"), None)
    evaluations.update(UpdateEvaluation(e.evaluation_id), None)
    with pytest.raises(Aborted):
        evaluations.delete(e.evaluation_id, 1, None)


def test_retries_after_a_delete_get_their_first_replies(evaluations: Evaluations) -> None:
    """A client whose reply was lost retries; the evaluation being deleted since (by that
    very request, or after it) does not turn its answer into NOT_FOUND."""
    evaluations.create(CreateEvaluation(code="x", evaluation_id="e1"), None)
    updated = evaluations.update(UpdateEvaluation("e1", metadata_changes={"a": 1}), key("u"))
    gone = evaluations.delete("e1", 0, key("d"))
    assert evaluations.delete("e1", 0, key("d")) == gone
    again = evaluations.update(UpdateEvaluation("e1", metadata_changes={"a": 1}), key("u"))
    assert again == updated and again.version == 2 and not again.deleted


def test_changes_of_a_deleted_evaluation_are_not_found_naming_it(
    evaluations: Evaluations,
) -> None:
    evaluations.create(CreateEvaluation(code="x", evaluation_id="e1"), None)
    evaluations.delete("e1", 0, None)
    changes: list[Callable[[], object]] = [
        lambda: evaluations.update(UpdateEvaluation("e1", status=Status.RUNNING), None),
        lambda: evaluations.delete("e1", 0, key("later")),
        lambda: evaluations.apply_task_update(TaskUpdate("e1", "t1", TaskState.STARTED)),
        lambda: evaluations.record_output("e1", Channel.OUTPUT, prepared("out"), "up-1"),
        lambda: evaluations.check_writable("e1"),
        lambda: evaluations.add_event(AddEvent("e1", "note"), None),
    ]
    for change in changes:
        with pytest.raises(NotFound) as missing:
            change()
        assert missing.value.message == "evaluation 'e1' not found"
        assert missing.value.metadata == {"resource": "evaluation", "id": "e1"}
    assert evaluations.get("e1", show_deleted=True).version == 2  # nothing appended
    events = evaluations.list_events("e1", 0, "", show_deleted=True).items
    assert [x.type for x in events] == ["ledger.created", "ledger.deleted"]


def test_apply_task_update_records_the_task_and_replays_a_redelivery(
    evaluations: Evaluations,
) -> None:
    e = evaluations.create(CreateEvaluation(code="x"), None)
    started = evaluations.apply_task_update(TaskUpdate(e.evaluation_id, "t1", TaskState.STARTED))
    retry = evaluations.apply_task_update(TaskUpdate(e.evaluation_id, "t1", TaskState.RETRY, 1))
    again = evaluations.apply_task_update(TaskUpdate(e.evaluation_id, "t1", TaskState.STARTED))
    assert (started.status, retry.status) == (Status.RUNNING, Status.QUEUED)
    assert retry.task is not None and retry.task.retries == 1
    assert again.version == started.version == 2  # the redelivered STARTED of retry 0
    restarted = evaluations.apply_task_update(
        TaskUpdate(e.evaluation_id, "t1", TaskState.STARTED, 1)
    )
    assert (restarted.version, restarted.status) == (4, Status.RUNNING)


def test_apply_task_update_requires_a_task_and_a_state(evaluations: Evaluations) -> None:
    with pytest.raises(InvalidArgument) as refused:
        evaluations.apply_task_update(TaskUpdate("e", "", None, -1))
    assert {v.field for v in refused.value.violations} == {"task_id", "task_state", "retries"}


def test_update_keeps_the_task_a_report_recorded(evaluations: Evaluations) -> None:
    e = evaluations.create(CreateEvaluation(code="x"), None)
    evaluations.apply_task_update(TaskUpdate(e.evaluation_id, "t1", TaskState.STARTED))
    later = evaluations.update(UpdateEvaluation(e.evaluation_id, metadata_changes={"a": 1}), None)
    assert later.task is not None and later.task.task_id == "t1"


def test_record_output_appends_and_answers_a_finished_upload(evaluations: Evaluations) -> None:
    e = evaluations.create(CreateEvaluation(code="x"), None)
    evaluations.check_writable(e.evaluation_id)
    assert evaluations.finished_upload("up-1") is None
    written = evaluations.record_output(e.evaluation_id, Channel.ERROR, prepared("boom"), "up-1")
    finished = evaluations.finished_upload("up-1")
    assert finished is not None and finished.channel is Channel.ERROR
    assert finished.evaluation.version == written.version == 2 and finished.size == 4
    assert written.error is not None and written.output is None
    again = evaluations.record_output(e.evaluation_id, Channel.ERROR, prepared("boom"), "up-1")
    assert again.version == 2
    with pytest.raises(AlreadyExists):
        evaluations.record_output(e.evaluation_id, Channel.ERROR, prepared("other"), "up-1")


def test_check_writable_refuses_a_finished_evaluation(evaluations: Evaluations) -> None:
    e = evaluations.create(CreateEvaluation(code="x", status=Status.TIMEOUT), None)
    with pytest.raises(FailedPrecondition):
        evaluations.check_writable(e.evaluation_id)


def test_list_evaluations_pages_newest_first_and_filters(evaluations: Evaluations) -> None:
    made = [evaluations.create(CreateEvaluation(code="x", language=lang), None)
            for lang in ("go", "python", "go")]  # fmt: skip
    evaluations.update(UpdateEvaluation(made[0].evaluation_id, status=Status.RUNNING), None)
    first = evaluations.list(EvaluationFilters(), 2, "")
    second = evaluations.list(EvaluationFilters(), 2, first.next_page_token)
    assert [e.evaluation_id for e in first.items + second.items] == [
        m.evaluation_id for m in reversed(made)
    ]
    assert second.next_page_token == ""
    go = evaluations.list(EvaluationFilters(language="go", status=Status.RUNNING), 0, "")
    assert [e.evaluation_id for e in go.items] == [made[0].evaluation_id]
    with pytest.raises(InvalidArgument):
        evaluations.list(EvaluationFilters(language="go"), 2, first.next_page_token)
    with pytest.raises(InvalidArgument):
        evaluations.list(EvaluationFilters(start_time=T0, end_time=T0), 0, "")


def test_list_versions_and_running_page(evaluations: Evaluations) -> None:
    e = evaluations.create(CreateEvaluation(code="x"), None)
    evaluations.update(UpdateEvaluation(e.evaluation_id, status=Status.RUNNING), None)
    evaluations.update(UpdateEvaluation(e.evaluation_id, metadata_changes={"a": 1}), None)
    first = evaluations.list_versions(e.evaluation_id, 2, "")
    rest = evaluations.list_versions(e.evaluation_id, 2, first.next_page_token)
    assert [v.version for v in first.items + rest.items] == [1, 2, 3]
    other = evaluations.create(CreateEvaluation(code="x", status=Status.RUNNING), None)
    running = evaluations.list_running(1, "")
    more = evaluations.list_running(1, running.next_page_token)
    assert {r.evaluation_id for r in running.items + more.items} == {
        e.evaluation_id, other.evaluation_id,
    }  # fmt: skip


def test_add_evaluation_event_replays_and_lists_with_the_versions(
    evaluations: Evaluations,
) -> None:
    e = evaluations.create(CreateEvaluation(code="x"), None)
    early = T0 - timedelta(days=1)
    added = evaluations.add_event(AddEvent(e.evaluation_id, "note", event_time=early), key("ev"))
    again = evaluations.add_event(AddEvent(e.evaluation_id, "note", event_time=early), key("ev"))
    evaluations.update(UpdateEvaluation(e.evaluation_id, status=Status.RUNNING), None)
    assert again.event_id == added.event_id
    events = evaluations.list_events(e.evaluation_id, 0, "").items
    assert [(x.type, x.version) for x in events] == [
        ("note", 0), ("ledger.created", 1), ("ledger.status_changed", 2),
    ]  # fmt: skip
    assert events[2].metadata == {"version": 2, "status": "running", "previous_status": "queued"}


def test_get_evaluation_answers_from_the_version_cache(db: MemoryTransactions) -> None:
    cache = LocalVersions()
    evaluations = Evaluations(db, clock=Clock(), cache=cache)
    e = evaluations.create(CreateEvaluation(code="x"), None)
    assert cache.get(e.evaluation_id, 1) == e
    db.tables.evaluations.versions[e.evaluation_id][0] = e.__class__(
        **{**e.__dict__, "metadata": {"from": "storage"}}
    )
    assert evaluations.get(e.evaluation_id).metadata == {}  # the cached version answered
    with pytest.raises(NotFound):
        evaluations.get(e.evaluation_id, version=5)


def test_statistics_widen_the_range_to_whole_hours(evaluations: Evaluations) -> None:
    e = evaluations.create(CreateEvaluation(code="x"), None)
    evaluations.update(
        UpdateEvaluation(e.evaluation_id, status=Status.COMPLETED, runtime_ms=30), None
    )
    inside = evaluations.statistics(T0 + timedelta(minutes=30), T0 + timedelta(minutes=31))
    after = evaluations.statistics(T0 + timedelta(hours=1), None)
    assert (inside.evaluations, inside.by_status, inside.runtime.p50_ms) == (
        1, {Status.COMPLETED: 1}, 50,
    )  # fmt: skip
    assert after.evaluations == 0
    with pytest.raises(InvalidArgument):
        evaluations.statistics(T0, T0)


def test_apply_task_update_records_its_outputs_and_keeps_the_state_machine(
    evaluations: Evaluations,
) -> None:
    e = evaluations.create(CreateEvaluation(code="x", status=Status.PROVISIONING), None)
    with pytest.raises(FailedPrecondition) as refused:
        evaluations.apply_task_update(TaskUpdate(e.evaluation_id, "t", TaskState.SUCCESS))
    assert refused.value.reason == "ILLEGAL_TRANSITION"
    assert refused.value.metadata["evaluation_id"] == e.evaluation_id
    failed = evaluations.apply_task_update(
        TaskUpdate(
            e.evaluation_id, "t", TaskState.FAILURE, output=prepared("o"), error=prepared("e")
        )
    )
    assert failed.output == prepared("o").content and failed.error == prepared("e").content
    assert failed.complete_time is not None and failed.task is not None


def test_update_evaluation_sets_no_start_time_before_running_and_keeps_the_container(
    evaluations: Evaluations,
) -> None:
    e = evaluations.create(CreateEvaluation(code="x"), None)
    placed = evaluations.update(
        UpdateEvaluation(
            e.evaluation_id, status=Status.PROVISIONING, running=RunningInfo(container_id="c1")
        ),
        None,
    )
    kept = evaluations.update(UpdateEvaluation(e.evaluation_id, metadata_changes={"a": 1}), None)
    assert placed.start_time is None and kept.start_time is None
    assert kept.running == RunningInfo(container_id="c1") and kept.code == ""
    with pytest.raises(InvalidArgument) as refused:
        evaluations.update(
            UpdateEvaluation(e.evaluation_id, start_time=T0, complete_time=T0 - timedelta(1)), None
        )
    assert [(v.field, v.description) for v in refused.value.violations] == [
        ("complete_time", "must not be before start_time")
    ]
