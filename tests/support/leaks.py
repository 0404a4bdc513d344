"""What no error may show a caller (DESIGN.md principle 6): SQL, paths, tracebacks, internals.

`error_texts` gathers every part of a failed call a client can read: the status message,
the google.rpc.Status message, every ErrorInfo (reason, domain, metadata keys and
values), every BadRequest field violation and every other trailing metadata entry.
`assert_no_leak` checks each of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import grpc
from google.protobuf import json_format
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2

# Plain markers: SQL verbs, driver and ORM names, the server's package, table names.
LEAK_WORDS = (
    "SELECT",
    "INSERT",
    "UPDATE ",
    "DELETE ",
    "psycopg",
    "sqlalchemy",
    "SQLSTATE",
    "LINE 1:",
    "Traceback",
    'File "',
    "ledger.job",
    "ledger.request_ids",
    "ledger_server",
    "ledger_app",
)
LEAK_PATTERNS = (
    re.compile(r"(?<![\w.])/(?:[\w.-]+/)+[\w.-]+"),  # an absolute path: /srv/app/x.py
    re.compile(r"\b[\w/.-]+\.py\b"),  # a Python source file
    re.compile(r"\bline \d+, in \b"),  # a traceback frame
    re.compile(r"\b\w+(?:Error|Exception)\b(?::|\()"),  # an exception's repr or str
)


def leaks_in(text: str) -> list[str]:
    found = [word for word in LEAK_WORDS if word in text]
    found += [match.group(0) for pattern in LEAK_PATTERNS for match in pattern.finditer(text)]
    return found


def status_texts(status: status_pb2.Status) -> list[str]:
    """Every text of a google.rpc.Status: its message and the parts of each detail."""
    texts = [status.message]
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            texts += [info.reason, info.domain, *info.metadata.keys(), *info.metadata.values()]
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
            for violation in bad_request.field_violations:
                texts += [violation.field, violation.description]
        else:
            texts.append(detail.type_url)
            texts.append(detail.value.decode("utf-8", errors="replace"))
    return texts


def error_texts(error: grpc.RpcError) -> list[str]:
    """Everything a client can read of a failed call."""
    call: Any = error
    texts = [call.details() or ""]
    for key, value in call.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            texts += status_texts(status_pb2.Status.FromString(value))
        else:
            shown = value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value
            texts += [key, shown]
    return texts


def caller_strings(message: Message) -> set[str]:
    """Every string the caller put in `message`, as sent and as `repr` shows it."""
    found: set[str] = set()
    for field, value in message.ListFields():
        values = value if field.is_repeated else [value]
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            values = [*value.keys(), *value.values()]
        for item in values:
            if isinstance(item, Message):
                found |= caller_strings(item)
            elif isinstance(item, str):
                found |= {item, repr(item)[1:-1]}
    if message.DESCRIPTOR.full_name == "google.protobuf.Struct":
        found.add(json_format.MessageToJson(message))
    return found


def assert_no_leak(texts: Iterable[str], context: str = "", request: Message | None = None) -> None:
    """No text shows a leak, once what the caller sent (which errors may echo) is left out."""
    echoed = None
    for text in texts:
        found = leaks_in(text)
        if found and request is not None:
            echoed = caller_strings(request) if echoed is None else echoed
            for sent in sorted((s for s in echoed if len(s) >= 3), key=len, reverse=True):
                text = text.replace(sent, "")
            found = leaks_in(text)
        assert not found, f"{context} shows {found} in {text[:2000]!r}"
