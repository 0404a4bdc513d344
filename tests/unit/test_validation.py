"""Shared input checks: text, labels, free-form JSON and the 0-1 range, with their messages."""

from __future__ import annotations

import json
import math
from collections import UserDict
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_server.domain.errors import Violations
from ledger_server.domain.validation import (
    MAX_JSON_BYTES,
    _json_bytes_bound,
    check_json,
    check_labels,
    check_text,
    check_unit_interval,
)

KEY_RULE = (
    "key must be 1-63 characters of a-z, 0-9, '_', '-', '.', '/' starting with a letter or digit"
)


def found(check: Any, *args: Any, **kwargs: Any) -> list[tuple[str, str]]:
    violations = Violations()
    check(*args, violations, **kwargs)
    return [(v.field, v.description) for v in violations.items]


def test_check_text() -> None:
    assert found(check_text, "x" * 5, "f", max_length=5) == []
    assert found(check_text, "", "f", max_length=5) == []
    assert found(check_text, "x" * 6, "f", max_length=5) == [
        ("f", "must be at most 5 characters, got 6")
    ]
    assert found(check_text, "", "f", max_length=5, required=True) == [("f", "is required")]
    assert found(check_text, "a\x00", "f", max_length=5) == [
        ("f", "must not contain NUL characters")
    ]
    # One violation per field: the length first.
    assert found(check_text, "\x00" * 6, "f", max_length=5) == [
        ("f", "must be at most 5 characters, got 6")
    ]


def test_check_labels() -> None:
    assert found(check_labels, {f"k{i}": "v" for i in range(64)}, "labels") == []
    assert found(check_labels, {f"k{i}": "v" for i in range(65)}, "labels") == [
        ("labels", "must have at most 64 entries, got 65")
    ]
    good = {"a": "v" * 256, "0-x_y.z/w": "", "x" * 63: "v"}
    assert found(check_labels, good, "labels") == []
    long_key = "K" * 70
    assert found(
        check_labels, {"Bad": "v", "x" * 64: "v", "ok": "v" * 257, "n": "\x00", long_key: ""}, "l"
    ) == [
        ("l['Bad']", KEY_RULE),
        (f"l[{'x' * 64!r}]", KEY_RULE),
        ("l['ok']", "must be at most 256 characters, got 257"),
        ("l['n']", "must not contain NUL characters"),
        (f"l[{'K' * 64!r}]", KEY_RULE),
    ]


def test_check_unit_interval() -> None:
    for value in (0.0, 1.0, 0.5, -0.0):
        assert found(check_unit_interval, value, "c") == []
    for value in (-0.001, 1.001, 2.0, math.nan, math.inf, -math.inf):
        assert found(check_unit_interval, value, "c") == [
            ("c", f"must be a number from 0 to 1, got {value!r}")
        ]


def _size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False).encode())


def test_check_json_refusals_and_their_messages() -> None:
    assert found(check_json, {}, "j") == []
    assert found(check_json, {"k": math.nan}, "j") == [
        ("j", "numbers must be finite (no NaN or infinity)")
    ]
    assert found(check_json, {"k": [1.0, -math.inf]}, "j") == [
        ("j", "numbers must be finite (no NaN or infinity)")
    ]
    for value in ({"k\x00": 1}, {"k": "a\x00"}, {"k": ["\x00"]}, {"k": {"x": {"y": "\x00"}}}):
        assert found(check_json, value, "j") == [("j", "must not contain NUL characters")]


def _nested(depth: int, leaf: Any, kind: str) -> dict[str, Any]:
    """A dict whose leaf sits `depth` levels down: dicts all the way, or lists in a dict."""
    value = leaf
    for _ in range(depth - 1 if kind == "dict" else depth - 2):
        value = {"n": value} if kind == "dict" else [value]
    return value if kind == "dict" else {"top": value}


