"""Evaluation log use cases over in-memory repositories: numbering, resends, closing, pages."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ledger_server.domain.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    OutOfRange,
)
from ledger_server.domain.evaluations import log_use_cases
from ledger_server.domain.evaluations.commands import CreateEvaluation, UpdateEvaluation
from ledger_server.domain.evaluations.log_lines import (
    AppendLogsCommand,
    AppendResult,
    LogLineInput,
    LogStream,
)
from ledger_server.domain.evaluations.log_ports import LOG_TOPIC, AppendState
from ledger_server.domain.evaluations.log_use_cases import EvaluationLogs
from ledger_server.domain.evaluations.records import Status
from ledger_server.domain.evaluations.use_cases import Evaluations, lock_key
from tests.support.changes import Announcements
from tests.support.memory_evaluation_logs import MemoryEvaluationLogs
from tests.support.memory_store import MemoryTransactions, MemoryUnitOfWork


@pytest.fixture
def logs(db: MemoryTransactions) -> EvaluationLogs:
    return EvaluationLogs(db)


@pytest.fixture
def evaluation(db: MemoryTransactions) -> str:
    return (
        Evaluations(db)
        .create(CreateEvaluation(code="x", evaluation_id="eval_1"), None)
        .evaluation_id
    )


def batch(
    evaluation_id: str, *texts: str, batch_id: str = "", digest: bytes = b""
) -> AppendLogsCommand:
    lines = tuple(LogLineInput(text) for text in texts)
    return AppendLogsCommand(evaluation_id, lines, batch_id, digest)


def finish(db: MemoryTransactions, evaluation_id: str, status: Status = Status.COMPLETED) -> None:
    Evaluations(db).update(UpdateEvaluation(evaluation_id, status=status), None)


def test_append_numbers_lines_from_one_without_gaps(logs: EvaluationLogs, evaluation: str) -> None:
    assert logs.append(batch(evaluation, "a", "b", "c")) == AppendResult(1, 3, stored=True)
    assert logs.append(batch(evaluation, "d")) == AppendResult(4, 4, stored=True)
    page = logs.list_logs(evaluation, 0, "")
    assert [(line.sequence, line.text) for line in page.items] == [
        (1, "a"), (2, "b"), (3, "c"), (4, "d"),
    ]  # fmt: skip
    assert page.items[0].stream is LogStream.STDOUT


def test_append_of_no_lines_stores_nothing_and_answers_the_last_sequence(
    db: MemoryTransactions, logs: EvaluationLogs, evaluation: str
) -> None:
    logs.append(batch(evaluation, "a", "b"))
    assert logs.append(batch(evaluation)) == AppendResult(3, 2, stored=False)
    assert db.tables.logs.published == [evaluation]  # one wake-up: for the stored batch


def test_append_resent_batch_id_stores_nothing_and_answers_its_sequences(
    db: MemoryTransactions, logs: EvaluationLogs, evaluation: str
) -> None:
    logs.append(batch(evaluation, "a", "b", batch_id="b1", digest=b"d1"))
    logs.append(batch(evaluation, "c", batch_id="b2", digest=b"d2"))
    again = logs.append(batch(evaluation, "a", "b", batch_id="b1", digest=b"d1"))
    assert again == AppendResult(1, 2, stored=False)
    assert len(logs.list_logs(evaluation, 0, "").items) == 3


def test_append_reused_batch_id_with_other_lines_is_already_exists(
    logs: EvaluationLogs, evaluation: str
) -> None:
    logs.append(batch(evaluation, "a", batch_id="b1", digest=b"d1"))
    with pytest.raises(AlreadyExists) as refused:
        logs.append(batch(evaluation, "z", batch_id="b1", digest=b"other"))
    assert refused.value.reason == "BATCH_ID_REUSED"


def test_append_resend_is_answered_even_after_the_evaluation_finished(
    db: MemoryTransactions, logs: EvaluationLogs, evaluation: str
) -> None:
    """A runner whose last reply was lost resends after the run ended: no error."""
    logs.append(batch(evaluation, "last", batch_id="b9", digest=b"d"))
    finish(db, evaluation)
    assert logs.append(batch(evaluation, "last", batch_id="b9", digest=b"d")).stored is False


@pytest.mark.parametrize(
    "status", [Status.COMPLETED, Status.FAILED, Status.CANCELLED, Status.TIMEOUT]
)
def test_append_after_a_final_status_is_failed_precondition(
    db: MemoryTransactions, logs: EvaluationLogs, evaluation: str, status: Status
) -> None:
    finish(db, evaluation, status)
    with pytest.raises(FailedPrecondition) as refused:
        logs.append(batch(evaluation, "late"))
    assert refused.value.reason == "EVALUATION_FINISHED"
    assert logs.list_logs(evaluation, 0, "").items == []


def test_append_to_an_unknown_evaluation_is_not_found(logs: EvaluationLogs) -> None:
    with pytest.raises(NotFound) as missing:
        logs.append(batch("eval_missing", "a"))
    assert missing.value.message == "evaluation 'eval_missing' not found"
    assert missing.value.metadata == {"resource": "evaluation", "id": "eval_missing"}


def test_the_log_of_a_deleted_evaluation_is_not_found_naming_it(
    db: MemoryTransactions, logs: EvaluationLogs, evaluation: str
) -> None:
    """Appends, pages and the start of a stream alike (a follower already reading is
    told its log is closed instead: see below)."""
    logs.append(batch(evaluation, "a"))
    Evaluations(db).delete(evaluation, 0, None)
    reads: list[Callable[[], object]] = [
        lambda: logs.append(batch(evaluation, "b")),
        lambda: logs.list_logs(evaluation, 0, ""),
        lambda: logs.log_end(evaluation, 0),
    ]
    for read in reads:
        with pytest.raises(NotFound) as missing:
            read()
        assert missing.value.metadata == {"resource": "evaluation", "id": evaluation}


def test_append_checks_the_id_and_lines_before_any_work(
    db: MemoryTransactions, logs: EvaluationLogs
) -> None:
    with pytest.raises(InvalidArgument):
        logs.append(batch("bad id", "a"))
    with pytest.raises(InvalidArgument):
        logs.append(batch("eval_1", "nul\x00"))
    assert db.begun == 0


def test_list_logs_pages_by_sequence(logs: EvaluationLogs, evaluation: str) -> None:
    for first in range(0, 9, 3):
        logs.append(batch(evaluation, *(str(n) for n in range(first + 1, first + 4))))
    seen: list[int] = []
    token = ""
    for _ in range(5):
        page = logs.list_logs(evaluation, 4, token)
        seen += [line.sequence for line in page.items]
        assert len(page.items) <= 4
        token = page.next_page_token
        if not token:
            break
    assert seen == list(range(1, 10))


def test_list_logs_refuses_a_token_of_another_evaluation(
    db: MemoryTransactions, logs: EvaluationLogs, evaluation: str
) -> None:
    other = Evaluations(db).create(CreateEvaluation(code="x", evaluation_id="eval_2"), None)
    logs.append(batch(evaluation, "a", "b", "c"))
    token = logs.list_logs(evaluation, 1, "").next_page_token
    with pytest.raises(InvalidArgument):
        logs.list_logs(other.evaluation_id, 1, token)


def test_read_after_says_finished_only_once_final_and_read_to_the_end(
    db: MemoryTransactions, logs: EvaluationLogs, evaluation: str
) -> None:
    logs.append(batch(evaluation, "a", "b"))
    assert not logs.read_after(evaluation, 0).finished
    finish(db, evaluation)
    read = logs.read_after(evaluation, 1)
    assert [line.sequence for b in read.batches for line in b.lines] == [2]
    assert read.finished and not read.more


def test_log_end_refuses_a_cursor_past_the_last_line(logs: EvaluationLogs, evaluation: str) -> None:
    logs.append(batch(evaluation, "a", "b"))
    assert logs.log_end(evaluation, 2) == 2
    with pytest.raises(OutOfRange):
        logs.log_end(evaluation, 3)
    with pytest.raises(InvalidArgument):
        logs.log_end(evaluation, -1)


def test_append_many_stores_the_batches_before_a_refused_one_and_raises_its_error(
    logs: EvaluationLogs, evaluation: str
) -> None:
    logs.append(batch(evaluation, "a", batch_id="b1", digest=b"d1"))
    with pytest.raises(AlreadyExists):
        logs.append_many(
            [
                batch(evaluation, "b", "c"),
                batch(evaluation, "a", batch_id="b1", digest=b"d1"),  # a resend: fine
                batch(evaluation, "x", batch_id="b1", digest=b"other"),  # reused: refused
                batch(evaluation, "never"),
            ]
        )
    assert [line.text for line in logs.list_logs(evaluation, 0, "").items] == ["a", "b", "c"]


def test_append_many_refuses_a_malformed_batch_after_storing_the_ones_before(
    logs: EvaluationLogs, evaluation: str
) -> None:
    with pytest.raises(InvalidArgument):
        logs.append_many(
            [batch(evaluation, "ok"), batch(evaluation, "nul\x00"), batch(evaluation, "no")]
        )
    assert [line.text for line in logs.list_logs(evaluation, 0, "").items] == ["ok"]


def test_append_many_answers_a_batch_id_sent_twice_in_one_group_once(
    logs: EvaluationLogs, evaluation: str
) -> None:
    results = logs.append_many(
        [batch(evaluation, "a", "b", batch_id="b", digest=b"d")] * 2 + [batch(evaluation, "c")]
    )
    assert results == [
        AppendResult(1, 2, stored=True),
        AppendResult(1, 2, stored=False),
        AppendResult(3, 3, stored=True),
    ]


def test_log_end_accepts_the_start_of_an_empty_log_and_explains_a_cursor_past_the_end(
    logs: EvaluationLogs, evaluation: str
) -> None:
    assert logs.log_end(evaluation, 0) == 0
    logs.append(batch(evaluation, "a", "b"))
    with pytest.raises(OutOfRange) as past:
        logs.log_end(evaluation, 3)
    assert past.value.reason == "AFTER_LAST_LINE"
    assert past.value.message == "after_sequence 3 is past the last line (2) of evaluation 'eval_1'"
    assert past.value.metadata == {"evaluation_id": evaluation, "last_sequence": "2"}
    with pytest.raises(InvalidArgument) as negative:
        logs.log_end(evaluation, -1)
    assert [(v.field, v.description) for v in negative.value.violations] == [
        ("after_sequence", "must not be negative")
    ]


def test_append_to_a_finished_evaluation_says_which_and_why(
    db: MemoryTransactions, logs: EvaluationLogs, evaluation: str
) -> None:
    finish(db, evaluation)
    with pytest.raises(FailedPrecondition) as refused:
        logs.append(batch(evaluation, "late"))
    assert refused.value.message == "evaluation 'eval_1' has finished: its log is closed"
    assert refused.value.metadata == {"evaluation_id": evaluation}


def test_append_of_a_reused_batch_id_names_it(logs: EvaluationLogs, evaluation: str) -> None:
    logs.append(batch(evaluation, "a", batch_id="b1", digest=b"d1"))
    with pytest.raises(AlreadyExists) as refused:
        logs.append(batch(evaluation, "z", batch_id="b1", digest=b"other"))
    assert refused.value.metadata == {"batch_id": "b1"}


def test_list_logs_pages_hold_at_most_ten_thousand_lines_and_say_when_there_is_no_more(
    logs: EvaluationLogs, evaluation: str
) -> None:
    logs.append(batch(evaluation, *["x"] * 10_000))
    logs.append(batch(evaluation, *["y"] * 10))
    page = logs.list_logs(evaluation, 50_000, "")
    assert len(page.items) == 10_000 and page.next_page_token
    last = logs.list_logs(evaluation, 10, page.next_page_token)
    assert len(last.items) == 10
    assert last.next_page_token == ""  # exactly a full page, and nothing after it


def test_read_after_reads_in_bounded_steps_and_says_when_there_is_more(
    monkeypatch: pytest.MonkeyPatch, logs: EvaluationLogs, evaluation: str
) -> None:
    monkeypatch.setattr(log_use_cases, "READ_LINES", 2)
    for text in "abc":
        logs.append(batch(evaluation, text, text))
    read = logs.read_after(evaluation, 0)
    assert [b.first_sequence for b in read.batches] == [1]
    assert read.more is True and read.finished is False
    monkeypatch.setattr(log_use_cases, "READ_CHARACTERS", 3)
    monkeypatch.setattr(log_use_cases, "READ_LINES", 100)
    assert [b.first_sequence for b in logs.read_after(evaluation, 0).batches] == [1]


def test_read_after_a_deleted_evaluation_says_its_log_is_closed(
    db: MemoryTransactions, logs: EvaluationLogs, evaluation: str
) -> None:
    """A follower whose evaluation is deleted meanwhile ends; it is not told NOT_FOUND."""
    logs.append(batch(evaluation, "a"))
    Evaluations(db).delete(evaluation, 0, None)
    read = logs.read_after(evaluation, 0)
    assert [b.first_sequence for b in read.batches] == [1]
    assert read.finished
    with pytest.raises(NotFound):
        logs.append(batch(evaluation, "b"))


def test_append_takes_the_lock_every_change_of_the_evaluation_takes(
    monkeypatch: pytest.MonkeyPatch, logs: EvaluationLogs, evaluation: str
) -> None:
    """So no line is stored after a version that made the evaluation final."""
    taken: list[str] = []
    take = MemoryEvaluationLogs.lock_for_append

    def taking(self: MemoryEvaluationLogs, key: str, evaluation_id: str) -> AppendState | None:
        taken.append(key)
        return take(self, key, evaluation_id)

    monkeypatch.setattr(MemoryEvaluationLogs, "lock_for_append", taking)
    monkeypatch.setattr(MemoryUnitOfWork, "lock", lambda self, key: taken.append(key))
    logs.append(batch(evaluation, "a"))
    assert taken == [lock_key(evaluation)]


def test_append_many_of_nothing_stores_nothing(logs: EvaluationLogs) -> None:
    assert logs.append_many([]) == []


def test_append_many_announces_the_batches_it_stored_as_a_read_returns_them(
    db: MemoryTransactions, evaluation: str
) -> None:
    announcements = Announcements()
    logs = EvaluationLogs(db, announcements)
    logs.append(batch(evaluation, "a", batch_id="b1", digest=b"d1"))
    with pytest.raises(AlreadyExists):
        logs.append_many(
            [
                batch(evaluation, "b", "c"),
                batch(evaluation, "a", batch_id="b1", digest=b"d1"),  # a resend: not new
                batch(evaluation, "d"),
                batch(evaluation, "x", batch_id="b1", digest=b"other"),  # refused
            ]
        )
    logs.append(batch(evaluation))  # no lines: nothing to tell
    stored = logs.read_after(evaluation, 0).batches
    assert [(t, k) for t, k, _ in announcements.told] == [(LOG_TOPIC, evaluation)] * 2
    assert [news for _, _, news in announcements.told] == [stored[:1], stored[1:]]
    assert [b.first_sequence for b in stored] == [1, 2, 4]


def test_append_announces_nothing_when_nothing_was_committed(
    db: MemoryTransactions, evaluation: str
) -> None:
    announcements = Announcements()
    logs = EvaluationLogs(db, announcements)
    with pytest.raises(NotFound):
        logs.append(batch("eval_unknown", "a"))
    finish(db, evaluation)
    with pytest.raises(FailedPrecondition):
        logs.append(batch(evaluation, "a"))
    assert announcements.told == []


def test_append_prepares_no_news_when_nobody_in_this_process_follows(
    db: MemoryTransactions, evaluation: str
) -> None:
    announcements = Announcements(watched=False)
    EvaluationLogs(db, announcements).append(batch(evaluation, "a"))
    assert announcements.told == []


def test_append_tells_only_this_process_s_followers_of_that_evaluation_s_log(
    db: MemoryTransactions, evaluation: str
) -> None:
    Evaluations(db).create(CreateEvaluation(code="x", evaluation_id="eval_2"), None)
    announcements = Announcements(watched={(LOG_TOPIC, evaluation), ("other_topic", "eval_2")})
    logs = EvaluationLogs(db, announcements)
    logs.append(batch("eval_2", "unfollowed"))
    logs.append(batch(evaluation, "followed"))
    [(topic, key, news)] = announcements.told
    assert (topic, key) == (LOG_TOPIC, evaluation)
    assert news == logs.read_after(evaluation, 0).batches
