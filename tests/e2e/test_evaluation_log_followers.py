"""Followers that lose their server: cut connections, a server that stops, two processes,
and grpcurl following while lines are appended."""

from __future__ import annotations

import asyncio
import json
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest

from ledger_client import AsyncClient, Client, ReconnectPolicy
from ledger_client.evaluation_logs import LogLine
from tests.conftest import ADMIN_KEY, READER_KEY, server_settings
from tests.e2e.test_grpcurl import GRPCURL
from tests.support.database import connect
from tests.support.evaluations import complete, create_evaluation
from tests.support.process import ServeProcess
from tests.support.proxy import CuttableProxy
from tests.support.server import ServerThread

FAST = ReconnectPolicy(max_reconnects=50, initial_backoff=0.05, max_backoff=0.2)


def grpc_url(target: str) -> str:
    """A URL naming a gRPC server's host and port, as CuttableProxy takes addresses."""
    return f"postgresql://proxy@{target}/none"


class Follower:
    """`follow_logs` on a thread of its own, collecting every line."""

    def __init__(self, client: Client, evaluation_id: str) -> None:
        self.lines: list[LogLine] = []
        self.error: BaseException | None = None
        self._stream = client.evaluations.follow_logs(evaluation_id, timeout=60, policy=FAST)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for line in self._stream:
                self.lines.append(line)
        except BaseException as error:
            self.error = error

    def wait_for(self, count: int, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while len(self.lines) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.lines) >= count, f"{len(self.lines)} of {count} lines: {self.error}"

    def join(self, timeout: float = 30) -> list[int]:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the follower did not end"
        assert self.error is None, self.error
        return [line.sequence for line in self.lines]


@pytest.fixture
def proxy(server: ServerThread) -> Iterator[CuttableProxy]:
    opened = CuttableProxy(grpc_url(server.target))
    yield opened
    opened.close()


def append(client: Client, evaluation_id: str, first: int, count: int) -> None:
    client.evaluations.append_logs(
        evaluation_id, [f"line {n}" for n in range(first, first + count)], batch_size=4
    )


def test_follow_logs_resumes_after_a_cut_connection_without_gap_or_duplicate(
    client: Client, server: ServerThread, proxy: CuttableProxy
) -> None:
    evaluation = create_evaluation(server.target)
    append(client, evaluation, 1, 10)
    with Client(target=f"127.0.0.1:{proxy.port}", api_key=READER_KEY) as through_proxy:
        follower = Follower(through_proxy, evaluation)
        follower.wait_for(10)
        proxy.cut()  # mid-stream: the follower's connection drops
        append(client, evaluation, 11, 10)  # committed while it is away
        time.sleep(0.3)
        proxy.restore()
        follower.wait_for(20)
        append(client, evaluation, 21, 5)
        complete(server.target, evaluation)
        assert follower.join() == list(range(1, 26))
    assert [line.text for line in follower.lines] == [f"line {n}" for n in range(1, 26)]


def test_follow_logs_resumes_on_another_server_when_its_server_stops(
    client: Client, server: ServerThread, database_url: str
) -> None:
    """A stopping server ends its followers with UNAVAILABLE; they resume elsewhere."""
    evaluation = create_evaluation(server.target)
    first = ServerThread(server_settings(), database_url).start()
    proxy = CuttableProxy(grpc_url(first.target))
    try:
        with Client(target=f"127.0.0.1:{proxy.port}", api_key=READER_KEY) as balanced:
            append(client, evaluation, 1, 6)
            follower = Follower(balanced, evaluation)
            follower.wait_for(6)
            proxy.retarget(grpc_url(server.target))  # the balancer's next pick
            first.stop(grace=5)  # returns once its streams ended and it is down
            append(client, evaluation, 7, 6)
            follower.wait_for(12)
            complete(server.target, evaluation)
            assert follower.join() == list(range(1, 13))
    finally:
        proxy.close()


def test_a_line_appended_through_one_serve_process_reaches_a_follower_of_another(
    database_url: str,
) -> None:
    keys = f"ops:admin:{ADMIN_KEY}"
    processes = [
        # Followers would read again only after an hour: the lines must come by NOTIFY.
        ServeProcess(
            "--listen",
            "127.0.0.1:0",
            database_url=database_url,
            env={"LEDGER_API_KEYS": keys, "LEDGER_LOG_POLL_SECONDS": "3600"},
        )
        for _ in range(2)
    ]
    try:
        appender, following = (f"127.0.0.1:{p.port}" for p in processes)
        evaluation = create_evaluation(appender)
        with (
            Client(target=appender, api_key=ADMIN_KEY) as writer,
            Client(target=following, api_key=ADMIN_KEY) as reader,
        ):
            follower = Follower(reader, evaluation)
            time.sleep(0.5)  # the follower waits on the other process: no line exists yet
            append(writer, evaluation, 1, 3)
            follower.wait_for(3)
            append(writer, evaluation, 4, 3)
            follower.wait_for(6)
            # Through the follower's own process (its lines come without a read), then the
            # other one again: the two ways into its tail leave no gap and no repeat.
            append(reader, evaluation, 7, 2)
            follower.wait_for(8)
            append(writer, evaluation, 9, 2)
            complete(appender, evaluation)
            assert follower.join() == list(range(1, 11))
    finally:
        for process in processes:
            process.stop()


