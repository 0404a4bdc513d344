"""What every Ledger RPC does around its body: authorize, offload, map errors, log.

Handlers run on the asyncio event loop, which also carries every open stream; blocking
database work goes to a bounded thread pool (`Runtime.offload`) so the loop never waits
on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

import grpc

from ledger_server.api_keys import Role
from ledger_server.domain.errors import LedgerError
from ledger_server.metrics import Metrics
from ledger_server.rpc import errors
from ledger_server.rpc.auth import Authorizer

log = logging.getLogger("ledger.rpc")
P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class Runtime:
    authorizer: Authorizer
    executor: ThreadPoolExecutor
    metrics: Metrics = field(default_factory=Metrics)  # the default counts nothing

    async def offload(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, functools.partial(fn, *args, **kwargs))


class Servicer:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime


Handler = Callable[[Any, Any, grpc.aio.ServicerContext[Any, Any]], Awaitable[Any]]


def unary(role: Role) -> Callable[[Handler], Handler]:
    """Wraps a unary handler of a `Servicer` with auth, error mapping and an access log."""

    def wrap(body: Handler) -> Handler:
        method = body.__name__

        @functools.wraps(body)
        async def handler(
            self: Servicer, request: Any, context: grpc.aio.ServicerContext[Any, Any]
        ) -> Any:
            started = time.perf_counter()
            code = grpc.StatusCode.OK
            caller = "-"
            try:
                caller = self.runtime.authorizer.authorize(
                    context.invocation_metadata() or (), role
                )
                return await body(self, request, context)
            except LedgerError as error:
                code = errors.status_code(error)
                await context.abort_with_status(errors.to_status(error))
            except asyncio.CancelledError:
                code = grpc.StatusCode.CANCELLED
                raise
            except Exception:
                if context.code() not in (None, grpc.StatusCode.OK):
                    raise  # already aborted by the handler itself
                correlation_id = uuid.uuid4().hex
                code = grpc.StatusCode.INTERNAL
                log.exception("unhandled error", extra={"correlation_id": correlation_id})
                await context.abort_with_status(errors.internal_status(correlation_id))
            finally:
                seconds = time.perf_counter() - started
                self.runtime.metrics.call_finished(method, code.name, seconds)
                log.info(
                    "rpc",
                    extra={
                        "method": method,
                        "code": code.name,
                        "duration_ms": round(seconds * 1000, 3),
                        "request_id": getattr(request, "request_id", "") or _header(context),
                        "caller": caller,
                    },
                )

        return handler

    return wrap


def _header(context: grpc.aio.ServicerContext[Any, Any]) -> str:
    for name, value in context.invocation_metadata() or ():
        if name == "x-request-id":
            return value if isinstance(value, str) else value.decode(errors="replace")
    return ""
