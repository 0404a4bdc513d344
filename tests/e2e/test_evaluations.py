"""EvaluationService records through the SDK: versions, the state machine, retries,
deletes, the Celery mapping, running containers and the timeline."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from ledger.v1 import evaluation_pb2 as ev
from ledger_client import (
    Aborted,
    AlreadyExists,
    Client,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
)


@pytest.fixture
def new_id() -> Callable[[], str]:
    return lambda: f"eval_test_{uuid.uuid4().hex[:12]}"


def test_create_evaluation_returns_version_one_queued_with_a_generated_id(client: Client) -> None:
    created = client.evaluations.create("print('hi')", evaluation_metadata={"priority": "high"})

    assert created.evaluation_id.startswith("eval_")
    assert (created.version, created.status) == (1, ev.EVALUATION_STATUS_QUEUED)
    assert created.language == "python"
    assert dict(created.metadata) == {"priority": "high"}
    fetched = client.evaluations.get(created.evaluation_id, full=True)
    assert fetched.code == "print('hi')"
    assert client.evaluations.get(created.evaluation_id).code == ""  # BASIC leaves it out


def test_create_evaluation_with_a_taken_id_is_already_exists(
    client: Client, new_id: Callable[[], str]
) -> None:
    evaluation_id = new_id()
    client.evaluations.create("a", evaluation_id=evaluation_id)

    with pytest.raises(AlreadyExists) as refused:
        client.evaluations.create("b", evaluation_id=evaluation_id)
    assert refused.value.reason == "EVALUATION_EXISTS"


def test_create_evaluation_retried_with_its_request_id_returns_the_first_and_writes_nothing(
    client: Client, row_counts: Callable[[], dict[str, int]]
) -> None:
    first = client.evaluations.create("x = 1", request_id="create-retry-1")
    before = row_counts()

    again = client.evaluations.create("x = 1", request_id="create-retry-1")

    assert again.evaluation_id == first.evaluation_id
    assert row_counts() == before
    with pytest.raises(AlreadyExists) as refused:
        client.evaluations.create("x = 2", request_id="create-retry-1")
    assert refused.value.reason == "REQUEST_ID_REUSED"


@pytest.mark.parametrize(
    "evaluation_id",
    ["has space", "_leading", "x" * 129, "nul\x00", "ümlaut"],
)
def test_create_evaluation_refuses_a_malformed_id(client: Client, evaluation_id: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        client.evaluations.create("x", evaluation_id=evaluation_id)
    assert refused.value.field_violations[0].field == "evaluation_id"


def test_update_evaluation_appends_versions_and_moves_through_the_states(client: Client) -> None:
    e = client.evaluations.create("x")
    running = client.evaluations.update(
        e.evaluation_id,
        status="running",
        running=ev.RunningInfo(container_id="c-1", host="worker-3", image="python:3.11"),
    )
    done = client.evaluations.update(
        e.evaluation_id, status="completed", output="ok\n", metadata_changes={"exit_code": 0}
    )

    assert (running.version, done.version) == (2, 3)
    assert running.HasField("start_time") and done.HasField("complete_time")
    assert done.HasField("runtime_ms") and done.runtime_ms >= 0
    assert done.output_info.preview == "ok\n"
    assert dict(done.metadata) == {"exit_code": 0}
    history = list(client.evaluations.list_versions(e.evaluation_id))
    assert [v.status for v in history] == [
        ev.EVALUATION_STATUS_QUEUED,
        ev.EVALUATION_STATUS_RUNNING,
        ev.EVALUATION_STATUS_COMPLETED,
    ]
    assert client.evaluations.get(e.evaluation_id, version=2).status == ev.EVALUATION_STATUS_RUNNING


def test_update_evaluation_refuses_an_illegal_transition_naming_both_states(client: Client) -> None:
    e = client.evaluations.create("x", status="running")

    with pytest.raises(FailedPrecondition) as refused:
        client.evaluations.update(e.evaluation_id, status="provisioning")

    assert refused.value.reason == "ILLEGAL_TRANSITION"
    assert "running" in refused.value.message and "provisioning" in refused.value.message
    assert client.evaluations.get(e.evaluation_id).version == 1


def test_update_evaluation_of_a_finished_evaluation_is_failed_precondition(client: Client) -> None:
    e = client.evaluations.create("x")
    client.evaluations.update(e.evaluation_id, status="cancelled")

    with pytest.raises(FailedPrecondition) as refused:
        client.evaluations.update(e.evaluation_id, status="running")
    assert refused.value.reason == "EVALUATION_FINISHED"
    with pytest.raises(FailedPrecondition):
        client.evaluations.update(e.evaluation_id, metadata_changes={"late": True})


def test_update_evaluation_with_a_stale_expected_version_is_aborted(client: Client) -> None:
    e = client.evaluations.create("x")
    client.evaluations.update(e.evaluation_id, status="provisioning", expected_version=1)

    with pytest.raises(Aborted) as refused:
        client.evaluations.update(e.evaluation_id, status="running", expected_version=1)

    assert refused.value.reason == "VERSION_MISMATCH"
    assert client.evaluations.get(e.evaluation_id).version == 2


def test_update_evaluation_retried_with_its_request_id_returns_the_same_version(
    client: Client,
) -> None:
    e = client.evaluations.create("x")
    first = client.evaluations.update(e.evaluation_id, status="running", request_id="upd-1")
    client.evaluations.update(e.evaluation_id, metadata_changes={"step": 2})

    again = client.evaluations.update(e.evaluation_id, status="running", request_id="upd-1")

    assert again.version == first.version == 2
    assert client.evaluations.get(e.evaluation_id).version == 3


def test_update_evaluation_metadata_changes_set_and_remove_keys(client: Client) -> None:
    e = client.evaluations.create("x", evaluation_metadata={"a": 1, "b": "two"})

    changed = client.evaluations.update(e.evaluation_id, metadata_changes={"a": None, "c": [1]})

    assert dict(changed.metadata) == {"b": "two", "c": [1]}


def test_delete_evaluation_hides_it_unless_show_deleted(client: Client) -> None:
    e = client.evaluations.create("x", language="rust")
    tombstone = client.evaluations.delete(e.evaluation_id)

    assert tombstone.deleted and tombstone.version == 2 and tombstone.HasField("delete_time")
    with pytest.raises(NotFound):
        client.evaluations.get(e.evaluation_id)
    with pytest.raises(NotFound):
        client.evaluations.update(e.evaluation_id, status="running")
    assert client.evaluations.get(e.evaluation_id, show_deleted=True).deleted
    listed = {x.evaluation_id for x in client.evaluations.list(language="rust")}
    shown = {x.evaluation_id for x in client.evaluations.list(language="rust", show_deleted=True)}
    assert e.evaluation_id not in listed and e.evaluation_id in shown


def test_delete_evaluation_retried_with_its_request_id_gets_the_first_tombstone(
    client: Client,
) -> None:
    e = client.evaluations.create("x", language="rust")
    request_id = f"delete-{uuid.uuid4()}"

    first = client.evaluations.delete(e.evaluation_id, request_id=request_id)
    again = client.evaluations.delete(e.evaluation_id, request_id=request_id)

    assert again == first and again.version == 2
    assert [
        v.version for v in client.evaluations.list_versions(e.evaluation_id, show_deleted=True)
    ] == [1, 2]
    with pytest.raises(NotFound):  # a new delete of a deleted evaluation is not found
        client.evaluations.delete(e.evaluation_id, request_id=f"delete-{uuid.uuid4()}")


def test_list_evaluations_pages_newest_first_with_filters(client: Client) -> None:
    language = f"lang{uuid.uuid4().hex[:8]}"
    made = [client.evaluations.create(f"print({n})", language=language) for n in range(5)]
    client.evaluations.update(made[1].evaluation_id, status="running")

    listed = list(client.evaluations.list(language=language, page_size=2))
    running = list(client.evaluations.list(language=language, status="running"))

    assert [e.evaluation_id for e in listed] == [e.evaluation_id for e in reversed(made)]
    assert [e.evaluation_id for e in running] == [made[1].evaluation_id]
    assert running[0].version == 2


def test_list_running_evaluations_returns_the_running_with_their_containers(
    client: Client,
) -> None:
    e = client.evaluations.create("x")
    limits = ev.ResourceLimits(cpu_millis=500, memory_bytes=256 << 20, timeout_seconds=30)
    client.evaluations.update(
        e.evaluation_id,
        status="running",
        running=ev.RunningInfo(container_id="abc123", host="h1", image="py", limits=limits),
    )
    finished = client.evaluations.create("y", status="running")
    client.evaluations.update(finished.evaluation_id, status="completed")

    running = {r.evaluation_id: r for r in client.evaluations.list_running()}

    assert running[e.evaluation_id].running.container_id == "abc123"
    assert running[e.evaluation_id].running.limits.memory_bytes == 256 << 20
    assert finished.evaluation_id not in running


@pytest.mark.parametrize(
    ("state", "status"),
    [
        ("PENDING", ev.EVALUATION_STATUS_QUEUED),
        ("STARTED", ev.EVALUATION_STATUS_RUNNING),
        ("RETRY", ev.EVALUATION_STATUS_QUEUED),
        ("SUCCESS", ev.EVALUATION_STATUS_COMPLETED),
        ("FAILURE", ev.EVALUATION_STATUS_FAILED),
        ("REVOKED", ev.EVALUATION_STATUS_CANCELLED),
    ],
)
def test_apply_task_update_maps_celery_states_onto_statuses(
    client: Client, state: str, status: int
) -> None:
    e = client.evaluations.create("x")

    applied = client.evaluations.apply_task_update(
        e.evaluation_id, task_id="celery-1", task_state=state, retries=1
    )

    assert applied.status == status
    assert (applied.task.task_id, applied.task.retries) == ("celery-1", 1)


def test_apply_task_update_redelivered_is_answered_once(
    client: Client, row_counts: Callable[[], dict[str, int]]
) -> None:
    e = client.evaluations.create("x")
    first = client.evaluations.apply_task_update(
        e.evaluation_id, task_id="t-9", task_state="SUCCESS", output="done"
    )
    before = row_counts()

    again = client.evaluations.apply_task_update(
        e.evaluation_id, task_id="t-9", task_state="SUCCESS", output="done"
    )

    assert again.version == first.version == 2
    assert row_counts() == before


def test_apply_task_update_after_success_is_failed_precondition(client: Client) -> None:
    e = client.evaluations.create("x")
    client.evaluations.apply_task_update(e.evaluation_id, task_id="t", task_state="SUCCESS")

    with pytest.raises(FailedPrecondition) as refused:
        client.evaluations.apply_task_update(e.evaluation_id, task_id="t", task_state="STARTED")
    assert refused.value.reason == "EVALUATION_FINISHED"


def test_list_evaluation_events_shows_every_version_and_added_events_oldest_first(
    client: Client,
) -> None:
    e = client.evaluations.create("x")
    client.evaluations.update(e.evaluation_id, status="running")
    client.evaluations.add_event(e.evaluation_id, "worker.heartbeat", message="alive")
    client.evaluations.update(e.evaluation_id, status="completed")

    events = list(client.evaluations.list_events(e.evaluation_id, page_size=2))

    assert [(x.type, x.version) for x in events] == [
        ("ledger.created", 1),
        ("ledger.status_changed", 2),
        ("worker.heartbeat", 0),
        ("ledger.status_changed", 3),
    ]
    assert events[3].message == "version 3: running -> completed"


def test_add_evaluation_event_refuses_the_servers_own_types(client: Client) -> None:
    e = client.evaluations.create("x")

    with pytest.raises(InvalidArgument) as refused:
        client.evaluations.add_event(e.evaluation_id, "ledger.created")
    assert refused.value.field_violations[0].field == "type"


def test_add_evaluation_event_retried_returns_the_first_event(client: Client) -> None:
    e = client.evaluations.create("x")
    first = client.evaluations.add_event(e.evaluation_id, "note", request_id="ev-1")

    again = client.evaluations.add_event(e.evaluation_id, "note", request_id="ev-1")

    assert again.event_id == first.event_id
    assert [x.type for x in client.evaluations.list_events(e.evaluation_id)].count("note") == 1


def test_get_evaluation_statistics_counts_from_rows_written_with_each_version(
    client: Client,
) -> None:
    language = f"stats{uuid.uuid4().hex[:8]}"
    before = client.evaluations.get_statistics()
    a = client.evaluations.create("x", language=language)
    b = client.evaluations.create("y", language=language)
    client.evaluations.update(a.evaluation_id, status="completed", runtime_ms=40, output="12345")
    client.evaluations.update(b.evaluation_id, status="failed", runtime_ms=4000)
    c = client.evaluations.create("z", language=language)
    client.evaluations.delete(c.evaluation_id)

    after = client.evaluations.get_statistics()

    assert after.evaluation_count - before.evaluation_count == 2
    languages = {x.language: x.count for x in after.by_language}
    assert languages[language] == 2
    assert after.runtime.count - before.runtime.count == 2
    assert after.total_output_bytes - before.total_output_bytes == 5
