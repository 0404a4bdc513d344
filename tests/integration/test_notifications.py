"""The change wake-ups against real PostgreSQL: committed, once per process, after outages."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy import Engine

from ledger_server.storage.database import make_engine
from ledger_server.storage.notifications import PgChanges, publish_change
from tests.support.database import connect

T = TypeVar("T")
WAIT = 10.0


def run(main: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(asyncio.wait_for(main(), 60))


async def publish(engine: Engine, topic: str, key: str, *, commit: bool = True) -> None:
    def write() -> None:
        with engine.connect() as connection:
            publish_change(connection, topic, key)
            if commit:
                connection.commit()
            else:
                connection.rollback()

    await asyncio.to_thread(write)


async def started(url: str) -> PgChanges:
    changes = PgChanges(url, role="ledger_app")
    changes.start()
    assert await asyncio.to_thread(changes.listener.connected.wait, WAIT)
    return changes


def test_publish_change_wakes_watchers_of_that_key_only_after_commit(database_url: str) -> None:
    engine = make_engine(database_url, pool_size=2)

    async def main() -> None:
        changes = await started(database_url)
        try:
            with (
                changes.watch("evaluation_logs", "eval-a") as a,
                changes.watch("evaluation_logs", "eval-b") as b,
            ):
                await publish(engine, "evaluation_logs", "eval-a", commit=False)
                assert not await a.changed(0.5)  # rolled back: nothing was sent
                await publish(engine, "evaluation_logs", "eval-a")
                assert await a.changed(WAIT)
                assert not await b.changed(0.3)
                assert not await a.changed(0.3)  # one commit, one wake-up
        finally:
            changes.stop()

    run(main)
    engine.dispose()


def test_every_watcher_of_a_key_is_woken_in_every_process(database_url: str) -> None:
    """Two hubs with their own listeners stand for two server processes."""
    engine = make_engine(database_url, pool_size=2)

    async def main() -> None:
        first, second = await started(database_url), await started(database_url)
        try:
            watches = [hub.watch("evaluation_logs", "eval-x") for hub in (first, second)] * 3
            await publish(engine, "evaluation_logs", "eval-x")
            woken = await asyncio.gather(*(w.changed(WAIT) for w in watches[:2]))
            assert woken == [True, True]
            for watch in watches:
                watch.close()
        finally:
            first.stop()
            second.stop()

    run(main)
    engine.dispose()


def test_listener_reconnects_after_its_connection_is_killed_and_wakes_everyone(
    database_url: str,
) -> None:
    engine = make_engine(database_url, pool_size=2)

    async def main() -> None:
        changes = await started(database_url)
        try:
            with changes.watch("evaluation_logs", "eval-r") as watch:
                await asyncio.to_thread(kill_listeners, database_url)
                # Wake-ups sent while it was away are lost: reconnecting wakes every watch.
                assert await watch.changed(WAIT)
                deadline = time.monotonic() + WAIT
                while changes.listener.connections < 2 and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                assert changes.listener.connections == 2
                assert await asyncio.to_thread(changes.listener.connected.wait, WAIT)
                await publish(engine, "evaluation_logs", "eval-r")
                assert await watch.changed(WAIT)
        finally:
            changes.stop()

    run(main)
    engine.dispose()


def test_a_watch_closed_by_its_last_watcher_is_forgotten(database_url: str) -> None:
    async def main() -> None:
        changes = await started(database_url)
        try:
            watch = changes.watch("evaluation_logs", "eval-gone")
            watch.close()
            assert not changes.hub._topics
            assert not await watch.changed(0.1)
        finally:
            changes.stop()

    run(main)


def kill_listeners(url: str) -> None:
    with connect(url) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = 'ledger-listener' AND datname = current_database()"
        )
        assert cursor.fetchall(), "no listener connection to kill"
