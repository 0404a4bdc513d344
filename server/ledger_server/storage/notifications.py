"""Change wake-ups across server processes: PostgreSQL LISTEN/NOTIFY, fanned out in process.

A writer calls `publish_change(connection, topic, key)` inside its transaction (or a
trigger runs `pg_notify`); PostgreSQL delivers the notification when, and only if, that
transaction commits. Each server process holds ONE dedicated connection that LISTENs on
the single channel `ledger_changes`, outside the pool, so pooled connections never sit
idle waiting and a process with 500 followers still costs the database one listener.
Its thread hands every notification to the event loop, where `ChangeHub` wakes the
watches of that `(topic, key)`.

The listener reconnects after an outage (the database restarted, the connection was
killed) with a capped backoff, and then wakes every watch: notifications sent while it
was away are lost, so everyone reads again once. A payload is `topic:key` and the
process that sent it: a wake-up, never data. A process drops the wake-ups of its own
changes that it already announced to its watches, with what changed
(`ChangeHub.committed`: no round trip through the database, no read).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import select
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

import psycopg2
import psycopg2.extensions
from psycopg2 import sql
from sqlalchemy import ColumnElement, Connection, func, text
from sqlalchemy.engine import make_url

log = logging.getLogger("ledger.notifications")

CHANNEL = "ledger_changes"
# How often an idle listener proves its connection alive: a connection that died without
# a word (a pulled cable, a killed VM) would otherwise look idle forever.
KEEPALIVE_SECONDS = 5.0
RECONNECT_INITIAL_SECONDS = 0.1
RECONNECT_MAX_SECONDS = 5.0


def payload(topic: str, key: str) -> str:
    return f"{topic}:{key}"


_origin: tuple[int, str] | None = None


def process_origin() -> str:
    """This process's name in the wake-ups it publishes: random, and new after a fork, so
    workers sharing a parent's memory still tell their wake-ups apart."""
    global _origin
    pid = os.getpid()
    if _origin is None or _origin[0] != pid:
        _origin = (pid, secrets.token_hex(8))
    return _origin[1]


def publish_change(connection: Connection, topic: str, key: str) -> None:
    """Wakes watchers of `(topic, key)` in every process once this transaction commits.

    Repeats within one transaction are sent once (PostgreSQL folds identical
    notifications), and a rolled-back transaction sends nothing. The payload names the
    sending process (`topic:key origin`): the wake-up of a change this process already
    announced through `ChangeHub.committed` is dropped by its own listener.
    """
    connection.execute(
        text("SELECT pg_notify(:channel, :payload)"),
        {"channel": CHANNEL, "payload": _sent_payload(topic, key)},
    )


def change_notice(topic: str, key: str) -> ColumnElement[Any]:
    """`publish_change` as an expression, to ride along in a statement the transaction
    sends anyway (say an INSERT's RETURNING) instead of costing a round trip of its own.
    Evaluated once per row, it still sends one wake-up: PostgreSQL folds identical
    notifications of one transaction."""
    return func.pg_notify(CHANNEL, _sent_payload(topic, key))


def _sent_payload(topic: str, key: str) -> str:
    return f"{payload(topic, key)} {process_origin()}"


class _Topic:
    """The watches of one `topic:key`, and what wakes them."""

    __slots__ = ("announced", "event", "generation", "watches")

    def __init__(self) -> None:
        self.generation = 0
        self.event = asyncio.Event()
        self.watches: list[_Watch] = []
        # Changes this process committed and announced whose own database wake-up has not
        # come back yet: that many of its own wake-ups are dropped.
        self.announced = 0


