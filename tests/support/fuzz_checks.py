"""Calling an RPC and judging its outcome: the properties every fuzzed call must keep.

tests/e2e/test_fuzz.py lists them (DESIGN.md principle 6): an allowed status, rich
details on every error, nothing internal shown, and no rows written by a failed call.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc
import psycopg2.extensions
from google.protobuf import text_format
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from hypothesis import HealthCheck, Phase, seed, settings
from psycopg2 import sql

from ledger_wire.limits import MAX_MESSAGE_BYTES
from tests.conftest import ADMIN_KEY
from tests.support.fuzz_seed import FUZZ_SEED
from tests.support.leaks import assert_no_leak, error_texts

METADATA = (("authorization", f"Bearer {ADMIN_KEY}"),)
DOMAIN = "ledger.v1"

ALLOWED = {
    grpc.StatusCode.OK,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    # Domain answers later services give (a lost race, reading past the end). DATA_LOSS,
    # INTERNAL and UNKNOWN are never a fine answer to any input.
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.OUT_OF_RANGE,
}


T = TypeVar("T", bound=Callable[..., Any])


def fuzz_settings(max_examples: int, *, shrink: bool = True) -> Callable[[T], T]:
    """The settings of every fuzz test, and its seed when not derandomized.

    `shrink=False` where one example is a 10 MB request, since shrinking those would take
    minutes (the failure report describes the request).
    """
    phases = list(Phase) if shrink else [Phase.explicit, Phase.reuse, Phase.generate]
    chosen = settings(
        max_examples=max_examples,
        phases=phases,
        deadline=None,
        derandomize=FUZZ_SEED is None,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.function_scoped_fixture,
        ],
    )

    def decorate(test: T) -> T:
        configured: T = chosen(test)
        return configured if FUZZ_SEED is None else seed(FUZZ_SEED)(configured)

    return decorate


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


Req = TypeVar("Req", bound=Message)
Resp = TypeVar("Resp", bound=Message)


@dataclass
class Outcome:
    code: grpc.StatusCode
    message: str
    status: Any  # google.rpc.Status from the trailers, None when there was none
    response: Any  # the response message on OK
    texts: list[str] = field(default_factory=list)  # every part of an error a client reads


def invoke(method: grpc.UnaryUnaryMultiCallable[Req, Resp], request: Req) -> Outcome:
    try:
        response = method(request, metadata=METADATA, timeout=120)
    except grpc.RpcError as error:
        status = rpc_status.from_call(error)
        return Outcome(error.code(), error.details() or "", status, None, error_texts(error))
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
    assert_no_leak(outcome.texts, rpc, request)


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


def assert_page(items: Sequence[Any], requested: int, default: int) -> None:
    assert len(items) <= min(requested or default, 1000)


def violation_fields(outcome: Outcome) -> list[str]:
    """The fields an INVALID_ARGUMENT answer names."""
    if outcome.status is None:
        return []
    return [v.field for b in _details(outcome.status)[1] for v in b.field_violations]
