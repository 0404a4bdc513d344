"""What the domain needs from storage, as protocols: storage implements them, tests may too.

A use case opens one unit of work (one transaction) and reaches every repository through
it: `uow.request_ids` (shared by every creating RPC), and one named repository per
service (`uow.results`, ...). A new service adds its repository here and in
`storage/database.py`'s unit of work: one line each.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol, TypeVar

from ledger_server.domain.evaluations.log_ports import EvaluationLogRepository
from ledger_server.domain.evaluations.ports import EvaluationRepository
from ledger_server.domain.ingestion.ports import IngestionRepository
from ledger_server.domain.results_store.ports import ResultsRepository
from ledger_server.domain.savings.ports import SavingsRepository

T = TypeVar("T")


@dataclass(frozen=True)
class ClaimedRequest:
    """A request id seen before: what it was sent with and what it created."""

    fingerprint: bytes
    resource_id: str


class RequestIdClaims(Protocol):
    def claim(
        self, method: str, request_id: str, fingerprint: bytes, resource_id: str
    ) -> ClaimedRequest | None:
        """Records a request id; returns the earlier claim instead if there was one.

        A concurrent claim of the same id waits for the other transaction to end, so two
        racing retries end with one claim and one shared answer.
        """


class RequestIdRepository(RequestIdClaims, Protocol):
    def find(self, method: str, request_id: str) -> ClaimedRequest | None:
        """The claim of a request id, if one committed; claims nothing.

        For calls that must know before they start whether they are a retry: a finished
        upload, or a client stream that writes as it reads and claims at its end.
        """


class UnitOfWork(Protocol):
    """One transaction's repositories, and a lock to serialise work on one key."""

    def lock(self, key: str) -> None:
        """Waits until no other transaction holds `key`, then holds it until this one ends.

        For read-then-append work on one record (the next version of an evaluation, the
        periods of one instance) across any number of server processes: the app role
        may not lock rows, but it may take transaction-scoped advisory locks.
        """

    @property
    def request_ids(self) -> RequestIdRepository: ...

    @property
    def results(self) -> ResultsRepository: ...

    @property
    def evaluations(self) -> EvaluationRepository: ...

    @property
    def evaluation_logs(self) -> EvaluationLogRepository: ...

    @property
    def ingestion(self) -> IngestionRepository: ...

    @property
    def savings(self) -> SavingsRepository: ...


class Transactions(Protocol):
    """Opens units of work; the use case decides where each starts and ends.

    Both raise `Unavailable` when the database is away or overloaded (the caller may
    retry) and `Aborted` when the transaction lost a race with a concurrent one (a
    unique key taken meanwhile, a serialization failure, a deadlock).
    """

    def begin(self) -> AbstractContextManager[UnitOfWork]:
        """One attempt: commit when the block ends, roll back when it raises."""

    def read(self) -> AbstractContextManager[UnitOfWork]:
        """A unit of work for reads alone, outside a transaction: each statement sees
        what was committed when it started, and nothing is written. It saves the
        transaction's BEGIN and COMMIT round trips, for reads whose statements need not
        share one snapshot: reads of rows that never change once written (a version, a
        log batch), or whose order already gives what a snapshot would."""

    def run(self, work: Callable[[UnitOfWork], T]) -> T:
        """`work` in a unit of work, run again (a bounded number of times) when it lost a
        race; `Aborted` when it kept losing. `work` must only touch the database."""
