"""The one cache for records whose id never gets a new version.

Ledger never rewrites a row, so a record read under an id that can never name another
version (a ResultsStore job, say) is true forever: caching it needs no invalidation.
That is the only kind of record this cache may hold. A record whose id gets new
versions (an evaluation, a cost record's current revision) must not be cached under that
id, since the next version would be hidden.

Misses are never cached, since a missing record may be written later. The cache is
bounded by entries and by an estimate of the bytes it holds, so neither many small
records nor a few huge ones grow the server for good. Keys must be canonical (a parsed
UUID, not the text a caller sent) so one record is one entry.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class ImmutableCache(Generic[K, V]):
    def __init__(self, capacity: int, *, max_bytes: int, size_of: Callable[[V], int]) -> None:
        self._capacity = capacity
        self._max_bytes = max_bytes
        self._size_of = size_of
        self._items: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            entry = self._items.get(key)
            if entry is None:
                return None
            self._items.move_to_end(key)
            return entry[0]

    def put(self, key: K, value: V) -> None:
        if self._capacity <= 0:
            return
        size = self._size_of(value)
        if size > self._max_bytes // 8:
            return  # one record may not push out an eighth of the cache
        with self._lock:
            earlier = self._items.pop(key, None)
            if earlier is not None:
                self._bytes -= earlier[1]
            self._items[key] = (value, size)
            self._bytes += size
            while len(self._items) > self._capacity or self._bytes > self._max_bytes:
                _, (_, evicted) = self._items.popitem(last=False)
                self._bytes -= evicted

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)
