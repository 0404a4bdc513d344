"""Bytes that are not the expected message: INVALID_ARGUMENT after auth, never a traceback.

Sent with a generic channel call and identity serializers, so the bytes reach the
server exactly as written here.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterator

import grpc
import pytest
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from ledger.v1 import estimate_pb2, money_pb2
from ledger.v1 import results_store_service_pb2 as rs
from ledger_server.rpc.messages import INLINE_PARSE_BYTES
from tests.conftest import ADMIN_KEY
from tests.support.server import ServerThread

SERVICE = rs.DESCRIPTOR.services_by_name["ResultsStoreService"]
AUTH: tuple[tuple[str, str | bytes], ...] = (("authorization", f"Bearer {ADMIN_KEY}"),)


def varint(number: int) -> bytes:
    out = bytearray()
    while number > 0x7F:
        out.append(number & 0x7F | 0x80)
        number >>= 7
    return bytes([*out, number])


def field(number: int, payload: bytes) -> bytes:
    """A length-delimited field as the wire has it, whatever its payload."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def nested_cost_drivers(levels: int, padding: int = 0) -> bytes:
    """A StoreEstimateRequest whose cost_drivers Struct nests `levels` Structs deep.

    Built as bytes, as a hostile caller would: protobuf refuses to build it.
    """
    struct = b""
    for _ in range(levels):
        entry = field(1, b"k") + field(2, field(5, struct))  # {"k": Value{struct_value}}
        struct = field(1, entry)
    drivers = estimate_pb2.ResourceCost.DESCRIPTOR.fields_by_name["cost_drivers"].number
    cost = money_pb2.Money(units=1).SerializeToString()
    resource = field(1, b"aws_instance.web") + field(MONTHLY_COST, cost) + field(drivers, struct)
    pad = field(2, b"u" * padding) if padding else b""  # user_id, to pass the inline size
    return field(1, field(4, resource)) + pad


MONTHLY_COST = estimate_pb2.ResourceCost.DESCRIPTOR.fields_by_name["monthly_cost"].number
VALID_GET_JOB = rs.GetJobRequest(job_id="3f1c2a9e-6a55-4c8e-9b1e-2f9a4d7c8b10").SerializeToString()
MALFORMED = {
    "garbage": b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",
    "truncated": VALID_GET_JOB[:-5],
    "length past the end": field(1, b"abc")[:-1],
}


def bad_utf8(method: str) -> bytes:
    """`method`'s request with invalid UTF-8 in its first string field."""
    fields = SERVICE.methods_by_name[method].input_type.fields
    text = next(f for f in fields if f.type == f.TYPE_STRING)
    return field(text.number, b"\xff\xfe\xfd not utf-8")


@pytest.fixture
def channel(server: ServerThread) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(server.target) as opened:
        yield opened


def call(
    channel: grpc.Channel,
    method: str,
    body: bytes,
    metadata: tuple[tuple[str, str | bytes], ...] = AUTH,
) -> grpc.RpcError:
    """Sends `body` as the request of `method`; the error it was answered with."""
    send: grpc.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(
        f"/{SERVICE.full_name}/{method}"
    )
    with pytest.raises(grpc.RpcError) as refused:
        send(body, metadata=metadata, timeout=30)
    return refused.value


def violations(error: grpc.RpcError) -> list[str]:
    status = rpc_status.from_call(error)
    assert status is not None
    found = []
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
            found += [v.field for v in bad_request.field_violations]
    return found


def no_traceback_logged(caplog: pytest.LogCaptureFixture) -> None:
    noisy = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not noisy, [r.getMessage() for r in noisy]


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
@pytest.mark.parametrize("method", [m.name for m in SERVICE.methods])
def test_every_rpc_answers_malformed_bytes_with_invalid_argument(
    channel: grpc.Channel, caplog: pytest.LogCaptureFixture, method: str, body: bytes
) -> None:
    caplog.set_level(logging.DEBUG)
    refused = call(channel, method, body)
    assert refused.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(refused) == ["request"]
    no_traceback_logged(caplog)


@pytest.mark.parametrize("method", [m.name for m in SERVICE.methods])
def test_every_rpc_answers_bad_utf8_in_a_string_with_invalid_argument(
    channel: grpc.Channel, caplog: pytest.LogCaptureFixture, method: str
) -> None:
    caplog.set_level(logging.DEBUG)
    refused = call(channel, method, bad_utf8(method))
    assert refused.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(refused) == ["request"]
    no_traceback_logged(caplog)


@pytest.mark.parametrize("padding", [0, INLINE_PARSE_BYTES], ids=["small", "large"])
def test_store_estimate_refuses_a_struct_nested_past_100_levels(
    channel: grpc.Channel, caplog: pytest.LogCaptureFixture, padding: int
) -> None:
    caplog.set_level(logging.DEBUG)
    refused = call(channel, "StoreEstimate", nested_cost_drivers(120, padding))
    assert refused.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(refused) == ["request"]
    no_traceback_logged(caplog)


def test_store_estimate_takes_a_struct_nested_as_deep_as_parsed_then_judges_it(
    channel: grpc.Channel,
) -> None:
    """Ten levels parse; the estimate rules then refuse more than eight, on the field."""
    refused = call(channel, "StoreEstimate", nested_cost_drivers(10))
    assert refused.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(refused) == ["estimate.by_resource[0].cost_drivers"]


@pytest.mark.parametrize("body", [*MALFORMED.values(), nested_cost_drivers(120)])
def test_malformed_bytes_without_a_key_are_unauthenticated(
    channel: grpc.Channel, body: bytes
) -> None:
    assert call(channel, "StoreEstimate", body, metadata=()).code() == (
        grpc.StatusCode.UNAUTHENTICATED
    )


@pytest.mark.parametrize(
    ("method", "request_of"),
    [
        ("ListJobs", lambda token: rs.ListJobsRequest(user_id="u", page_token=token)),
        ("GetCostTrend", lambda token: rs.GetCostTrendRequest(user_id="u", page_token=token)),
        (
            "ListJobServices",
            lambda token: rs.ListJobServicesRequest(
                job_id="3f1c2a9e-6a55-4c8e-9b1e-2f9a4d7c8b10", page_token=token
            ),
        ),
    ],
)
def test_a_page_token_of_nested_brackets_is_invalid_argument(
    channel: grpc.Channel,
    caplog: pytest.LogCaptureFixture,
    method: str,
    request_of: Callable[[str], Message],
) -> None:
    caplog.set_level(logging.DEBUG)
    token = base64.urlsafe_b64encode(b"[" * 1536).decode()
    refused = call(channel, method, request_of(token).SerializeToString())
    assert refused.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(refused) == ["page_token"]
    no_traceback_logged(caplog)
