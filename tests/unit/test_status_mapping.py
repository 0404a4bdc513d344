"""The one mapper from domain errors to gRPC statuses: codes, details, sizes, no leaks."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from google.rpc import code_pb2, error_details_pb2, status_pb2

from ledger_server.domain import errors
from ledger_server.domain.errors import FieldViolation
from ledger_server.rpc.errors import (
    MAX_MESSAGE_WIRE_BYTES,
    MAX_TEXT,
    MAX_TRAILER_BYTES,
    MAX_VIOLATION_BYTES,
    internal_status,
    status_code,
    to_status,
    trailer_bytes,
    unavailable_status,
)
from tests.support.leaks import assert_no_leak, status_texts


def decoded(status: grpc.Status) -> tuple[status_pb2.Status, Any, Any]:
    """The google.rpc.Status in the trailer, its ErrorInfo and its BadRequest (or None)."""
    ((key, value),) = status.trailing_metadata
    assert key == "grpc-status-details-bin"
    rich = status_pb2.Status.FromString(value)
    assert rich.code == status.code.value[0] and rich.message == status.details
    info = bad_request = None
    for detail in rich.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            assert info is None, "one ErrorInfo"
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            assert bad_request is None, "one BadRequest"
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
        else:
            raise AssertionError(f"unexpected detail {detail.type_url}")
    return rich, info, bad_request


class EvaluationNotFound(errors.NotFound):
    """A later service's subclass: mapped by its nearest mapped base."""


class Unmapped(errors.LedgerError):
    pass


G, C = grpc.StatusCode, code_pb2


@pytest.mark.parametrize(
    ("error", "code", "rpc_code"),
    [
        (
            errors.InvalidArgument([FieldViolation("f", "d")]),
            G.INVALID_ARGUMENT,
            C.INVALID_ARGUMENT,
        ),
        (errors.NotFound("job", "x"), G.NOT_FOUND, C.NOT_FOUND),
        (EvaluationNotFound("evaluation", "e"), G.NOT_FOUND, C.NOT_FOUND),
        (errors.AlreadyExists("m"), G.ALREADY_EXISTS, C.ALREADY_EXISTS),
        (errors.FailedPrecondition("m"), G.FAILED_PRECONDITION, C.FAILED_PRECONDITION),
        (errors.Unauthenticated("m"), G.UNAUTHENTICATED, C.UNAUTHENTICATED),
        (errors.PermissionDenied("m"), G.PERMISSION_DENIED, C.PERMISSION_DENIED),
        (errors.Unavailable("m"), G.UNAVAILABLE, C.UNAVAILABLE),
        (errors.Aborted("m"), G.ABORTED, C.ABORTED),
        (errors.DataLoss("m"), G.DATA_LOSS, C.DATA_LOSS),
        (errors.ResourceExhausted("m"), G.RESOURCE_EXHAUSTED, C.RESOURCE_EXHAUSTED),
        (errors.OutOfRange("m"), G.OUT_OF_RANGE, C.OUT_OF_RANGE),
        (Unmapped("m"), G.INTERNAL, C.INTERNAL),
    ],
)
def test_each_domain_error_has_its_status_code(
    error: errors.LedgerError, code: grpc.StatusCode, rpc_code: int
) -> None:
    assert status_code(error) == code
    status = to_status(error)
    assert status.code == code
    rich, info, _ = decoded(status)
    assert (rich.code, info.domain, info.reason) == (rpc_code, "ledger.v1", error.reason)


def test_to_status_carries_message_reason_domain_and_metadata() -> None:
    status = to_status(
        errors.AlreadyExists("used before", reason="REQUEST_ID_REUSED", metadata={"k": "v"})
    )
    rich, info, bad_request = decoded(status)
    assert (status.details, rich.message) == ("used before", "used before")
    assert (info.reason, info.domain, dict(info.metadata)) == (
        "REQUEST_ID_REUSED",
        "ledger.v1",
        {"k": "v"},
    )
    assert bad_request is None


