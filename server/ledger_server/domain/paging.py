"""Page sizes and opaque page tokens for every List RPC (AIP-158).

Each List declares one `CursorSpec`: the parts of its keyset cursor and how each part
is parsed back. The spec both writes the next page's token and reads it, so the two can
never disagree. A token also carries a digest of the query it belongs to (the RPC and
its filters), so a token replayed against other filters is refused instead of silently
returning the wrong page. Tokens are opaque but not secret: a caller can forge one, so
every part is parsed as strictly as the server writes it, and anything else is the same
INVALID_ARGUMENT.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ledger_server.domain.errors import FieldViolation, InvalidArgument

T = TypeVar("T")
MAX_TOKEN_LENGTH = 2048
BAD_TOKEN = "is not a token this list returned for these filters"  # noqa: S105 - a message


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


def bad_token() -> InvalidArgument:
    return InvalidArgument([FieldViolation("page_token", BAD_TOKEN)])


def _scope(rpc: str, filters: Sequence[str]) -> str:
    # JSON, not a separator-joined string: ("a\x1fb", "c") and ("a", "b\x1fc") must not
    # share tokens, whatever the filters contain.
    query = json.dumps([rpc, *filters], ensure_ascii=True)
    return hashlib.sha256(query.encode()).hexdigest()[:16]


def encode_token(rpc: str, filters: Sequence[str], cursor: Sequence[str]) -> str:
    """A page token for `rpc` with these filters, resuming after `cursor` (its text parts)."""
    payload = json.dumps({"q": _scope(rpc, filters), "c": list(cursor)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


class CursorSpec:
    """One List's cursor: its name, and one parser per cursor part (str -> typed value).

    A parser raises `bad_token()` for text this server could not have written.
    """

    def __init__(self, rpc: str, *parts: Callable[[str], Any]) -> None:
        self.rpc = rpc
        self.parts = parts

    def encode(self, filters: Sequence[str], values: Sequence[object]) -> str:
        """The token that resumes after the item whose sort key is `values`."""
        assert len(values) == len(self.parts), "one value per cursor part"
        cursor = [
            value.isoformat() if hasattr(value, "isoformat") else str(value) for value in values
        ]
        return encode_token(self.rpc, filters, cursor)

    def decode(self, token: str, filters: Sequence[str]) -> tuple[Any, ...] | None:
        """The typed cursor in `token`; None for the first page; INVALID_ARGUMENT if unusable."""
        if not token:
            return None
        if len(token) > MAX_TOKEN_LENGTH:
            raise bad_token()
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            payload = json.loads(raw)
        except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
            raise bad_token() from None
        if not isinstance(payload, dict) or payload.get("q") != _scope(self.rpc, filters):
            raise bad_token()
        cursor = payload.get("c")
        if (
            not isinstance(cursor, list)
            or len(cursor) != len(self.parts)
            or not all(isinstance(part, str) for part in cursor)
        ):
            raise bad_token()
        return tuple(parse(part) for parse, part in zip(self.parts, cursor, strict=True))

    def page(
        self,
        rows: list[T],
        limit: int,
        filters: Sequence[str],
        cursor_of: Callable[[T], Sequence[object]],
    ) -> Page[T]:
        """Given up to `limit + 1` rows, the page to return and the token for the next one."""
        if len(rows) <= limit:
            return Page(rows, "")
        items = rows[:limit]
        return Page(items, self.encode(filters, cursor_of(items[-1])))
