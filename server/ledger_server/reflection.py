"""Server reflection in both versions clients speak: `grpc.reflection.v1` and `v1alpha`.

grpcurl (from 1.8.8), Postman and IDEs ask for v1 first; older grpcurl only knows v1alpha.
grpcio-reflection implements v1alpha alone. v1 is the same protocol under a new package:
the same messages with the same fields and numbers, so a v1 request parses as a v1alpha
one and a v1alpha reply is a valid v1 reply. Ledger serves v1 with grpcio-reflection's
servicer, and adds v1's descriptor (v1alpha's, renamed) to the pool so that v1 can
describe itself as well. Both answer from the `MethodAwarePool`, which also finds
method symbols (`grpcurl describe Service.Method`).
"""

from __future__ import annotations

from collections.abc import Sequence

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_reflection.v1alpha import reflection, reflection_pb2, reflection_pb2_grpc

from ledger_server.reflection_pool import MethodAwarePool

V1ALPHA = reflection.SERVICE_NAME
V1 = "grpc.reflection.v1.ServerReflection"
_V1_FILE = "grpc/reflection/v1/reflection.proto"


def enable_reflection(service_names: Sequence[str], server: grpc.aio.Server) -> None:
    """Serves both reflection versions, listing `service_names` and themselves."""
    _add_v1_descriptor(descriptor_pool.Default())
    names = [*service_names, V1, V1ALPHA]
    servicer = reflection.aio.ReflectionServicer(names, pool=MethodAwarePool())
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(servicer, server)
    v1 = grpc.method_handlers_generic_handler(
        V1,
        {
            "ServerReflectionInfo": grpc.stream_stream_rpc_method_handler(
                servicer.ServerReflectionInfo,
                request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
                response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
            )
        },
    )
    server.add_generic_rpc_handlers((v1,))


def _add_v1_descriptor(pool: descriptor_pool.DescriptorPool) -> None:
    try:
        pool.FindFileByName(_V1_FILE)
        return  # added by an earlier server in this process
    except KeyError:
        pass
    v1 = descriptor_pb2.FileDescriptorProto()
    reflection_pb2.DESCRIPTOR.CopyToProto(v1)
    old, new = f".{v1.package}.", ".grpc.reflection.v1."
    v1.name, v1.package = _V1_FILE, "grpc.reflection.v1"
    for message in v1.message_type:
        for field in message.field:
            if field.type_name:  # messages only: setting it on a string field is an error
                field.type_name = field.type_name.replace(old, new, 1)
    for service in v1.service:
        for method in service.method:
            method.input_type = method.input_type.replace(old, new, 1)
            method.output_type = method.output_type.replace(old, new, 1)
    # The options v1's own file declares; v1alpha's also say `deprecated`.
    v1.options.Clear()
    v1.options.java_package = "io.grpc.reflection.v1"
    v1.options.java_outer_classname = "ServerReflectionProto"
    v1.options.java_multiple_files = True
    v1.options.go_package = "google.golang.org/grpc/reflection/grpc_reflection_v1"
    pool.AddSerializedFile(v1.SerializeToString())
