"""The one mapper from domain errors to gRPC statuses with rich details.

Details follow google.rpc: every error carries an ErrorInfo (reason, domain
"ledger.v1", metadata); INVALID_ARGUMENT adds a BadRequest with field violations.
Anything unexpected becomes INTERNAL with a generic message and a correlation id that
is logged with the traceback, so no SQL or stack trace ever reaches a caller.
"""

from __future__ import annotations

import base64
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
MAX_MESSAGE_WIRE_BYTES = 1024
# Clients refuse a trailer above 8 KiB with rising odds (always above 16 KiB): a status
# stays below this whatever the language of the input it quotes.
MAX_TRAILER_BYTES = 6 * 1024


def _short(text: str, limit: int = MAX_TEXT) -> str:
    """At most `limit` characters and 2 x `limit` bytes of UTF-8 (base64 grows it again)."""
    if len(text) <= limit and len(text.encode()) <= 2 * limit:
        return text
    text = text[: limit - 1]
    while len(text.encode()) > 2 * limit - 3:
        text = text[: len(text) * 3 // 4]
    return text + "…"


def _shown_violations(violations: list[errors.FieldViolation]) -> list[Any]:
    """The first violations that fit the budget (the first always shows)."""
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
    return shown


def _wire_bytes(text: str) -> int:
    """The size of `text` as grpc-message: UTF-8, percent-encoding all but printable ASCII."""
    return sum(1 if 0x20 <= b <= 0x7E and b != 0x25 else 3 for b in text.encode())


def _message(text: str) -> str:
    """At most 600 characters and MAX_MESSAGE_WIRE_BYTES on the wire (a character outside
    ASCII costs up to 12 bytes there)."""
    text = _short(text, 600)
    while _wire_bytes(text) > MAX_MESSAGE_WIRE_BYTES:
        text = text[: len(text) * 3 // 4].removesuffix("…") + "…"
    return text


def trailer_bytes(status: grpc.Status) -> int:
    """What a status costs in the trailer: grpc-message plus the (base64) details."""
    size = len("grpc-message") + _wire_bytes(status.details)
    for key, value in status.trailing_metadata:
        raw = value.encode() if isinstance(value, str) else value
        encoded = len(base64.b64encode(raw)) if key.endswith("-bin") else len(raw)
        size += len(key) + encoded
    return size


def to_status(error: errors.LedgerError) -> grpc.Status:
    code = _codes(error)[1]
    metadata = {_short(k, 64): _short(v) for k, v in error.metadata.items()}
    message = _message(error.message)
    violations: list[Any] = []
    if isinstance(error, errors.InvalidArgument):
        violations = _shown_violations(error.violations)
    while True:
        shown_metadata = dict(metadata)
        extra = []
        if isinstance(error, errors.InvalidArgument):
            extra.append(_packed(error_details_pb2.BadRequest(field_violations=violations)))
            if len(error.violations) > len(violations):
                shown_metadata["violations_left_out"] = str(len(error.violations) - len(violations))
        info = error_details_pb2.ErrorInfo(
            reason=error.reason, domain=DOMAIN, metadata=shown_metadata
        )
        status = status_pb2.Status(code=code, message=message, details=[_packed(info), *extra])
        result: grpc.Status = rpc_status.to_status(status)
        # Text outside ASCII grows fourfold on the wire: drop violations until it fits.
        if trailer_bytes(result) <= MAX_TRAILER_BYTES or len(violations) <= 1:
            return result
        violations.pop()


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
