"""Hypothesis strategies for the read RPCs: job ids, page tokens and their cursors,
ListJobs' order_by and GetCostTrend's anomaly thresholds.

The jobs they read are seeded once per module by tests/e2e/test_fuzz.py.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from google.protobuf import timestamp_pb2
from hypothesis import strategies as st

from ledger.v1 import money_pb2
from ledger.v1 import results_store_service_pb2 as rs
from ledger_server.domain.paging import encode_token
from tests.support.fuzz_strategies import (
    HOSTILE_MONEY,
    INT64_MAX,
    JSON_LEAF,
    MAX_SECONDS,
    MIN_SECONDS,
    REGIONS,
    SEED_PLAN,
    SEED_USER,
    SERVICES,
    hostile_text,
    valid_money,
)


@dataclass
class Seeded:
    jobs: dict[str, str]  # name -> job id
    tokens: list[str]  # real next_page_tokens of every list RPC
    requests: dict[str, rs.StoreEstimateRequest] = field(default_factory=dict)  # name -> sent
    stored: dict[str, Any] = field(default_factory=dict)  # name -> the Job StoreEstimate answered


def seed_request(
    currency: str, costs: dict[str, int], user: str = SEED_USER
) -> rs.StoreEstimateRequest:
    request = rs.StoreEstimateRequest(user_id=user, terraform_plan_hash=SEED_PLAN)
    request.estimate.currency_code = currency
    for index, (address, units) in enumerate(costs.items()):
        resource = request.estimate.by_resource.add(
            address=address,
            service=SERVICES[index % len(SERVICES)],
            region=REGIONS[index % len(REGIONS)],
            monthly_cost=money_pb2.Money(units=units, nanos=index),
        )
        resource.hourly_cost.units = units // 730
        resource.breakdown.compute.CopyFrom(resource.monthly_cost)
        resource.cost_drivers.update({"instance_type": "m5.large", "hours": 730.0})
    return request


# Job ids and page tokens depend on what the server assigned, so strategies draw
# references that each test resolves against the seeded jobs; that also lets explicit
# examples name a seeded job. A JobRef is ("seed", name), (variant, name) or
# ("text", literal); a TokenRef is ("forged", cursor), ("real", index) or ("text", literal).
JobRef = tuple[str, str]
TokenRef = tuple[str, Any]
SEED_NAMES = ("base", "target", "euro", "empty")
ID_VARIANTS: dict[str, Callable[[str], str]] = {
    "seed": lambda i: i,
    "upper": str.upper,
    "braced": lambda i: "{" + i + "}",
    "urn": lambda i: "urn:uuid:" + i,
    "hex": lambda i: i.replace("-", ""),
    "nul_after": lambda i: i + "\x00",
    "nul_before": lambda i: "\x00" + i,
    "space_after": lambda i: i + " ",
    "short": lambda i: i[:-1],
    "twice": lambda i: i + i,
}
SEEDS = st.sampled_from(SEED_NAMES)
JOB_REFS: st.SearchStrategy[JobRef] = st.one_of(
    SEEDS.map(lambda name: ("seed", name)),
    SEEDS.map(lambda name: ("seed", name)),
    SEEDS.map(lambda name: ("seed", name)),
    st.tuples(st.sampled_from(list(ID_VARIANTS)), SEEDS),
    st.uuids().map(lambda u: ("text", str(u))),
    st.sampled_from(["", "not-a-uuid", "00000000-0000-0000-0000-000000000000", "1" * 65]).map(
        lambda text: ("text", text)
    ),
    hostile_text().map(lambda text: ("text", text)),
)


def resolve_job(ref: JobRef, seeded: Seeded) -> str:
    kind, value = ref
    return value if kind == "text" else ID_VARIANTS[kind](seeded.jobs[value])


# Cursor parts: each list's own cursor shape (time + id, amount + position, amount +
# name, time + id + amount), plausible and hostile values mixed, so forged tokens get
# past the digest and the shape checks and reach the code that uses the cursor.
ANY_PART = st.one_of(
    st.sampled_from(["", "\x00", "a\x00b", "null", "[]", "{}"]),
    st.integers().map(str),
    hostile_text(),
)
TIME_PARTS = st.one_of(
    st.sampled_from(
        [
            "2000-01-01T00:00:00+00:00",
            "2000-01-01",
            "2000-01-01T00:00:00",
            "0001-01-01T00:00:00+14:00",
            "0001-01-01T00:00:00+23:59:59.999999",
            "9999-12-31T23:59:59-23:59",
            "9999-12-31T23:59:59.999999+00:00",
            "2020-01-01T00:00:00+00:00:01",
        ]
    ),
    st.datetimes(timezones=st.none() | st.just(UTC)).map(datetime.isoformat),
    ANY_PART,
)
UUID_PARTS = st.one_of(
    st.uuids().map(str),
    st.sampled_from(
        ["00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff"]
    ),
    ANY_PART,
)
AMOUNT_PARTS = st.one_of(
    st.sampled_from(
        [
            "0",
            "-0",
            "15",
            "1e-9",
            "0.0000000001",
            "1E+30",
            "-1E+30",
            "1E+1000000",
            "-1E+1000000",
            "1E-1000000",
            "NaN",
            "sNaN",
            "Infinity",
        ]
    ),
    st.decimals(places=None).map(str),
    ANY_PART,
)
POSITION_PARTS = st.one_of(
    st.sampled_from(["0", "-1", "1_000", " 1 ", str(INT64_MAX), "9" * 30, "9" * 5000]),
    st.integers().map(str),
    ANY_PART,
)
NAME_PARTS = st.one_of(st.sampled_from([*SERVICES, *REGIONS, "a\x00b"]), ANY_PART)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def token_refs(parts: Sequence[st.SearchStrategy[str]]) -> st.SearchStrategy[TokenRef]:
    """Garbage, real tokens (of this list or another), and tokens forged for the query.

    Tokens are unsigned JSON, so anyone can forge one with the right query digest and
    any cursor inside: the server must treat the cursor as untrusted input.
    """
    shaped = st.tuples(*parts)
    misshaped = st.lists(st.one_of(*parts), max_size=len(parts) + 2).map(tuple)
    forged = st.one_of(shaped, shaped, misshaped).map(lambda cursor: ("forged", cursor))
    json_payloads = st.fixed_dictionaries(
        {"q": st.text(max_size=16) | st.integers(), "c": st.lists(JSON_LEAF, max_size=3)}
    )
    return st.one_of(
        st.just(("text", "")),
        st.integers(0, 7).map(lambda index: ("real", index)),
        hostile_text().map(lambda text: ("text", text)),
        st.binary(max_size=64).map(lambda raw: ("text", _b64(raw))),
        json_payloads.map(lambda payload: ("text", _b64(json.dumps(payload).encode()))),
        forged,
        forged,
        forged,
    )


def resolve_token(ref: TokenRef, scope: Sequence[str], seeded: Seeded) -> str:
    kind, value = ref
    if kind == "forged":
        return encode_token(scope[0], scope[1:], list(value))
    if kind == "real":
        token: str = seeded.tokens[value % len(seeded.tokens)]
        return token
    assert isinstance(value, str)
    return value


def scope_time(message: Any, field: str) -> str:
    """The time as the server keys a query with it; "" when absent or out of range."""
    if not message.HasField(field):
        return ""
    stamp = getattr(message, field)
    if not (MIN_SECONDS <= stamp.seconds <= MAX_SECONDS and 0 <= stamp.nanos < 1_000_000_000):
        return ""
    moment: datetime = stamp.ToDatetime(tzinfo=UTC)
    return moment.isoformat()


def filter_texts(*known: str) -> st.SearchStrategy[str]:
    """Values that match seeded jobs, more often than not, or hostile ones."""
    return st.one_of(st.sampled_from(known), st.sampled_from(["", *known]), hostile_text())


BASE: JobRef = ("seed", "base")
NO_TIME: timestamp_pb2.Timestamp | None = None
# Forged cursors that once reached the database or the arithmetic unchecked.
HUGE_AMOUNT = "1E+1000000"
TINY_AMOUNT = "1E-1000000"
EPOCH_2000 = "2000-01-01T00:00:00+00:00"
ZERO_UUID = "00000000-0000-0000-0000-000000000000"


# --- ListJobs' order_by ---------------------------------------------------------------
# Each spelling the proto documents, with the order it names as the server adds it to a
# page token's scope ("" for the default, which adds nothing).
ORDER_SPELLINGS = {
    "": "",
    "create_time desc": "",
    "  create_time \t desc ": "",
    "create_time": "create_time asc",
    "create_time asc": "create_time asc",
    "total_monthly_cost desc": "total_monthly_cost desc",
    "\ttotal_monthly_cost   desc": "total_monthly_cost desc",
    "total_monthly_cost": "total_monthly_cost asc",
    "total_monthly_cost asc": "total_monthly_cost asc",
}
ORDER_BYS = st.one_of(
    st.sampled_from(list(ORDER_SPELLINGS)),
    st.sampled_from(list(ORDER_SPELLINGS)),
    st.sampled_from(
        [
            "create_time DESC",
            "CREATE_TIME",
            "total_monthly_cost desc, create_time desc",
            "total_monthly_cost,desc",
            "desc",
            "asc create_time",
            "job_id",
            "labels.team desc",
            "total_monthly_cost desc desc",
            "total_monthly_cost\x00desc",
            " " * 60 + "create_time desc",
            "create_time desc" + " " * 60,
        ]
    ),
    hostile_text(),
)


def order_scope(order_by: str) -> tuple[str, ...]:
    """What `order_by` adds to a ListJobs token's scope (nothing for refused ones)."""
    order = ORDER_SPELLINGS.get(order_by, "")
    return (order,) if order else ()


def by_cost(order_by: str) -> bool:
    return ORDER_SPELLINGS.get(order_by, "").startswith("total_monthly_cost")


# --- GetCostTrend's anomaly thresholds ------------------------------------------------
ANOMALY_PERCENTS = st.one_of(
    st.just(""),
    st.sampled_from(["0", "0.01", "12.5", "20", "999999999999999.99"]),
    st.decimals(min_value=0, max_value=10**6, places=2).map(str),
    st.sampled_from(
        [
            "-5",
            "-0",
            "+5",
            "NaN",
            "nan",
            "sNaN",
            "Infinity",
            "-Infinity",
            "1e3",
            "1E+1000000",
            "12.345",
            "5.",
            ".5",
            " 5",
            "5%",
            "\uff15",
            "9" * 16,
            "9" * 5000,
        ]
    ),
    st.floats().map(repr),
    hostile_text(),
)
ANOMALY_AMOUNTS: st.SearchStrategy[money_pb2.Money | None] = st.one_of(
    st.none(), valid_money(["", "USD", "EUR"]), HOSTILE_MONEY
)
