"""API keys and roles. Keys are kept only as SHA-256 digests and compared in constant time."""

from __future__ import annotations

import enum
import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ledger_server.domain.errors import PermissionDenied, Unauthenticated


class Role(enum.IntEnum):
    """Each role can do everything the ones below it can."""

    READER = 1
    WRITER = 2
    ADMIN = 3


@dataclass(frozen=True)
class ApiKey:
    name: str
    digest: bytes
    role: Role


def digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def parse_keys(spec: str) -> list[ApiKey]:
    """Parses `name:role:key,name:role:key` (or `role:key`); `key` may be `sha256=<hex>`."""
    keys = []
    for index, entry in enumerate(part.strip() for part in spec.split(",") if part.strip()):
        parts = entry.split(":", 2)
        if len(parts) == 2:
            parts.insert(0, f"key{index + 1}")
        if len(parts) != 3 or parts[1].upper() not in Role.__members__ or not parts[2]:
            raise ValueError(
                f"API key entry {index + 1} must look like name:role:key with role one of "
                "reader, writer, admin"
            )
        name, role, secret = parts
        key_digest = (
            bytes.fromhex(secret.removeprefix("sha256="))
            if secret.startswith("sha256=")
            else digest(secret)
        )
        keys.append(ApiKey(name, key_digest, Role[role.upper()]))
    return keys


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
