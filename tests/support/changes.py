"""A `domain.changes.Changes` that records what writers announce to this process."""

from __future__ import annotations

from typing import Any

from ledger_server.domain.changes import ChangeWatch


class Announcements:
    """`Changes` that records what appends announce to this process's followers."""

    def __init__(self, *, watched: bool = True) -> None:
        self.told: list[tuple[str, str, Any]] = []
        self._watched = watched

    def watched(self, topic: str, key: str) -> bool:
        return self._watched

    def watch(self, topic: str, key: str) -> ChangeWatch:
        raise AssertionError("appending watches nothing")

    def committed(self, topic: str, key: str, news: Any) -> None:
        self.told.append((topic, key, news))
