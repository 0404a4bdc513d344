"""The sync streaming helpers every sub-client shares, against a real in-process server:
a follower that resumes from its cursor, and an upload that respects flow control."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import grpc
import pytest
from google.rpc import code_pb2

from ledger_client import (
    NO_DEADLINE,
    DeadlineExceeded,
    InvalidArgument,
    PermissionDenied,
    ReconnectPolicy,
    ResumableStream,
    Unavailable,
    channel_options,
)
from ledger_client.calls import Calls
from ledger_client.connection import CallSettings
from tests.unit.grpc_servers import start_server
from tests.unit.stream_services import (
    SERVICE,
    Break,
    Follow,
    Int64,
    Text,
    Upload,
    cursor_after,
    handlers,
    lines_request,
    request_at,
)

FAST = ReconnectPolicy(max_reconnects=3, initial_backoff=0.01, max_backoff=0.05)
API_KEY = "follower-key"


class Harness:
    """A server with the test handlers, and the SDK's call machinery on a channel to it."""

    def __init__(self, follow: Follow, upload: Upload, timeout: float = 10) -> None:
        self.handlers = handlers(follow, upload, aio=False)
        self.server, self.port = start_server(self.handlers)
        self.channel = grpc.insecure_channel(f"127.0.0.1:{self.port}", options=channel_options())
        self.calls = Calls(self.channel, CallSettings(timeout=timeout, api_key=API_KEY))

    def follow(
        self, start: int = 0, timeout: float | None = None, policy: ReconnectPolicy = FAST
    ) -> ResumableStream[Int64, int]:
        method = self.channel.unary_stream(
            f"/{SERVICE}/Follow",
            request_serializer=Int64.SerializeToString,
            response_deserializer=Int64.FromString,
        )
        return self.calls.server_stream(
            method,
            request_at,
            cursor_after,
            start=start,
            timeout=timeout,
            metadata=[("x-follower", "test")],
            policy=policy,
        )

    def upload(self, lines: Iterator[str], batch_size: int = 64) -> int:
        method = self.channel.stream_unary(
            f"/{SERVICE}/Upload",
            request_serializer=Text.SerializeToString,
            response_deserializer=Int64.FromString,
        )
        reply = self.calls.client_stream(
            method, lines, lines_request, batch_size=batch_size, timeout=None, metadata=()
        )
        return reply.value

    def restart(self) -> None:
        """Drops every connection, as a crashed or restarted server does, and comes back."""
        self.server.stop(grace=None)
        self.server, _ = start_server(self.handlers, port=self.port)

    def close(self) -> None:
        self.channel.close()
        self.server.stop(grace=None)


@contextmanager
def harness(
    follow: Follow | None = None, upload: Upload | None = None, timeout: float = 10
) -> Iterator[Harness]:
    opened = Harness(follow or Follow(), upload or Upload(), timeout)
    try:
        yield opened
    finally:
        opened.close()


def test_follow_resumes_exactly_at_the_cursor_after_unavailable() -> None:
    follow = Follow(
        breaks=[Break(5, reason="SERVER_SHUTTING_DOWN"), Break(3), Break(0), Break(4)], total=20
    )
    with harness(follow) as ledger, ledger.follow() as stream:
        values = [message.value for message in stream]
        cursor = stream.cursor

    assert values == list(range(20))  # nothing lost, nothing repeated
    assert follow.starts == [0, 5, 8, 8, 12]
    assert cursor == 20
    assert all(m["authorization"] == f"Bearer {API_KEY}" for m in follow.metadata)
    assert all(m["x-follower"] == "test" for m in follow.metadata)


def test_follow_survives_a_dropped_connection() -> None:
    follow = Follow(interval=0.005)
    values = []
    with harness(follow) as ledger, ledger.follow() as stream:
        for message in stream:
            values.append(message.value)
            if message.value == 10:
                ledger.restart()
            if message.value == 30:
                break

    assert values == list(range(31))
    assert len(follow.starts) == 2 and follow.starts[1] > 0  # resumed, not started over


def test_follow_gives_up_after_bounded_reconnects_without_progress() -> None:
    follow = Follow(breaks=[Break(2)] + [Break(0)] * 10, total=100)
    values = []
    started = time.monotonic()
    with harness(follow) as ledger, pytest.raises(Unavailable) as gave_up:
        for message in ledger.follow():
            values.append(message.value)

    assert values == [0, 1]
    assert follow.starts == [0, 2, 2, 2]  # the open, then FAST's 3 failed reconnects
    assert gave_up.value.reason == "UNAVAILABLE"
    assert time.monotonic() - started < 2  # backoffs stay within FAST's bounds


def test_follow_keeps_going_while_each_reconnect_makes_progress() -> None:
    follow = Follow(breaks=[Break(1)] * 8, total=12)
    with harness(follow) as ledger:
        values = [message.value for message in ledger.follow()]

    assert values == list(range(12))
    assert len(follow.starts) == 9  # far more reconnects than FAST's 3 in a row


def test_follow_raises_other_errors_at_once() -> None:
    follow = Follow(breaks=[Break(2, code_pb2.PERMISSION_DENIED, "ROLE_MISSING")], total=10)
    values = []
    with harness(follow) as ledger, pytest.raises(PermissionDenied) as refused:
        for message in ledger.follow():
            values.append(message.value)

    assert values == [0, 1]
    assert refused.value.reason == "ROLE_MISSING"
    assert follow.starts == [0]


def test_closing_a_follower_cancels_its_call() -> None:
    follow = Follow(interval=0.01)  # never ends by itself
    with harness(follow) as ledger:
        stream = ledger.follow()
        assert [next(stream).value for _ in range(3)] == [0, 1, 2]
        stream.close()

        assert follow.ended.wait(5), "the server saw the call cancelled"
        assert list(stream) == []


