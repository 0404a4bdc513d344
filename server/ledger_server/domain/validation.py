"""Shared checks for what callers send: text, labels, free-form JSON, numbers.

PostgreSQL cannot store NUL in text or jsonb, and jsonb has no NaN: such input is
refused here with a field violation instead of failing later inside the database.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from ledger_server.domain.errors import Violations

MAX_LABELS = 64
MAX_JSON_BYTES = 64 * 1024
MAX_JSON_DEPTH = 8
_LABEL_KEY = re.compile(r"[a-z0-9][a-z0-9_.\-/]{0,62}")


def check_text(
    value: str, path: str, violations: Violations, *, max_length: int, required: bool = False
) -> None:
    if required and not value:
        violations.add(path, "is required")
    elif len(value) > max_length:
        violations.add(path, f"must be at most {max_length} characters, got {len(value)}")
    elif "\x00" in value:
        violations.add(path, "must not contain NUL characters")


def check_labels(labels: Mapping[str, str], path: str, violations: Violations) -> None:
    if len(labels) > MAX_LABELS:
        violations.add(path, f"must have at most {MAX_LABELS} entries, got {len(labels)}")
        return
    for key, value in labels.items():
        if not _LABEL_KEY.fullmatch(key):
            violations.add(
                f"{path}[{key[:64]!r}]",
                "key must be 1-63 characters of a-z, 0-9, '_', '-', '.', '/' starting with "
                "a letter or digit",
            )
        check_text(value, f"{path}[{key[:64]!r}]", violations, max_length=256)


def check_json(value: Mapping[str, Any], path: str, violations: Violations) -> None:
    """Free-form JSON: finite numbers, no NUL, bounded depth and size."""
    if not value:
        return
    try:
        bound = _json_bytes_bound(value, depth=1)
    except _Refused as refused:
        violations.add(path, str(refused))
        return
    if bound <= MAX_JSON_BYTES:
        return  # surely within the limit: no need to encode it
    size = len(json.dumps(value, ensure_ascii=False).encode())
    if size > MAX_JSON_BYTES:
        violations.add(path, f"must be at most {MAX_JSON_BYTES} bytes as JSON, got {size}")


class _Refused(Exception):
    """What makes a JSON value unstorable; its text is the violation's description."""


def _json_bytes_bound(value: Any, depth: int) -> int:
    """An upper bound on the bytes of `value` as UTF-8 JSON, checking it on the way.

    One walk both checks and measures, because it runs for every resource of every
    estimate. Raises `_Refused` for what jsonb cannot hold or Ledger does not accept.
    """
    if depth > MAX_JSON_DEPTH:
        raise _Refused(f"must nest at most {MAX_JSON_DEPTH} levels deep")
    kind = type(value)
    if kind not in _PLAIN_KINDS:
        kind = _kind_of(value)
    if kind is str:
        if "\x00" in value:
            raise _Refused("must not contain NUL characters")
        return len(value) * 6 + 2  # a character is at most 6 bytes: \uXXXX, or 4 in UTF-8
    if kind is float:
        if not math.isfinite(value):
            raise _Refused("numbers must be finite (no NaN or infinity)")
        return 32
    if kind is dict:
        total = 2
        for key, item in value.items():
            if "\x00" in key:
                raise _Refused("must not contain NUL characters")
            # The key, its quotes, ": " and the ", " before the next key.
            total += len(key) * 6 + 6 + _json_bytes_bound(item, depth + 1)
        return total
    if kind is list:
        return 2 + sum(_json_bytes_bound(item, depth + 1) + 2 for item in value)  # ", "
    return 32  # integers, booleans, null


_PLAIN_KINDS = frozenset((str, float, dict, list, int, bool, type(None)))


def _kind_of(value: Any) -> type:
    """The JSON kind of a value whose type is a subclass or another Mapping."""
    for base in (str, float, list):
        if isinstance(value, base):
            return base
    return dict if isinstance(value, Mapping) else type(value)


def check_unit_interval(value: float, path: str, violations: Violations) -> None:
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        violations.add(path, f"must be a number from 0 to 1, got {value!r}")
