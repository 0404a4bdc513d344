"""What a caller sees of the EvaluationService beyond the main paths: which output an
upload wrote and what its version carries over, damaged stored bytes, reads on a cache
miss, statistics ranges, list tokens and pages, refusals' wording, and range limits."""

from __future__ import annotations

import hashlib
import io
import zlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from ledger_server.domain.errors import (
    AlreadyExists,
    DataLoss,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    Violations,
)
from ledger_server.domain.evaluations import outputs, rules
from ledger_server.domain.evaluations.commands import (
    AddEvent,
    CreateEvaluation,
    EvaluationFilters,
    TaskUpdate,
    UpdateEvaluation,
)
from ledger_server.domain.evaluations.records import (
    Change,
    Channel,
    Compression,
    Content,
    Evaluation,
    Location,
    Status,
    TaskState,
)
from ledger_server.domain.evaluations.use_cases import Evaluations
from ledger_server.domain.evaluations.version_cache import LocalVersions, TwoLevels
from ledger_server.domain.idempotency import RequestKey
from tests.support.memory_store import MemoryTransactions

T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


class NoBlobs:
    def put(self, sha256: bytes, data: bytes) -> None:
        raise AssertionError("small contents stay in the database")

    def open(self, sha256: bytes) -> object:
        raise AssertionError("small contents stay in the database")


def prepared(data: bytes) -> outputs.PreparedContent:
    return outputs.prepare(data, NoBlobs(), outputs.Thresholds())  # type: ignore[arg-type]


def test_record_output_of_the_output_channel_writes_only_the_output() -> None:
    evaluations = Evaluations(MemoryTransactions(), clock=Clock())
    e = evaluations.create(CreateEvaluation(code="x", evaluation_id="e1"), None)
    written = evaluations.record_output("e1", Channel.OUTPUT, prepared(b"hello"), "up-1")
    assert written.output is not None and written.output.preview == "hello"
    assert written.error is None
    assert (written.version, written.change) == (2, Change.OUTPUT_WRITTEN)
    assert written.update_time == T0 + timedelta(seconds=2) > e.update_time
    finished = evaluations.finished_upload("up-1")
    assert finished is not None and finished.channel is Channel.OUTPUT
    assert finished.size == 5


def test_record_output_of_the_error_channel_keeps_the_output_written_before() -> None:
    evaluations = Evaluations(MemoryTransactions(), clock=Clock())
    evaluations.create(CreateEvaluation(code="x", evaluation_id="e1"), None)
    evaluations.record_output("e1", Channel.OUTPUT, prepared(b"out"), "up-1")
    written = evaluations.record_output("e1", Channel.ERROR, prepared(b"boom!"), "up-2")
    assert written.output is not None and written.output.preview == "out"
    assert written.error is not None and written.error.preview == "boom!"
    finished = evaluations.finished_upload("up-2")
    assert finished is not None and finished.size == 5


def test_record_output_keeps_the_task_a_report_recorded() -> None:
    evaluations = Evaluations(MemoryTransactions(), clock=Clock())
    evaluations.create(CreateEvaluation(code="x", evaluation_id="e1"), None)
    evaluations.apply_task_update(TaskUpdate("e1", "t1", TaskState.STARTED))
    written = evaluations.record_output("e1", Channel.OUTPUT, prepared(b"hello"), "up-1")
    assert written.task is not None and written.task.task_id == "t1"
    assert written.status is Status.RUNNING


def test_record_output_to_a_finished_evaluation_names_it() -> None:
    evaluations = Evaluations(MemoryTransactions(), clock=Clock())
    evaluations.create(CreateEvaluation(code="x", evaluation_id="e1", status=Status.FAILED), None)
    with pytest.raises(FailedPrecondition) as refused:
        evaluations.record_output("e1", Channel.OUTPUT, prepared(b"late"), "up-1")
    assert refused.value.reason == "EVALUATION_FINISHED"
    assert refused.value.message == (
        "evaluation 'e1' is failed, a final status: it takes no more changes"
    )


def test_content_bytes_are_what_the_database_keeps_for_a_content() -> None:
    evaluations = Evaluations(MemoryTransactions(), clock=Clock())
    evaluations.create(CreateEvaluation(code="x", evaluation_id="e1"), None)
    written = evaluations.record_output("e1", Channel.OUTPUT, prepared(b"hello"), "up-1")
    assert written.output is not None
    assert evaluations.content_bytes(written.output) == b"hello"


