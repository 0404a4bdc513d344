"""Failed calls become typed errors carrying the server's reason and field violations."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent import futures
from typing import Any

import grpc
import pytest
from google.protobuf import any_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from ledger.v1 import results_store_service_pb2 as pb
from ledger_client import (
    Aborted,
    AlreadyExists,
    AsyncClient,
    Client,
    DataLoss,
    DeadlineExceeded,
    FailedPrecondition,
    FieldViolation,
    Internal,
    InvalidArgument,
    LedgerError,
    NotFound,
    OutOfRange,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
    Unimplemented,
)
from ledger_client.errors import from_rpc_error


class FakeCallError(grpc.RpcError):
    """What a failed sync call raises: an RpcError with grpc.Call's status accessors."""

    def __init__(
        self,
        code: grpc.StatusCode,
        details: str,
        # Pairs as grpc returns them; typed Any because the stubs name a private class.
        trailing_metadata: Any = (),
    ) -> None:
        super().__init__(details)
        self._code = code
        self._details = details
        self._trailing_metadata = trailing_metadata

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details

    def trailing_metadata(self) -> Any:
        return self._trailing_metadata


def packed(message: Message) -> any_pb2.Any:
    result = any_pb2.Any()
    result.Pack(message)
    return result


def rich_status(code: int, message: str, *details: Message) -> status_pb2.Status:
    return status_pb2.Status(code=code, message=message, details=[packed(d) for d in details])


def error_with(status: status_pb2.Status) -> FakeCallError:
    grpc_status = rpc_status.to_status(status)
    return FakeCallError(grpc_status.code, grpc_status.details, grpc_status.trailing_metadata)


def test_from_rpc_error_decodes_error_info_and_bad_request() -> None:
    status = rich_status(
        code_pb2.INVALID_ARGUMENT,
        "invalid request: estimate.by_resource[3].monthly_cost: must not be negative",
        error_details_pb2.ErrorInfo(
            reason="INVALID_ARGUMENT", domain="ledger.v1", metadata={"violations": "2"}
        ),
        error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field="estimate.by_resource[3].monthly_cost", description="must not be negative"
                ),
                error_details_pb2.BadRequest.FieldViolation(
                    field="labels", description="at most 64 labels"
                ),
            ]
        ),
    )

    error = from_rpc_error(error_with(status))

    assert isinstance(error, InvalidArgument)
    assert error.code is grpc.StatusCode.INVALID_ARGUMENT
    assert error.reason == "INVALID_ARGUMENT"
    assert error.metadata == {"violations": "2"}
    assert error.message == status.message == str(error)
    assert error.field_violations == [
        FieldViolation("estimate.by_resource[3].monthly_cost", "must not be negative"),
        FieldViolation("labels", "at most 64 labels"),
    ]


@pytest.mark.parametrize(
    ("code", "error_class"),
    [
        (grpc.StatusCode.INVALID_ARGUMENT, InvalidArgument),
        (grpc.StatusCode.NOT_FOUND, NotFound),
        (grpc.StatusCode.ALREADY_EXISTS, AlreadyExists),
        (grpc.StatusCode.FAILED_PRECONDITION, FailedPrecondition),
        (grpc.StatusCode.UNAUTHENTICATED, Unauthenticated),
        (grpc.StatusCode.PERMISSION_DENIED, PermissionDenied),
        (grpc.StatusCode.UNAVAILABLE, Unavailable),
        (grpc.StatusCode.DEADLINE_EXCEEDED, DeadlineExceeded),
        (grpc.StatusCode.ABORTED, Aborted),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, ResourceExhausted),
        (grpc.StatusCode.OUT_OF_RANGE, OutOfRange),
        (grpc.StatusCode.DATA_LOSS, DataLoss),
        (grpc.StatusCode.UNIMPLEMENTED, Unimplemented),
        (grpc.StatusCode.INTERNAL, Internal),
        (grpc.StatusCode.UNKNOWN, Internal),
        (grpc.StatusCode.CANCELLED, Internal),
    ],
)
def test_from_rpc_error_raises_one_class_per_status_code(
    code: grpc.StatusCode, error_class: type[LedgerError]
) -> None:
    error = from_rpc_error(FakeCallError(code, "it failed"))

    assert type(error) is error_class
    assert (error.code, error.message) == (code, "it failed")


