"""Property-based fuzzing of every ResultsStoreService RPC through a real gRPC channel.

Hypothesis throws hostile input at the session server: NUL characters in every string
field, 100k-character strings, lists far past the documented limits (up to 20k
resources, and requests over the 16 MiB message limit), NaN and infinities, money with
nanos out of range or with the wrong sign or at the int64 extremes, timestamps outside
years 0001-9999, negative and huge page sizes, garbage and forged page tokens, random
UUIDs, aggregates that do not reconcile, duplicate addresses. Valid requests are mixed
in, so some calls succeed and later reads find real jobs. (No request message has an
enum field today, so there are no unknown enum values to send.)

Whatever the input, every call must keep DESIGN.md principle 6:

1. the status is OK or one a caller can act on (INVALID_ARGUMENT, NOT_FOUND,
   ALREADY_EXISTS, FAILED_PRECONDITION), never INTERNAL, UNKNOWN, DATA_LOSS or
   UNIMPLEMENTED; RESOURCE_EXHAUSTED only for a request over the message limit;
2. INVALID_ARGUMENT carries a google.rpc.BadRequest naming at least one field, and
   every error an ErrorInfo of domain "ledger.v1";
3. no message or detail shows SQL, a stack trace or an internal name;
4. a call that fails writes nothing (every table of schema `ledger` keeps its row
   count), and a successful StoreEstimate writes exactly one job.
"""

from __future__ import annotations

import base64
import json
import math
import re
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

import grpc
import psycopg2.extensions
import pytest
from google.protobuf import struct_pb2, text_format, timestamp_pb2
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from psycopg2 import sql

from ledger.v1 import estimate_pb2, money_pb2
from ledger.v1 import results_store_service_pb2 as rs
from ledger.v1 import results_store_service_pb2_grpc as rs_grpc
from ledger_server.domain.paging import encode_token
from tests.conftest import ADMIN_KEY
from tests.support.database import connect
from tests.support.server import ServerThread

MAX_MESSAGE_BYTES = 16 * 1024 * 1024  # the server's default max_message_bytes
METADATA = (("authorization", f"Bearer {ADMIN_KEY}"),)
DOMAIN = "ledger.v1"
HUGE = 100_000
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# google.protobuf.Timestamp's valid range, 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
MIN_SECONDS, MAX_SECONDS = -62_135_596_800, 253_402_300_799
NANO = Decimal("0.000000001")
LABEL_KEY = re.compile(r"[a-z0-9][a-z0-9_.\-/]{0,62}")  # as estimate.proto documents it

ALLOWED = {
    grpc.StatusCode.OK,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
}
LEAKS = (
    "SELECT",
    "INSERT",
    "UPDATE ",
    "DELETE ",
    "psycopg",
    "sqlalchemy",
    "Traceback",
    'File "',
    "ledger.job",
    "ledger_server",
)

SERVICES = ("AmazonEC2", "AmazonS3", "AWSLambda", "unknown", "")
REGIONS = ("us-east-1", "eu-west-1", "unknown", "")
USERS = ("", "fuzz-alice", "fuzz-bob")
PLANS = ("", "fuzz-plan-a", "fuzz-plan-b")
PROFILES = ("", "dev", "prod")
SEED_USER = "fuzz-seed-user"
SEED_PLAN = "fuzz-seed-plan"


def fuzz_settings(max_examples: int, *, shrink: bool = True) -> settings:
    """Deterministic settings; `shrink=False` where one example is a 10 MB request, since
    shrinking those would take minutes (the failure report describes the request)."""
    phases = list(Phase) if shrink else [Phase.explicit, Phase.reuse, Phase.generate]
    return settings(
        max_examples=max_examples,
        phases=phases,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.function_scoped_fixture,
        ],
    )


# --- fixtures --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stub(server: ServerThread) -> Iterator[rs_grpc.ResultsStoreServiceStub]:
    # Generous client limits: a limit the server hits must show as the server's answer.
    options = [
        ("grpc.max_receive_message_length", 4 * MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", 4 * MAX_MESSAGE_BYTES),
    ]
    with grpc.insecure_channel(server.target, options=options) as channel:
        yield rs_grpc.ResultsStoreServiceStub(channel)


class RowCounter:
    """Counts the rows of every table in schema `ledger`, found from the catalogue."""

    def __init__(self, connection: psycopg2.extensions.connection) -> None:
        self._connection = connection
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT c.relname FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'ledger' AND c.relkind IN ('r', 'p') ORDER BY 1"
            )
            tables = [name for (name,) in cursor.fetchall()]
        assert "jobs" in tables, f"schema ledger has no jobs table: {tables}"
        self._query = sql.SQL(" UNION ALL ").join(
            sql.SQL("SELECT {name}, count(*) FROM {table}").format(
                name=sql.Literal(table), table=sql.Identifier("ledger", table)
            )
            for table in tables
        )

    def counts(self) -> dict[str, int]:
        with self._connection.cursor() as cursor:
            cursor.execute(self._query)
            return {name: count for name, count in cursor.fetchall()}