def _content(data: bytes, compression: Compression, stored: bytes) -> Content:
    zipped = compression is Compression.ZLIB
    location = Location.DATABASE_COMPRESSED if zipped else Location.DATABASE_INLINE
    return Content(
        hashlib.sha256(data).digest(), len(data), location, compression, len(stored), "", False
    )


def test_decoded_returns_inline_bytes_as_they_are() -> None:
    content = _content(b"plain text", Compression.NONE, b"plain text")
    assert outputs.decoded(content, b"plain text") == b"plain text"


def test_decoded_refuses_bytes_of_the_right_length_but_another_digest() -> None:
    content = _content(b"abc", Compression.NONE, b"abc")
    with pytest.raises(DataLoss) as refused:
        outputs.decoded(content, b"abd")
    assert refused.value.reason == "CONTENT_CORRUPTED"


def test_decoded_refuses_compressed_bytes_that_do_not_inflate() -> None:
    content = _content(b"abc", Compression.ZLIB, zlib.compress(b"abc"))
    with pytest.raises(DataLoss) as refused:
        outputs.decoded(content, b"not zlib at all")
    assert refused.value.reason == "CONTENT_CORRUPTED"
    assert refused.value.metadata == {"sha256": content.sha256_hex}


def test_decoded_refuses_bytes_of_another_length() -> None:
    content = _content(b"abc", Compression.NONE, b"abc")
    with pytest.raises(DataLoss) as refused:
        outputs.decoded(content, b"abcd")
    assert refused.value.metadata == {"sha256": content.sha256_hex}


class Refusing:
    """A shared cache that must not be asked."""

    def get(self, evaluation_id: str, version: int) -> Evaluation | None:
        raise AssertionError("a local hit does not ask the shared cache")

    def put(self, evaluation: Evaluation) -> None: ...


def test_two_levels_answer_a_local_hit_without_asking_the_shared_cache() -> None:
    first = Evaluation("e", 1, Status.QUEUED, "go", T0, T0, Change.CREATED)
    local = LocalVersions()
    local.put(first)
    local.put(replace(first, version=2))
    both = TwoLevels(local, Refusing())
    assert both.get("e", 1) == first
    assert both.get("e", 2) == replace(first, version=2)


class SetClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_get_evaluation_reads_storage_on_a_cache_miss_and_keeps_what_it_read() -> None:
    db = MemoryTransactions()
    Evaluations(db, clock=Clock()).create(CreateEvaluation(code="x", evaluation_id="e1"), None)
    cache = LocalVersions()
    other_process = Evaluations(db, clock=Clock(), cache=cache)
    assert cache.get("e1", 1) is None
    read = other_process.get("e1")
    assert (read.evaluation_id, read.version) == ("e1", 1)
    assert cache.get("e1", 1) == read


def _two_hours() -> Evaluations:
    """One evaluation created at 10:15 (output of 5 bytes), one at 11:15."""
    clock = SetClock(datetime(2026, 6, 1, 10, 15, tzinfo=UTC))
    evaluations = Evaluations(MemoryTransactions(), clock=clock)
    evaluations.create(CreateEvaluation(code="x", evaluation_id="early"), None)
    evaluations.record_output("early", Channel.OUTPUT, prepared(b"hello"), "up-1")
    clock.now = datetime(2026, 6, 1, 11, 15, tzinfo=UTC)
    evaluations.create(CreateEvaluation(code="x", evaluation_id="late"), None)
    return evaluations


def test_statistics_without_bounds_count_every_hour() -> None:
    evaluations = _two_hours()
    everything = evaluations.statistics(None, None)
    assert (everything.evaluations, everything.output_bytes) == (2, 5)
    since = evaluations.statistics(datetime(2026, 6, 1, 10, 59, tzinfo=UTC), None)
    assert (since.evaluations, since.output_bytes) == (2, 5)
    until = evaluations.statistics(None, datetime(2026, 6, 1, 11, 0, tzinfo=UTC))
    assert (until.evaluations, until.output_bytes) == (1, 5)


