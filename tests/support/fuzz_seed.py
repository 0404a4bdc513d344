"""The seed the fuzz tests draw from: fixed locally, fresh in CI, replayable from a failure."""

from __future__ import annotations

import os
import random


def _fuzz_seed() -> int | None:
    """None for the fixed run; otherwise the seed every fuzz test draws its examples from.

    Locally the fuzz is derandomized, so a run is reproducible. `LEDGER_FUZZ_SEED=<n>`
    replays the run a seed names; `LEDGER_FUZZ_SEED=random`, or a CI environment (`CI`
    set), draws a fresh seed each run so CI explores new examples. Explicit `@example`s
    run either way. A failing fuzz test prints the seed (tests/e2e/conftest.py).
    """
    given = os.environ.get("LEDGER_FUZZ_SEED", "")
    if given.isdecimal():
        return int(given)
    if given == "random" or (not given and os.environ.get("CI")):
        return random.SystemRandom().randrange(2**32)
    return None


FUZZ_SEED = _fuzz_seed()