def test_to_status_gives_invalid_argument_its_field_violations() -> None:
    status = to_status(
        errors.InvalidArgument([FieldViolation("a", "x"), FieldViolation("b.c[0]", "y")])
    )
    rich, info, bad_request = decoded(status)
    assert status.details == "invalid request: a: x; b.c[0]: y"
    assert (info.reason, dict(info.metadata)) == ("INVALID_ARGUMENT", {})
    assert [(v.field, v.description) for v in bad_request.field_violations] == [
        ("a", "x"),
        ("b.c[0]", "y"),
    ]
    assert [d.type_url for d in rich.details] == [
        "type.googleapis.com/google.rpc.ErrorInfo",
        "type.googleapis.com/google.rpc.BadRequest",
    ]


def test_long_texts_are_cut_so_details_fit_a_trailer() -> None:
    long = "x" * 1000
    status = to_status(errors.FailedPrecondition(long, metadata={"k" * 100: long}))
    _, info, _ = decoded(status)
    assert status.details == "x" * 599 + "…"
    assert dict(info.metadata) == {"k" * 63 + "…": "x" * (MAX_TEXT - 1) + "…"}
    short = to_status(errors.FailedPrecondition("x" * 600, metadata={"k" * 64: "v" * MAX_TEXT}))
    _, short_info, _ = decoded(short)
    assert short.details == "x" * 600
    assert dict(short_info.metadata) == {"k" * 64: "v" * MAX_TEXT}
    violation = FieldViolation("f" * 300, "d" * 300)
    _, _, bad_request = decoded(to_status(errors.InvalidArgument([violation])))
    (shown,) = bad_request.field_violations
    assert (shown.field, shown.description) == ("f" * 199 + "…", "d" * 199 + "…")


def test_many_violations_are_cut_to_a_budget_and_the_rest_counted() -> None:
    many = [FieldViolation(f"estimate.by_resource[{i}].address", "is required") for i in range(500)]
    status = to_status(errors.InvalidArgument(many))
    _, info, bad_request = decoded(status)
    shown = list(bad_request.field_violations)
    assert [v.field for v in shown] == [v.field for v in many[: len(shown)]]
    assert sum(v.ByteSize() for v in shown) <= MAX_VIOLATION_BYTES
    one_more = error_details_pb2.BadRequest.FieldViolation(
        field=many[len(shown)].field, description="is required"
    )
    assert sum(v.ByteSize() for v in shown) + one_more.ByteSize() > MAX_VIOLATION_BYTES
    assert dict(info.metadata) == {"violations_left_out": str(500 - len(shown))}
    huge = [FieldViolation("f", "d" * 5000)]
    _, huge_info, huge_bad = decoded(to_status(errors.InvalidArgument(huge)))
    assert len(huge_bad.field_violations) == 1  # the first always shows, however long
    assert dict(huge_info.metadata) == {}


def test_internal_status_carries_only_a_correlation_id() -> None:
    status = internal_status("abc123")
    rich, info, bad_request = decoded(status)
    assert status.code == grpc.StatusCode.INTERNAL and rich.code == code_pb2.INTERNAL
    assert status.details == "internal error; quote correlation id abc123 to the operators"
    assert (info.reason, info.domain, dict(info.metadata)) == (
        "INTERNAL",
        "ledger.v1",
        {"correlation_id": "abc123"},
    )
    assert bad_request is None
    assert_no_leak(status_texts(rich), "INTERNAL")


def test_unavailable_status_says_the_database_is_away() -> None:
    status = unavailable_status("the database is unavailable; retry shortly")
    _, info, _ = decoded(status)
    assert (status.code, status.details) == (
        grpc.StatusCode.UNAVAILABLE,
        "the database is unavailable; retry shortly",
    )
    assert (info.reason, info.domain) == ("DATABASE_UNAVAILABLE", "ledger.v1")


def test_violations_fill_the_budget_exactly_before_any_is_left_out() -> None:
    # Each violation is 100 bytes on the wire (2 + 48 and 2 + 48): 30 fill 3,000 exactly.
    def violation(i: int) -> FieldViolation:
        return FieldViolation(f"{i:02}".ljust(48, "f"), "d" * 48)

    assert (
        error_details_pb2.BadRequest.FieldViolation(field="f" * 48, description="d" * 48)
    ).ByteSize() * 30 == MAX_VIOLATION_BYTES
    _, info, exact = decoded(to_status(errors.InvalidArgument([violation(i) for i in range(30)])))
    assert (len(exact.field_violations), dict(info.metadata)) == (30, {})
    _, info, over = decoded(to_status(errors.InvalidArgument([violation(i) for i in range(31)])))
    assert (len(over.field_violations), dict(info.metadata)) == (30, {"violations_left_out": "1"})


