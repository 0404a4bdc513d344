"""The cache of evaluation versions: keyed by (evaluation_id, version), so never stale.

A version is never rewritten, so once read it is true forever under its number; the
latest version's number comes from the database on every read (one index lookup), and
the version itself from the cache when it holds it. Running info is part of a version
and is cached with it. Two levels: this process's own bounded cache, then, with
LEDGER_REDIS_URL, one shared by every server process. A cache that fails is a miss,
never a failed read.
"""

from __future__ import annotations

from typing import Protocol

from ledger_server.domain.cache import ImmutableCache
from ledger_server.domain.evaluations.records import Evaluation

# Versions hold metadata (up to 64 KiB of JSON) and previews (1,000 characters each).
CACHE_BYTES = 32 * 1024 * 1024


class VersionCache(Protocol):
    def get(self, evaluation_id: str, version: int) -> Evaluation | None: ...

    def put(self, evaluation: Evaluation) -> None: ...


def version_size(evaluation: Evaluation) -> int:
    previews = sum(len(c.preview) * 4 for c in (evaluation.output, evaluation.error) if c)
    return 2000 + previews + 64 * len(str(evaluation.metadata))


class LocalVersions:
    """This process's versions, bounded by entries and bytes."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._cache: ImmutableCache[tuple[str, int], Evaluation] = ImmutableCache(
            capacity, max_bytes=CACHE_BYTES, size_of=version_size
        )

    def get(self, evaluation_id: str, version: int) -> Evaluation | None:
        return self._cache.get((evaluation_id, version))

    def put(self, evaluation: Evaluation) -> None:
        if not evaluation.code:  # code is read on demand, never kept
            self._cache.put((evaluation.evaluation_id, evaluation.version), evaluation)


class TwoLevels:
    """The local cache in front of a shared one; a shared hit fills the local one."""

    def __init__(self, local: VersionCache, shared: VersionCache) -> None:
        self._local = local
        self._shared = shared

    def get(self, evaluation_id: str, version: int) -> Evaluation | None:
        found = self._local.get(evaluation_id, version)
        if found is None:
            found = self._shared.get(evaluation_id, version)
            if found is not None:
                self._local.put(found)
        return found

    def put(self, evaluation: Evaluation) -> None:
        self._local.put(evaluation)
        self._shared.put(evaluation)
