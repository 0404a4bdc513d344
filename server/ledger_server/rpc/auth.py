"""Who is calling: the presented API key, checked in constant time against the configured ones."""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from typing import Any

from ledger_server.api_keys import ApiKey, Role, digest
from ledger_server.domain.errors import PermissionDenied, Unauthenticated


class Authorizer:
    def __init__(self, keys: Iterable[ApiKey]) -> None:
        self._keys = list(keys)

    @property
    def enabled(self) -> bool:
        return bool(self._keys)

    def authorize(self, metadata: Iterable[tuple[str, Any]], needed: Role) -> str:
        """The name of the caller's key; raises when it is missing, unknown or too weak."""
        if not self._keys:
            return "anonymous"
        presented = _presented_key(metadata)
        if presented is None:
            raise Unauthenticated(
                "an API key is required: send 'authorization: Bearer <key>'",
                reason="API_KEY_MISSING",
            )
        wanted = digest(presented)
        match = None
        for key in self._keys:  # no early exit: the time taken says nothing of the keys
            if hmac.compare_digest(key.digest, wanted):
                match = key
        if match is None:
            raise Unauthenticated("the API key is not valid", reason="API_KEY_INVALID")
        if match.role < needed:
            raise PermissionDenied(
                f"this API key has role {match.role.name.lower()}; "
                f"the call needs {needed.name.lower()}",
                reason="ROLE_INSUFFICIENT",
                metadata={"needed_role": needed.name.lower()},
            )
        return match.name


def _presented_key(metadata: Iterable[tuple[str, Any]]) -> str | None:
    for name, value in metadata:
        text = value.decode(errors="replace") if isinstance(value, bytes) else value
        if name == "authorization" and text[:7].lower() == "bearer ":
            return text[7:].strip()
        if name == "x-api-key":
            return text.strip()
    return None