def test_statistics_end_inside_an_hour_takes_that_hour_and_no_later() -> None:
    evaluations = _two_hours()
    first_hour = evaluations.statistics(None, datetime(2026, 6, 1, 10, 30, tzinfo=UTC))
    assert (first_hour.evaluations, first_hour.output_bytes) == (1, 5)
    both = evaluations.statistics(None, datetime(2026, 6, 1, 11, 0, 1, tzinfo=UTC))
    assert both.evaluations == 2


def test_statistics_up_to_the_last_moment_a_time_can_hold_count_everything() -> None:
    evaluations = _two_hours()
    last = datetime.max.replace(tzinfo=UTC)
    assert evaluations.statistics(None, last).evaluations == 2


def _key(request_id: str, body: bytes) -> RequestKey:
    return RequestKey(request_id, hashlib.sha256(body).digest())


def test_add_evaluation_event_reusing_a_request_id_names_the_method() -> None:
    evaluations = Evaluations(MemoryTransactions(), clock=Clock())
    evaluations.create(CreateEvaluation(code="x", evaluation_id="e1"), None)
    evaluations.add_event(AddEvent("e1", "note"), _key("r1", b"one"))
    with pytest.raises(AlreadyExists) as refused:
        evaluations.add_event(AddEvent("e1", "note"), _key("r1", b"two"))
    assert refused.value.message == (
        "request_id was already used for a different AddEvaluationEvent request"
    )


def test_add_evaluation_event_replayed_after_its_event_is_gone_is_not_found() -> None:
    db = MemoryTransactions()
    evaluations = Evaluations(db, clock=Clock())
    evaluations.create(CreateEvaluation(code="x", evaluation_id="e1"), None)
    evaluations.add_event(AddEvent("e1", "note"), _key("r1", b"one"))
    (event_key,) = [k for k, e in db.tables.evaluations.events if e.type == "note"]
    db.tables.evaluations.events[:] = [
        (k, e) for k, e in db.tables.evaluations.events if k != event_key
    ]
    with pytest.raises(NotFound) as refused:
        evaluations.add_event(AddEvent("e1", "note"), _key("r1", b"one"))
    assert refused.value.message == f"evaluation_event {str(event_key)!r} not found"
    assert refused.value.reason == "EVALUATION_EVENT_NOT_FOUND"
    assert refused.value.metadata == {"resource": "evaluation_event", "id": str(event_key)}


def test_apply_task_update_accepts_the_most_retries_and_no_more() -> None:
    violations = Violations()
    rules.check_task("t", rules.MAX_RETRIES, violations)
    assert not violations
    rules.check_task("t", rules.MAX_RETRIES + 1, violations)
    assert [(v.field, v.description) for v in violations.items] == [
        ("retries", "must be from 0 to 1000000")
    ]


def test_prepare_describes_a_large_output_as_in_the_blob_store() -> None:
    class Kept:
        def __init__(self) -> None:
            self.stored: dict[bytes, bytes] = {}

        def put(self, sha256: bytes, data: bytes) -> None:
            self.stored[sha256] = data

        def open(self, sha256: bytes) -> object:
            raise AssertionError

    data = b"y" * (outputs.Thresholds().compress_max + 1)
    made = outputs.prepare(data, Kept(), outputs.Thresholds())  # type: ignore[arg-type]
    assert made.stored is None
    assert (made.content.location, made.content.compression) == (
        Location.BLOB_STORE,
        Compression.NONE,
    )
    assert (made.content.size, made.content.stored_bytes) == (len(data), len(data))


def _deleted_with_events() -> Evaluations:
    evaluations = Evaluations(MemoryTransactions(), clock=Clock())
    evaluations.create(CreateEvaluation(code="x", evaluation_id="e1"), None)
    for n in range(3):
        evaluations.add_event(AddEvent("e1", "note", f"n{n}"), None)
    evaluations.delete("e1", 0, None)
    return evaluations


def test_list_versions_and_events_of_a_deleted_evaluation_only_when_shown() -> None:
    evaluations = _deleted_with_events()
    with pytest.raises(NotFound):
        evaluations.list_versions("e1", 0, "")
    with pytest.raises(NotFound):
        evaluations.list_events("e1", 0, "")
    versions = evaluations.list_versions("e1", 0, "", show_deleted=True).items
    assert [v.version for v in versions] == [1, 2]
    events = evaluations.list_events("e1", 0, "", show_deleted=True).items
    assert len(events) == 5


