"""`ledger.evaluations`: ledger.v1.EvaluationService, sync and asyncio.

The log methods (`append_logs`, `list_logs`, `follow_logs`) come from
`evaluation_logs`; the record methods join them here.
"""

from __future__ import annotations

from ledger.v1.evaluation_service_pb2_grpc import EvaluationServiceStub
from ledger_client.async_calls import AsyncCalls
from ledger_client.calls import Calls
from ledger_client.evaluation_logs import AsyncEvaluationLogMethods, EvaluationLogMethods


class EvaluationsClient(EvaluationLogMethods):
    """Code-evaluation runs. Reached as `Client(...).evaluations`; every method takes
    `timeout=` and `metadata=`."""

    def __init__(self, calls: Calls) -> None:
        self._calls = calls
        self._stub = EvaluationServiceStub(calls.channel)


class AsyncEvaluationsClient(AsyncEvaluationLogMethods):
    """`EvaluationsClient` for asyncio: `AsyncClient(...).evaluations`."""

    def __init__(self, calls: AsyncCalls) -> None:
        self._calls = calls
        self._stub = EvaluationServiceStub(calls.channel)
