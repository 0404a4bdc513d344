"""API keys and roles, as configured: parsed from settings, used by the RPC layer.

Keys are kept only as SHA-256 digests; `rpc/auth.py` compares them in constant time.
This module knows nothing of gRPC, so settings can be read without the transport.
"""

from __future__ import annotations

import enum
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")
# In a keys file, `#` starts a comment at the start of a line or after whitespace, so a
# key that contains `#` (never after a space: keys hold none) still reads whole.
_COMMENT = re.compile(r"(^|\s)#.*$", re.MULTILINE)


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


def parse_keys(spec: str, source: str = "API key") -> list[ApiKey]:
    """Parses `name:role:key,name:role:key` (or `role:key`); `key` may be `sha256=<hex>`.

    Errors name the entry by number and `source`, never the secret.
    """
    keys = []
    entries = [part.strip() for part in re.split(r"[,\n]", spec) if part.strip()]
    for index, entry in enumerate(entries):
        where = f"{source} entry {index + 1}"
        parts = entry.split(":", 2)
        if len(parts) == 2:
            parts.insert(0, f"key{index + 1}")
        if len(parts) != 3 or parts[1].upper() not in Role.__members__ or not parts[2]:
            raise ValueError(
                f"{where} must look like name:role:key with role one of reader, writer, admin"
            )
        name, role, secret = parts
        if secret.startswith("sha256="):
            hex_digest = secret.removeprefix("sha256=")
            if not _SHA256_HEX.fullmatch(hex_digest):
                # A shorter digest could never match a presented key: the key would be
                # configured and silently useless.
                raise ValueError(
                    f"{where} ({name}): sha256= must be followed by 64 hex digits "
                    f"(the SHA-256 of the key), got {len(hex_digest)} characters"
                )
            key_digest = bytes.fromhex(hex_digest)
        else:
            key_digest = digest(secret)
        keys.append(ApiKey(name, key_digest, Role[role.upper()]))
    return keys


def read_keys_file(path: Path) -> list[ApiKey]:
    """The keys in `path`: `name:role:key` entries, one per line or comma-separated.

    Reading keys from a file keeps them out of the command line and the environment that
    `ps` and /proc show. A file that holds no key is refused: it would turn auth off.
    """
    try:
        text = path.read_text()
    except OSError as error:
        raise ValueError(f"cannot read the API keys file {path}: {error.strerror}") from None
    keys = parse_keys(_COMMENT.sub(r"\1", text), source=str(path))
    if not keys:
        raise ValueError(f"the API keys file {path} holds no keys")
    return keys
