"""Safe retries (AIP-155): a repeated `request_id` returns the first answer, writes nothing.

Every creating use case calls `claim` first thing in its unit of work. The claim and the
records it creates commit together, so a request either happened once or not at all; a
retry of the same body finds the claim and replays what the first request created; the
same id with another body is ALREADY_EXISTS (reason REQUEST_ID_REUSED).

The fingerprint is a digest of everything the caller sent except the request id (the
RPC layer computes it from the wire form, as a running digest for client streams), so a
"retry" that changed any field is caught instead of silently answered with old data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ledger_server.domain.errors import AlreadyExists, FieldViolation, InvalidArgument
from ledger_server.domain.ports import RequestIdClaims

MAX_REQUEST_ID_LENGTH = 128
# Printable ASCII without spaces: UUIDs, ULIDs, "plan-42-run-1", "task:abc/3".
_REQUEST_ID = re.compile(r"[!-~]{1,128}")


@dataclass(frozen=True)
class RequestKey:
    """What makes a request a retry of another: its id and the digest of its body."""

    request_id: str
    fingerprint: bytes


def check_request_id(request_id: str, field: str = "request_id") -> None:
    """INVALID_ARGUMENT unless `request_id` is empty or 1-128 printable ASCII characters."""
    if request_id and not _REQUEST_ID.fullmatch(request_id):
        raise InvalidArgument(
            [
                FieldViolation(
                    field,
                    f"must be at most {MAX_REQUEST_ID_LENGTH} printable ASCII characters "
                    "without spaces (a UUID is ideal)",
                )
            ]
        )


def claim(
    request_ids: RequestIdClaims, method: str, key: RequestKey | None, resource_id: str
) -> str | None:
    """None when the request is new: go on and create `resource_id`.

    For a retry, the id of what the first request created: answer with that. Raises
    AlreadyExists when the id was first used with a different body.
    """
    if key is None:
        return None
    earlier = request_ids.claim(method, key.request_id, key.fingerprint, resource_id)
    if earlier is None:
        return None
    if earlier.fingerprint != key.fingerprint:
        raise AlreadyExists(
            f"request_id was already used for a different {method} request",
            reason="REQUEST_ID_REUSED",
            metadata={"request_id": key.request_id},
        )
    return earlier.resource_id
