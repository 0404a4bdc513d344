"""No RPC can skip authentication: every method of every registered service, called.

The list of methods comes from the running server's own registry and the service
descriptors, never from a hand-kept list, so a method added later is covered the day
it is added. Reads are recognised by their verb; everything else must need a writer.
"""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.protobuf import descriptor_pool
from google.protobuf.descriptor import MethodDescriptor

import ledger.v1  # noqa: F401 - the generated modules register their descriptors
from ledger_server.api_keys import Role
from ledger_server.rpc.service import rpc_spec
from tests.conftest import READER_KEY
from tests.support.server import ServerThread

# A method whose name starts with one of these only reads; any other verb changes state.
Metadata = tuple[tuple[str, str], ...]
READ_VERBS = ("Get", "List", "Compare", "Read", "Query", "Export", "Follow", "Watch")


def _reads(method: MethodDescriptor) -> bool:
    """Whether `method` only reads: a read verb, or a Stream that only sends (a follow).

    A Stream the client sends into (StreamCostRecords, StreamInstanceEvents) writes.
    """
    if method.name.startswith(READ_VERBS):
        return True
    return method.name.startswith("Stream") and not method.client_streaming


def _methods(server: ServerThread) -> list[MethodDescriptor]:
    assert server.server is not None
    pool = descriptor_pool.Default()
    found = [
        method
        for name in server.server.service_names
        for method in pool.FindServiceByName(name).methods
    ]
    assert found, "the server registered no services"
    return found


def _call(channel: Any, method: MethodDescriptor, metadata: Metadata) -> grpc.StatusCode:
    """The status of calling `method` with an empty request (raw bytes: any message)."""
    path = f"/{method.containing_service.full_name}/{method.name}"
    empty = b""  # an empty request: valid protobuf for every message
    try:
        if method.client_streaming and method.server_streaming:
            list(channel.stream_stream(path)(iter([empty]), metadata=metadata, timeout=5))
        elif method.client_streaming:
            channel.stream_unary(path)(iter([empty]), metadata=metadata, timeout=5)
        elif method.server_streaming:
            list(channel.unary_stream(path)(empty, metadata=metadata, timeout=5))
        else:
            channel.unary_unary(path)(empty, metadata=metadata, timeout=5)
    except grpc.RpcError as error:
        code: grpc.StatusCode = error.code()
        return code
    return grpc.StatusCode.OK


def test_every_method_of_every_service_refuses_a_call_without_a_key(server: ServerThread) -> None:
    with grpc.insecure_channel(server.target) as channel:
        codes = {m.full_name: _call(channel, m, ()) for m in _methods(server)}
    assert set(codes.values()) == {grpc.StatusCode.UNAUTHENTICATED}, codes


def test_every_mutating_method_refuses_a_reader_key(server: ServerThread) -> None:
    mutating = [m for m in _methods(server) if not _reads(m)]
    assert mutating, "every service has at least one creating RPC"
    reader = (("authorization", f"Bearer {READER_KEY}"),)
    with grpc.insecure_channel(server.target) as channel:
        codes = {m.full_name: _call(channel, m, reader) for m in mutating}
    assert set(codes.values()) == {grpc.StatusCode.PERMISSION_DENIED}, codes


def test_every_method_declares_the_role_its_verb_implies(server: ServerThread) -> None:
    assert server.server is not None
    for servicer in server.server.servicers:
        for method in servicer.SERVICE.methods:
            spec = rpc_spec(servicer, method.name)
            assert spec is not None, method.full_name
            expected = Role.READER if _reads(method) else Role.WRITER
            assert spec.role >= expected, method.full_name


@pytest.mark.parametrize("shape", ["unary", "server_stream", "client_stream", "missing"])
def test_a_servicer_with_an_unwrapped_or_misshaped_rpc_cannot_be_defined(shape: str) -> None:
    from ledger.v1 import results_store_service_pb2 as rs
    from ledger_server.rpc.handler import client_stream, server_stream
    from ledger_server.rpc.results_store.servicer import ResultsStoreServicer
    from ledger_server.rpc.service import Servicer

    descriptor = rs.DESCRIPTOR.services_by_name["ResultsStoreService"]
    members: dict[str, object] = {
        name: getattr(ResultsStoreServicer, name) for name in descriptor.methods_by_name
    }

    async def get_job(self: object, request: object, context: object) -> object:
        return None

    wrappers = {
        "unary": get_job,  # a plain handler: no auth, no mapper
        "server_stream": server_stream(Role.READER)(get_job),  # type: ignore[arg-type]
        "client_stream": client_stream(Role.READER)(get_job),
    }
    if shape == "missing":
        del members["GetJob"]
    else:
        members["GetJob"] = wrappers[shape]
    with pytest.raises(TypeError, match="GetJob"):
        type("Broken", (Servicer,), members, service=descriptor)
