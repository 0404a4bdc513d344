"""Evaluation logs through the SDK and a real server: append, list, stream, follow."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from ledger_client import (
    AlreadyExists,
    Client,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    OutOfRange,
)
from ledger_client.evaluation_logs import LogEntry, LogLine
from tests.support.evaluations import complete, create_evaluation
from tests.support.server import ServerThread


@pytest.fixture
def evaluation(server: ServerThread) -> str:
    return create_evaluation(server.target)


def texts(lines: list[LogLine]) -> list[str]:
    return [line.text for line in lines]


def test_append_evaluation_logs_numbers_lines_gapless_across_batches(
    client: Client, evaluation: str
) -> None:
    when = datetime(2026, 11, 27, 8, 0, 0, 123456, tzinfo=UTC)
    lines: list[str | LogEntry] = [f"line {i}" for i in range(1, 9)]
    lines += [LogEntry("oops", stream="stderr", log_time=when), LogEntry("", stream="system")]
    appended = client.evaluations.append_logs(evaluation, lines, batch_size=3)
    assert (appended.last_sequence, appended.stored_line_count) == (10, 10)
    again = client.evaluations.append_logs(evaluation, ["eleven"])
    assert (again.last_sequence, again.stored_line_count) == (11, 1)

    stored = list(client.evaluations.list_logs(evaluation))
    assert [line.sequence for line in stored] == list(range(1, 12))
    assert texts(stored) == [*(f"line {i}" for i in range(1, 9)), "oops", "", "eleven"]
    assert [line.stream for line in stored[7:10]] == ["stdout", "stderr", "system"]
    assert stored[8].log_time == when
    # A line sent without a time has the time it was stored.
    assert abs((stored[0].log_time - datetime.now(UTC)).total_seconds()) < 60


def test_append_evaluation_logs_stores_a_resent_batch_once(client: Client, evaluation: str) -> None:
    lines = [f"line {i}" for i in range(7)]
    first = client.evaluations.append_logs(evaluation, lines, batch_size=2, batch_id_prefix="run-1")
    # The runner lost the reply and sends everything again, then more.
    resent = client.evaluations.append_logs(
        evaluation, lines, batch_size=2, batch_id_prefix="run-1"
    )
    assert (first.last_sequence, first.stored_line_count) == (7, 7)
    assert (resent.last_sequence, resent.stored_line_count) == (7, 0)
    assert texts(list(client.evaluations.list_logs(evaluation))) == lines


def test_append_evaluation_logs_batch_id_with_other_lines_is_already_exists(
    client: Client, evaluation: str
) -> None:
    client.evaluations.append_logs(evaluation, ["a", "b"], batch_id_prefix="p")
    with pytest.raises(AlreadyExists) as refused:
        client.evaluations.append_logs(evaluation, ["a", "c"], batch_id_prefix="p")
    assert refused.value.reason == "BATCH_ID_REUSED"
    assert texts(list(client.evaluations.list_logs(evaluation))) == ["a", "b"]


def test_append_evaluation_logs_refuses_bad_lines_and_writes_nothing(
    client: Client, evaluation: str, row_counts: Callable[[], dict[str, int]]
) -> None:
    before = row_counts()
    with pytest.raises(InvalidArgument) as refused:
        client.evaluations.append_logs(evaluation, ["fine", "nul \x00 here", "x" * 16385])
    assert [v.field for v in refused.value.field_violations] == [
        "lines[1].text",
        "lines[2].text",
    ]
    assert row_counts() == before


def test_append_evaluation_logs_to_an_unknown_evaluation_is_not_found(client: Client) -> None:
    with pytest.raises(NotFound):
        client.evaluations.append_logs("no_such_evaluation", ["a"])


def test_append_evaluation_logs_after_the_evaluation_finished_is_failed_precondition(
    client: Client, server: ServerThread, evaluation: str
) -> None:
    client.evaluations.append_logs(evaluation, ["last words"])
    complete(server.target, evaluation)
    with pytest.raises(FailedPrecondition) as refused:
        client.evaluations.append_logs(evaluation, ["too late"])
    assert refused.value.reason == "EVALUATION_FINISHED"


def test_append_evaluation_logs_from_concurrent_writers_is_gapless_and_keeps_batches_whole(
    client: Client, evaluation: str
) -> None:
    def write(writer: int) -> None:
        lines = [f"w{writer} {i}" for i in range(40)]
        client.evaluations.append_logs(evaluation, lines, batch_size=10)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(write, range(8)))
    stored = list(client.evaluations.list_logs(evaluation, page_size=37))
    assert [line.sequence for line in stored] == list(range(1, 321))
    for start in range(0, 320, 10):  # each batch of 10 is one writer's, in order
        batch = texts(stored[start : start + 10])
        writer = batch[0].split()[0]
        assert batch == [f"{writer} {int(batch[0].split()[1]) + i}" for i in range(10)]


def test_list_evaluation_logs_pages_oldest_first(client: Client, evaluation: str) -> None:
    client.evaluations.append_logs(evaluation, [str(i) for i in range(1, 11)], batch_size=3)
    pages = list(client.evaluations.list_logs(evaluation, page_size=4).pages())
    assert [[line.sequence for line in page] for page in pages] == [
        [1, 2, 3, 4],
        [5, 6, 7, 8],
        [9, 10],
    ]


def test_list_evaluation_logs_refuses_a_negative_page_size(client: Client, evaluation: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        list(client.evaluations.list_logs(evaluation, page_size=-1))
    assert refused.value.field_violations[0].field == "page_size"


def test_stream_evaluation_logs_without_follow_sends_what_exists_and_ends(
    client: Client, evaluation: str
) -> None:
    client.evaluations.append_logs(evaluation, [f"l{i}" for i in range(1, 6)], batch_size=2)
    with client.evaluations.follow_logs(evaluation, follow=False, after_sequence=2) as lines:
        received = list(lines)
    assert [line.sequence for line in received] == [3, 4, 5]
    assert lines.cursor == 5


def test_stream_evaluation_logs_follow_delivers_new_lines_and_ends_when_final(
    client: Client, server: ServerThread, evaluation: str
) -> None:
    client.evaluations.append_logs(evaluation, ["before"])
    received: list[LogLine] = []
    first = threading.Event()

    def follow() -> None:
        for line in client.evaluations.follow_logs(evaluation, timeout=60):
            received.append(line)
            first.set()

    follower = threading.Thread(target=follow)
    follower.start()
    assert first.wait(10)
    for batch in range(5):
        client.evaluations.append_logs(evaluation, [f"b{batch} {i}" for i in range(3)])
    complete(server.target, evaluation)
    follower.join(30)
    assert not follower.is_alive(), "the stream did not end once the evaluation was final"
    assert [line.sequence for line in received] == list(range(1, 17))
    assert received[-1].text == "b4 2"


@pytest.mark.parametrize(
    ("after", "error", "reason"),
    [(5, OutOfRange, "AFTER_LAST_LINE"), (-1, InvalidArgument, "INVALID_ARGUMENT")],
)
def test_stream_evaluation_logs_refuses_a_cursor_it_never_gave(
    client: Client, evaluation: str, after: int, error: type[Exception], reason: str
) -> None:
    client.evaluations.append_logs(evaluation, ["a", "b"])
    with pytest.raises(error) as refused:
        list(client.evaluations.follow_logs(evaluation, after_sequence=after))
    assert getattr(refused.value, "reason", "") == reason


def test_stream_evaluation_logs_of_an_unknown_evaluation_is_not_found(client: Client) -> None:
    with pytest.raises(NotFound):
        list(client.evaluations.follow_logs("nope_not_here", timeout=10))
