"""Wake-ups when something was committed: the port a use case waits on, never a message bus.

A writer publishes a change of `(topic, key)` (say `("evaluation_logs", "eval_42")`) in
the transaction that makes it; every server process sharing the database hears of it
once that transaction commits (storage implements this with PostgreSQL LISTEN/NOTIFY).
A wake-up carries no data: whoever waits reads what it needs from the database, so a
lost or repeated wake-up costs a read, never a wrong answer. Waiters therefore also
read again after a timeout of their choosing.
"""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self


class ChangeWatch(Protocol):
    """Wake-ups for one `(topic, key)`, counted from when the watch was opened."""

    async def changed(self, timeout: float) -> bool:
        """Returns True at once if a change arrived since the last call (or since the
        watch opened), else waits for one; False when `timeout` seconds pass first."""

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
