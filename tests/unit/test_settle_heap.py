"""The server settles its startup heap once it serves (bench/README.md, Evaluation logs)."""

from __future__ import annotations

import gc

from ledger_server.app import settle_heap


def test_the_startup_heap_leaves_the_collectors_sight() -> None:
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    try:
        settle_heap()
        # Everything alive now is frozen: a full collection no longer walks it.
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
