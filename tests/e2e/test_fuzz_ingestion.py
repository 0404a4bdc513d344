"""Property-based fuzzing of every IngestionService RPC through a real gRPC channel.

The same properties as tests/e2e/test_fuzz.py (DESIGN.md principle 6): an allowed
status, rich details on every error, nothing internal shown, and a failed call writes
nothing. Records carry hostile export text (see tests/support/fuzz_ingestion_strategies):
a bad record is a rejection in an OK reply, never an error status, unless the caller
asked for all-or-nothing. Streams are fuzzed one message at a time: a stream keeps the
batches it stored before a failing message, by contract.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message
from hypothesis import example, given
from hypothesis import strategies as st

from ledger.v1 import ingestion_service_pb2 as ing
from ledger.v1 import ingestion_service_pb2_grpc as ing_grpc
from ledger_wire.limits import MAX_MESSAGE_BYTES
from tests.support.database import connect
from tests.support.fuzz_checks import RowCounter, call, describe, fuzz_settings
from tests.support.fuzz_ingestion_strategies import (
    GROUP_BYS,
    PAGE_SIZES,
    RECORD_LISTS,
    TOKENS,
    filters,
    records,
    timestamps,
    valid_record,
)
from tests.support.server import ServerThread


@pytest.fixture(scope="module")
def stub(server: ServerThread) -> Iterator[ing_grpc.IngestionServiceStub]:
    options = [
        ("grpc.max_receive_message_length", 4 * MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", 4 * MAX_MESSAGE_BYTES),
    ]
    with grpc.insecure_channel(server.target, options=options) as channel:
        yield ing_grpc.IngestionServiceStub(channel)


@pytest.fixture(scope="module")
def rows(database_url: str) -> Iterator[RowCounter]:
    connection = connect(database_url)
    connection.autocommit = True
    yield RowCounter(connection)
    connection.close()


def _stream(stub: ing_grpc.IngestionServiceStub) -> Any:
    """StreamCostRecords as a one-message call, for the unary `call` helper."""

    def send(request: ing.StreamCostRecordsRequest, **kwargs: Any) -> Any:
        return stub.StreamCostRecords(iter([request]), **kwargs)

    return send


def _hostile(field: str, value: object) -> ing.CostRecordInput:
    record = valid_record(7)
    setattr(record, field, value)
    return record


def _assert_report(request: Message, outcome: Any, written: dict[str, int]) -> None:
    run = outcome.response.run
    sent = len(request.records)  # type: ignore[attr-defined]
    counted = run.inserted_count + run.revised_count + run.unchanged_count + run.rejected_count
    assert counted == sent, f"{sent} records counted as {run}: {describe(request)}"
    assert written.get("cost_records", 0) == run.inserted_count + run.revised_count, written
    assert len({r.index for r in outcome.response.rejections}) == min(run.rejected_count, 1000)
    assert all(0 <= r.index < sent for r in outcome.response.rejections)


@fuzz_settings(max_examples=120)
@given(
    batch=RECORD_LISTS,
    source=st.sampled_from(["", "export.csv", "\x00", "s" * 300]),
    all_or_nothing=st.booleans(),
    request_id=st.sampled_from(["", "fresh", "has space", "r" * 129]),
)
@example(batch=[valid_record(1)] * 10_001, source="", all_or_nothing=False, request_id="")
@example(batch=[valid_record(1)] * 2, source="", all_or_nothing=False, request_id="fresh")
@example(batch=[_hostile("provider", "a\x00b")], source="", all_or_nothing=False, request_id="")
@example(batch=[_hostile("usage_unit", "\t\\.")], source="", all_or_nothing=False, request_id="")
@example(
    batch=[_hostile("charge_period_start", "9999-12-31T23:00:00-05:00")],
    source="",
    all_or_nothing=True,
    request_id="",
)
@example(batch=[_hostile("charge_category", 99)], source="", all_or_nothing=False, request_id="")
@example(batch=[_hostile("billed_cost", "NaN")], source="", all_or_nothing=True, request_id="")
def test_ingest_cost_records_never_fails_internally(
    stub: ing_grpc.IngestionServiceStub,
    rows: RowCounter,
    batch: list[ing.CostRecordInput],
    source: str,
    all_or_nothing: bool,
    request_id: str,
) -> None:
    if request_id == "fresh":
        request_id = f"fuzz-{uuid.uuid4()}"
    request = ing.IngestCostRecordsRequest(
        records=batch, source=source, all_or_nothing=all_or_nothing, request_id=request_id
    )
    outcome, written = call(rows, "IngestCostRecords", stub.IngestCostRecords, request, writes=True)
    if outcome.code is not grpc.StatusCode.OK:
        return
    _assert_report(request, outcome, written)
    assert not (all_or_nothing and outcome.response.run.rejected_count)
    if request_id:
        retry, written = call(
            rows, "IngestCostRecords", stub.IngestCostRecords, request, writes=True
        )
        assert retry.response == outcome.response and written == {}


@fuzz_settings(max_examples=80)
@given(batch=RECORD_LISTS, source=st.sampled_from(["", "\x00", "s" * 300]))
def test_stream_cost_records_never_fails_internally(
    stub: ing_grpc.IngestionServiceStub,
    rows: RowCounter,
    batch: list[ing.CostRecordInput],
    source: str,
) -> None:
    request = ing.StreamCostRecordsRequest(records=batch, source=source)
    outcome, written = call(rows, "StreamCostRecords", _stream(stub), request, writes=True)
    if outcome.code is grpc.StatusCode.OK:
        _assert_report(request, outcome, written)


@fuzz_settings(max_examples=120)
@given(
    record_filter=filters(),
    as_of=timestamps(),
    page_size=PAGE_SIZES,
    token=TOKENS,
)
def test_list_cost_records_never_fails_internally(
    stub: ing_grpc.IngestionServiceStub,
    rows: RowCounter,
    record_filter: ing.CostRecordFilter,
    as_of: Any,
    page_size: int,
    token: str,
) -> None:
    request = ing.ListCostRecordsRequest(
        filter=record_filter, page_size=page_size, page_token=token
    )
    if as_of is not None:
        request.as_of_time.CopyFrom(as_of)
    outcome, _ = call(rows, "ListCostRecords", stub.ListCostRecords, request)
    if outcome.code is grpc.StatusCode.OK:
        assert len(outcome.response.records) <= min(page_size or 100, 1000)


@fuzz_settings(max_examples=100)
@given(record=records(), start=timestamps(), end=timestamps(), page_size=PAGE_SIZES, token=TOKENS)
def test_list_cost_record_revisions_never_fails_internally(
    stub: ing_grpc.IngestionServiceStub,
    rows: RowCounter,
    record: ing.CostRecordInput,
    start: Any,
    end: Any,
    page_size: int,
    token: str,
) -> None:
    key = ing.CostRecordKey(
        provider=record.provider,
        billing_account_id=record.billing_account_id,
        sub_account_id=record.sub_account_id,
        service=record.service,
        region=record.region,
        sku=record.sku,
        resource_id=record.resource_id,
        charge_category=record.charge_category,
    )
    if start is not None:
        key.charge_period_start_time.CopyFrom(start)
    if end is not None:
        key.charge_period_end_time.CopyFrom(end)
    request = ing.ListCostRecordRevisionsRequest(key=key, page_size=page_size, page_token=token)
    call(rows, "ListCostRecordRevisions", stub.ListCostRecordRevisions, request)


@fuzz_settings(max_examples=100)
@given(record_filter=filters(), group_by=GROUP_BYS)
def test_get_cost_summary_never_fails_internally(
    stub: ing_grpc.IngestionServiceStub,
    rows: RowCounter,
    record_filter: ing.CostRecordFilter,
    group_by: int,
) -> None:
    request = ing.GetCostSummaryRequest(filter=record_filter, group_by=group_by)  # type: ignore[arg-type]
    call(rows, "GetCostSummary", stub.GetCostSummary, request)


@fuzz_settings(max_examples=60)
@given(
    page_size=PAGE_SIZES, token=TOKENS, run_id=st.one_of(st.text(max_size=40), st.uuids().map(str))
)
def test_runs_never_fail_internally(
    stub: ing_grpc.IngestionServiceStub, rows: RowCounter, page_size: int, token: str, run_id: str
) -> None:
    listing = ing.ListIngestionRunsRequest(page_size=page_size, page_token=token)
    call(rows, "ListIngestionRuns", stub.ListIngestionRuns, listing)
    call(rows, "GetIngestionRun", stub.GetIngestionRun, ing.GetIngestionRunRequest(run_id=run_id))


def test_every_ingestion_rpc_answers_an_empty_request_cleanly(
    stub: ing_grpc.IngestionServiceStub, rows: RowCounter
) -> None:
    expected = {
        "IngestCostRecords": grpc.StatusCode.OK,  # an empty load is a run of nothing
        "StreamCostRecords": grpc.StatusCode.OK,
        "ListCostRecords": grpc.StatusCode.OK,
        "ListCostRecordRevisions": grpc.StatusCode.INVALID_ARGUMENT,
        "GetCostSummary": grpc.StatusCode.INVALID_ARGUMENT,
        "ListIngestionRuns": grpc.StatusCode.OK,
        "GetIngestionRun": grpc.StatusCode.INVALID_ARGUMENT,
    }
    empty: list[tuple[str, Any, Message]] = [
        ("IngestCostRecords", stub.IngestCostRecords, ing.IngestCostRecordsRequest()),
        ("StreamCostRecords", _stream(stub), ing.StreamCostRecordsRequest()),
        ("ListCostRecords", stub.ListCostRecords, ing.ListCostRecordsRequest()),
        (
            "ListCostRecordRevisions",
            stub.ListCostRecordRevisions,
            ing.ListCostRecordRevisionsRequest(),
        ),
        ("GetCostSummary", stub.GetCostSummary, ing.GetCostSummaryRequest()),
        ("ListIngestionRuns", stub.ListIngestionRuns, ing.ListIngestionRunsRequest()),
        ("GetIngestionRun", stub.GetIngestionRun, ing.GetIngestionRunRequest()),
    ]
    assert {rpc for rpc, _, _ in empty} == {
        m.name for m in ing.DESCRIPTOR.services_by_name["IngestionService"].methods
    }
    for rpc, method, request in empty:
        outcome, _ = call(rows, rpc, method, request, writes=rpc.endswith("CostRecords"))
        assert outcome.code is expected[rpc], f"{rpc}: {outcome.code.name} {outcome.message!r}"
