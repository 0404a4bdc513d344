"""Counting the messages in a serialized request before it is parsed."""

from __future__ import annotations

import pytest
from google.protobuf.message import DecodeError

from ledger.v1 import estimate_pb2, money_pb2
from ledger.v1 import results_store_service_pb2 as rs
from ledger_server.rpc.message_budget import MAX_DEPTH, MessageCounter, TooComplex

COUNTER = MessageCounter(rs.StoreEstimateRequest.DESCRIPTOR)


def test_counts_every_nested_message_map_entry_and_struct_value() -> None:
    resource = estimate_pb2.ResourceCost(
        address="a",
        monthly_cost=money_pb2.Money(units=1),  # 1
        breakdown=estimate_pb2.CostBreakdown(compute=money_pb2.Money(units=1)),  # 2
    )
    resource.cost_drivers.update({"type": "m5", "sizes": [1, 2]})  # struct, 2 entries,
    # their 2 values, a list value and its 2 values: 8
    request = rs.StoreEstimateRequest(
        labels={"team": "a", "env": "b"},  # 2 map entries
        estimate=estimate_pb2.Estimate(by_resource=[resource, estimate_pb2.ResourceCost()]),
    )  # the estimate and its two resources: 3
    assert COUNTER.count(request.SerializeToString(), 1_000) == 1 + 2 + 8 + 2 + 3


def test_refuses_past_the_limit_without_going_on() -> None:
    one = estimate_pb2.Estimate(by_resource=[estimate_pb2.ResourceCost()]).SerializeToString()
    request = rs.StoreEstimateRequest()
    request.estimate.MergeFromString(one * 1_001)
    with pytest.raises(TooComplex, match="more than 1,000 messages"):
        COUNTER.count(request.SerializeToString(), 1_000)
    assert COUNTER.count(request.SerializeToString(), 1_002) == 1_002


def varint(number: int) -> bytes:
    out = bytearray()
    while number > 0x7F:
        out.append(number & 0x7F | 0x80)
        number >>= 7
    return bytes([*out, number])


def field(number: int, payload: bytes) -> bytes:
    """A length-delimited field, as the wire has it."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def nested_cost_driver(levels: int) -> bytes:
    """A request whose one cost driver is a list in a list ... `levels` messages deep.

    Built as bytes: protobuf itself would refuse to build a message this deep.
    """
    value = b""
    for _ in range(levels // 2):
        value = field(6, field(1, value))  # Value.list_value -> ListValue.values
    entry = field(1, b"deep") + field(2, value)  # Struct.fields map entry
    drivers = estimate_pb2.ResourceCost.DESCRIPTOR.fields_by_name["cost_drivers"].number
    resource = field(drivers, field(1, entry))
    return field(1, field(4, resource))  # estimate.by_resource


def test_refuses_nesting_deeper_than_protobuf_parses() -> None:
    assert COUNTER.count(nested_cost_driver(MAX_DEPTH - 10), 10**9) > MAX_DEPTH - 10
    with pytest.raises(TooComplex, match=f"deeper than {MAX_DEPTH}"):
        COUNTER.count(nested_cost_driver(MAX_DEPTH + 10), 10**9)


def test_bytes_that_are_not_protobuf_raise_decode_error() -> None:
    with pytest.raises(DecodeError):
        COUNTER.count(b"\xff\xff\xff\xff", 1_000)


def test_a_long_level_over_its_budget_is_refused_before_any_parse_of_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A long level is walked in Python first: one C parse of millions of entries would
    hold the GIL (and every other call) for as long as it takes."""
    one = estimate_pb2.Estimate(by_resource=[estimate_pb2.ResourceCost()]).SerializeToString()
    request = rs.StoreEstimateRequest()
    request.estimate.MergeFromString(one * 100_000)  # 200 KB of two-byte entries
    counter = MessageCounter(rs.StoreEstimateRequest.DESCRIPTOR)
    parsed: list[int] = []

    class Recording:
        def __init__(self, shallow: type) -> None:
            self._shallow = shallow

        def FromString(self, chunk: bytes) -> object:  # noqa: N802 - protobuf's name
            parsed.append(len(chunk))
            return self._shallow.FromString(chunk)  # type: ignore[attr-defined]

    recording = {name: Recording(shallow) for name, shallow in counter._classes.items()}
    monkeypatch.setattr(counter, "_classes", recording)
    with pytest.raises(TooComplex, match="more than 1,000 messages"):
        counter.count(request.SerializeToString(), 1_000)
    # The request (one field: a copy of the estimate's bytes), never the estimate's level.
    assert parsed == [request.ByteSize()]


def test_a_long_level_within_its_budget_is_counted_as_before() -> None:
    one = estimate_pb2.Estimate(by_resource=[estimate_pb2.ResourceCost()]).SerializeToString()
    request = rs.StoreEstimateRequest()
    request.estimate.MergeFromString(one * 50_000)
    assert COUNTER.count(request.SerializeToString(), 1_000_000) == 50_001


def test_a_long_level_cut_short_is_malformed() -> None:
    resource = estimate_pb2.ResourceCost(address="r" * 1_000)
    request = rs.StoreEstimateRequest(estimate=estimate_pb2.Estimate(by_resource=[resource] * 10))
    cut = request.SerializeToString()[:-1]  # its last field says more than is left
    with pytest.raises(DecodeError):  # walked (10 KB may hold 1,000 fields), not parsed
        COUNTER.count(cut, 1_000)
