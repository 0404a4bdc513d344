"""What every Ledger RPC does around its body: authorize, offload, map errors, log, count.

Three wrappers, one per call shape: `unary`, `server_stream` and `client_stream`. Each
authorizes the caller before the body runs, turns every error into a status through the
one mapper (`rpc/errors.py`), and writes one access-log line per call or stream. A
servicer cannot forget them: `rpc/service.py` refuses a servicer class with an RPC that
is not wrapped.

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
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

import grpc

from ledger_server.api_keys import Role
from ledger_server.domain.errors import FieldViolation, InvalidArgument, LedgerError, Unavailable
from ledger_server.metrics import Metrics
from ledger_server.rpc import errors
from ledger_server.rpc.auth import Authorizer
from ledger_server.rpc.messages import Malformed, Unparsed

log = logging.getLogger("ledger.rpc")
P = ParamSpec("P")
R = TypeVar("R")
Context = grpc.aio.ServicerContext[Any, Any]


@dataclass
class Runtime:
    authorizer: Authorizer
    executor: ThreadPoolExecutor
    metrics: Metrics = field(default_factory=Metrics)  # the default counts nothing
    # Server streams open now, so a stopping server can end them with UNAVAILABLE.
    streams: set[asyncio.Task[Any]] = field(default_factory=set)
    stopping: bool = False
    # Calls with one reply not yet sent, so a stopping server can let them be answered
    # before it cancels what is left.
    unanswered: int = 0

    async def offload(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, functools.partial(fn, *args, **kwargs))

    def call_started(self, context: Context) -> None:
        self.unanswered += 1
        # The stubs type the callback as a class of their own; grpc takes any callable.
        context.add_done_callback(self._call_done)  # type: ignore[arg-type]

    def _call_done(self, _context: Any) -> None:
        self.unanswered -= 1

    async def answered(self, deadline: float) -> None:
        """Returns once every single-reply call is answered, or at loop time `deadline`."""
        loop = asyncio.get_running_loop()
        while self.unanswered and loop.time() < deadline:
            await asyncio.sleep(0.01)

    def end_streams(self) -> None:
        """Ends every open server stream with UNAVAILABLE (SERVER_SHUTTING_DOWN)."""
        self.stopping = True
        for task in list(self.streams):
            task.cancel()


@dataclass
class Call:
    """What a handler knows of its call besides the request."""

    context: Context
    method: str
    # The name of the caller's API key ("anonymous" when auth is off): who did what.
    caller: str


@dataclass(frozen=True)
class RpcSpec:
    """Marks a wrapped handler: its shape and the role it needs."""

    client_streaming: bool
    server_streaming: bool
    role: Role


SPEC_ATTRIBUTE = "__ledger_rpc__"


@dataclass
class _Outcome:
    """One call's access-log line, filled in as the call goes."""

    method: str
    started: float = field(default_factory=time.perf_counter)
    code: grpc.StatusCode = grpc.StatusCode.OK
    caller: str = "-"
    request_id: str = ""
    messages_in: int = 0
    messages_out: int = 0

    def write(self, runtime: Runtime, streaming: bool) -> None:
        seconds = time.perf_counter() - self.started
        extra: dict[str, Any] = {
            "method": self.method,
            "code": self.code.name,
            "duration_ms": round(seconds * 1000, 3),
            "request_id": self.request_id,
            "caller": self.caller,
        }
        if streaming:
            extra["messages_in"] = self.messages_in
            extra["messages_out"] = self.messages_out
        log.info("rpc", extra=extra)
        runtime.metrics.call_finished(self.method, self.code.name, seconds)


def _authorize(runtime: Runtime, context: Context, role: Role, outcome: _Outcome) -> Call:
    metadata = context.invocation_metadata() or ()
    outcome.caller = runtime.authorizer.authorize(metadata, role)
    outcome.request_id = outcome.request_id or _header(metadata)
    return Call(context, outcome.method, outcome.caller)


async def _parsed(runtime: Runtime, message: Any, outcome: _Outcome) -> Any:
    """The request message: a large one is parsed now, on a worker thread (rpc/messages.py)."""
    if isinstance(message, Unparsed):
        message = await runtime.offload(message.parsed)
        outcome.request_id = getattr(message, "request_id", "") or outcome.request_id
    if isinstance(message, Malformed):
        raise InvalidArgument(
            [FieldViolation("request", message.description)],
            message=f"the request could not be parsed: {message.description}",
        )
    return message


def _status(context: Context, error: BaseException, outcome: _Outcome) -> grpc.Status:
    """The status `error` means (an unexpected one is logged with its traceback).

    The wrappers abort with it only after leaving their `except` block and dropping the
    request: grpc keeps an aborting exception in reference cycles that wait for the cycle
    collector, with every frame of its traceback, their locals and any exception it was
    raised during. Aborting from inside `except` would keep the request and the failed
    body's frames that long too: tens of MB per refused call, for a caller sending 15 MB
    job ids.
    """
    if isinstance(error, LedgerError):
        outcome.code = errors.status_code(error)
        return errors.to_status(error)
    if context.code() not in (None, grpc.StatusCode.OK):
        outcome.code = context.code() or grpc.StatusCode.UNKNOWN
        raise error  # already aborted by the handler itself
    correlation_id = uuid.uuid4().hex
    outcome.code = grpc.StatusCode.INTERNAL
    log.error("unhandled error", exc_info=error, extra={"correlation_id": correlation_id})
    return errors.internal_status(correlation_id)


UnaryBody = Callable[[Any, Any, Call], Awaitable[Any]]
UnaryHandler = Callable[[Any, Any, Context], Awaitable[Any]]


def unary(role: Role) -> Callable[[UnaryBody], UnaryHandler]:
    """One request in, one response out: `async def Method(self, request, call)`."""

    def wrap(body: UnaryBody) -> UnaryHandler:
        @functools.wraps(body)
        async def handler(self: Any, request: Any, context: Context) -> Any:
            outcome = _Outcome(body.__name__, request_id=getattr(request, "request_id", ""))
            self.runtime.call_started(context)
            try:
                call = _authorize(self.runtime, context, role, outcome)
                request = await _parsed(self.runtime, request, outcome)
                return await body(self, request, call)
            except asyncio.CancelledError:
                outcome.code = grpc.StatusCode.CANCELLED
                raise
            except Exception as error:
                status = _status(context, error, outcome)
            finally:
                outcome.write(self.runtime, streaming=False)
            del request  # see _status: nothing of the call may outlive it
            await context.abort_with_status(status)

        setattr(handler, SPEC_ATTRIBUTE, RpcSpec(False, False, role))
        return handler

    return wrap


ClientStreamBody = Callable[[Any, AsyncIterator[Any], Call], Awaitable[Any]]
ClientStreamHandler = Callable[[Any, AsyncIterator[Any], Context], Awaitable[Any]]


def client_stream(role: Role) -> Callable[[ClientStreamBody], ClientStreamHandler]:
    """Many requests in, one response out: `async def Method(self, requests, call)`.

    `requests` yields the parsed messages; a malformed one ends the call with
    INVALID_ARGUMENT. The first message's `request_id` (if any) names the call in the log.
    """

    def wrap(body: ClientStreamBody) -> ClientStreamHandler:
        @functools.wraps(body)
        async def handler(self: Any, requests: AsyncIterator[Any], context: Context) -> Any:
            outcome = _Outcome(body.__name__)
            metrics = self.runtime.metrics

            async def parsed() -> AsyncIterator[Any]:
                async for unparsed in requests:
                    message = await _parsed(self.runtime, unparsed, outcome)
                    if not outcome.messages_in:
                        outcome.request_id = (
                            getattr(message, "request_id", "") or outcome.request_id
                        )
                    outcome.messages_in += 1
                    metrics.messages(outcome.method, "in")
                    yield message

            metrics.stream_opened(outcome.method)
            self.runtime.call_started(context)
            try:
                call = _authorize(self.runtime, context, role, outcome)
                return await body(self, parsed(), call)
            except asyncio.CancelledError:
                outcome.code = grpc.StatusCode.CANCELLED
                raise
            except Exception as error:
                status = _status(context, error, outcome)
            finally:
                metrics.stream_closed(outcome.method)
                outcome.write(self.runtime, streaming=True)
            await context.abort_with_status(status)

        setattr(handler, SPEC_ATTRIBUTE, RpcSpec(True, False, role))
        return handler

    return wrap


ServerStreamBody = Callable[[Any, Any, Call], AsyncIterator[Any]]
ServerStreamHandler = Callable[[Any, Any, Context], AsyncIterator[Any]]


def server_stream(role: Role) -> Callable[[ServerStreamBody], ServerStreamHandler]:
    """One request in, many responses out: `async def Method(self, request, call)` yielding.

    When the client goes away the body is cancelled where it waits (its `finally` blocks
    run), so no work continues for nobody. When the server stops, every open stream ends
    promptly with UNAVAILABLE (reason SERVER_SHUTTING_DOWN), so clients resume elsewhere
    from their cursor instead of waiting out the grace period.
    """

    def wrap(body: ServerStreamBody) -> ServerStreamHandler:
        @functools.wraps(body)
        async def handler(self: Any, request: Any, context: Context) -> AsyncIterator[Any]:
            runtime = self.runtime
            outcome = _Outcome(body.__name__, request_id=getattr(request, "request_id", ""))
            task = asyncio.current_task()
            runtime.metrics.stream_opened(outcome.method)
            status = None
            try:
                if task is not None:
                    runtime.streams.add(task)
                call = _authorize(runtime, context, role, outcome)
                request = await _parsed(runtime, request, outcome)
                if runtime.stopping:
                    raise _shutting_down()
                async for message in body(self, request, call):
                    outcome.messages_out += 1
                    runtime.metrics.messages(outcome.method, "out")
                    yield message
            except asyncio.CancelledError:
                if not runtime.stopping:
                    outcome.code = grpc.StatusCode.CANCELLED
                    raise
                # Cancelled by `Runtime.end_streams`: tell the client to reconnect.
                status = _status(context, _shutting_down(), outcome)
            except Exception as error:
                status = _status(context, error, outcome)
            finally:
                if task is not None:
                    runtime.streams.discard(task)
                runtime.metrics.stream_closed(outcome.method)
                outcome.write(runtime, streaming=True)
            if status is not None:
                del request  # see _status: nothing of the call may outlive it
                await context.abort_with_status(status)

        setattr(handler, SPEC_ATTRIBUTE, RpcSpec(False, True, role))
        return handler

    return wrap


def _shutting_down() -> Unavailable:
    return Unavailable(
        "the server is shutting down; reconnect and resume from your last cursor",
        reason="SERVER_SHUTTING_DOWN",
    )


def _header(metadata: Any) -> str:
    for name, value in metadata:
        if name == "x-request-id":
            text = value if isinstance(value, str) else value.decode(errors="replace")
            return str(text)[:128]
    return ""