@pytest.fixture(scope="module")
def rows(database_url: str) -> Iterator[RowCounter]:
    connection = connect(database_url)
    connection.autocommit = True  # every count sees what the server has committed
    yield RowCounter(connection)
    connection.close()


# --- calling and judging -------------------------------------------------------------

Req = TypeVar("Req", bound=Message)
Resp = TypeVar("Resp", bound=Message)


@dataclass
class Outcome:
    code: grpc.StatusCode
    message: str
    status: Any  # google.rpc.Status from the trailers, None when there was none
    response: Any  # the response message on OK


def invoke(method: grpc.UnaryUnaryMultiCallable[Req, Resp], request: Req) -> Outcome:
    try:
        response = method(request, metadata=METADATA, timeout=120)
    except grpc.RpcError as error:
        status = rpc_status.from_call(error)
        return Outcome(error.code(), error.details() or "", status, None)
    return Outcome(grpc.StatusCode.OK, "", None, response)


def describe(message: Message, limit: int = 3000) -> str:
    """The message in text format, long runs of one character elided, cut at `limit`."""
    text = text_format.MessageToString(message, as_one_line=True)
    text = re.sub(r"(.)\1{19,}", lambda run: f"<{run.group(1)!r} x {len(run.group(0))}>", text)
    size = message.ByteSize()
    shown = text if len(text) <= limit else text[:limit] + " ..."
    return f"{type(message).__name__} ({size} bytes) {{{shown}}}"


def _details(status: Any) -> tuple[list[Any], list[Any]]:
    infos, bad_requests = [], []
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            infos.append(info)
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
            bad_requests.append(bad_request)
    return infos, bad_requests


def assert_well_behaved(rpc: str, request: Message, outcome: Outcome) -> None:
    """Properties 1-3: an allowed status, rich details on errors, nothing internal shown."""
    code = outcome.code
    assert code in ALLOWED, (
        f"{rpc} answered {code.name} ({outcome.message!r}) to {describe(request)}"
    )
    if code is grpc.StatusCode.OK:
        return
    if code is grpc.StatusCode.RESOURCE_EXHAUSTED:
        assert request.ByteSize() > MAX_MESSAGE_BYTES, (
            f"{rpc} answered RESOURCE_EXHAUSTED ({outcome.message!r}) to a request within "
            f"the {MAX_MESSAGE_BYTES}-byte limit: {describe(request)}"
        )
        return
    assert outcome.status is not None, (
        f"{rpc} answered {code.name} ({outcome.message!r}) without google.rpc.Status "
        f"details to {describe(request)}"
    )
    infos, bad_requests = _details(outcome.status)
    assert any(info.domain == DOMAIN for info in infos), (
        f"{rpc} answered {code.name} ({outcome.message!r}) without an ErrorInfo of domain "
        f"{DOMAIN!r}: {outcome.status}"
    )
    if code is grpc.StatusCode.INVALID_ARGUMENT:
        assert any(len(b.field_violations) >= 1 for b in bad_requests), (
            f"{rpc} answered INVALID_ARGUMENT ({outcome.message!r}) without field "
            f"violations to {describe(request)}"
        )
    texts = [outcome.message, outcome.status.message]
    for info in infos:
        texts += [info.reason, info.domain, *info.metadata.keys(), *info.metadata.values()]
    for bad_request in bad_requests:
        for violation in bad_request.field_violations:
            texts += [violation.field, violation.description]
    for text in texts:
        for leak in LEAKS:
            assert leak not in text, f"{rpc} leaked {leak!r} in {text[:2000]!r}"


def call(
    rows: RowCounter,
    rpc: str,
    method: grpc.UnaryUnaryMultiCallable[Req, Resp],
    request: Req,
    *,
    writes: bool = False,
) -> tuple[Outcome, dict[str, int]]:
    """Calls, judges properties 1-3 and returns how many rows each table gained.

    A failed call, or any call of a read-only RPC, must leave every table as it was.
    """
    before = rows.counts()
    outcome = invoke(method, request)
    after = rows.counts()
    assert_well_behaved(rpc, request, outcome)
    written = {t: after[t] - before.get(t, 0) for t in after if after[t] != before.get(t, 0)}
    if outcome.code is not grpc.StatusCode.OK or not writes:
        assert written == {}, (
            f"{rpc} answered {outcome.code.name} but wrote rows {written} for {describe(request)}"
        )
    return outcome, written


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


# --- strategies: StoreEstimate requests ------------------------------------------------


class StoreCase:
    """A request and what the test knows of it: `valid` ones must be stored.

    A plain class, not a dataclass, so Hypothesis reports it by the short `repr` below
    rather than printing a 20,000-resource request in full.
    """

    def __init__(
        self, request: rs.StoreEstimateRequest, *, valid: bool, fresh_request_id: bool = False
    ) -> None:
        self.request = request
        self.valid = valid
        self.fresh_request_id = fresh_request_id

    def __repr__(self) -> str:
        return (
            f"StoreCase(valid={self.valid}, fresh_request_id={self.fresh_request_id}, "
            f"request={describe(self.request)})"
        )


def amount_of(money: money_pb2.Money) -> Decimal:
    return Decimal(money.units) + Decimal(money.nanos) * NANO


def money_of(amount: Decimal) -> money_pb2.Money:
    units, nanos = divmod(int(amount / NANO), 1_000_000_000)
    return money_pb2.Money(units=units, nanos=nanos)


def _service_costs(
    resources: Sequence[estimate_pb2.ResourceCost],
) -> list[estimate_pb2.ServiceCost]:
    sums: dict[str, Decimal] = defaultdict(Decimal)
    counts: dict[str, int] = defaultdict(int)
    for resource in resources:
        key = resource.service or "unknown"
        sums[key] += amount_of(resource.monthly_cost)
        counts[key] += 1
    return [
        estimate_pb2.ServiceCost(
            service=k, monthly_cost=money_of(sums[k]), resource_count=counts[k]
        )
        for k in sums
    ]


@st.composite
def valid_store_cases(draw: st.DrawFn) -> StoreCase:
    """Requests that follow every documented rule, aggregates included or left out."""
    currency = draw(st.sampled_from(["", "USD", "EUR"]))
    money = valid_money(["", currency or "USD"])
    addresses = draw(st.lists(clean_text(16, min_size=1), max_size=6, unique=True))
    resources = []
    for address in addresses:
        resource = estimate_pb2.ResourceCost(
            address=address,
            name=draw(clean_text(8)),
            resource_type=draw(st.sampled_from(["", "aws_instance", "aws_s3_bucket"])),
            service=draw(st.sampled_from(SERVICES)),
            region=draw(st.sampled_from(REGIONS)),
            monthly_cost=draw(money),
        )
        if draw(st.booleans()):
            resource.hourly_cost.CopyFrom(draw(money))
        if draw(st.booleans()):  # a breakdown whose parts add up to the monthly cost
            resource.breakdown.compute.units = resource.monthly_cost.units
            resource.breakdown.storage.nanos = resource.monthly_cost.nanos
            resource.breakdown.network.SetInParent()
        resource.cost_drivers.update(draw(VALID_STRUCT))
        resource.assumptions.update(draw(VALID_STRUCT))
        resources.append(resource)
    estimate = estimate_pb2.Estimate(
        currency_code=currency,
        confidence_score=draw(st.floats(0, 1)),
        by_resource=resources,
    )
    if draw(st.booleans()):
        total = sum((amount_of(r.monthly_cost) for r in resources), Decimal(0))
        estimate.total_monthly_cost.CopyFrom(money_of(total))
    if draw(st.booleans()):
        estimate.by_service.extend(draw(st.permutations(_service_costs(resources))))
    if draw(st.booleans()):
        by_region: dict[str, list[estimate_pb2.ResourceCost]] = defaultdict(list)
        for resource in resources:
            by_region[resource.region or "unknown"].append(resource)
        for region, members in by_region.items():
            entry = estimate.by_region.add(
                region=region,
                monthly_cost=money_of(
                    sum((amount_of(r.monthly_cost) for r in members), Decimal(0))
                ),
                resource_count=len(members),
            )
            if draw(st.booleans()):
                entry.services.extend(_service_costs(members))
    request = rs.StoreEstimateRequest(
        estimate=estimate,
        user_id=draw(st.sampled_from(USERS)),
        terraform_plan_hash=draw(st.sampled_from(PLANS)),
        profile=draw(st.sampled_from(PROFILES)),
        labels=draw(
            st.dictionaries(st.from_regex(LABEL_KEY, fullmatch=True), clean_text(10), max_size=4)
        ),
    )
    return StoreCase(request, valid=True, fresh_request_id=draw(st.booleans()))


Mutation = Callable[[st.DrawFn, rs.StoreEstimateRequest], None]


def _some_resource(draw: st.DrawFn, request: rs.StoreEstimateRequest) -> estimate_pb2.ResourceCost:
    resources = request.estimate.by_resource
    if not resources:
        return resources.add(address="added", monthly_cost=money_pb2.Money(units=1))
    return resources[draw(st.integers(0, len(resources) - 1))]


def _string_slots(request: rs.StoreEstimateRequest) -> list[tuple[Message, str]]:
    estimate = request.estimate
    slots: list[tuple[Message, str]] = [
        (request, "user_id"),
        (request, "terraform_plan_hash"),
        (request, "profile"),
        (request, "request_id"),
        (estimate, "currency_code"),
    ]
    for resource in estimate.by_resource:
        for name in ("address", "name", "resource_type", "service", "region"):
            slots.append((resource, name))
        slots.append((resource.monthly_cost, "currency_code"))
    for service in estimate.by_service:
        slots.append((service, "service"))
    for region in estimate.by_region:
        slots.append((region, "region"))
        slots.extend((service, "service") for service in region.services)
    return slots


def _money_slots(request: rs.StoreEstimateRequest) -> list[tuple[Message, str]]:
    estimate = request.estimate
    slots: list[tuple[Message, str]] = [(estimate, "total_monthly_cost")]
    for resource in estimate.by_resource:
        slots += [(resource, "monthly_cost"), (resource, "hourly_cost")]
        slots += [(resource.breakdown, part) for part in ("compute", "storage", "network", "other")]
    slots += [(service, "monthly_cost") for service in estimate.by_service]
    slots += [(region, "monthly_cost") for region in estimate.by_region]
    return slots


def hostile_string(draw: st.DrawFn, request: rs.StoreEstimateRequest) -> None:
    target, field = draw(st.sampled_from(_string_slots(request)))
    setattr(target, field, draw(hostile_text()))


def hostile_everything(draw: st.DrawFn, request: rs.StoreEstimateRequest) -> None:
    for target, field in _string_slots(request):
        setattr(target, field, draw(hostile_text()))


def hostile_label(draw: st.DrawFn, request: rs.StoreEstimateRequest) -> None:
    key = draw(
        st.sampled_from(["", "A", "-x", "a\n", "a\x00", "x" * 63, "x" * 64, "ключ", "a b"])
        | hostile_text()
    )
    request.labels[key] = draw(hostile_text())


def too_many_labels(draw: st.DrawFn, request: rs.StoreEstimateRequest) -> None:
    count = draw(st.sampled_from([64, 65, 1000]))
    request.labels.update({f"k{i}": "v" for i in range(count)})


def hostile_struct(draw: st.DrawFn, request: rs.StoreEstimateRequest) -> None:
    resource = _some_resource(draw, request)
    struct: struct_pb2.Struct = getattr(
        resource, draw(st.sampled_from(["cost_drivers", "assumptions"]))
    )
    key = draw(st.sampled_from(["", "k", "\x00", "k\x00"]) | hostile_text())
    struct.update({key: draw(HOSTILE_JSON)})


def hostile_confidence(draw: st.DrawFn, request: rs.StoreEstimateRequest) -> None:
    request.estimate.confidence_score = draw(HOSTILE_FLOATS)


def hostile_money(draw: st.DrawFn, request: rs.StoreEstimateRequest) -> None:
    target, field = draw(st.sampled_from(_money_slots(request)))
    getattr(target, field).CopyFrom(draw(HOSTILE_MONEY))


def missing_monthly_cost(draw: st.DrawFn, request: rs.StoreEstimateRequest) -> None:
    _some_resource(draw, request).ClearField("monthly_cost")


def duplicate_address(draw: st.DrawFn, request: rs.StoreEstimateRequest) -> None:
    original = _some_resource(draw, request)
    copy = request.estimate.by_resource.add()
    copy.CopyFrom(original)
    if draw(st.booleans()):
        copy.monthly_cost.units += 1


def mismatched_aggregates(draw: st.DrawFn, request: rs.StoreEstimateRequest) -> None:
    estimate = request.estimate
    entries = st.builds(
        estimate_pb2.ServiceCost,
        service=st.sampled_from(SERVICES) | hostile_text(),
        monthly_cost=HOSTILE_MONEY | valid_money([""]),
        resource_count=st.integers(INT32_MIN, INT32_MAX) | st.integers(0, 3),
    )
    choice = draw(st.sampled_from(["total", "services", "regions"]))
    if choice == "total":
        estimate.total_monthly_cost.CopyFrom(draw(valid_money(["", "USD"])))
    elif choice == "services":
        estimate.by_service.extend(draw(st.lists(entries, min_size=1, max_size=4)))
    else:
        for _ in range(draw(st.integers(1, 3))):
            entry = estimate.by_region.add(
                region=draw(st.sampled_from(REGIONS) | hostile_text()),
                monthly_cost=draw(valid_money([""])),
                resource_count=draw(st.integers(-1, 3)),
            )
            entry.services.extend(draw(st.lists(entries, max_size=3)))


def many_resources(draw: st.DrawFn, request: rs.StoreEstimateRequest) -> None:
    count = draw(st.sampled_from([10_000, 10_001, 20_000]))
    # Each flavour but "unique" gives every resource its own field violation.
    flavour = draw(st.sampled_from(["unique", "duplicate", "nul", "negative"]))
    request.estimate.ClearField("by_resource")
    request.estimate.ClearField("total_monthly_cost")
    request.estimate.ClearField("by_service")
    request.estimate.ClearField("by_region")
    request.estimate.by_resource.extend(
        estimate_pb2.ResourceCost(
            address="aws_instance.same" if flavour == "duplicate" else f"aws_instance.fleet[{i}]",
            service="EC2\x00" if flavour == "nul" else SERVICES[i % 3],
            monthly_cost=money_pb2.Money(units=-1 if flavour == "negative" else i % 100, nanos=0),
        )
        for i in range(count)
    )


