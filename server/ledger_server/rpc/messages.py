"""Request parsing that cannot crash a call: bytes that are not the expected message.

gRPC parses a request before any handler runs; a parse failure there would answer
UNKNOWN with a logged traceback, and before authentication. Ledger's deserializers
instead hand the wrappers a `Malformed` marker, which they answer (after checking the
caller's key) with INVALID_ARGUMENT.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import DecodeError


@dataclass(frozen=True)
class Malformed:
    """Bytes that did not parse as `type_name` (garbage, truncated, bad UTF-8, too deep)."""

    type_name: str


def lenient_parser(message_class: Any) -> Callable[[bytes], Any]:
    malformed = Malformed(message_class.DESCRIPTOR.full_name)
    parse = message_class.FromString

    def parser(data: bytes) -> Any:
        try:
            return parse(data)
        except (DecodeError, RecursionError, ValueError, UnicodeDecodeError):
            return malformed

    return parser