def test_list_versions_and_events_tokens_belong_to_their_show_deleted() -> None:
    evaluations = _deleted_with_events()
    versions = evaluations.list_versions("e1", 1, "", show_deleted=True)
    events = evaluations.list_events("e1", 1, "", show_deleted=True)
    evaluations.create(CreateEvaluation(code="x", evaluation_id="e2"), None)
    with pytest.raises(InvalidArgument):
        evaluations.list_versions("e1", 1, versions.next_page_token, show_deleted=False)
    with pytest.raises(InvalidArgument):
        evaluations.list_events("e1", 1, events.next_page_token, show_deleted=False)
    with pytest.raises(InvalidArgument):
        evaluations.list_events("e2", 1, events.next_page_token, show_deleted=True)


def test_list_events_pages_through_every_entry_once() -> None:
    evaluations = _deleted_with_events()
    seen: list[str] = []
    token = ""
    for _ in range(3):  # five entries, two a page
        page = evaluations.list_events("e1", 2, token, show_deleted=True)
        seen += [e.message for e in page.items]
        token = page.next_page_token
    assert not token
    assert seen == [
        "version 1: created as queued",
        "n0",
        "n1",
        "n2",
        "version 2: deleted",
    ]


def test_list_running_starts_from_the_first_id() -> None:
    evaluations = Evaluations(MemoryTransactions(), clock=Clock())
    for name in ("b2", "A1", "0z"):
        evaluations.create(
            CreateEvaluation(code="x", evaluation_id=name, status=Status.RUNNING), None
        )
    page = evaluations.list_running(2, "")
    assert [e.evaluation_id for e in page.items] == ["0z", "A1"]
    rest = evaluations.list_running(2, page.next_page_token)
    assert [e.evaluation_id for e in rest.items] == ["b2"] and not rest.next_page_token


def test_metadata_changes_removing_an_absent_key_change_nothing() -> None:
    assert rules.merged_metadata({"a": 1}, {"gone": None}) == {"a": 1}


def test_update_evaluation_refusals_name_the_evaluation_and_method() -> None:
    evaluations = Evaluations(MemoryTransactions(), clock=Clock())
    evaluations.create(CreateEvaluation(code="x", evaluation_id="e1", status=Status.RUNNING), None)
    with pytest.raises(FailedPrecondition) as illegal:
        evaluations.update(UpdateEvaluation("e1", status=Status.PROVISIONING), None)
    assert illegal.value.message == "evaluation 'e1' cannot move from running to provisioning"
    evaluations.update(UpdateEvaluation("e1", metadata_changes={"a": 1}), _key("r1", b"one"))
    with pytest.raises(AlreadyExists) as reused:
        evaluations.update(UpdateEvaluation("e1", metadata_changes={"a": 2}), _key("r1", b"two"))
    assert reused.value.message == (
        "request_id was already used for a different UpdateEvaluation request"
    )
    evaluations.update(UpdateEvaluation("e1", status=Status.COMPLETED), None)
    with pytest.raises(FailedPrecondition) as finished:
        evaluations.update(UpdateEvaluation("e1", metadata_changes={"a": 3}), None)
    assert finished.value.message == (
        "evaluation 'e1' is completed, a final status: it takes no more changes"
    )


def test_list_evaluations_with_only_a_start_time_lists_from_it() -> None:
    evaluations = Evaluations(MemoryTransactions(), clock=Clock())
    evaluations.create(CreateEvaluation(code="x", evaluation_id="e1"), None)
    since = EvaluationFilters(start_time=T0)
    assert [e.evaluation_id for e in evaluations.list(since, 0, "").items] == ["e1"]


@pytest.mark.parametrize(
    "filters",
    [
        EvaluationFilters(status=Status.QUEUED),
        EvaluationFilters(start_time=T0),
        EvaluationFilters(end_time=T0 + timedelta(days=1)),
        EvaluationFilters(show_deleted=True),
    ],
)
def test_list_evaluations_token_belongs_to_its_filters(filters: EvaluationFilters) -> None:
    evaluations = Evaluations(MemoryTransactions(), clock=Clock())
    for name in ("e1", "e2"):
        evaluations.create(CreateEvaluation(code="x", evaluation_id=name), None)
    token = evaluations.list(filters, 1, "").next_page_token
    assert token
    with pytest.raises(InvalidArgument) as refused:
        evaluations.list(EvaluationFilters(), 1, token)
    assert refused.value.violations[0].field == "page_token"
    assert [e.evaluation_id for e in evaluations.list(filters, 1, token).items] == ["e1"]


