"""A TCP proxy in front of PostgreSQL that a test can cut and restore, to play outages."""

from __future__ import annotations

import contextlib
import socket
import threading
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


class CuttableProxy:
    def __init__(self, database_url: str) -> None:
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
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