def test_a_status_quoting_text_outside_ascii_still_fits_a_trailer() -> None:
    # '𝄞' is 4 bytes of UTF-8: 12 on the wire as grpc-message, and base64 in the details.
    clef = "𝄞" * 10_000
    many = [FieldViolation(f"estimate.by_service[{i}].service", clef) for i in range(300)]
    for error in [
        errors.InvalidArgument(many, message=clef),
        errors.FailedPrecondition(clef, metadata={f"k{i}": clef for i in range(5)}),
    ]:
        status = to_status(error)
        assert trailer_bytes(status) <= MAX_TRAILER_BYTES < 8 * 1024
        _, info, bad_request = decoded(status)
        assert status.details.endswith("…")
        if bad_request is not None:
            shown = len(bad_request.field_violations)
            assert shown >= 1
            assert info.metadata["violations_left_out"] == str(300 - shown)


# The trailer budget, measured here as gRPC sends a status: grpc-message percent-encodes
# every byte but printable ASCII other than '%', and -bin trailers travel in base64.


def on_the_wire(message: str) -> str:
    """grpc-message as sent: '%' and every byte outside ' '..'~' become %XX."""
    return "".join(
        c if " " <= c <= "~" and c != "%" else "".join(f"%{b:02X}" for b in c.encode())
        for c in message
    )


def trailer_size(status: grpc.Status) -> int:
    """grpc-message and grpc-status-details-bin, names and values, as sent."""
    ((key, value),) = status.trailing_metadata
    assert key == "grpc-status-details-bin" and isinstance(value, bytes)
    wire = len(on_the_wire(status.details))
    return len("grpc-message") + wire + len(key) + len(base64.b64encode(value))


def shown_violations(status: grpc.Status) -> tuple[int, dict[str, str]]:
    """How many violations a status shows, and its ErrorInfo metadata."""
    _, info, bad_request = decoded(status)
    return len(bad_request.field_violations), dict(info.metadata)


def filled_to(cost: int, char: str, count: int) -> str:
    """`count` of `char` (`cost` bytes each on the wire), topped up to exactly the budget."""
    twelves, ones = divmod(MAX_MESSAGE_WIRE_BYTES - cost * count, 12)
    return char * count + "𝄞" * twelves + "a" * ones  # '𝄞' is 12 bytes there


@pytest.mark.parametrize(
    ("char", "cost"),
    [
        (" ", 1),  # the first printable character
        ("~", 1),  # the last
        ("&", 1),
        ("%", 3),  # printable, but the escape character itself
        ("\x1f", 3),
        ("\x7f", 3),
        ("é", 6),
        ("𝄞", 12),
    ],
    ids=["space", "tilde", "ampersand", "percent", "unit-separator", "delete", "e-acute", "clef"],
)
def test_a_message_is_kept_whole_up_to_its_wire_budget_exactly(char: str, cost: int) -> None:
    assert len(on_the_wire(char)) == cost
    fits = filled_to(cost, char, 50)
    assert len(on_the_wire(fits)) == MAX_MESSAGE_WIRE_BYTES and len(fits) <= 600
    assert to_status(errors.FailedPrecondition(fits)).details == fits
    over = to_status(errors.FailedPrecondition(fits + "a")).details
    assert over.endswith("…") and len(on_the_wire(over)) <= MAX_MESSAGE_WIRE_BYTES
    assert (fits + "a").startswith(over.removesuffix("…"))


