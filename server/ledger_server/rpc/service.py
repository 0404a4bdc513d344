"""Registering a servicer: every RPC of its service, wrapped, or the server does not start.

A servicer class names the service it implements (`class X(Servicer, service=...)`).
When the class is defined, every method of that service descriptor must be a handler
made by `unary`, `server_stream` or `client_stream` of the matching shape, so no RPC can
skip authentication, the error mapper or the access log, now or when a service grows.
"""

from __future__ import annotations

from typing import Any, ClassVar

import grpc
from google.protobuf import message_factory
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor

from ledger_server.rpc.handler import SPEC_ATTRIBUTE, RpcSpec, Runtime
from ledger_server.rpc.messages import lenient_parser


class Servicer:
    """A servicer of one `ledger.v1` service: `class X(Servicer, service=DESCRIPTOR...)`."""

    SERVICE: ClassVar[ServiceDescriptor]

    def __init_subclass__(cls, service: ServiceDescriptor | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if service is None:
            if not hasattr(cls, "SERVICE"):
                raise TypeError(
                    f"{cls.__name__} must name its service: "
                    f"class {cls.__name__}(Servicer, service=<ServiceDescriptor>)"
                )
            service = cls.SERVICE
        cls.SERVICE = service
        for method in service.methods:
            spec = rpc_spec(cls, method.name)
            if spec is None:
                raise TypeError(
                    f"{cls.__name__}.{method.name} must be a handler made by unary(), "
                    "server_stream() or client_stream(): every RPC passes auth and the "
                    "error mapper"
                )
            if (spec.client_streaming, spec.server_streaming) != (
                method.client_streaming,
                method.server_streaming,
            ):
                raise TypeError(
                    f"{cls.__name__}.{method.name} is wrapped for the wrong call shape "
                    f"(client_streaming={method.client_streaming}, "
                    f"server_streaming={method.server_streaming})"
                )

    def __init__(self, runtime: Runtime) -> None:
        # The wrappers reach authorization, the thread pool and metrics through this.
        self.runtime = runtime


def rpc_spec(servicer: type[Any] | Any, name: str) -> RpcSpec | None:
    spec = getattr(getattr(servicer, name, None), SPEC_ATTRIBUTE, None)
    return spec if isinstance(spec, RpcSpec) else None


def _method_handler(method: MethodDescriptor, handler: Any) -> grpc.RpcMethodHandler[Any, Any]:
    parse = lenient_parser(message_factory.GetMessageClass(method.input_type))
    serialize = message_factory.GetMessageClass(method.output_type).SerializeToString
    if method.server_streaming:
        serialize = _passing_serialized(serialize)
    if method.client_streaming and method.server_streaming:
        make = grpc.stream_stream_rpc_method_handler
    elif method.client_streaming:
        make = grpc.stream_unary_rpc_method_handler
    elif method.server_streaming:
        make = grpc.unary_stream_rpc_method_handler
    else:
        make = grpc.unary_unary_rpc_method_handler
    return make(handler, request_deserializer=parse, response_serializer=serialize)


def _passing_serialized(serialize: Any) -> Any:
    """A stream's serializer that also takes a reply already serialized (`bytes`).

    Many streams may send the same reply (every follower of one log receives the same
    lines): it is then serialized once, by the handler, and shared.
    """

    def serializer(message: Any) -> bytes:
        if isinstance(message, bytes):
            return message
        data: bytes = serialize(message)
        return data

    return serializer


def add_to_server(servicer: Servicer, server: grpc.aio.Server) -> None:
    """Serves every RPC of `servicer`'s service on `server`."""
    service = servicer.SERVICE
    handlers = {
        method.name: _method_handler(method, getattr(servicer, method.name))
        for method in service.methods
    }
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(service.full_name, handlers),)
    )
    # Registered methods skip the generic lookup on every call (what generated code does).
    server.add_registered_method_handlers(service.full_name, handlers)
