"""The shared idempotency decision and request fingerprints."""

from __future__ import annotations

import pytest

from ledger.v1 import results_store_service_pb2 as rs
from ledger_server.domain.errors import AlreadyExists, InvalidArgument
from ledger_server.domain.idempotency import RequestKey, check_request_id, claim
from ledger_server.domain.ports import ClaimedRequest
from ledger_server.rpc.idempotency import StreamFingerprint, request_key


class MemoryRequestIds:
    def __init__(self) -> None:
        self.claims: dict[tuple[str, str], ClaimedRequest] = {}

    def claim(
        self, method: str, request_id: str, fingerprint: bytes, resource_id: str
    ) -> ClaimedRequest | None:
        earlier = self.claims.get((method, request_id))
        if earlier is None:
            self.claims[(method, request_id)] = ClaimedRequest(fingerprint, resource_id)
        return earlier

    def find(self, method: str, request_id: str) -> ClaimedRequest | None:
        return self.claims.get((method, request_id))


def test_claim_is_new_then_replays_the_first_resource_then_refuses_another_body() -> None:
    ids = MemoryRequestIds()
    key = RequestKey("r-1", b"body")
    assert claim(ids, "CreateThing", key, "thing-1") is None
    assert claim(ids, "CreateThing", key, "thing-2") == "thing-1"
    with pytest.raises(AlreadyExists) as reused:
        claim(ids, "CreateThing", RequestKey("r-1", b"other body"), "thing-3")
    assert reused.value.reason == "REQUEST_ID_REUSED"
    assert reused.value.metadata == {"request_id": "r-1"}
    # The same id under another method is another request.
    assert claim(ids, "CreateOther", key, "other-1") is None
    assert claim(ids, "CreateThing", None, "thing-4") is None  # no id: no idempotency
    assert len(ids.claims) == 2


@pytest.mark.parametrize("request_id", ["x" * 129, "has space", "nul\x00", "tab\t", "é"])
def test_request_ids_must_be_short_printable_ascii(request_id: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        check_request_id(request_id)
    assert refused.value.violations[0].field == "request_id"


@pytest.mark.parametrize("request_id", ["", "a", "x" * 128, "plan-42:run/1", "3f1c2a9e-6a55"])
def test_request_ids_that_are_accepted(request_id: str) -> None:
    check_request_id(request_id)


def test_a_unary_fingerprint_ignores_the_request_id_and_covers_everything_else() -> None:
    first = rs.StoreEstimateRequest(user_id="alice", request_id="r-1")
    retry = rs.StoreEstimateRequest(user_id="alice", request_id="r-1")
    changed = rs.StoreEstimateRequest(user_id="alice", profile="prod", request_id="r-1")
    other_id = rs.StoreEstimateRequest(user_id="alice", request_id="r-2")
    key = request_key(first)
    assert key is not None and key == request_key(retry)
    assert key.fingerprint != request_key(changed).fingerprint  # type: ignore[union-attr]
    assert key.fingerprint == request_key(other_id).fingerprint  # type: ignore[union-attr]
    assert request_key(rs.StoreEstimateRequest(user_id="alice")) is None
    assert first.request_id == "r-1"  # the caller's message is left as it was


def _stream(*messages: rs.StoreEstimateRequest) -> RequestKey | None:
    fingerprint = StreamFingerprint()
    for message in messages:
        fingerprint.add(message)
    return fingerprint.key()


def test_a_stream_fingerprint_is_a_running_digest_that_respects_boundaries() -> None:
    a = rs.StoreEstimateRequest(user_id="a", request_id="s-1")
    b = rs.StoreEstimateRequest(user_id="b")
    ab = rs.StoreEstimateRequest(user_id="ab")
    key = _stream(a, b)
    assert key is not None and key.request_id == "s-1"
    assert key == _stream(rs.StoreEstimateRequest(user_id="a", request_id="s-1"), b)
    assert key.fingerprint != _stream(b, a).fingerprint  # type: ignore[union-attr]
    assert key.fingerprint != _stream(a, b, b).fingerprint  # type: ignore[union-attr]
    # Messages are length-prefixed: two messages never digest like one with both bytes.
    assert _stream(a, b) != _stream(ab)
    assert _stream(b) is None  # no message carried a request id
