"""Domain errors: what a caller reads of each, and the request-id rules they come from."""

from __future__ import annotations

import pytest

from ledger_server.domain import errors
from ledger_server.domain.errors import FieldViolation, InvalidArgument, NotFound, Violations
from ledger_server.domain.idempotency import RequestKey, check_request_id, claim
from ledger_server.domain.ports import ClaimedRequest


def _violations(count: int) -> list[FieldViolation]:
    return [FieldViolation(f"f{i}", f"d{i}") for i in range(count)]


@pytest.mark.parametrize(
    ("count", "message"),
    [
        (1, "invalid request: f0: d0"),
        (3, "invalid request: f0: d0; f1: d1; f2: d2"),
        (4, "invalid request: f0: d0; f1: d1; f2: d2 (and 1 more)"),
        (6, "invalid request: f0: d0; f1: d1; f2: d2 (and 3 more)"),
    ],
)
def test_invalid_argument_message_shows_three_violations_and_counts_the_rest(
    count: int, message: str
) -> None:
    error = InvalidArgument(_violations(count))
    assert (error.message, str(error), error.reason) == (message, message, "INVALID_ARGUMENT")
    assert error.violations == _violations(count)
    assert error.metadata == {}


def test_invalid_argument_keeps_a_message_it_is_given() -> None:
    error = InvalidArgument(_violations(2), message="the request could not be parsed")
    assert (error.message, str(error)) == ("the request could not be parsed",) * 2


def test_ledger_error_reason_and_metadata() -> None:
    plain = errors.Aborted("lost a race")
    assert (plain.message, str(plain), plain.reason, plain.metadata) == (
        "lost a race",
        "lost a race",
        "ABORTED",
        {},
    )
    given = {"k": "v"}
    named = errors.Unavailable("away", reason="DATABASE_UNAVAILABLE", metadata=given)
    assert (named.reason, named.metadata) == ("DATABASE_UNAVAILABLE", {"k": "v"})
    given["k"] = "changed"
    assert named.metadata == {"k": "v"}  # a copy: the caller's dict is not shared
    assert errors.Unavailable("x").reason == "UNAVAILABLE"  # the class default stays


def test_not_found_names_the_resource_and_id() -> None:
    error = NotFound("job", "abc")
    assert (error.message, error.reason, error.metadata) == (
        "job 'abc' not found",
        "JOB_NOT_FOUND",
        {"resource": "job", "id": "abc"},
    )


@pytest.mark.parametrize(
    ("cls", "reason"),
    [
        (errors.AlreadyExists, "ALREADY_EXISTS"),
        (errors.FailedPrecondition, "FAILED_PRECONDITION"),
        (errors.Unauthenticated, "UNAUTHENTICATED"),
        (errors.PermissionDenied, "PERMISSION_DENIED"),
        (errors.DataLoss, "DATA_LOSS"),
        (errors.ResourceExhausted, "RESOURCE_EXHAUSTED"),
        (errors.OutOfRange, "OUT_OF_RANGE"),
        (errors.LedgerError, "LEDGER_ERROR"),
    ],
)
def test_each_error_class_has_its_reason(cls: type[errors.LedgerError], reason: str) -> None:
    assert cls("m").reason == reason


def test_violations_collect_and_raise_together() -> None:
    found = Violations()
    assert not found
    found.raise_if_any()
    found.add("a", "x")
    assert found
    found.add("b", "y")
    with pytest.raises(InvalidArgument) as raised:
        found.raise_if_any()
    assert raised.value.violations == [FieldViolation("a", "x"), FieldViolation("b", "y")]


# --- request ids ---------------------------------------------------------------------------

REQUEST_ID_RULE = "must be at most 128 printable ASCII characters without spaces (a UUID is ideal)"


@pytest.mark.parametrize("request_id", ["", "a", "plan-42-run-1", "task:abc/3", "~" * 128, "!"])
def test_check_request_id_takes_printable_ascii_up_to_128(request_id: str) -> None:
    check_request_id(request_id)


@pytest.mark.parametrize("request_id", ["a b", "x" * 129, "é", "a\x00", "a\n", "\x7f"])
def test_check_request_id_refuses_anything_else(request_id: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        check_request_id(request_id)
    assert [(v.field, v.description) for v in refused.value.violations] == [
        ("request_id", REQUEST_ID_RULE)
    ]
    with pytest.raises(InvalidArgument) as named:
        check_request_id(request_id, "requests[0].request_id")
    assert named.value.violations[0].field == "requests[0].request_id"


class Claims:
    """Records what `claim` passes on; answers like a repository with one earlier claim."""

    def __init__(self, earlier: ClaimedRequest | None) -> None:
        self.earlier = earlier
        self.calls: list[tuple[str, str, bytes, str]] = []

    def claim(
        self, method: str, request_id: str, fingerprint: bytes, resource_id: str
    ) -> ClaimedRequest | None:
        self.calls.append((method, request_id, fingerprint, resource_id))
        return self.earlier

    def find(self, method: str, request_id: str) -> ClaimedRequest | None:
        return self.earlier


def test_claim_of_a_new_request_id_passes_everything_on_and_answers_none() -> None:
    claims = Claims(None)
    assert claim(claims, "StoreEstimate", RequestKey("r1", b"fp"), "job-1") is None
    assert claims.calls == [("StoreEstimate", "r1", b"fp", "job-1")]


def test_claim_without_a_key_touches_nothing() -> None:
    claims = Claims(ClaimedRequest(b"fp", "job-0"))
    assert claim(claims, "StoreEstimate", None, "job-1") is None
    assert claims.calls == []


def test_claim_of_a_retry_answers_what_the_first_request_created() -> None:
    claims = Claims(ClaimedRequest(b"fp", "job-0"))
    assert claim(claims, "StoreEstimate", RequestKey("r1", b"fp"), "job-1") == "job-0"


def test_claim_with_another_body_is_already_exists() -> None:
    claims = Claims(ClaimedRequest(b"fp", "job-0"))
    with pytest.raises(errors.AlreadyExists) as reused:
        claim(claims, "IngestCosts", RequestKey("r1", b"other"), "job-1")
    assert (reused.value.message, reused.value.reason, reused.value.metadata) == (
        "request_id was already used for a different IngestCosts request",
        "REQUEST_ID_REUSED",
        {"request_id": "r1"},
    )