def test_a_cut_message_ends_in_one_ellipsis_even_where_the_text_had_one() -> None:
    # 151 characters, 1,351 bytes on the wire: cut by a quarter to 113 characters, whose
    # last is an ellipsis of the text's own; it is not doubled. 1,009 bytes then fit.
    status = to_status(errors.FailedPrecondition("x" + "…" * 150))
    assert status.details == "x" + "…" * 112
    assert len(on_the_wire(status.details)) == 1 + 9 * 112


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("é" * 200, "é" * 200),  # 200 characters, 400 bytes: both limits exactly, kept
        ("é" * 201, "é" * 149 + "…"),  # 199 are 398 bytes: cut by a quarter, to 301
        ("é" * 198 + "abc", "é" * 198 + "a…"),  # 199 are 397 bytes: with '…', 400
        ("€" * 200, "€" * 111 + "…"),  # 200 characters but 600 bytes: cut to 336
    ],
    ids=["at-both-limits", "one-character-over", "cut-to-the-byte-limit", "three-byte"],
)
def test_a_quoted_value_keeps_at_most_200_characters_and_400_bytes(value: str, shown: str) -> None:
    _, info, _ = decoded(to_status(errors.FailedPrecondition("m", metadata={"k": value})))
    assert info.metadata["k"] == shown
    assert len(shown) <= MAX_TEXT and len(shown.encode()) <= 2 * MAX_TEXT


def test_violations_are_all_kept_while_the_trailer_is_exactly_at_its_budget() -> None:
    # 300 violations and a message of 599 characters (885 bytes on the wire) make a
    # trailer of exactly 6 KiB. One character more and the last violations are left out:
    # three, as saying how many were left out takes room too.
    many = [FieldViolation(f"f{i}", "d") for i in range(300)]
    message = "%" * 143 + "a" * 456
    exact = to_status(errors.InvalidArgument(many, message=message))
    assert trailer_size(exact) == MAX_TRAILER_BYTES
    assert shown_violations(exact) == (300, {})
    over = to_status(errors.InvalidArgument(many, message=message + "a"))
    assert trailer_size(over) <= MAX_TRAILER_BYTES
    assert shown_violations(over) == (297, {"violations_left_out": "3"})


class PlanRejected(errors.InvalidArgument):
    """A later service's InvalidArgument that carries metadata of its own."""

    def __init__(self, violations: list[FieldViolation], entries: int) -> None:
        super().__init__(violations)
        self.metadata.update({f"key{i:02}": "v" * MAX_TEXT for i in range(entries)})


THREE = [FieldViolation(f"plan.steps[{i}]", "x" * 300) for i in range(3)]


def test_violations_are_left_out_from_the_last_until_the_trailer_fits() -> None:
    # With 14 entries of metadata, one violation fits the trailer and two do not.
    status = to_status(PlanRejected(THREE, 14))
    assert trailer_size(status) <= MAX_TRAILER_BYTES
    count, metadata = shown_violations(status)
    assert (count, metadata["violations_left_out"]) == (1, "2")
    _, _, bad_request = decoded(status)
    assert bad_request.field_violations[0].field == "plan.steps[0]"


def test_the_first_violation_shows_even_when_metadata_alone_passes_the_budget() -> None:
    status = to_status(PlanRejected(THREE, 16))
    assert trailer_size(status) > MAX_TRAILER_BYTES
    count, metadata = shown_violations(status)
    assert (count, metadata["violations_left_out"], len(metadata)) == (1, "2", 17)


def test_only_violations_are_left_out_for_the_budget_never_metadata() -> None:
    metadata = {f"key{i:02}": "v" * MAX_TEXT for i in range(30)}
    status = to_status(errors.FailedPrecondition("refused", metadata=metadata))
    assert trailer_size(status) > MAX_TRAILER_BYTES
    _, info, bad_request = decoded(status)
    assert (status.details, dict(info.metadata), bad_request) == ("refused", metadata, None)


@dataclass(frozen=True)
class Trailers(grpc.Status):
    """A status with a text trailer besides the details, as a handler might send."""

    code: grpc.StatusCode
    details: str
    trailing_metadata: tuple[tuple[str, str | bytes], ...]


def test_trailer_bytes_counts_each_trailer_as_sent() -> None:
    status = Trailers(
        grpc.StatusCode.ABORTED,
        "100% é",  # 3 + 3 + 1 + 6 bytes on the wire
        (("grpc-status-details-bin", bytes(10)), ("retry-after", "5")),
    )
    assert trailer_bytes(status) == (len("grpc-message") + 13) + (23 + 16) + (11 + 1)
    mapped = to_status(errors.AlreadyExists("100% é"))
    assert trailer_bytes(mapped) == trailer_size(mapped)
