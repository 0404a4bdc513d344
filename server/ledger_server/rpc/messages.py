"""Request parsing that cannot crash a call or stall the event loop.

gRPC parses a request before any handler runs, on the event loop that carries every
call. Two things could go wrong there:

- Bytes that are not the expected message (garbage, truncated, bad UTF-8, nested too
  deep) would answer UNKNOWN with a logged traceback, before authentication. Ledger's
  deserializers instead hand the wrappers a `Malformed` marker, which they answer
  (after checking the caller's key) with INVALID_ARGUMENT.
- Parsing costs time per message inside the request, not per byte, and holds the GIL
  whichever thread does it: 16 MiB of empty repeated entries is eight million messages
  and seconds in which no other call is answered. A request larger than
  `INLINE_PARSE_BYTES` is handed over unparsed, as `Unparsed`; once the caller's key is
  checked, the wrapper has it counted on a worker thread (`message_budget`), refused
  past `MAX_REQUEST_MESSAGES`, and only then parsed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import DecodeError

from ledger_server.rpc.message_budget import MessageCounter, TooComplex

# At most ~32k messages: a few milliseconds of the loop; ordinary requests are smaller.
INLINE_PARSE_BYTES = 64 * 1024
# Far more than the largest estimate needs (10,000 resources with their money, breakdown
# and cost drivers), and parsed in well under a second.
MAX_REQUEST_MESSAGES = 1_000_000


@dataclass(frozen=True)
class Malformed:
    """A request that could not be parsed; `description` says why, for a field violation."""

    description: str


@dataclass(frozen=True)
class Unparsed:
    """A large request, left for the wrapper to parse off the event loop."""

    data: bytes
    parse: Callable[[bytes], Any]

    def parsed(self) -> Any:
        """The message, or `Malformed`: blocking, so call it on a worker thread."""
        return self.parse(self.data)


def lenient_parser(message_class: Any) -> Callable[[bytes], Any]:
    """A request deserializer that never raises: see the module docstring."""
    malformed = Malformed(f"is not a valid {message_class.DESCRIPTOR.full_name} message")
    parse_now = message_class.FromString
    counter = MessageCounter(message_class.DESCRIPTOR)

    def parse(data: bytes) -> Any:
        try:
            return parse_now(data)
        except (DecodeError, RecursionError, ValueError, UnicodeDecodeError):
            return malformed

    def count_then_parse(data: bytes) -> Any:
        try:
            counter.count(data, MAX_REQUEST_MESSAGES)
        except TooComplex as refused:
            return Malformed(str(refused))
        except (DecodeError, ValueError):
            return malformed
        return parse(data)

    def parser(data: bytes) -> Any:
        if len(data) > INLINE_PARSE_BYTES:
            return Unparsed(data, count_then_parse)
        return parse(data)

    return parser
