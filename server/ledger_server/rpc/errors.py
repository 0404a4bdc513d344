"""The one mapper from domain errors to gRPC statuses with rich details.

Details follow google.rpc: every error carries an ErrorInfo (reason, domain
"ledger.v1", metadata); INVALID_ARGUMENT adds a BadRequest with field violations.
Anything unexpected becomes INTERNAL with a generic message and a correlation id that
is logged with the traceback, so no SQL or stack trace ever reaches a caller.
"""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from ledger_server.domain import errors

DOMAIN = "ledger.v1"

_CODES: dict[type[errors.LedgerError], tuple[grpc.StatusCode, int]] = {
    errors.InvalidArgument: (grpc.StatusCode.INVALID_ARGUMENT, code_pb2.INVALID_ARGUMENT),
    errors.NotFound: (grpc.StatusCode.NOT_FOUND, code_pb2.NOT_FOUND),
    errors.AlreadyExists: (grpc.StatusCode.ALREADY_EXISTS, code_pb2.ALREADY_EXISTS),
    errors.FailedPrecondition: (
        grpc.StatusCode.FAILED_PRECONDITION,
        code_pb2.FAILED_PRECONDITION,
    ),
    errors.Unauthenticated: (grpc.StatusCode.UNAUTHENTICATED, code_pb2.UNAUTHENTICATED),
    errors.PermissionDenied: (grpc.StatusCode.PERMISSION_DENIED, code_pb2.PERMISSION_DENIED),
    errors.Unavailable: (grpc.StatusCode.UNAVAILABLE, code_pb2.UNAVAILABLE),
    errors.Aborted: (grpc.StatusCode.ABORTED, code_pb2.ABORTED),
    errors.DataLoss: (grpc.StatusCode.DATA_LOSS, code_pb2.DATA_LOSS),
    errors.ResourceExhausted: (grpc.StatusCode.RESOURCE_EXHAUSTED, code_pb2.RESOURCE_EXHAUSTED),
    errors.OutOfRange: (grpc.StatusCode.OUT_OF_RANGE, code_pb2.OUT_OF_RANGE),
}
_INTERNAL = (grpc.StatusCode.INTERNAL, code_pb2.INTERNAL)


def _codes(error: errors.LedgerError) -> tuple[grpc.StatusCode, int]:
    """The codes of the nearest mapped class: an `EvaluationNotFound(NotFound)` is NOT_FOUND."""
    for cls in type(error).__mro__:
        if cls in _CODES:
            return _CODES[cls]
    return _INTERNAL


def status_code(error: errors.LedgerError) -> grpc.StatusCode:
    return _codes(error)[0]


def _packed(message: object) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)  # type: ignore[arg-type]
    return packed


# Status details travel in a trailer, and gRPC clients refuse trailers above 8-16 KiB:
# details are kept well inside that, however many violations or however long the input.
MAX_TEXT = 200
MAX_VIOLATION_BYTES = 3000


def _short(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _bad_request(violations: list[errors.FieldViolation]) -> tuple[Any, int]:
    """The first violations that fit the budget, and how many were left out."""
    shown: list[Any] = []
    size = 0
    for violation in violations:
        item = error_details_pb2.BadRequest.FieldViolation(
            field=_short(violation.field), description=_short(violation.description)
        )
        size += item.ByteSize()
        if shown and size > MAX_VIOLATION_BYTES:
            break
        shown.append(item)
    return error_details_pb2.BadRequest(field_violations=shown), len(violations) - len(shown)


def to_status(error: errors.LedgerError) -> grpc.Status:
    code = _codes(error)[1]
    metadata = {_short(k, 64): _short(v) for k, v in error.metadata.items()}
    extra = []
    if isinstance(error, errors.InvalidArgument):
        bad_request, left_out = _bad_request(error.violations)
        extra.append(_packed(bad_request))
        if left_out:
            metadata["violations_left_out"] = str(left_out)
    info = error_details_pb2.ErrorInfo(reason=error.reason, domain=DOMAIN, metadata=metadata)
    status = status_pb2.Status(
        code=code, message=_short(error.message, 600), details=[_packed(info), *extra]
    )
    result: grpc.Status = rpc_status.to_status(status)
    return result


def internal_status(correlation_id: str) -> grpc.Status:
    status = status_pb2.Status(
        code=code_pb2.INTERNAL,
        message=f"internal error; quote correlation id {correlation_id} to the operators",
        details=[
            _packed(
                error_details_pb2.ErrorInfo(
                    reason="INTERNAL",
                    domain=DOMAIN,
                    metadata={"correlation_id": correlation_id},
                )
            )
        ],
    )
    result: grpc.Status = rpc_status.to_status(status)
    return result


def unavailable_status(message: str) -> grpc.Status:
    return to_status(errors.Unavailable(message, reason="DATABASE_UNAVAILABLE"))
