"""Property-based fuzzing of every EvaluationService RPC through a real gRPC channel.

Every call keeps DESIGN.md principle 6, as tests/e2e/test_fuzz.py states it: an allowed
status (never INTERNAL, UNKNOWN or DATA_LOSS), rich details on every error, nothing
internal shown, and nothing written by a call that fails (reads write nothing at all).
Streams are judged the same way on the status they end with.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message
from grpc_status import rpc_status
from hypothesis import given
from hypothesis import strategies as st

from ledger.v1 import evaluation_pb2 as ev
from ledger.v1 import evaluation_service_pb2 as es
from ledger.v1 import evaluation_service_pb2_grpc as es_grpc
from ledger_wire.limits import MAX_MESSAGE_BYTES
from tests.support.database import connect
from tests.support.fuzz_checks import (
    METADATA,
    Outcome,
    RowCounter,
    assert_well_behaved,
    call,
    fuzz_settings,
)
from tests.support.fuzz_evaluation_strategies import READ, SEEDED_ID, UNARY_CASES, WRITES
from tests.support.leaks import error_texts
from tests.support.server import ServerThread


@pytest.fixture(scope="module")
def stub(server: ServerThread) -> Iterator[es_grpc.EvaluationServiceStub]:
    options = [
        ("grpc.max_receive_message_length", 4 * MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", 4 * MAX_MESSAGE_BYTES),
    ]
    with grpc.insecure_channel(server.target, options=options) as channel:
        stub = es_grpc.EvaluationServiceStub(channel)
        try:
            stub.CreateEvaluation(
                es.CreateEvaluationRequest(evaluation_id=SEEDED_ID, code="print(1)"),
                metadata=METADATA,
            )
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.ALREADY_EXISTS  # another module made it
        yield stub


@pytest.fixture(scope="module")
def rows(database_url: str) -> Iterator[RowCounter]:
    connection = connect(database_url)
    connection.autocommit = True
    yield RowCounter(connection)
    connection.close()


@fuzz_settings(max_examples=60)
@given(data=st.data())
@pytest.mark.parametrize(
    ("rpc", "strategy", "writes"), UNARY_CASES, ids=[c[0] for c in UNARY_CASES]
)
def test_evaluation_rpcs_never_fail_internally(
    stub: es_grpc.EvaluationServiceStub,
    rows: RowCounter,
    rpc: str,
    strategy: Any,
    writes: bool,
    data: st.DataObject,
) -> None:
    request = data.draw(strategy)
    call(rows, rpc, getattr(stub, rpc), request, writes=writes)


def _stream_outcome(run: Any) -> Outcome:
    try:
        response = run()
    except grpc.RpcError as error:
        status = rpc_status.from_call(error)
        return Outcome(error.code(), error.details() or "", status, None, error_texts(error))
    return Outcome(grpc.StatusCode.OK, "", None, response)


@fuzz_settings(max_examples=80)
@given(request=READ)
def test_read_evaluation_output_never_fails_internally(
    stub: es_grpc.EvaluationServiceStub, rows: RowCounter, request: es.ReadEvaluationOutputRequest
) -> None:
    before = rows.counts()
    outcome = _stream_outcome(
        lambda: list(stub.ReadEvaluationOutput(request, metadata=METADATA, timeout=60))
    )
    assert_well_behaved("ReadEvaluationOutput", request, outcome)
    assert rows.counts() == before


@fuzz_settings(max_examples=80)
@given(messages=WRITES)
def test_write_evaluation_output_never_fails_internally(
    stub: es_grpc.EvaluationServiceStub,
    rows: RowCounter,
    messages: list[es.WriteEvaluationOutputRequest],
) -> None:
    before = rows.counts()
    outcome = _stream_outcome(
        lambda: stub.WriteEvaluationOutput(iter(messages), metadata=METADATA, timeout=60)
    )
    shown: Message = messages[0] if messages else es.WriteEvaluationOutputRequest()
    assert_well_behaved("WriteEvaluationOutput", shown, outcome)
    if outcome.code is not grpc.StatusCode.OK:
        assert rows.counts() == before


def test_every_evaluation_rpc_answers_an_empty_request_cleanly(
    stub: es_grpc.EvaluationServiceStub, rows: RowCounter
) -> None:
    ok = {
        "ListEvaluations",
        "ListRunningEvaluations",
        "GetStorageOverview",
        "GetEvaluationStatistics",
    }
    for rpc, _, _ in UNARY_CASES:
        request = getattr(es, f"{rpc}Request")()
        outcome, _ = call(rows, rpc, getattr(stub, rpc), request)
        expected = grpc.StatusCode.OK if rpc in ok else grpc.StatusCode.INVALID_ARGUMENT
        assert outcome.code is expected, f"{rpc}: {outcome.code.name} {outcome.message!r}"
    for outcome in (
        _stream_outcome(
            lambda: list(
                stub.ReadEvaluationOutput(es.ReadEvaluationOutputRequest(), metadata=METADATA)
            )
        ),
        _stream_outcome(lambda: stub.WriteEvaluationOutput(iter([]), metadata=METADATA)),
    ):
        assert outcome.code is grpc.StatusCode.INVALID_ARGUMENT, outcome.message


# Valid requests on the seeded evaluation: each string field of each is then replaced by
# a NUL-laden and a huge value, which random drawing reaches too rarely.
def _bases() -> list[tuple[str, Message]]:
    e = SEEDED_ID
    return [
        ("CreateEvaluation", es.CreateEvaluationRequest(code="x", language="python")),
        ("GetEvaluation", es.GetEvaluationRequest(evaluation_id=e)),
        ("ListEvaluations", es.ListEvaluationsRequest(language="python")),
        ("UpdateEvaluation", es.UpdateEvaluationRequest(evaluation_id=e, output="o", error="e")),
        ("DeleteEvaluation", es.DeleteEvaluationRequest(evaluation_id="eval_fuzz_missing")),
        ("ListEvaluationVersions", es.ListEvaluationVersionsRequest(evaluation_id=e)),
        (
            "ApplyTaskUpdate",
            es.ApplyTaskUpdateRequest(
                evaluation_id=e, task_id="t", task_state=ev.TASK_STATE_PENDING
            ),
        ),
        ("AddEvaluationEvent", es.AddEvaluationEventRequest(evaluation_id=e, type="note")),
        ("ListEvaluationEvents", es.ListEvaluationEventsRequest(evaluation_id=e)),
        ("QueryWriteStatus", es.QueryWriteStatusRequest(upload_id="u")),
        ("GetEvaluationStorageInfo", es.GetEvaluationStorageInfoRequest(evaluation_id=e)),
    ]


STRING = 9  # FieldDescriptor.TYPE_STRING


@pytest.mark.parametrize("value", ["a\x00b", "x" * 100_000, "é" * 5000])
def test_evaluation_rpcs_answer_hostile_strings_in_every_field_cleanly(
    stub: es_grpc.EvaluationServiceStub, rows: RowCounter, value: str
) -> None:
    for rpc, base in _bases():
        for field in base.DESCRIPTOR.fields:
            if field.type != STRING:
                continue
            request = type(base)()
            request.CopyFrom(base)
            setattr(request, field.name, value)
            writes = rpc in {"CreateEvaluation", "UpdateEvaluation", "ApplyTaskUpdate",
                             "AddEvaluationEvent", "DeleteEvaluation"}  # fmt: skip
            call(rows, rpc, getattr(stub, rpc), request, writes=writes)
