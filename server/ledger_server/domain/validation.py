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
    problem = _json_problem(value, depth=1)
    if problem:
        violations.add(path, problem)
        return
    if _json_bytes_bound(value) <= MAX_JSON_BYTES:
        return  # surely within the limit: no need to encode it
    size = len(json.dumps(value, ensure_ascii=False).encode())
    if size > MAX_JSON_BYTES:
        violations.add(path, f"must be at most {MAX_JSON_BYTES} bytes as JSON, got {size}")


def _json_problem(value: Any, depth: int) -> str | None:
    if depth > MAX_JSON_DEPTH:
        return f"must nest at most {MAX_JSON_DEPTH} levels deep"
    if isinstance(value, str):
        return "must not contain NUL characters" if "\x00" in value else None
    if isinstance(value, float):
        return None if math.isfinite(value) else "numbers must be finite (no NaN or infinity)"
    if isinstance(value, Mapping):
        for key, item in value.items():
            if "\x00" in key:
                return "must not contain NUL characters"
            problem = _json_problem(item, depth + 1)
            if problem:
                return problem
    elif isinstance(value, list):
        for item in value:
            problem = _json_problem(item, depth + 1)
            if problem:
                return problem
    return None


def _json_bytes_bound(value: Any) -> int:
    """An upper bound on the bytes of `value` as UTF-8 JSON, without encoding it."""
    if isinstance(value, str):
        return len(value) * 6 + 2  # a character is at most 6 bytes: \uXXXX, or 4 in UTF-8
    if isinstance(value, Mapping):
        return 2 + sum(_json_bytes_bound(k) + _json_bytes_bound(v) + 2 for k, v in value.items())
    if isinstance(value, list):
        return 2 + sum(_json_bytes_bound(item) + 1 for item in value)
    return 32  # numbers, booleans, null


def check_unit_interval(value: float, path: str, violations: Violations) -> None:
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        violations.add(path, f"must be a number from 0 to 1, got {value!r}")
