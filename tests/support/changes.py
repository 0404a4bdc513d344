"""A `domain.changes.Changes` that records what writers announce to this process."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from ledger_server.domain.changes import ChangeWatch


class Announcements:
    """`Changes` that records what appends announce to this process's followers.

    `watched`: True when this process watches every `(topic, key)`, False when none, or
    the `(topic, key)` pairs it watches.
    """

    def __init__(self, *, watched: bool | Collection[tuple[str, str]] = True) -> None:
        self.told: list[tuple[str, str, Any]] = []
        self._watched = watched

    def watched(self, topic: str, key: str) -> bool:
        if isinstance(self._watched, bool):
            return self._watched
        return (topic, key) in self._watched

    def watch(self, topic: str, key: str) -> ChangeWatch:
        raise AssertionError("appending watches nothing")

    def committed(self, topic: str, key: str, news: Any) -> None:
        self.told.append((topic, key, news))
