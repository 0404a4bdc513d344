"""The server settles its startup heap once it serves (bench/README.md, Evaluation logs)."""

from __future__ import annotations

import gc

from ledger_server.app import YOUNG_COLLECTION_THRESHOLD, settle_heap


def test_the_startup_heap_leaves_the_collectors_sight_and_young_objects_wait() -> None:
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    thresholds = gc.get_threshold()
    try:
        settle_heap()
        # Everything alive now is frozen: a full collection no longer walks it.
        assert gc.get_freeze_count() > 10_000
        assert gc.get_threshold() == (YOUNG_COLLECTION_THRESHOLD, *thresholds[1:])
        assert thresholds[0] < YOUNG_COLLECTION_THRESHOLD
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
