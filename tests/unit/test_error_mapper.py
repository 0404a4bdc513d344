"""The one mapper from domain errors to statuses: every class, and subclasses by their base."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from ledger_server.domain import errors
from ledger_server.rpc.errors import status_code, to_status


class EvaluationNotFound(errors.NotFound):
    """A service's own error, as later services will define them."""


class VersionMismatch(errors.Aborted):
    reason = "VERSION_MISMATCH"


CASES = [
    (errors.InvalidArgument([errors.FieldViolation("f", "bad")]), grpc.StatusCode.INVALID_ARGUMENT),
    (errors.NotFound("job", "x"), grpc.StatusCode.NOT_FOUND),
    (EvaluationNotFound("evaluation", "eval_1"), grpc.StatusCode.NOT_FOUND),
    (errors.AlreadyExists("taken"), grpc.StatusCode.ALREADY_EXISTS),
    (errors.FailedPrecondition("no"), grpc.StatusCode.FAILED_PRECONDITION),
    (errors.Unauthenticated("who"), grpc.StatusCode.UNAUTHENTICATED),
    (errors.PermissionDenied("not you"), grpc.StatusCode.PERMISSION_DENIED),
    (errors.Unavailable("later"), grpc.StatusCode.UNAVAILABLE),
    (errors.Aborted("raced"), grpc.StatusCode.ABORTED),
    (VersionMismatch("stale"), grpc.StatusCode.ABORTED),
    (errors.DataLoss("damaged"), grpc.StatusCode.DATA_LOSS),
    (errors.ResourceExhausted("full"), grpc.StatusCode.RESOURCE_EXHAUSTED),
    (errors.OutOfRange("past the end"), grpc.StatusCode.OUT_OF_RANGE),
    (errors.LedgerError("unmapped"), grpc.StatusCode.INTERNAL),
]


@pytest.mark.parametrize(("error", "code"), CASES, ids=lambda c: type(c).__name__)
def test_each_domain_error_maps_to_its_status_with_error_info(
    error: errors.LedgerError, code: grpc.StatusCode
) -> None:
    assert status_code(error) == code
    status = to_status(error)
    assert status.code == code
    details: list[status_pb2.Status] = []
    for name, value in status.trailing_metadata:
        if name == "grpc-status-details-bin":
            details.append(status_pb2.Status.FromString(value))
    assert len(details) == 1 and details[0].code == getattr(code_pb2, code.name)
    info = error_details_pb2.ErrorInfo()
    assert details[0].details[0].Unpack(info)
    assert info.domain == "ledger.v1" and info.reason == error.reason


def test_a_subclass_keeps_its_own_reason() -> None:
    assert to_status(EvaluationNotFound("evaluation", "e")).details.startswith("evaluation")
    assert VersionMismatch("stale").reason == "VERSION_MISMATCH"
    assert rpc_status  # the SDK side decodes these: tests/unit/test_errors.py