def test_from_rpc_error_without_details_uses_code_name_as_reason() -> None:
    error = from_rpc_error(FakeCallError(grpc.StatusCode.UNAVAILABLE, "connection refused"))

    assert error.reason == "UNAVAILABLE"
    assert error.field_violations == []


def test_from_rpc_error_keeps_code_when_status_details_disagree() -> None:
    status = rich_status(
        code_pb2.NOT_FOUND, "job not found", error_details_pb2.ErrorInfo(reason="JOB_NOT_FOUND")
    )
    mismatched = FakeCallError(
        grpc.StatusCode.INTERNAL,
        "proxy error",
        (("grpc-status-details-bin", status.SerializeToString()),),
    )

    error = from_rpc_error(mismatched)

    assert isinstance(error, Internal)
    assert (error.message, error.reason) == ("proxy error", "INTERNAL")


class NotFoundServer:
    """Answers GetJob like Ledger does for an unknown id, and records the metadata."""

    def __init__(self) -> None:
        self.metadata: list[tuple[str, str | bytes]] = []

    def get_job(
        self, request: pb.GetJobRequest, context: grpc.ServicerContext
    ) -> pb.GetJobResponse:
        self.metadata = [(key, value) for key, value in context.invocation_metadata()]
        status = rich_status(
            code_pb2.NOT_FOUND,
            f"job {request.job_id!r} not found",
            error_details_pb2.ErrorInfo(
                reason="JOB_NOT_FOUND",
                domain="ledger.v1",
                metadata={"resource": "job", "id": request.job_id},
            ),
        )
        context.abort_with_status(rpc_status.to_status(status))
        raise AssertionError("abort_with_status returns only by raising")


@pytest.fixture
def not_found_server() -> Iterator[tuple[str, NotFoundServer]]:
    fake = NotFoundServer()
    get_job = grpc.unary_unary_rpc_method_handler(
        fake.get_job,
        request_deserializer=pb.GetJobRequest.FromString,
        response_serializer=pb.GetJobResponse.SerializeToString,
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                "ledger.v1.ResultsStoreService", {"GetJob": get_job}
            ),
        )
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}", fake
    finally:
        server.stop(grace=None)


JOB_ID = "3f1c2a9e-6a55-4c8e-9a8b-0d1e2f3a4b5c"


def test_client_get_job_raises_not_found_with_server_reason(
    not_found_server: tuple[str, NotFoundServer],
) -> None:
    target, servicer = not_found_server

    with Client(target=target, api_key="reader-key") as client, pytest.raises(NotFound) as raised:
        client.results.get_job(JOB_ID, metadata=[("x-request-source", "test")])

    assert raised.value.reason == "JOB_NOT_FOUND"
    assert raised.value.metadata == {"resource": "job", "id": JOB_ID}
    assert ("authorization", "Bearer reader-key") in servicer.metadata
    assert ("x-request-source", "test") in servicer.metadata


def test_async_client_get_job_raises_not_found_with_server_reason(
    not_found_server: tuple[str, NotFoundServer],
) -> None:
    target, servicer = not_found_server

    async def get_job() -> None:
        async with AsyncClient(target=target, api_key="reader-key") as client:
            await client.results.get_job(JOB_ID)

    with pytest.raises(NotFound) as raised:
        asyncio.run(get_job())

    assert raised.value.reason == "JOB_NOT_FOUND"
    assert raised.value.message == f"job {JOB_ID!r} not found"
    assert ("authorization", "Bearer reader-key") in servicer.metadata
