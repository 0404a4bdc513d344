"""Checks of what callers send about evaluations, each naming the field it refuses.

Every check collects violations so a caller hears about every problem at once; nothing
is written before they all pass.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ledger_server.domain.errors import FieldViolation, InvalidArgument, Violations
from ledger_server.domain.evaluations.records import RunningInfo
from ledger_server.domain.validation import check_json, check_text

MAX_ID_LENGTH = 128
MAX_CODE_BYTES = 1024 * 1024
MAX_OUTPUT_BYTES = 8 * 1024 * 1024  # per UpdateEvaluation field: larger ones are streamed
MAX_RUNTIME_MS = 365 * 24 * 3600 * 1000
MAX_TASK_ID_LENGTH = 255
MAX_RETRIES = 1_000_000
MAX_EVENT_MESSAGE = 4096
DEFAULT_LANGUAGE = "python"
RESERVED_EVENT_PREFIX = "ledger."

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}")
_LANGUAGE = re.compile(r"[a-z0-9+#._\-]{1,32}")
_EVENT_TYPE = re.compile(r"[a-z0-9_.\-]{1,64}")
# Stored times: from the epoch to the end of year 9999 (PostgreSQL holds more, the wire
# less before 1970 is no run anyone records).
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
_LIMITS = (
    ("cpu_millis", 1_000_000),
    ("memory_bytes", 1 << 50),
    ("timeout_seconds", 365 * 24 * 3600),
)


def new_evaluation_id(now: datetime) -> str:
    """An id like the seed's: `eval_20240701_120000_1a2b3c4d5e6f` (48 random bits)."""
    return f"eval_{now:%Y%m%d_%H%M%S}_{secrets.token_hex(6)}"


def check_id(value: str, field: str = "evaluation_id", *, required: bool = True) -> None:
    if not value:
        if required:
            raise InvalidArgument([FieldViolation(field, "is required")])
        return
    if not _ID.fullmatch(value):
        raise InvalidArgument(
            [
                FieldViolation(
                    field,
                    f"must be 1 to {MAX_ID_LENGTH} characters of letters, digits, '_', '-', "
                    "'.' and ':', starting with a letter or digit",
                )
            ]
        )


def check_language(value: str, violations: Violations, field: str = "language") -> None:
    if value and not _LANGUAGE.fullmatch(value):
        violations.add(
            field,
            "must be 1 to 32 characters of lower-case letters, digits, '+', '#', '.', '_' and '-'",
        )


def check_code(code: str, violations: Violations) -> None:
    if not code:
        violations.add("code", "is required")
        return
    size = len(code) if code.isascii() else len(code.encode())
    if size > MAX_CODE_BYTES:
        violations.add("code", f"must be at most {MAX_CODE_BYTES} bytes as UTF-8, got {size}")
    elif "\x00" in code:
        violations.add("code", "must not contain NUL characters")


def check_output_size(size: int, field: str, violations: Violations) -> None:
    if size > MAX_OUTPUT_BYTES:
        violations.add(
            field,
            f"must be at most {MAX_OUTPUT_BYTES} bytes; upload larger outputs with "
            "WriteEvaluationOutput",
        )


def check_metadata(value: Mapping[str, Any], field: str, violations: Violations) -> None:
    check_json(value, field, violations)


def check_time(value: datetime | None, field: str, violations: Violations) -> None:
    if value is not None and not _EARLIEST <= value <= _LATEST:
        violations.add(field, "must be between 1970-01-01 and 9999-12-31")


def check_runtime(value: int | None, violations: Violations) -> None:
    if value is not None and not 0 <= value <= MAX_RUNTIME_MS:
        violations.add("runtime_ms", f"must be from 0 to {MAX_RUNTIME_MS}")


def check_expected_version(value: int) -> None:
    if value < 0:
        raise InvalidArgument([FieldViolation("expected_version", "must not be negative")])


def check_running(running: RunningInfo | None, violations: Violations) -> None:
    if running is None:
        return
    check_text(running.container_id, "running.container_id", violations, max_length=256)
    check_text(running.host, "running.host", violations, max_length=256)
    check_text(running.image, "running.image", violations, max_length=512)
    check_time(running.start_time, "running.start_time", violations)
    for name, maximum in _LIMITS:
        value = getattr(running.limits, name)
        if not 0 <= value <= maximum:
            violations.add(f"running.limits.{name}", f"must be from 0 to {maximum}")


def check_task(task_id: str, retries: int, violations: Violations) -> None:
    if not task_id:
        violations.add("task_id", "is required")
    else:
        check_text(task_id, "task_id", violations, max_length=MAX_TASK_ID_LENGTH)
    if not 0 <= retries <= MAX_RETRIES:
        violations.add("retries", f"must be from 0 to {MAX_RETRIES}")


def check_event(type_: str, message: str, violations: Violations) -> None:
    if not type_:
        violations.add("type", "is required")
    elif not _EVENT_TYPE.fullmatch(type_):
        violations.add(
            "type", "must be 1 to 64 characters of lower-case letters, digits, '_', '-', '.'"
        )
    elif type_.startswith(RESERVED_EVENT_PREFIX):
        violations.add("type", f"types starting {RESERVED_EVENT_PREFIX!r} are the server's")
    check_text(message, "message", violations, max_length=MAX_EVENT_MESSAGE)


def merged_metadata(current: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """`current` with each top-level key of `changes` set, or removed where it is None."""
    merged = dict(current)
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged
