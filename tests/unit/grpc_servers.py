"""In-process gRPC servers with test-only handlers, for the SDK's channel and stream tests.

They stand in for Ledger where the subject is the SDK's own behaviour on a real
channel (retries, limits, deadlines, reconnects), so no database is needed.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator, Mapping
from concurrent import futures
from typing import Any, TypeAlias

import grpc

from ledger_wire.limits import MAX_MESSAGE_BYTES

# service -> method -> handler; a string, as grpc's classes are generic only in the stubs.
Handlers: TypeAlias = "Mapping[str, Mapping[str, grpc.RpcMethodHandler[Any, Any]]]"

Options = list[tuple[str, int]]

# The server's own limits, as Ledger's server sets them.
SERVER_OPTIONS: Options = [
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
]


def generic_handlers(handlers: Handlers) -> tuple[grpc.GenericRpcHandler, ...]:
    return tuple(
        grpc.method_handlers_generic_handler(service, dict(methods))
        for service, methods in handlers.items()
    )


def start_server(
    handlers: Handlers, port: int = 0, options: Options = SERVER_OPTIONS
) -> tuple[grpc.Server, int]:
    """A started server on 127.0.0.1 (`port` 0: a free one) and its port."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), options=options)
    server.add_generic_rpc_handlers(generic_handlers(handlers))
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    return server, bound


@contextlib.contextmanager
def serving(handlers: Handlers, options: Options = SERVER_OPTIONS) -> Iterator[str]:
    """A sync server for the block; yields its target."""
    server, port = start_server(handlers, options=options)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop(grace=None)


@contextlib.asynccontextmanager
async def serving_aio(handlers: Handlers) -> AsyncIterator[str]:
    """A grpc.aio server on the running loop for the block; yields its target."""
    server = grpc.aio.server(options=SERVER_OPTIONS)
    server.add_generic_rpc_handlers(generic_handlers(handlers))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await server.stop(grace=None)