class _Watch:
    """One watcher's view of a topic: the wake-ups (and news) it has not yet seen."""

    def __init__(self, hub: ChangeHub, name: str, topic: _Topic) -> None:
        self._hub = hub
        self._name = name
        self._topic = topic
        self._seen = topic.generation
        self._news: list[Any] = []
        self._without_news = False
        self._closed = False
        topic.watches.append(self)

    async def changed(self, timeout: float) -> bool:
        deadline = asyncio.get_running_loop().time() + timeout
        topic = self._topic
        while not self._closed:
            if topic.generation != self._seen:
                self._seen = topic.generation
                return True
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(topic.event.wait(), remaining)
            except TimeoutError:
                return False
        return False

    def take_news(self) -> list[Any] | None:
        news, without_news = self._news, self._without_news
        self._news, self._without_news = [], False
        return None if without_news else news

    def _woken(self, news: Any) -> None:
        if news is None:
            self._without_news = True
            self._news.clear()  # a read follows, which sees all of it
        elif not self._without_news:
            self._news.append(news)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._hub._release(self._name, self)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class ChangeHub:
    """In-process fan-out: one generation counter and one event per watched topic.

    Lives on the event loop; `deliver`, `committed` and `wake_all` may be called from
    any thread. Topics nobody watches are not kept, so wake-ups for them cost a dict
    lookup.
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._topics: dict[str, _Topic] = {}

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def watch(self, topic: str, key: str) -> _Watch:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        name = payload(topic, key)
        entry = self._topics.get(name)
        if entry is None:
            entry = self._topics[name] = _Topic()
        return _Watch(self, name, entry)

    def deliver(self, notification: str) -> None:
        """Thread-safe: wakes the watches a notification's payload names (`topic:key`,
        with the sending process after a space when `publish_change` sent it)."""
        name, _, origin = notification.partition(" ")
        self._on_loop(self._heard, name, origin == process_origin())

    def committed(self, topic: str, key: str, news: Any) -> None:
        """Thread-safe: wakes the watches of `(topic, key)` with `news`, for a change this
        process committed; its database wake-up, when it comes, is dropped."""
        self._on_loop(self._announce, payload(topic, key), news)

    def wake_all(self) -> None:
        """Thread-safe: wakes every watch (after wake-ups may have been lost)."""
        self._on_loop(self._wake_every)

    def watched(self, topic: str, key: str) -> bool:
        """Thread-safe (one dict lookup): whether a watch of `(topic, key)` is open."""
        return payload(topic, key) in self._topics

    def _on_loop(self, callback: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return  # nobody has watched yet, or the server is gone
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            callback(*args)
        else:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(callback, *args)

    def _heard(self, name: str, own: bool) -> None:
        entry = self._topics.get(name)
        if entry is None:
            return
        if own and entry.announced > 0:
            entry.announced -= 1  # its watches heard of this change, with its news
            return
        self._wake(entry, None)

    def _announce(self, name: str, news: Any) -> None:
        entry = self._topics.get(name)
        if entry is None:
            return
        entry.announced += 1
        self._wake(entry, news)

    def _wake(self, entry: _Topic, news: Any) -> None:
        for watch in entry.watches:
            watch._woken(news)
        entry.generation += 1
        event, entry.event = entry.event, asyncio.Event()  # later waits wait for the next
        event.set()

    def _wake_every(self) -> None:
        for entry in list(self._topics.values()):
            # Its own wake-ups sent before now are lost or on their way: none is dropped.
            entry.announced = 0
            self._wake(entry, None)

    def _release(self, name: str, watch: _Watch) -> None:
        entry = self._topics.get(name)
        if entry is not None and watch in entry.watches:
            entry.watches.remove(watch)
            if not entry.watches:
                del self._topics[name]


def listener_dsn(url: str) -> str:
    """The libpq DSN of a SQLAlchemy URL (the listener uses psycopg2 directly)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class NotificationListener:
    """The one LISTENing connection of a process, on a thread of its own, reconnecting.

    Not from the pool: a pooled connection is returned after each unit of work, and a
    LISTEN lasts as long as its session. Connects as the server's role (SET ROLE), like
    every other connection, though LISTEN needs no privilege.
    """

    def __init__(
        self,
        url: str,
        deliver: Callable[[str], None],
        *,
        on_connect: Callable[[], None],
        role: str = "",
        application_name: str = "ledger-listener",
    ) -> None:
        self._dsn = listener_dsn(url)
        self._deliver = deliver
        self._on_connect = on_connect
        self._role = role
        self._application_name = application_name
        self._stopping = threading.Event()
        # Written to by stop() so the select() in the thread returns at once.
        self._wake_read, self._wake_write = os.pipe()
        self._thread = threading.Thread(target=self._run, name="ledger-listener", daemon=True)
        self.connected = threading.Event()
        self.connections = 0  # how many times it connected: 1 plus its reconnects

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        with contextlib.suppress(OSError):
            os.write(self._wake_write, b"x")
        if self._thread.ident is not None:  # started
            self._thread.join(timeout)
        for fd in (self._wake_read, self._wake_write):
            with contextlib.suppress(OSError):
                os.close(fd)

    def _run(self) -> None:
        delay = RECONNECT_INITIAL_SECONDS
        while not self._stopping.is_set():
            connection = None
            try:
                connection = self._connect()
                self.connections += 1
                self.connected.set()
                if self.connections > 1:
                    log.info("listener reconnected", extra={"connections": self.connections})
                # Anything may have been committed while no one listened: read again.
                self._on_connect()
                delay = RECONNECT_INITIAL_SECONDS
                self._listen(connection)
            except (psycopg2.Error, OSError) as error:
                if not self._stopping.is_set():
                    log.warning(
                        "listener connection lost; reconnecting",
                        extra={"error": type(error).__name__, "retry_seconds": round(delay, 2)},
                    )
            finally:
                self.connected.clear()
                if connection is not None:
                    with contextlib.suppress(Exception):
                        connection.close()
            self._stopping.wait(delay)
            delay = min(delay * 2, RECONNECT_MAX_SECONDS)

    def _connect(self) -> psycopg2.extensions.connection:
        connection = psycopg2.connect(
            self._dsn, connect_timeout=5, application_name=self._application_name
        )
        connection.autocommit = True
        with connection.cursor() as cursor:
            if self._role:
                cursor.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(self._role)))
            cursor.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL)))
        return connection

    def _listen(self, connection: psycopg2.extensions.connection) -> None:
        last_seen = time.monotonic()
        while not self._stopping.is_set():
            socket = connection.fileno()
            ready, _, _ = select.select([socket, self._wake_read], [], [], KEEPALIVE_SECONDS)
            if self._wake_read in ready:
                return
            if socket in ready:
                connection.poll()
                last_seen = time.monotonic()
                self._drain(connection)
            elif time.monotonic() - last_seen >= KEEPALIVE_SECONDS:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT 1")  # raises if the connection is gone
                last_seen = time.monotonic()
                self._drain(connection)

    def _drain(self, connection: psycopg2.extensions.connection) -> None:
        notifies = connection.notifies
        while notifies:
            notification = notifies.pop(0)
            self._deliver(notification.payload)


class PgChanges:
    """`domain.changes.Changes` for one server process: a listener feeding a hub.

    Built by the composition root; `start()` on the server's event loop, `stop()` on
    shutdown.
    """

    def __init__(self, url: str, *, role: str = "") -> None:
        self.hub = ChangeHub()
        self.listener = NotificationListener(
            url, self.hub.deliver, on_connect=self.hub.wake_all, role=role
        )

    def start(self) -> None:
        self.hub.bind(asyncio.get_running_loop())
        self.listener.start()

    def stop(self) -> None:
        self.listener.stop()
        self.hub.wake_all()  # watchers read once more and notice the server stopping

    def watch(self, topic: str, key: str) -> _Watch:
        return self.hub.watch(topic, key)

    def committed(self, topic: str, key: str, news: Any) -> None:
        self.hub.committed(topic, key, news)

    def watched(self, topic: str, key: str) -> bool:
        return self.hub.watched(topic, key)
