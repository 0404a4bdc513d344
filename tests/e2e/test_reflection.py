"""Server reflection v1, the version Postman, IDEs and newer grpcurl ask for first.

The grpcurl of the dev install speaks v1alpha; test_grpcurl.py covers that one.
"""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf import descriptor_pb2
from grpc_reflection.v1alpha import reflection_pb2

from tests.support.server import ServerThread

# grpcio-reflection ships no type information: its messages are Any here.
# v1 is v1alpha's schema under a new package (same messages, fields and numbers), so
# v1alpha's message classes encode and decode v1's bytes.
Request = reflection_pb2.ServerReflectionRequest
Response = reflection_pb2.ServerReflectionResponse
V1_METHOD = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"


def ask_v1(server: ServerThread, *requests: Any) -> list[Any]:
    with grpc.insecure_channel(server.target) as channel:
        call = channel.stream_stream(
            V1_METHOD,
            request_serializer=Request.SerializeToString,
            response_deserializer=Response.FromString,
        )
        return list(call(iter(requests), timeout=10))


def files_of(response: Any) -> list[descriptor_pb2.FileDescriptorProto]:
    assert response.WhichOneof("message_response") == "file_descriptor_response", response
    return [
        descriptor_pb2.FileDescriptorProto.FromString(serialized)
        for serialized in response.file_descriptor_response.file_descriptor_proto
    ]


def test_reflection_v1_lists_the_services(server: ServerThread) -> None:
    (listed,) = ask_v1(server, Request(list_services="*"))
    assert {s.name for s in listed.list_services_response.service} == {
        "ledger.v1.ResultsStoreService",
        "ledger.v1.EvaluationService",
        "ledger.v1.IngestionService",
        "ledger.v1.SavingsService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    }


def test_reflection_v1_finds_a_method_and_describes_itself(server: ServerThread) -> None:
    method, itself, unknown = ask_v1(
        server,
        Request(file_containing_symbol="ledger.v1.ResultsStoreService.StoreEstimate"),
        Request(file_containing_symbol="grpc.reflection.v1.ServerReflection"),
        Request(file_containing_symbol="ledger.v1.NoSuchService"),
    )
    services = {s.name: s for f in files_of(method) for s in f.service}
    store = services["ResultsStoreService"]
    assert "StoreEstimate" in {m.name for m in store.method}

    (v1,) = [f for f in files_of(itself) if f.package == "grpc.reflection.v1"]
    (reflection_service,) = v1.service
    (info,) = reflection_service.method
    assert (info.input_type, info.client_streaming, info.server_streaming) == (
        ".grpc.reflection.v1.ServerReflectionRequest",
        True,
        True,
    )
    assert unknown.error_response.error_code == grpc.StatusCode.NOT_FOUND.value[0]
