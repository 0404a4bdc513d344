"""API keys and roles, as configured: parsed from settings, used by the RPC layer.

Keys are kept only as SHA-256 digests; `rpc/auth.py` compares them in constant time.
This module knows nothing of gRPC, so settings can be read without the transport.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass


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
