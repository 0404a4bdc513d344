"""Wake-ups when something was committed: the port a use case waits on, never a message bus.

A writer publishes a change of `(topic, key)` (say `("evaluation_logs", "eval_42")`) in
the transaction that makes it; every server process sharing the database hears of it
once that transaction commits (storage implements this with PostgreSQL LISTEN/NOTIFY).
A wake-up carries no data: whoever waits reads what it needs from the database, so a
lost or repeated wake-up costs a read, never a wrong answer. Waiters therefore also
read again after a timeout of their choosing.

A change committed in THIS process need not make that round trip through the database:
its writer also calls `Changes.committed` with what it wrote (the news), which wakes
this process's watches at once and hands them the news, so a waiter that can use it
skips its read. The database's wake-up still reaches every other process; in this one
it is dropped as already heard. News is a short cut, never the only way: a waiter that
cannot use it (it missed something before it) reads, as for any wake-up.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, Protocol, Self


class ChangeWatch(Protocol):
    """Wake-ups for one `(topic, key)`, counted from when the watch was opened."""

    async def changed(self, timeout: float) -> bool:
        """Returns True at once if a change arrived since the last call (or since the
        watch opened), else waits for one; False when `timeout` seconds pass first."""

    def take_news(self) -> list[Any] | None:
        """The news of the changes committed in this process since the last call (or
        since the watch opened), oldest first, and forgets them; None when a wake-up
        without news came meanwhile (another process's change, a listener that
        reconnected): then only a read tells what changed."""

    def close(self) -> None:
        """Stops watching; further wake-ups are dropped."""

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...


class Changes(Protocol):
    """Opens watches; one instance per server process, shared by every use case."""

    def watch(self, topic: str, key: str) -> ChangeWatch:
        """A watch of `(topic, key)`; must be opened on the server's event loop."""

    def committed(self, topic: str, key: str, news: Any) -> None:
        """Thread-safe; called once the transaction that published a change of `(topic,
        key)` committed in this process: wakes this process's watches of it now, each
        with `news` (`take_news`), instead of with the database's wake-up."""

    def watched(self, topic: str, key: str) -> bool:
        """Thread-safe: whether a watch of `(topic, key)` is open in this process, so a
        writer prepares news only for someone. A watch opened after this said False
        cannot have missed the change if its owner reads once after opening it."""
