"""Request fingerprints for safe retries: a digest of everything sent but the request id.

Fingerprints are taken from the wire form (deterministic serialization), so every field
a caller can set is covered, including ones added to a message later. A unary request's
fingerprint is the SHA-256 of its body; a client stream folds each message into one
running digest, length-prefixed so that no two different streams can digest alike.
"""

from __future__ import annotations

import hashlib
from typing import Any

from google.protobuf.message import Message

from ledger_server.domain.idempotency import RequestKey


class StreamFingerprint:
    """A running digest over the messages of one call, request ids left out."""

    def __init__(self) -> None:
        self._digest = hashlib.sha256()
        self.request_id = ""

    def add(self, message: Message) -> None:
        request_id = getattr(message, "request_id", "")
        if request_id:
            if not self.request_id:
                self.request_id = request_id
            body: Any = type(message)()
            body.CopyFrom(message)
            body.request_id = ""
        else:
            body = message
        data = body.SerializeToString(deterministic=True)
        self._digest.update(len(data).to_bytes(8, "big"))
        self._digest.update(data)

    def digest(self) -> bytes:
        """The digest of every message so far: the stream's input, whatever its ids."""
        return self._digest.copy().digest()

    def key(self) -> RequestKey | None:
        """The call's retry key, or None when no message carried a request id."""
        if not self.request_id:
            return None
        return RequestKey(self.request_id, self._digest.digest())


def request_key(request: Message) -> RequestKey | None:
    """The retry key of a unary request, or None when it carries no request id."""
    request_id = getattr(request, "request_id", "")
    if not request_id:
        return None
    body: Any = type(request)()
    body.CopyFrom(request)
    body.request_id = ""
    return RequestKey(
        request_id, hashlib.sha256(body.SerializeToString(deterministic=True)).digest()
    )