def test_close_from_another_thread_ends_a_waiting_follower() -> None:
    follow = Follow(breaks=[], interval=3600)  # one message, then a long silence
    received: list[int] = []
    with harness(follow) as ledger:
        stream = ledger.follow(timeout=NO_DEADLINE)
        reader = threading.Thread(target=lambda: received.extend(m.value for m in stream))
        reader.start()
        deadline = time.monotonic() + 5
        while not received and time.monotonic() < deadline:
            time.sleep(0.01)
        stream.close()
        reader.join(5)

        assert not reader.is_alive()
        assert received == [0]
        assert follow.ended.wait(5)


def test_follow_deadline_covers_every_reopen_unless_no_deadline() -> None:
    follow = Follow(breaks=[Break(1), Break(1)], total=3, interval=0.5)
    with harness(follow, timeout=10) as ledger:
        assert [m.value for m in ledger.follow()] == [0, 1, 2]
        first, second, third = follow.time_remaining
        assert first is not None and second is not None and third is not None
        assert 9 < first < 10.5  # the wire rounds deadlines a little
        # One deadline for the whole stream: each reopen gets what is left of it.
        assert second < first - 0.3 and third < second - 0.3

        follow.starts.clear()
        follow.time_remaining.clear()
        follow.breaks = [Break(1)]
        assert [m.value for m in ledger.follow(timeout=NO_DEADLINE)] == [0, 1, 2]
        assert follow.time_remaining == [None, None]


def test_follow_reports_a_deadline_passed_while_reconnecting() -> None:
    follow = Follow(breaks=[Break(1)] + [Break(0)] * 10, total=10)
    slow = ReconnectPolicy(max_reconnects=10, initial_backoff=0.5, max_backoff=0.5, jitter=0)
    with harness(follow) as ledger, pytest.raises(DeadlineExceeded):
        list(ledger.follow(timeout=1.2, policy=slow))
    assert len(follow.starts) <= 3


def test_upload_sends_items_in_batches_and_returns_the_reply() -> None:
    upload = Upload()
    with harness(upload=upload) as ledger:
        lines = ledger.upload((f"line {n}" for n in range(1000)), batch_size=64)

    assert lines == 1000
    assert upload.requests == 16  # ceil(1000 / 64)
    assert upload.metadata["authorization"] == f"Bearer {API_KEY}"


LINE = "x" * 1023  # with its newline, 1 KiB
TOTAL_LINES = 256 * 1024  # 256 MiB: more than any buffer between the two ends


def test_upload_of_many_items_reads_them_only_as_the_server_takes_them() -> None:
    upload = Upload()
    upload.gate.clear()  # the server accepts the call but reads nothing yet
    produced = 0

    def lines() -> Iterator[str]:
        nonlocal produced
        for _ in range(TOTAL_LINES):
            produced += 1
            yield LINE

    with harness(upload=upload) as ledger:
        result: list[int] = []
        sender = threading.Thread(target=lambda: result.append(ledger.upload(lines())))
        sender.start()
        time.sleep(1)
        held_back = produced
        upload.gate.set()
        sender.join(60)

    assert held_back < TOTAL_LINES / 8, f"{held_back} lines read before the server read any"
    assert result == [TOTAL_LINES]
    assert upload.requests == TOTAL_LINES / 64


def test_upload_failure_is_a_typed_error() -> None:
    upload = Upload(fail_after=2)
    with harness(upload=upload) as ledger, pytest.raises(InvalidArgument) as refused:
        ledger.upload(f"line {n}" for n in range(1000))

    assert refused.value.reason == "BAD_LINE"
    assert [v.field for v in refused.value.field_violations] == ["lines[3]"]


def test_upload_raises_the_callers_own_error_and_ends_the_call() -> None:
    # The call is cancelled, but gRPC may hand the server that cancel as the end of its
    # request stream, so a server cannot tell "all sent" from it: Ledger's client streams
    # that must arrive whole say so in their last message (WriteEvaluationOutput's
    # finish_write), and the others commit message by message.
    upload = Upload()

    def lines() -> Iterator[str]:
        yield from (f"line {n}" for n in range(200))
        raise ValueError("line 200 is not valid UTF-8")

    with harness(upload=upload) as ledger, pytest.raises(ValueError, match="line 200"):
        ledger.upload(lines())

    assert upload.ended.wait(5)  # the server is not left waiting for more


def test_upload_refuses_a_batch_size_below_one() -> None:
    with harness() as ledger, pytest.raises(ValueError, match="batch_size"):
        ledger.upload(iter(["a"]), batch_size=0)


def test_reconnect_backoff_grows_is_capped_and_spread() -> None:
    policy = ReconnectPolicy(initial_backoff=0.2, max_backoff=1.0, multiplier=2, jitter=0.2)
    for attempt, base in [(1, 0.2), (2, 0.4), (3, 0.8), (4, 1.0), (10, 1.0)]:
        waits = {policy.backoff(attempt) for _ in range(50)}
        assert all(base * 0.8 <= wait <= base * 1.2 for wait in waits)
        assert len(waits) > 1  # spread, so dropped followers do not return in step
    default = dataclasses.replace(ReconnectPolicy(), jitter=0)
    patience = sum(default.backoff(n) for n in range(1, default.max_reconnects + 1))
    assert 20 < patience < 60  # a follower outlasts a server restart, then gives up
    with pytest.raises(ValueError):
        ReconnectPolicy(max_reconnects=-1)
    with pytest.raises(ValueError):
        ReconnectPolicy(initial_backoff=2, max_backoff=1)
