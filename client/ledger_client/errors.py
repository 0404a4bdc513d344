"""Typed errors the SDK raises instead of `grpc.RpcError`.

The server puts a `google.rpc.Status` in the trailing metadata: an `ErrorInfo` with a
machine-readable reason (e.g. "JOB_NOT_FOUND") and, for INVALID_ARGUMENT, a
`BadRequest` listing every bad field. Callers branch on the exception class or
`.reason`, never on the message text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status


@dataclass(frozen=True)
class FieldViolation:
    """One bad request field: a path like `estimate.by_resource[3].monthly_cost` and why."""

    field: str
    description: str


class LedgerError(Exception):
    """Base of every error a Ledger call raises.

    `reason` is the server's ErrorInfo reason, or the status code's name (e.g.
    "UNAVAILABLE") when the status carried none, as transport errors do.
    """

    def __init__(
        self,
        message: str,
        *,
        code: grpc.StatusCode = grpc.StatusCode.UNKNOWN,
        reason: str = "",
        metadata: Mapping[str, str] | None = None,
        field_violations: Sequence[FieldViolation] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.reason = reason or code.name
        self.metadata: dict[str, str] = dict(metadata or {})
        self.field_violations: list[FieldViolation] = list(field_violations)

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}({self.message!r}, code={self.code.name}, reason={self.reason!r})"


class InvalidArgument(LedgerError):
    """The request was malformed; `field_violations` says which fields and why."""


class NotFound(LedgerError):
    pass


class AlreadyExists(LedgerError):
    """E.g. a `request_id` reused with a different body (reason REQUEST_ID_REUSED)."""


class FailedPrecondition(LedgerError):
    pass


class Unauthenticated(LedgerError):
    pass


class PermissionDenied(LedgerError):
    pass


class Unavailable(LedgerError):
    """The server could not be reached, even after retries (a stream's: its reconnects)."""


class DeadlineExceeded(LedgerError):
    pass


class Aborted(LedgerError):
    """The server gave up on a call that conflicted with a concurrent one; retrying the
    whole operation (with the same `request_id`) may succeed."""


class ResourceExhausted(LedgerError):
    """A quota or limit was hit: too many requests, or a message larger than
    `ledger_wire.limits.MAX_MESSAGE_BYTES` (the SDK refuses to send one itself)."""


class OutOfRange(LedgerError):
    """A position past the end, e.g. a stream cursor beyond what exists yet."""


class DataLoss(LedgerError):
    """Stored data is lost or corrupt; the call cannot succeed by retrying."""


class Unimplemented(LedgerError):
    """The server does not offer this call: it runs an older Ledger than this SDK."""


class Internal(LedgerError):
    """INTERNAL, and every status code without a class of its own (see `.code`)."""


_CLASS_BY_CODE: dict[grpc.StatusCode, type[LedgerError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExists,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
    grpc.StatusCode.ABORTED: Aborted,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhausted,
    grpc.StatusCode.OUT_OF_RANGE: OutOfRange,
    grpc.StatusCode.DATA_LOSS: DataLoss,
    grpc.StatusCode.UNIMPLEMENTED: Unimplemented,
}


def _call_attribute(err: grpc.RpcError, name: str) -> Any:
    # Sync errors are grpc.Call objects, aio errors are AioRpcError; both have these
    # accessors as plain methods. The stubs promise them on every grpc.RpcError, but
    # the runtime base class has none, so an odd RpcError must not raise here.
    accessor = getattr(err, name, None)
    return accessor() if callable(accessor) else None


def _rich_status(err: grpc.RpcError) -> status_pb2.Status | None:
    try:
        status = rpc_status.from_call(err)
    except (ValueError, TypeError, AttributeError):
        # A status whose code or message disagrees with the call's, or an object
        # without metadata: keep the plain code and message rather than fail twice.
        return None
    return status if isinstance(status, status_pb2.Status) else None


def status_code(err: grpc.RpcError) -> grpc.StatusCode:
    """The status code of a failed call, UNKNOWN for an RpcError that carries none."""
    code = _call_attribute(err, "code")
    return code if isinstance(code, grpc.StatusCode) else grpc.StatusCode.UNKNOWN


def from_rpc_error(err: grpc.RpcError) -> LedgerError:
    """The typed error for a failed call (sync `grpc.Call` or `grpc.aio.AioRpcError`)."""
    code = status_code(err)
    # str(err) of a sync error is a multi-line debug dump, so fall back to the code.
    message = _call_attribute(err, "details") or code.name
    reason = ""
    metadata: dict[str, str] = {}
    violations: list[FieldViolation] = []
    status = _rich_status(err)
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason = info.reason
            metadata.update(info.metadata)
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
            violations.extend(
                FieldViolation(v.field, v.description) for v in bad_request.field_violations
            )
    error_class = _CLASS_BY_CODE.get(code, Internal)
    return error_class(
        str(message), code=code, reason=reason, metadata=metadata, field_violations=violations
    )