def test_update_evaluation_answers_with_the_merged_metadata() -> None:
    evaluations = Evaluations(MemoryTransactions(), clock=Clock())
    evaluations.create(CreateEvaluation(code="x", evaluation_id="e1", metadata={"a": 1}), None)
    changed = evaluations.update(UpdateEvaluation("e1", metadata_changes={"b": 2}), None)
    assert changed.metadata == {"a": 1, "b": 2}
    assert evaluations.get("e1").metadata == {"a": 1, "b": 2}
    assert changed.update_time == T0 + timedelta(seconds=2)


def test_times_at_either_end_of_the_stored_range_are_accepted() -> None:
    violations = Violations()
    rules.check_time(datetime(1970, 1, 1, tzinfo=UTC), "start_time", violations)
    rules.check_time(datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC), "complete_time", violations)
    assert not violations
    rules.check_time(datetime(9999, 12, 31, 23, 59, 59, 1, tzinfo=UTC), "complete_time", violations)
    assert [v.field for v in violations.items] == ["complete_time"]


def test_delete_evaluation_stamps_its_time_and_claims_its_request_id() -> None:
    evaluations = Evaluations(MemoryTransactions(), clock=Clock())
    evaluations.create(CreateEvaluation(code="x", evaluation_id="e1"), None)
    evaluations.create(CreateEvaluation(code="x", evaluation_id="e2"), None)
    gone = evaluations.delete("e1", 0, _key("r1", b"one"))
    assert gone.change is Change.DELETED
    assert gone.update_time == gone.delete_time == T0 + timedelta(seconds=3)
    with pytest.raises(AlreadyExists) as reused:
        evaluations.delete("e2", 0, _key("r1", b"two"))
    assert reused.value.message == (
        "request_id was already used for a different DeleteEvaluation request"
    )


def test_create_evaluation_reusing_a_request_id_names_the_method() -> None:
    evaluations = Evaluations(MemoryTransactions(), clock=Clock())
    evaluations.create(CreateEvaluation(code="x", evaluation_id="e1"), _key("r1", b"one"))
    with pytest.raises(AlreadyExists) as reused:
        evaluations.create(CreateEvaluation(code="x", evaluation_id="e1"), _key("r1", b"two"))
    assert reused.value.message == (
        "request_id was already used for a different CreateEvaluation request"
    )


def test_check_writable_of_a_finished_evaluation_names_it() -> None:
    evaluations = Evaluations(MemoryTransactions(), clock=Clock())
    evaluations.create(CreateEvaluation(code="x", evaluation_id="e1", status=Status.TIMEOUT), None)
    with pytest.raises(FailedPrecondition) as refused:
        evaluations.check_writable("e1")
    assert refused.value.message == (
        "evaluation 'e1' is timeout, a final status: it takes no more changes"
    )


def _blob_content(data: bytes) -> Content:
    return Content(
        hashlib.sha256(data).digest(),
        len(data),
        Location.BLOB_STORE,
        Compression.NONE,
        len(data),
        "",
        False,
    )


def test_verified_chunks_serves_a_range_whose_last_chunk_is_one_byte() -> None:
    data = b"0123456789"
    chunks = outputs.verified_chunks(io.BytesIO(data), _blob_content(data), 1, 3, 2)
    assert b"".join(chunks) == b"123"


class Shrinking(io.BytesIO):
    """A blob cut short by the time a range is read, after its whole-file check."""

    def seek(self, pos: int, whence: int = 0) -> int:
        moved = super().seek(pos, whence)
        if pos:
            self.truncate(pos)
        return moved


def test_verified_chunks_of_a_blob_cut_short_after_its_check_is_data_loss() -> None:
    data = b"0123456789"
    content = _blob_content(data)
    with pytest.raises(DataLoss) as refused:
        b"".join(outputs.verified_chunks(Shrinking(data), content, 4, 3, 2))
    assert refused.value.metadata == {"sha256": content.sha256_hex}
