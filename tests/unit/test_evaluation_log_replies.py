"""Stream replies of log batches: rendered once per batch, joined by concatenating bytes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ledger.v1 import evaluation_log_pb2 as el
from ledger.v1 import evaluation_service_pb2 as es
from ledger_server.domain.evaluations.log_lines import LogBatch, LogLine, LogStream
from ledger_server.rpc.evaluations import log_convert

NOW = datetime(2026, 11, 27, 7, 0, 0, 250000, tzinfo=UTC)


def batch(first: int, count: int, text: str = "x") -> LogBatch:
    return LogBatch(
        "eval-1",
        first,
        tuple(
            LogLine(first + i, f"{text}{first + i}", LogStream.STDERR, NOW) for i in range(count)
        ),
    )


def parsed(data: bytes) -> es.StreamEvaluationLogsResponse:
    return es.StreamEvaluationLogsResponse.FromString(data)


def test_joined_replies_are_one_message_carrying_every_line_and_the_last_sequence() -> None:
    batches = [batch(1, 2), batch(3, 1), batch(4, 3)]
    [message] = log_convert.joined_replies(batches)
    reply = parsed(message)
    assert [line.sequence for line in reply.lines] == [1, 2, 3, 4, 5, 6]
    assert reply.last_sequence == 6
    assert reply.lines[0].stream == el.EVALUATION_LOG_STREAM_STDERR
    assert reply.lines[0].log_time.ToDatetime(tzinfo=UTC) == NOW


def test_a_batch_is_rendered_once_and_shared(monkeypatch: pytest.MonkeyPatch) -> None:
    shared = batch(1, 3)
    first = log_convert.joined_replies([shared])
    assert log_convert.joined_replies([shared])[0] is first[0]


def test_joined_replies_stay_under_the_reply_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(log_convert, "REPLY_BYTES", 200)
    messages = log_convert.joined_replies([batch(n * 5 + 1, 5, "y" * 20) for n in range(6)])
    assert len(messages) > 1
    replies = [parsed(m) for m in messages]
    sequences = [line.sequence for r in replies for line in r.lines]
    assert sequences == list(range(1, 31))
    assert all(r.last_sequence == r.lines[-1].sequence for r in replies)


def test_a_batch_with_more_text_than_a_reply_is_split(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(log_convert, "REPLY_CHARACTERS", 50)
    replies = [parsed(m) for m in log_convert.rendered_batch(batch(1, 10, "z" * 20))]
    assert len(replies) > 1
    assert [line.sequence for r in replies for line in r.lines] == list(range(1, 11))
    assert all(r.last_sequence == r.lines[-1].sequence for r in replies)