@pytest.mark.parametrize("kind", ["dict", "list"])
def test_check_json_nests_at_most_eight_levels(kind: str) -> None:
    eight = _nested(8, 1.0, kind)
    nine = _nested(9, 1.0, kind)
    assert found(check_json, eight, "j") == []
    assert found(check_json, nine, "j") == [("j", "must nest at most 8 levels deep")]


@pytest.mark.parametrize(
    "value",
    [
        {"k": "x" * (MAX_JSON_BYTES - 9)},  # {"k": "..."}: exactly the limit
        {"k": "é" * ((MAX_JSON_BYTES - 9) // 2)},  # two bytes a character
        {"k": [""] * 16382},  # a separator is two bytes: ", "
    ],
)
def test_check_json_takes_json_up_to_the_limit(value: dict[str, Any]) -> None:
    assert _size(value) <= MAX_JSON_BYTES
    assert found(check_json, value, "j") == []


@pytest.mark.parametrize(
    "value",
    [
        {"k": "x" * (MAX_JSON_BYTES - 8)},
        {"k": "\x01" * 10_923},  # \u0001: six bytes a character
        {"k": [""] * 16385},  # 65,547 bytes although each item looks tiny
        {chr(1 + i % 30) * (1 + i // 30): "" for i in range(3000)} | {"pad": "x" * 20_000},
        {"k": [[]] * 16385},
        {"k": [{}] * 16385},
        {f"{i}": [1.0, 2.0, 3.0] for i in range(5000)},
    ],
    ids=[
        "ascii",
        "escaped",
        "empty-strings",
        "escaped-keys",
        "empty-lists",
        "empty-dicts",
        "numbers",
    ],
)
def test_check_json_refuses_json_over_the_limit(value: dict[str, Any]) -> None:
    size = _size(value)
    assert size > MAX_JSON_BYTES
    assert found(check_json, value, "j") == [
        ("j", f"must be at most {MAX_JSON_BYTES} bytes as JSON, got {size}")
    ]


def test_check_json_takes_mappings_and_subclasses() -> None:
    class Text(str):
        pass

    class Number(float):
        pass

    class Items(list[Any]):
        pass

    value = UserDict({"k": Items([Text("a\x00"), Number(1.0)])})
    assert found(check_json, value, "j") == [("j", "must not contain NUL characters")]
    assert found(check_json, UserDict({"k": Number(math.nan)}), "j") == [
        ("j", "numbers must be finite (no NaN or infinity)")
    ]
    assert found(check_json, UserDict({"k": Items([1.0] * 3)}), "j") == []
    assert found(check_json, {"k": Items([Text("x")] * 3)}, "j") == []


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=8),
    lambda children: (
        st.lists(children, max_size=6)
        | st.dictionaries(
            st.text(
                st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=4
            ),
            children,
            max_size=6,
        )
    ),
    max_leaves=40,
)


@settings(max_examples=300, derandomize=True, database=None, deadline=None)
@given(st.dictionaries(st.text(max_size=4).filter(lambda k: "\x00" not in k), JSON, max_size=5))
def test_json_size_bound_never_underestimates(value: dict[str, Any]) -> None:
    """The bound lets check_json skip encoding small values: it must never be too low."""
    try:
        bound = _json_bytes_bound(value, depth=1)
    except Exception:  # too deep: refused before any size matters
        return
    assert bound >= _size(value)


def test_check_labels_names_a_long_key_by_its_first_64_characters() -> None:
    key = "k" * 63 + "LONG"
    assert found(check_labels, {key: "\x00"}, "labels") == [
        (f"labels[{key[:64]!r}]", KEY_RULE),
        (f"labels[{key[:64]!r}]", "must not contain NUL characters"),
    ]


def test_check_json_takes_values_of_other_scalar_types() -> None:
    class Count(int):
        pass

    assert found(check_json, {"n": Count(3), "b": True, "z": None, "i": 10}, "j") == []