def test_a_follower_gets_the_lines_appended_through_its_own_server_without_a_notify(
    database_url: str,
) -> None:
    """Polling is off and the server's listener hears nothing: only the lines its own
    appends hand to its followers can reach them."""
    alone = ServerThread(server_settings(log_poll_seconds=3600.0), database_url).start()
    assert alone.server is not None
    listener = alone.server._changes.listener
    heard = listener._deliver
    try:
        listener._deliver = lambda payload: None
        evaluation = create_evaluation(alone.target)
        with Client(target=alone.target, api_key=ADMIN_KEY) as client:
            follower = Follower(client, evaluation)
            wait_until_followed(alone)
            append(client, evaluation, 1, 3)
            follower.wait_for(3, timeout=5)
            append(client, evaluation, 4, 2)
            follower.wait_for(5, timeout=5)
            listener._deliver = heard  # the final status wakes followers through NOTIFY
            complete(alone.target, evaluation)
            assert follower.join() == [1, 2, 3, 4, 5]
    finally:
        listener._deliver = heard
        alone.stop()


def wait_until_followed(server: ServerThread, timeout: float = 10) -> None:
    """Until a follower waits on the server's tail (its first read is done)."""
    assert server.server is not None
    followers = next(
        s.log_followers for s in server.server.servicers if hasattr(s, "log_followers")
    )
    deadline = time.monotonic() + timeout
    while not followers.followed and time.monotonic() < deadline:
        time.sleep(0.02)
    assert followers.followed, "no follower joined"


def test_grpcurl_follow_receives_lines_appended_while_it_waits(
    client: Client, server: ServerThread
) -> None:
    evaluation = create_evaluation(server.target)
    append(client, evaluation, 1, 2)
    assert GRPCURL
    request = json.dumps({"evaluation_id": evaluation, "follow": True})
    grpcurl = subprocess.Popen(
        [
            GRPCURL, "-plaintext", "-H", f"authorization: Bearer {READER_KEY}", "-d", request,
            server.target, "ledger.v1.EvaluationService/StreamEvaluationLogs",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert grpcurl.stdout is not None
        received: list[str] = []

        def read() -> None:
            assert grpcurl.stdout is not None
            received.extend(grpcurl.stdout)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        deadline = time.monotonic() + 20
        while '"last_sequence": "2"' not in "".join(received) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert '"last_sequence": "2"' in "".join(received), "".join(received)
        append(client, evaluation, 3, 3)  # while grpcurl waits
        complete(server.target, evaluation)
        assert grpcurl.wait(20) == 0, grpcurl.stderr.read() if grpcurl.stderr else ""
        reader.join(5)
    finally:
        if grpcurl.poll() is None:
            grpcurl.kill()
    decoder = json.JSONDecoder()
    output, messages = "".join(received).strip(), []
    while output:
        message, end = decoder.raw_decode(output)
        messages.append(message)
        output = output[end:].strip()
    lines = [line for message in messages for line in message["lines"]]
    assert [line["text"] for line in lines] == [f"line {n}" for n in range(1, 6)]
    assert [int(line["sequence"]) for line in lines] == [1, 2, 3, 4, 5]
    assert messages[-1]["last_sequence"] == "5"


def test_a_server_whose_listener_connection_was_killed_still_wakes_its_followers(
    client: Client, database_url: str
) -> None:
    """The listener reconnects by itself; polling is off, so only NOTIFY can deliver."""
    polling_off = ServerThread(server_settings(log_poll_seconds=3600.0), database_url).start()
    try:
        evaluation = create_evaluation(polling_off.target)
        with Client(target=polling_off.target, api_key=READER_KEY) as reader:
            follower = Follower(reader, evaluation)
            append(client, evaluation, 1, 2)
            follower.wait_for(2)
            kill_listeners(database_url)  # every server's listener, this one's included
            append(client, evaluation, 3, 2)  # its wake-up may be lost: the reconnect wakes
            follower.wait_for(4)
            wait_for_listeners(database_url)
            append(client, evaluation, 5, 2)  # through the new connection
            follower.wait_for(6)
            complete(polling_off.target, evaluation)
            assert follower.join() == [1, 2, 3, 4, 5, 6]
    finally:
        polling_off.stop()


def kill_listeners(url: str) -> None:
    with connect(url) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = 'ledger-listener' AND datname = current_database()"
        )
        assert cursor.fetchall(), "no listener connection to kill"


def wait_for_listeners(url: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connect(url) as connection, connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                "'ledger-listener' AND datname = current_database() AND state = 'idle'"
            )
            row = cursor.fetchone()
        if row and row[0]:
            return
        time.sleep(0.05)
    raise AssertionError("no listener reconnected")


def test_async_follow_logs_yields_lines_as_they_come_and_ends_with_the_evaluation(
    client: Client, server: ServerThread
) -> None:
    evaluation = create_evaluation(server.target)

    async def main() -> list[int]:
        async with AsyncClient(target=server.target, api_key=ADMIN_KEY) as ledger:
            appended = await ledger.evaluations.append_logs(evaluation, ["a", "b"])
            assert appended.last_sequence == 2
            sequences = []
            async with ledger.evaluations.follow_logs(evaluation, timeout=60) as lines:
                async for line in lines:
                    sequences.append(line.sequence)
                    if line.sequence == 2:
                        await asyncio.to_thread(append, client, evaluation, 3, 2)
                        await asyncio.to_thread(complete, server.target, evaluation)
            listed = [line.sequence async for line in ledger.evaluations.list_logs(evaluation)]
            assert listed == sequences
            return sequences

    assert asyncio.run(main()) == [1, 2, 3, 4]