def broken_breakdown(draw: st.DrawFn, request: rs.StoreEstimateRequest) -> None:
    resource = _some_resource(draw, request)
    part = draw(st.sampled_from(["compute", "storage", "network", "other"]))
    getattr(resource.breakdown, part).CopyFrom(draw(valid_money(["", "USD"]) | HOSTILE_MONEY))


def no_estimate(draw: st.DrawFn, request: rs.StoreEstimateRequest) -> None:
    request.ClearField("estimate")


def oversize(draw: st.DrawFn, request: rs.StoreEstimateRequest) -> None:
    request.user_id = "x" * (MAX_MESSAGE_BYTES + 1)


MUTATIONS: list[Mutation] = [
    hostile_string,
    hostile_string,
    hostile_everything,
    hostile_label,
    too_many_labels,
    hostile_struct,
    hostile_confidence,
    hostile_money,
    missing_monthly_cost,
    duplicate_address,
    mismatched_aggregates,
    many_resources,
    broken_breakdown,
    no_estimate,
    oversize,
]


@st.composite
def hostile_store_cases(draw: st.DrawFn) -> StoreCase:
    case = draw(valid_store_cases())
    for mutation in draw(st.lists(st.sampled_from(MUTATIONS), min_size=1, max_size=3)):
        mutation(draw, case.request)
    return StoreCase(case.request, valid=False, fresh_request_id=case.fresh_request_id)


STORE_CASES = st.one_of(
    valid_store_cases(),
    hostile_store_cases(),
    hostile_store_cases(),
    st.just(StoreCase(rs.StoreEstimateRequest(), valid=False)),
)


def _big_request(count: int, address: Callable[[int], str]) -> StoreCase:
    request = rs.StoreEstimateRequest()
    request.estimate.by_resource.extend(
        estimate_pb2.ResourceCost(address=address(i), monthly_cost=money_pb2.Money(units=1))
        for i in range(count)
    )
    return StoreCase(request, valid=False)


def _small_request(
    *, labels: dict[str, str] | None = None, duplicates: int = 0, by_service_name: str = ""
) -> StoreCase:
    """One resource, plus: labels, copies of its address, or a by_service entry."""
    request = rs.StoreEstimateRequest(labels=labels or {})
    for _ in range(1 + duplicates):
        request.estimate.by_resource.add(address="aws_instance.web", monthly_cost={"units": 1})
    if by_service_name:
        request.estimate.by_service.add(service=by_service_name, monthly_cost={"units": 1})
    return StoreCase(request, valid=False)


# --- StoreEstimate ---------------------------------------------------------------------


@fuzz_settings(max_examples=150, shrink=False)
@given(case=STORE_CASES)
@example(case=StoreCase(rs.StoreEstimateRequest(), valid=False))
@example(case=_small_request(labels={"team\n": "x"}))
@example(case=_small_request(duplicates=200))
@example(case=_small_request(by_service_name="x" * HUGE))
@example(case=_big_request(20_000, lambda i: f"r{i}"))
@example(case=_big_request(20_000, lambda i: "same"))
@example(
    case=StoreCase(rs.StoreEstimateRequest(user_id="x" * (MAX_MESSAGE_BYTES + 1)), valid=False)
)
def test_store_estimate_never_fails_internally(
    stub: rs_grpc.ResultsStoreServiceStub, rows: RowCounter, case: StoreCase
) -> None:
    request = case.request
    if case.fresh_request_id and not request.request_id:
        request.request_id = f"fuzz-{uuid.uuid4()}"
    outcome, written = call(rows, "StoreEstimate", stub.StoreEstimate, request, writes=True)
    if case.valid:
        assert outcome.code is grpc.StatusCode.OK, (
            f"a valid estimate was refused with {outcome.code.name}: {outcome.message!r}; "
            f"{describe(request)}"
        )
    if outcome.code is not grpc.StatusCode.OK:
        return

    resources = len(request.estimate.by_resource)
    assert written.get("jobs") == 1, f"a stored estimate wrote {written}"
    assert written.get("job_resources", 0) == resources, f"{resources} resources: {written}"
    assert written.get("request_ids", 0) == (1 if request.request_id else 0), written
    job = outcome.response.job
    assert job.resource_count == resources
    bad_keys = [key for key in job.labels if not LABEL_KEY.fullmatch(key)]
    assert not bad_keys, f"labels keys outside the documented pattern were stored: {bad_keys!r}"
    if not request.request_id:
        return

    # A true retry answers the first job and writes nothing; another body is refused.
    retry, written = call(rows, "StoreEstimate", stub.StoreEstimate, request, writes=True)
    assert retry.code is grpc.StatusCode.OK, retry.message
    assert retry.response.job.job_id == job.job_id
    assert written == {}, f"a retry wrote {written}"
    changed = rs.StoreEstimateRequest()
    changed.CopyFrom(request)
    changed.profile = "fuzz-retry" if request.profile != "fuzz-retry" else "fuzz-retry-2"
    reused, _ = call(rows, "StoreEstimate", stub.StoreEstimate, changed, writes=True)
    assert reused.code is grpc.StatusCode.ALREADY_EXISTS, reused.code.name


