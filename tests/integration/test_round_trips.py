"""The round trips of the hot paths, counted on the wire.

Under load each round trip of a database thread also waits for the GIL behind the event
loop, so the log benchmark's latency and GetEvaluation's rate follow their number
(bench/README.md, Evaluation logs). A TCP proxy between the unit of work and PostgreSQL
counts the queries sent, once the pooled connection has served a read before (where a
reset of its isolation level would show up as one more)."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import make_url

from ledger_server.domain.evaluations.commands import CreateEvaluation
from ledger_server.domain.evaluations.log_lines import AppendLogsCommand, LogLineInput
from ledger_server.domain.evaluations.log_use_cases import EvaluationLogs
from ledger_server.domain.evaluations.use_cases import Evaluations
from ledger_server.storage.database import SqlTransactions, make_engine


class _Proxy:
    def __init__(self, upstream: Callable[[], socket.socket]) -> None:
        self.queries: list[str] = []
        self._upstream = upstream
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = self._upstream()
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, count: bool) -> None:
        buf, started = b"", False
        try:
            while data := src.recv(65536):
                dst.sendall(data)
                if not count:
                    continue
                buf += data
                while True:
                    if not started:  # the startup message has no type byte
                        if len(buf) < 4 or len(buf) < struct.unpack("!I", buf[:4])[0]:
                            break
                        buf, started = buf[struct.unpack("!I", buf[:4])[0] :], True
                        continue
                    if len(buf) < 5 or len(buf) < 1 + struct.unpack("!I", buf[1:5])[0]:
                        break
                    size = struct.unpack("!I", buf[1:5])[0]
                    if buf[:1] == b"Q":
                        self.queries.append(buf[5 : 1 + size].split(b"\0")[0].decode()[:60])
                    buf = buf[1 + size :]
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._listener.close()

    def sent_by(self, work: object) -> list[str]:
        time.sleep(0.05)
        self.queries.clear()
        work()  # type: ignore[operator]
        time.sleep(0.05)
        return list(self.queries)


@pytest.fixture
def counted(database_url: str) -> Iterator[tuple[_Proxy, SqlTransactions]]:
    url = make_url(database_url)
    port = url.port or 5432
    directory = url.query.get("host")  # the embedded server listens on a socket file

    def upstream() -> socket.socket:
        if isinstance(directory, str) and directory.startswith("/"):
            unix = socket.socket(socket.AF_UNIX)
            unix.connect(f"{directory}/.s.PGSQL.{port}")
            return unix
        return socket.create_connection((url.host or "127.0.0.1", port))

    proxy = _Proxy(upstream)
    query = {key: value for key, value in url.query.items() if key != "host"}
    through = url.set(host="127.0.0.1", port=proxy.port, query=query).update_query_dict(
        {"sslmode": "disable"}  # plain text, so the proxy can read the protocol
    )
    engine = make_engine(through.render_as_string(hide_password=False), pool_size=1)
    yield proxy, SqlTransactions(engine)
    engine.dispose()
    proxy.close()


def test_get_evaluation_sends_one_query_once_the_version_is_cached(
    counted: tuple[_Proxy, SqlTransactions],
) -> None:
    proxy, transactions = counted
    evaluations = Evaluations(transactions)
    evaluation = evaluations.create(CreateEvaluation(code="x"), None).evaluation_id
    evaluations.get(evaluation)  # warms the cache; the connection has now been read() on
    sent = proxy.sent_by(lambda: evaluations.get(evaluation))
    assert len(sent) == 1, sent  # no BEGIN, no COMMIT, no reset


def test_a_log_read_saves_both_begin_and_commit(
    counted: tuple[_Proxy, SqlTransactions],
) -> None:
    proxy, transactions = counted
    evaluation = Evaluations(transactions).create(CreateEvaluation(code="x"), None).evaluation_id
    logs = EvaluationLogs(transactions)
    logs.append(AppendLogsCommand(evaluation, (LogLineInput("a"),)))
    logs.read_after(evaluation, 0)
    sent = proxy.sent_by(lambda: logs.read_after(evaluation, 0))
    # its status, the sizes of the rows, the rows: three statements and nothing else
    assert len(sent) == 3, sent


def test_an_append_sends_begin_one_lock_and_read_the_insert_and_commit(
    counted: tuple[_Proxy, SqlTransactions],
) -> None:
    proxy, transactions = counted
    evaluation = Evaluations(transactions).create(CreateEvaluation(code="x"), None).evaluation_id
    logs = EvaluationLogs(transactions)
    sent = proxy.sent_by(lambda: logs.append(AppendLogsCommand(evaluation, (LogLineInput("a"),))))
    assert len(sent) == 4, sent
    assert sent[1].startswith("SELECT pg_advisory_xact_lock"), sent
