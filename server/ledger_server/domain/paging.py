"""Page sizes and opaque page tokens for every List RPC (AIP-158).

A token carries the keyset cursor (the sort key of the last item returned) plus a
digest of the query it belongs to, so a token replayed against other filters is
refused instead of silently returning the wrong page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from ledger_server.domain.errors import FieldViolation, InvalidArgument

T = TypeVar("T")
MAX_TOKEN_LENGTH = 2048


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_page_token: str


def page_size(
    requested: int, *, default: int, maximum: int = 1000, field: str = "page_size"
) -> int:
    if requested < 0:
        raise InvalidArgument([FieldViolation(field, "must not be negative")])
    return min(requested or default, maximum)


def _scope_digest(scope: Sequence[str]) -> str:
    return hashlib.sha256("\x1f".join(scope).encode()).hexdigest()[:16]


def encode_token(scope: Sequence[str], cursor: Sequence[str]) -> str:
    payload = json.dumps({"q": _scope_digest(scope), "c": list(cursor)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_token(token: str, scope: Sequence[str], *, fields: int) -> list[str] | None:
    """The cursor inside `token`, None for the first page; INVALID_ARGUMENT if unusable."""
    if not token:
        return None
    bad = InvalidArgument(
        [FieldViolation("page_token", "is not a token this list returned for these filters")]
    )
    if len(token) > MAX_TOKEN_LENGTH:
        raise bad
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise bad from None
    if not isinstance(payload, dict) or payload.get("q") != _scope_digest(scope):
        raise bad
    cursor = payload.get("c")
    if (
        not isinstance(cursor, list)
        or len(cursor) != fields
        or not all(isinstance(part, str) for part in cursor)
    ):
        raise bad
    return cursor


def next_token(
    items: list[T], limit: int, scope: Sequence[str], cursor_of: Callable[[T], Sequence[str]]
) -> tuple[list[T], str]:
    """Given up to `limit + 1` items, the page to return and the token for the next one."""
    if len(items) <= limit:
        return items, ""
    page = items[:limit]
    return page, encode_token(scope, cursor_of(page[-1]))
