"""Hypothesis strategies for the values inside requests: text, numbers, money, time, JSON.

Hostile values sit around every documented limit: NUL characters, 100k-character
strings, NaN and infinities, money and timestamps outside their ranges.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from google.protobuf import timestamp_pb2
from google.protobuf.message import Message
from hypothesis import strategies as st

from ledger.v1 import money_pb2

HUGE = 100_000
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# google.protobuf.Timestamp's valid range, 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
MIN_SECONDS, MAX_SECONDS = -62_135_596_800, 253_402_300_799

LABEL_KEY = re.compile(r"[a-z0-9][a-z0-9_.\-/]{0,62}")  # as estimate.proto documents it

SERVICES = ("AmazonEC2", "AmazonS3", "AWSLambda", "unknown", "")
REGIONS = ("us-east-1", "eu-west-1", "unknown", "")
USERS = ("", "fuzz-alice", "fuzz-bob")
PLANS = ("", "fuzz-plan-a", "fuzz-plan-b")
PROFILES = ("", "dev", "prod")
SEED_USER = "fuzz-seed-user"
SEED_PLAN = "fuzz-seed-plan"

# --- strategies: text, numbers, money, time -------------------------------------------

ANY_CHAR = st.characters(exclude_categories=["Cs"])  # protobuf strings are valid UTF-8
CLEAN_CHAR = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
LENGTHS = (63, 64, 65, 128, 129, 256, 257, 1024, 1025, HUGE, HUGE, HUGE)


def clean_text(max_size: int = 12, min_size: int = 0) -> st.SearchStrategy[str]:
    return st.text(CLEAN_CHAR, min_size=min_size, max_size=max_size)


def hostile_text() -> st.SearchStrategy[str]:
    """Empty, random, NUL-laden or huge strings, around every documented length limit."""
    return st.one_of(
        st.just(""),
        st.text(ANY_CHAR, max_size=12),
        st.builds(lambda head, tail: f"{head}\x00{tail}", clean_text(6), clean_text(6)),
        st.builds(
            lambda char, length: char * length,
            st.sampled_from(["x", "\x00", "é", "\U0001d11e"]),
            st.sampled_from(LENGTHS),
        ),
    )


HOSTILE_FLOATS = st.one_of(
    st.sampled_from(
        [math.nan, -math.nan, math.inf, -math.inf, -0.0, 1.0000000001, -1e-300, 5e-324, 1e308]
    ),
    st.floats(),
)
PAGE_SIZES = st.one_of(
    st.sampled_from([0, 1, 2, 3, 1000, 1001, -1, INT32_MIN, INT32_MAX]),
    st.integers(INT32_MIN, INT32_MAX),
)


def valid_money(currencies: Sequence[str]) -> st.SearchStrategy[money_pb2.Money]:
    return st.builds(
        money_pb2.Money,
        currency_code=st.sampled_from(list(currencies)),
        units=st.integers(0, 10_000),
        nanos=st.sampled_from([0, 1, 500_000_000, 999_999_999]) | st.integers(0, 999_999_999),
    )


HOSTILE_MONEY = st.builds(
    money_pb2.Money,
    currency_code=st.sampled_from(["", "USD", "EUR", "usd", "US", "USDX", "\x00SD"])
    | hostile_text(),
    units=st.sampled_from([INT64_MIN, -1, 0, 1, 10**12, 10**12 + 1, INT64_MAX])
    | st.integers(INT64_MIN, INT64_MAX),
    nanos=st.sampled_from(
        [INT32_MIN, -1_000_000_000, -999_999_999, -1, 0, 1, 999_999_999, 1_000_000_000, INT32_MAX]
    )
    | st.integers(INT32_MIN, INT32_MAX),
)


def _timestamp(moment: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment)
    return stamp


TIMESTAMPS: st.SearchStrategy[timestamp_pb2.Timestamp | None] = st.one_of(
    st.none(),
    st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ).map(_timestamp),
    st.builds(
        timestamp_pb2.Timestamp,
        seconds=st.sampled_from(
            [
                MIN_SECONDS - 1,
                MIN_SECONDS,
                0,
                -1,
                MAX_SECONDS,
                MAX_SECONDS + 1,
                INT64_MIN,
                INT64_MAX,
            ]
        )
        | st.integers(INT64_MIN, INT64_MAX),
        nanos=st.sampled_from([-1, 0, 999_999_999, 1_000_000_000, INT32_MIN, INT32_MAX])
        | st.integers(INT32_MIN, INT32_MAX),
    ),
)


def set_time(message: Message, field: str, stamp: timestamp_pb2.Timestamp | None) -> None:
    if stamp is not None:
        getattr(message, field).CopyFrom(stamp)


# --- strategies: free-form JSON (google.protobuf.Struct) ------------------------------

JSON_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
    clean_text(8),
)
VALID_STRUCT = st.dictionaries(
    clean_text(8),
    st.one_of(
        JSON_LEAF,
        st.lists(JSON_LEAF, max_size=3),
        st.dictionaries(clean_text(6), JSON_LEAF, max_size=3),
    ),
    max_size=3,
)


def _nested(depth: int) -> Any:
    value: Any = 1.0
    for level in range(depth):
        value = {"n": value} if level % 2 else [value]
    return value


HOSTILE_JSON = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf, [math.nan], {"\x00": 1.0}, {"k": "\x00"}]),
    HOSTILE_FLOATS,
    hostile_text(),
    st.integers(6, 12).map(_nested),
    st.builds(lambda length: ["x" * 100] * length, st.sampled_from([10, 700, 2000])),
    JSON_LEAF,
)
