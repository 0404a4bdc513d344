"""Property-based fuzzing of every SavingsService RPC through a real gRPC channel.

The same promises as test_fuzz.py (DESIGN.md principle 6), with the strategies of
`tests/support/fuzz_savings_strategies.py`: whatever the input, the status is one a
caller can act on, errors carry ErrorInfo (and BadRequest for INVALID_ARGUMENT), nothing
internal is shown, and a failed call or any read writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message
from grpc_status import rpc_status
from hypothesis import given

from ledger.v1 import savings_service_pb2 as pb
from ledger.v1 import savings_service_pb2_grpc as pb_grpc
from tests.support import fuzz_savings_strategies as strategies
from tests.support.database import connect
from tests.support.fuzz_checks import (
    METADATA,
    Outcome,
    RowCounter,
    assert_well_behaved,
    call,
    fuzz_settings,
)
from tests.support.leaks import error_texts
from tests.support.server import ServerThread


@pytest.fixture(scope="module")
def stub(server: ServerThread) -> Iterator[pb_grpc.SavingsServiceStub]:
    with grpc.insecure_channel(server.target) as channel:
        savings = pb_grpc.SavingsServiceStub(channel)
        for instance_id in strategies.FUZZ_INSTANCES:
            savings.RecordInstance(
                pb.RecordInstanceRequest(
                    instance_id=instance_id, provider="aws", hourly_cost_cents=100
                ),
                metadata=METADATA,
            )
        yield savings


@pytest.fixture(scope="module")
def rows(database_url: str) -> Iterator[RowCounter]:
    connection = connect(database_url)
    connection.autocommit = True
    yield RowCounter(connection)
    connection.close()


@fuzz_settings(max_examples=60)
@given(request=strategies.record_instance())
def test_record_instance_never_fails_internally(
    stub: pb_grpc.SavingsServiceStub, rows: RowCounter, request: pb.RecordInstanceRequest
) -> None:
    call(rows, "RecordInstance", stub.RecordInstance, request, writes=True)


@fuzz_settings(max_examples=60)
@given(request=strategies.record_events())
def test_record_instance_events_never_fails_internally(
    stub: pb_grpc.SavingsServiceStub, rows: RowCounter, request: pb.RecordInstanceEventsRequest
) -> None:
    call(rows, "RecordInstanceEvents", stub.RecordInstanceEvents, request, writes=True)


@fuzz_settings(max_examples=20)
@given(first=strategies.record_events(), second=strategies.record_events())
def test_stream_instance_events_never_fails_internally(
    stub: pb_grpc.SavingsServiceStub,
    rows: RowCounter,
    first: pb.RecordInstanceEventsRequest,
    second: pb.RecordInstanceEventsRequest,
) -> None:
    batches = [pb.StreamInstanceEventsRequest(events=r.events) for r in (first, second)]
    try:
        stub.StreamInstanceEvents(iter(batches), metadata=METADATA, timeout=60)
        outcome = Outcome(grpc.StatusCode.OK, "", None, None)
    except grpc.RpcError as error:
        outcome = Outcome(
            error.code(), error.details() or "", rpc_status.from_call(error), None,
            error_texts(error),
        )  # fmt: skip
    assert_well_behaved("StreamInstanceEvents", batches[0], outcome)


READS: list[tuple[str, Any]] = [
    ("GetSavingsSummary", strategies.summary()),
    ("ListDailySavings", strategies.daily()),
    ("ListInstanceSavings", strategies.instances()),
    ("GetInstanceSavings", strategies.instance()),
    ("ListScheduleSavings", strategies.schedules()),
]


@pytest.mark.parametrize(("rpc", "requests"), READS, ids=[rpc for rpc, _ in READS])
def test_savings_reads_never_fail_internally(
    stub: pb_grpc.SavingsServiceStub, rows: RowCounter, rpc: str, requests: Any
) -> None:
    @fuzz_settings(max_examples=60)
    @given(request=requests)
    def check(request: Message) -> None:
        call(rows, rpc, getattr(stub, rpc), request)

    check()


@fuzz_settings(max_examples=40)
@given(request=strategies.export())
def test_export_savings_never_fails_internally(
    stub: pb_grpc.SavingsServiceStub, rows: RowCounter, request: pb.ExportSavingsRequest
) -> None:
    before = rows.counts()
    try:
        for _ in stub.ExportSavings(request, metadata=METADATA, timeout=60):
            pass
        outcome = Outcome(grpc.StatusCode.OK, "", None, None)
    except grpc.RpcError as error:
        outcome = Outcome(
            error.code(), error.details() or "", rpc_status.from_call(error), None,
            error_texts(error),
        )  # fmt: skip
    assert_well_behaved("ExportSavings", request, outcome)
    assert rows.counts() == before


def test_every_savings_rpc_answers_an_empty_request_cleanly(
    stub: pb_grpc.SavingsServiceStub, rows: RowCounter
) -> None:
    empty: list[tuple[str, Any, Message, grpc.StatusCode]] = [
        ("RecordInstance", stub.RecordInstance, pb.RecordInstanceRequest(),
         grpc.StatusCode.INVALID_ARGUMENT),
        ("RecordInstanceEvents", stub.RecordInstanceEvents, pb.RecordInstanceEventsRequest(),
         grpc.StatusCode.INVALID_ARGUMENT),
        ("GetSavingsSummary", stub.GetSavingsSummary, pb.GetSavingsSummaryRequest(),
         grpc.StatusCode.OK),
        ("ListDailySavings", stub.ListDailySavings, pb.ListDailySavingsRequest(),
         grpc.StatusCode.OK),
        ("ListInstanceSavings", stub.ListInstanceSavings, pb.ListInstanceSavingsRequest(),
         grpc.StatusCode.OK),
        ("GetInstanceSavings", stub.GetInstanceSavings, pb.GetInstanceSavingsRequest(),
         grpc.StatusCode.INVALID_ARGUMENT),
        ("ListScheduleSavings", stub.ListScheduleSavings, pb.ListScheduleSavingsRequest(),
         grpc.StatusCode.OK),
    ]  # fmt: skip
    for rpc, method, request, expected in empty:
        outcome, _ = call(rows, rpc, method, request)
        assert outcome.code is expected, f"{rpc}: {outcome.code.name} {outcome.message!r}"


def test_every_savings_response_says_its_figures_are_estimates(
    stub: pb_grpc.SavingsServiceStub, rows: RowCounter
) -> None:
    service = pb.DESCRIPTOR.services_by_name["SavingsService"]
    for method in service.methods:
        assert "disclaimer" in method.output_type.fields_by_name, method.name
    replies = [
        stub.GetSavingsSummary(pb.GetSavingsSummaryRequest(), metadata=METADATA),
        stub.ListDailySavings(pb.ListDailySavingsRequest(), metadata=METADATA),
        stub.ListInstanceSavings(pb.ListInstanceSavingsRequest(), metadata=METADATA),
        stub.ListScheduleSavings(pb.ListScheduleSavingsRequest(), metadata=METADATA),
        stub.GetInstanceSavings(
            pb.GetInstanceSavingsRequest(instance_id=strategies.FUZZ_INSTANCES[0]),
            metadata=METADATA,
        ),
        *stub.ExportSavings(pb.ExportSavingsRequest(), metadata=METADATA),
        stub.StreamInstanceEvents(iter([]), metadata=METADATA),
    ]
    assert all("not billing data" in reply.disclaimer for reply in replies)
