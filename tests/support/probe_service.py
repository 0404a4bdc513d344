"""A test-only service with every call shape, served through Ledger's real wrappers.

The wrappers (auth, error mapping, access log, stream shutdown) are shared by every
ledger.v1 service; this probe exercises the streaming shapes before a product RPC uses
them. Its descriptor is built here from well-known types, so no proto file is needed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, wrappers_pb2
from google.protobuf.descriptor import ServiceDescriptor

from ledger_server.api_keys import ApiKey, Role
from ledger_server.domain.errors import NotFound
from ledger_server.rpc.auth import Authorizer
from ledger_server.rpc.handler import Call, Runtime, client_stream, server_stream, unary
from ledger_server.rpc.service import Servicer, add_to_server

Int64 = wrappers_pb2.Int64Value
FILE_NAME = "ledger/testing/v1/probe.proto"


def probe_descriptor() -> ServiceDescriptor:
    pool = descriptor_pool.Default()
    try:
        return pool.FindFileByName(FILE_NAME).services_by_name["ProbeService"]
    except KeyError:
        pass
    proto = descriptor_pb2.FileDescriptorProto(
        name=FILE_NAME,
        package="ledger.testing.v1",
        dependency=["google/protobuf/wrappers.proto"],
        syntax="proto3",
    )
    service = proto.service.add(name="ProbeService")
    int64 = ".google.protobuf.Int64Value"
    service.method.add(name="Echo", input_type=int64, output_type=int64)
    service.method.add(name="Count", input_type=int64, output_type=int64, server_streaming=True)
    service.method.add(name="Sum", input_type=int64, output_type=int64, client_streaming=True)
    pool.Add(proto)
    found: ServiceDescriptor = pool.FindFileByName(FILE_NAME).services_by_name["ProbeService"]
    return found


class ProbeNotFound(NotFound):
    """A service's own error class: the mapper must still answer NOT_FOUND."""


@dataclass
class ProbeState:
    """What the probe's handlers saw, for the tests to inspect."""

    callers: list[str] = field(default_factory=list)
    count_cleaned_up: asyncio.Event = field(default_factory=asyncio.Event)
    count_started: asyncio.Event = field(default_factory=asyncio.Event)


class ProbeServicer(Servicer, service=probe_descriptor()):
    def __init__(self, runtime: Runtime, state: ProbeState) -> None:
        super().__init__(runtime)
        self.state = state

    @unary(Role.READER)
    async def Echo(self, request: Int64, call: Call) -> Int64:  # noqa: N802
        self.state.callers.append(call.caller)
        if request.value < 0:
            raise ProbeNotFound("probe", str(request.value))
        return Int64(value=request.value)

    @server_stream(Role.READER)
    async def Count(self, request: Int64, call: Call) -> AsyncIterator[Int64]:  # noqa: N802
        """Yields 0, 1, 2, ... below `value` (forever if 0; fails at 3 if -1), every 10 ms."""
        self.state.callers.append(call.caller)
        self.state.count_started.set()
        try:
            number = 0
            while request.value <= 0 or number < request.value:
                if number == 3 and request.value == -1:
                    raise ProbeNotFound("probe", "3")
                yield Int64(value=number)
                number += 1
                await asyncio.sleep(0.01)
        finally:
            self.state.count_cleaned_up.set()

    @client_stream(Role.WRITER)
    async def Sum(self, requests: AsyncIterator[Int64], call: Call) -> Int64:  # noqa: N802
        self.state.callers.append(call.caller)
        total = 0
        async for message in requests:
            total += message.value
        return Int64(value=total)


@dataclass
class ProbeServer:
    server: grpc.aio.Server
    runtime: Runtime
    state: ProbeState
    target: str

    async def stop(self, grace: float) -> None:
        self.runtime.end_streams()
        await self.server.stop(grace)


@asynccontextmanager
async def probe_server(keys: list[ApiKey]) -> AsyncIterator[ProbeServer]:
    """A grpc.aio server on a free port serving only the probe, with these API keys."""
    server = grpc.aio.server()
    runtime = Runtime(Authorizer(keys), ThreadPoolExecutor(2))
    state = ProbeState()
    add_to_server(ProbeServicer(runtime, state), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield ProbeServer(server, runtime, state, f"127.0.0.1:{port}")
    finally:
        await server.stop(0)
        runtime.executor.shutdown(wait=False)


def path(method: str) -> str:
    return f"/ledger.testing.v1.ProbeService/{method}"


def numbers(values: Iterator[int]) -> Iterator[Int64]:
    return (Int64(value=v) for v in values)
