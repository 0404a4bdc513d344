"""The rules of appended log batches: sizes, text, batch ids, resends, trimming."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ledger_server.domain.errors import AlreadyExists, InvalidArgument
from ledger_server.domain.evaluations.log_lines import (
    MAX_LINE_CHARACTERS,
    MAX_LINES_PER_BATCH,
    AppendLogsCommand,
    AppendResult,
    LogBatch,
    LogLine,
    LogLineInput,
    LogStream,
    StoredBatch,
    check_batch,
    next_first_sequence,
    resend_result,
)

NOW = datetime(2026, 11, 27, tzinfo=UTC)


def command(*texts: str, batch_id: str = "") -> AppendLogsCommand:
    return AppendLogsCommand("eval-1", tuple(LogLineInput(t) for t in texts), batch_id=batch_id)


def fields(error: InvalidArgument) -> list[str]:
    return [v.field for v in error.violations]


def test_check_batch_accepts_empty_lines_and_the_longest_line() -> None:
    check_batch(command("", "x" * MAX_LINE_CHARACTERS, "ünïcødé ✓"))


def test_check_batch_names_each_bad_line() -> None:
    with pytest.raises(InvalidArgument) as refused:
        check_batch(command("ok", "x" * (MAX_LINE_CHARACTERS + 1), "nul\x00here"))
    assert fields(refused.value) == ["lines[1].text", "lines[2].text"]


def test_check_batch_lists_at_most_ten_bad_lines() -> None:
    with pytest.raises(InvalidArgument) as refused:
        check_batch(command(*["\x00"] * 1000))
    assert len(refused.value.violations) == 10


def test_check_batch_refuses_too_many_lines() -> None:
    check_batch(command(*[""] * MAX_LINES_PER_BATCH))
    with pytest.raises(InvalidArgument) as refused:
        check_batch(command(*[""] * (MAX_LINES_PER_BATCH + 1)))
    assert fields(refused.value) == ["lines"]


@pytest.mark.parametrize("batch_id", ["has space", "x" * 129, "tab\t", "é"])
def test_check_batch_refuses_a_malformed_batch_id(batch_id: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        check_batch(command("a", batch_id=batch_id))
    assert fields(refused.value) == ["batch_id"]


def test_check_batch_accepts_a_batch_id_of_128_printable_characters() -> None:
    check_batch(command("a", batch_id="b" * 128))
    check_batch(command("a", batch_id="runner-7:chunk/42"))


def test_next_first_sequence_starts_at_one_and_follows_the_last() -> None:
    assert next_first_sequence(0) == 1
    assert next_first_sequence(41) == 42


def test_resend_result_answers_the_first_sequences_and_stores_nothing() -> None:
    stored = StoredBatch(11, 20, b"digest")
    assert resend_result(stored, b"digest", "b-1") == AppendResult(11, 20, stored=False)


def test_resend_result_with_other_lines_is_already_exists() -> None:
    with pytest.raises(AlreadyExists) as refused:
        resend_result(StoredBatch(11, 20, b"digest"), b"other", "b-1")
    assert refused.value.reason == "BATCH_ID_REUSED"
    assert refused.value.metadata == {"batch_id": "b-1"}


def test_batch_after_trims_the_lines_up_to_a_sequence() -> None:
    lines = tuple(LogLine(s, f"l{s}", LogStream.STDERR, NOW) for s in range(5, 9))
    batch = LogBatch("eval-1", 5, lines)
    assert batch.last_sequence == 8
    assert batch.after(4) is batch
    trimmed = batch.after(6)
    assert (trimmed.first_sequence, trimmed.last_sequence) == (7, 8)
    assert [line.text for line in trimmed.lines] == ["l7", "l8"]
    assert batch.after(8).lines == ()


def test_check_batch_says_what_is_wrong_with_each_field() -> None:
    with pytest.raises(InvalidArgument) as refused:
        check_batch(command("x" * (MAX_LINE_CHARACTERS + 2), "a\x00", batch_id="no spaces"))
    assert [(v.field, v.description) for v in refused.value.violations] == [
        ("batch_id", "must be at most 128 printable ASCII characters without spaces"),
        ("lines[0].text", "must be at most 16384 characters, got 16386"),
        ("lines[1].text", "must not contain NUL characters"),
    ]
    with pytest.raises(InvalidArgument) as too_many:
        check_batch(command(*[""] * (MAX_LINES_PER_BATCH + 1)))
    assert too_many.value.violations[0].description == "must hold at most 10000 lines, got 10001"


def test_resend_result_with_other_lines_says_how_to_resend() -> None:
    with pytest.raises(AlreadyExists) as refused:
        resend_result(StoredBatch(1, 2, b"digest"), b"other", "b-1")
    assert refused.value.message == (
        "batch_id was already used with other lines for this evaluation: a resent batch "
        "must be sent exactly as before, a new batch needs a new id"
    )


def test_batch_after_keeps_its_evaluation() -> None:
    lines = tuple(LogLine(s, "", LogStream.STDOUT, NOW) for s in (1, 2))
    assert LogBatch("eval-9", 1, lines).after(1).evaluation_id == "eval-9"
