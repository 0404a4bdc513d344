"""Concurrent changes of one evaluation, through the use case on real PostgreSQL: each
gets its own version, none is lost, none is written twice."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest

from ledger_server.domain.errors import Aborted
from ledger_server.domain.evaluations.commands import CreateEvaluation, UpdateEvaluation
from ledger_server.domain.evaluations.use_cases import Evaluations
from ledger_server.storage.database import SqlTransactions, make_engine

THREADS = 8
UPDATES_EACH = 10


@pytest.fixture
def evaluations(database_url: str) -> Iterator[Evaluations]:
    engine = make_engine(database_url, pool_size=THREADS)
    yield Evaluations(SqlTransactions(engine))
    engine.dispose()


def race(work: Callable[[int], None]) -> list[BaseException]:
    """Runs `work(n)` on THREADS threads released together; returns what they raised."""
    start = threading.Barrier(THREADS)
    failures: list[BaseException] = []

    def run(n: int) -> None:
        start.wait()
        try:
            work(n)
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return failures


def test_update_evaluation_concurrent_updates_each_get_their_own_version(
    evaluations: Evaluations,
) -> None:
    created = evaluations.create(CreateEvaluation(code="x"), None)
    versions: list[int] = []

    def update(n: int) -> None:
        for step in range(UPDATES_EACH):
            changed = evaluations.update(
                UpdateEvaluation(created.evaluation_id, metadata_changes={f"t{n}": step}), None
            )
            versions.append(changed.version)

    assert race(update) == []

    total = THREADS * UPDATES_EACH
    assert sorted(versions) == list(range(2, total + 2))
    history = evaluations.list_versions(created.evaluation_id, 1000, "").items
    assert [v.version for v in history] == list(range(1, total + 2))
    # Every change survived: the last version holds each thread's last step.
    assert history[-1].metadata == {f"t{n}": UPDATES_EACH - 1 for n in range(THREADS)}


def test_update_evaluation_concurrent_updates_of_one_expected_version_let_one_win(
    evaluations: Evaluations,
) -> None:
    created = evaluations.create(CreateEvaluation(code="x"), None)
    winners: list[int] = []

    def update(n: int) -> None:
        changed = evaluations.update(
            UpdateEvaluation(
                created.evaluation_id, metadata_changes={"winner": n}, expected_version=1
            ),
            None,
        )
        winners.append(changed.metadata["winner"])

    failures = race(update)

    assert len(winners) == 1
    assert len(failures) == THREADS - 1
    assert all(isinstance(f, Aborted) and f.reason == "VERSION_MISMATCH" for f in failures)
    latest = evaluations.get(created.evaluation_id)
    assert (latest.version, latest.metadata) == (2, {"winner": winners[0]})