# --- seeded jobs and read strategies ---------------------------------------------------


@dataclass
class Seeded:
    jobs: dict[str, str]  # name -> job id
    tokens: list[str]  # real next_page_tokens of every list RPC


def _seed_request(
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


@pytest.fixture(scope="module")
def seeded(stub: rs_grpc.ResultsStoreServiceStub) -> Seeded:
    requests = {
        "base": _seed_request("USD", {f"aws_instance.a[{i}]": 10 * i for i in range(7)}),
        "target": _seed_request(
            "USD", {f"aws_instance.a[{i}]": 10 * i + i % 2 for i in range(3, 11)}
        ),
        "euro": _seed_request("EUR", {"aws_instance.eu": 5, "aws_s3_bucket.eu": 7}),
        "empty": _seed_request("USD", {}),
    }
    jobs = {}
    for name, request in requests.items():
        jobs[name] = stub.StoreEstimate(request, metadata=METADATA).job.job_id
    base = jobs["base"]
    pages: list[Any] = [
        stub.ListJobs(rs.ListJobsRequest(page_size=1), metadata=METADATA),
        stub.ListJobs(rs.ListJobsRequest(page_size=1, user_id=SEED_USER), metadata=METADATA),
        stub.ListJobResources(
            rs.ListJobResourcesRequest(job_id=base, page_size=1), metadata=METADATA
        ),
        stub.ListJobServices(
            rs.ListJobServicesRequest(job_id=base, page_size=1), metadata=METADATA
        ),
        stub.ListJobRegions(rs.ListJobRegionsRequest(job_id=base, page_size=1), metadata=METADATA),
        stub.GetCostTrend(
            rs.GetCostTrendRequest(user_id=SEED_USER, page_size=1), metadata=METADATA
        ),
        stub.GetCostTrend(
            rs.GetCostTrendRequest(terraform_plan_hash=SEED_PLAN, page_size=2), metadata=METADATA
        ),
    ]
    tokens = [page.next_page_token for page in pages]
    assert all(tokens), "every seeded list should have a second page"
    return Seeded(jobs, tokens)


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
        st.integers(0, 6).map(lambda index: ("real", index)),
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
        return encode_token(scope, list(value))
    if kind == "real":
        token: str = seeded.tokens[value % len(seeded.tokens)]
        return token
    assert isinstance(value, str)
    return value


def _iso(message: Any, field: str) -> str:
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


def assert_page(items: Sequence[Any], requested: int, default: int) -> None:
    assert len(items) <= min(requested or default, 1000)


BASE: JobRef = ("seed", "base")
NO_TIME: timestamp_pb2.Timestamp | None = None
# Forged cursors that once reached the database or the arithmetic unchecked.
HUGE_AMOUNT = "1E+1000000"
TINY_AMOUNT = "1E-1000000"
EPOCH_2000 = "2000-01-01T00:00:00+00:00"
ZERO_UUID = "00000000-0000-0000-0000-000000000000"


# --- reads ---------------------------------------------------------------------------


@fuzz_settings(max_examples=200)
@given(job=JOB_REFS)
def test_get_job_never_fails_internally(
    stub: rs_grpc.ResultsStoreServiceStub, rows: RowCounter, seeded: Seeded, job: JobRef
) -> None:
    request = rs.GetJobRequest(job_id=resolve_job(job, seeded))
    outcome, _ = call(rows, "GetJob", stub.GetJob, request)
    if outcome.code is grpc.StatusCode.OK:
        assert outcome.response.job.job_id == str(uuid.UUID(request.job_id))


@fuzz_settings(max_examples=200)
@given(
    page_size=PAGE_SIZES,
    user_id=filter_texts(SEED_USER, *USERS),
    profile=filter_texts(*PROFILES),
    plan=filter_texts(SEED_PLAN, *PLANS),
    start_time=TIMESTAMPS,
    end_time=TIMESTAMPS,
    token=token_refs([TIME_PARTS, UUID_PARTS]),
)
@example(
    0, "", "", "", NO_TIME, NO_TIME, ("forged", ("0001-01-01T00:00:00+23:59:59.999999", ZERO_UUID))
)
@example(0, "", "", "", NO_TIME, NO_TIME, ("forged", ("2020-01-01T00:00:00+00:00:01", ZERO_UUID)))
def test_list_jobs_never_fails_internally(
    stub: rs_grpc.ResultsStoreServiceStub,
    rows: RowCounter,
    seeded: Seeded,
    page_size: int,
    user_id: str,
    profile: str,
    plan: str,
    start_time: timestamp_pb2.Timestamp | None,
    end_time: timestamp_pb2.Timestamp | None,
    token: TokenRef,
) -> None:
    request = rs.ListJobsRequest(
        page_size=page_size, user_id=user_id, profile=profile, terraform_plan_hash=plan
    )
    set_time(request, "start_time", start_time)
    set_time(request, "end_time", end_time)
    scope = (
        "ListJobs",
        user_id,
        profile,
        plan,
        _iso(request, "start_time"),
        _iso(request, "end_time"),
    )
    request.page_token = resolve_token(token, scope, seeded)
    outcome, _ = call(rows, "ListJobs", stub.ListJobs, request)
    if outcome.code is grpc.StatusCode.OK:
        assert_page(outcome.response.jobs, page_size, 50)


@fuzz_settings(max_examples=200)
@given(
    job=JOB_REFS,
    page_size=PAGE_SIZES,
    service=filter_texts(*SERVICES),
    region=filter_texts(*REGIONS),
    token=token_refs([AMOUNT_PARTS, POSITION_PARTS]),
)
@example(BASE, 0, "", "", ("forged", (HUGE_AMOUNT, "0")))
@example(BASE, 0, "", "", ("forged", (TINY_AMOUNT, "0")))
@example(BASE, 0, "", "", ("forged", ("0", "9" * 5000)))
def test_list_job_resources_never_fails_internally(
    stub: rs_grpc.ResultsStoreServiceStub,
    rows: RowCounter,
    seeded: Seeded,
    job: JobRef,
    page_size: int,
    service: str,
    region: str,
    token: TokenRef,
) -> None:
    request = rs.ListJobResourcesRequest(
        job_id=resolve_job(job, seeded), page_size=page_size, service=service, region=region
    )
    scope = ("ListJobResources", request.job_id, service, region)
    request.page_token = resolve_token(token, scope, seeded)
    outcome, _ = call(rows, "ListJobResources", stub.ListJobResources, request)
    if outcome.code is grpc.StatusCode.OK:
        assert_page(outcome.response.resources, page_size, 100)


@fuzz_settings(max_examples=150)
@given(job=JOB_REFS, page_size=PAGE_SIZES, token=token_refs([AMOUNT_PARTS, NAME_PARTS]))
@example(BASE, 0, ("forged", (HUGE_AMOUNT, "")))
@example(BASE, 0, ("forged", ("0", "a\x00b")))
def test_list_job_services_never_fails_internally(
    stub: rs_grpc.ResultsStoreServiceStub,
    rows: RowCounter,
    seeded: Seeded,
    job: JobRef,
    page_size: int,
    token: TokenRef,
) -> None:
    request = rs.ListJobServicesRequest(job_id=resolve_job(job, seeded), page_size=page_size)
    request.page_token = resolve_token(token, ("ListJobServices", request.job_id), seeded)
    outcome, _ = call(rows, "ListJobServices", stub.ListJobServices, request)
    if outcome.code is grpc.StatusCode.OK:
        assert_page(outcome.response.services, page_size, 100)


@fuzz_settings(max_examples=150)
@given(job=JOB_REFS, page_size=PAGE_SIZES, token=token_refs([AMOUNT_PARTS, NAME_PARTS]))
@example(BASE, 0, ("forged", (HUGE_AMOUNT, "")))
@example(BASE, 0, ("forged", ("0", "a\x00b")))
def test_list_job_regions_never_fails_internally(
    stub: rs_grpc.ResultsStoreServiceStub,
    rows: RowCounter,
    seeded: Seeded,
    job: JobRef,
    page_size: int,
    token: TokenRef,
) -> None:
    request = rs.ListJobRegionsRequest(job_id=resolve_job(job, seeded), page_size=page_size)
    request.page_token = resolve_token(token, ("ListJobRegions", request.job_id), seeded)
    outcome, _ = call(rows, "ListJobRegions", stub.ListJobRegions, request)
    if outcome.code is grpc.StatusCode.OK:
        assert_page(outcome.response.regions, page_size, 100)


@fuzz_settings(max_examples=150)
@given(base=JOB_REFS, target=JOB_REFS)
@example(BASE, ("seed", "euro"))
def test_compare_jobs_never_fails_internally(
    stub: rs_grpc.ResultsStoreServiceStub,
    rows: RowCounter,
    seeded: Seeded,
    base: JobRef,
    target: JobRef,
) -> None:
    request = rs.CompareJobsRequest(
        base_job_id=resolve_job(base, seeded), target_job_id=resolve_job(target, seeded)
    )
    outcome, _ = call(rows, "CompareJobs", stub.CompareJobs, request)
    if outcome.code is grpc.StatusCode.OK:
        assert outcome.response.base.job_id == str(uuid.UUID(request.base_job_id))


@fuzz_settings(max_examples=200)
@given(
    series=st.sampled_from(["user", "plan", "both", "neither"]),
    user_id=filter_texts(SEED_USER),
    plan=filter_texts(SEED_PLAN),
    page_size=PAGE_SIZES,
    start_time=TIMESTAMPS,
    end_time=TIMESTAMPS,
    token=token_refs([TIME_PARTS, UUID_PARTS, AMOUNT_PARTS]),
)
@example(
    "user", SEED_USER, "", 0, NO_TIME, NO_TIME, ("forged", (EPOCH_2000, ZERO_UUID, HUGE_AMOUNT))
)
@example("user", SEED_USER, "", 0, NO_TIME, NO_TIME, ("forged", (EPOCH_2000, ZERO_UUID, "1E+30")))
@example("plan", "", SEED_PLAN, 0, NO_TIME, NO_TIME, ("forged", (EPOCH_2000, ZERO_UUID, "1e-10")))
def test_get_cost_trend_never_fails_internally(
    stub: rs_grpc.ResultsStoreServiceStub,
    rows: RowCounter,
    seeded: Seeded,
    series: str,
    user_id: str,
    plan: str,
    page_size: int,
    start_time: timestamp_pb2.Timestamp | None,
    end_time: timestamp_pb2.Timestamp | None,
    token: TokenRef,
) -> None:
    request = rs.GetCostTrendRequest(
        user_id=user_id if series in ("user", "both") else "",
        terraform_plan_hash=plan if series in ("plan", "both") else "",
        page_size=page_size,
    )
    set_time(request, "start_time", start_time)
    set_time(request, "end_time", end_time)
    scope = (
        "GetCostTrend",
        request.user_id,
        "",
        request.terraform_plan_hash,
        _iso(request, "start_time"),
        _iso(request, "end_time"),
    )
    request.page_token = resolve_token(token, scope, seeded)
    outcome, _ = call(rows, "GetCostTrend", stub.GetCostTrend, request)
    if outcome.code is grpc.StatusCode.OK:
        assert_page(outcome.response.points, page_size, 100)


# --- edges that random generation reaches too rarely ---------------------------------


def test_every_rpc_answers_an_empty_request_cleanly(
    stub: rs_grpc.ResultsStoreServiceStub, rows: RowCounter
) -> None:
    empty: list[tuple[str, Any, Message]] = [
        ("StoreEstimate", stub.StoreEstimate, rs.StoreEstimateRequest()),
        ("GetJob", stub.GetJob, rs.GetJobRequest()),
        ("ListJobs", stub.ListJobs, rs.ListJobsRequest()),
        ("ListJobResources", stub.ListJobResources, rs.ListJobResourcesRequest()),
        ("ListJobServices", stub.ListJobServices, rs.ListJobServicesRequest()),
        ("ListJobRegions", stub.ListJobRegions, rs.ListJobRegionsRequest()),
        ("CompareJobs", stub.CompareJobs, rs.CompareJobsRequest()),
        ("GetCostTrend", stub.GetCostTrend, rs.GetCostTrendRequest()),
    ]
    for rpc, method, request in empty:
        outcome, _ = call(rows, rpc, method, request)
        expected = grpc.StatusCode.OK if rpc == "ListJobs" else grpc.StatusCode.INVALID_ARGUMENT
        assert outcome.code is expected, f"{rpc}: {outcome.code.name} {outcome.message!r}"


def test_compare_jobs_of_two_largest_estimates_answers(
    stub: rs_grpc.ResultsStoreServiceStub, rows: RowCounter
) -> None:
    """Two estimates at the documented maximum (10,000 resources, 1,024-character
    addresses), with no resource in common: each fits a request, so comparing them must
    answer, not overflow the message limit with a 20,000-entry diff."""
    ids = []
    for side in "ab":
        request = rs.StoreEstimateRequest(user_id="fuzz-largest")
        request.estimate.by_resource.extend(
            estimate_pb2.ResourceCost(
                address=f"{side * 1000}[{i}]".ljust(1024, "."),
                monthly_cost=money_pb2.Money(units=1),
            )
            for i in range(10_000)
        )
        outcome, _ = call(rows, "StoreEstimate", stub.StoreEstimate, request, writes=True)
        assert outcome.code is grpc.StatusCode.OK, outcome.message
        ids.append(outcome.response.job.job_id)
    compare = rs.CompareJobsRequest(base_job_id=ids[0], target_job_id=ids[1])
    outcome, _ = call(rows, "CompareJobs", stub.CompareJobs, compare)
    assert outcome.code is grpc.StatusCode.OK, f"{outcome.code.name}: {outcome.message!r}"
