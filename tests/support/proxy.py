"""A TCP proxy in front of PostgreSQL that a test can cut and restore, to play outages,
and that can list the queries clients send through it, to count round trips."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import make_url


def _upstream_address(url: str) -> tuple[int, Any]:
    parsed = make_url(url)
    host = parsed.query.get("host") or parsed.host or "127.0.0.1"
    if isinstance(host, tuple):
        host = host[0]
    port = parsed.port or 5432
    if host.startswith("/"):
        return socket.AF_UNIX, f"{host}/.s.PGSQL.{port}"
    return socket.AF_INET, (host, port)


class _QueryReader:
    """Reads one connection's client messages (PostgreSQL's wire protocol) and notes the
    text of each simple query. The connection must be plain text (`sslmode=disable`)."""

    def __init__(self, queries: list[str]) -> None:
        self._queries = queries
        self._buffer = b""
        self._started = False  # the startup message, the only one without a type byte

    def feed(self, data: bytes) -> None:
        self._buffer += data
        while True:
            header = 4 if not self._started else 5
            if len(self._buffer) < header:
                return
            size = struct.unpack("!I", self._buffer[header - 4 : header])[0]
            end = size if not self._started else 1 + size
            if len(self._buffer) < end:
                return
            if self._started and self._buffer[:1] == b"Q":
                self._queries.append(self._buffer[5:end].split(b"\0")[0].decode())
            self._buffer, self._started = self._buffer[end:], True


class CuttableProxy:
    def __init__(self, database_url: str, *, read_queries: bool = False) -> None:
        # With read_queries, `queries` lists the simple queries clients sent, in order.
        self.queries: list[str] = []
        self._read_queries = read_queries
        self._family, self._upstream = _upstream_address(database_url)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._open = threading.Event()
        self._open.set()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()
        url = make_url(database_url)
        self.url = url.set(host="127.0.0.1", port=self.port, query={}).render_as_string(
            hide_password=False
        )

    def cut(self) -> None:
        """Drops every connection and refuses new ones until `restore`."""
        self._open.clear()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._sockets.clear()

    def restore(self) -> None:
        self._open.set()

    def retarget(self, url: str) -> None:
        """New connections go to `url`'s host and port from now on (open ones stay)."""
        self._family, self._upstream = _upstream_address(url)

    def close(self) -> None:
        self.cut()
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self._open.is_set():
                client.close()
                continue
            upstream = socket.socket(self._family, socket.SOCK_STREAM)
            try:
                upstream.connect(self._upstream)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, upstream]
            reader = _QueryReader(self.queries).feed if self._read_queries else None
            for source, sink, watch in ((client, upstream, reader), (upstream, client, None)):
                threading.Thread(target=self._pipe, args=(source, sink, watch), daemon=True).start()

    @staticmethod
    def _pipe(
        source: socket.socket, sink: socket.socket, watch: Callable[[bytes], None] | None
    ) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
                if watch is not None:
                    watch(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
