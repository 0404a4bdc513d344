"""Property-based fuzzing of the evaluation log RPCs through a real gRPC channel.

The promises of tests/e2e/test_fuzz.py (DESIGN.md principle 6), for AppendEvaluationLogs,
ListEvaluationLogs and StreamEvaluationLogs: whatever the input (NUL characters, 100k
character lines, 10,001 lines, unknown stream enum values, timestamps outside years
0001-9999, hostile ids, batch ids, page sizes, page tokens and cursors, empty requests
and empty streams), the status is one a caller can act on with ErrorInfo and field
violations, nothing internal leaks, and a failed call writes nothing. A batch that is
stored writes one row of evaluation_log_batches and nothing else.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ledger.v1 import evaluation_log_pb2 as el
from ledger.v1 import evaluation_service_pb2 as es
from ledger.v1.evaluation_service_pb2_grpc import EvaluationServiceStub
from tests.support.database import connect
from tests.support.evaluations import complete, create_evaluation
from tests.support.fuzz_checks import (
    METADATA,
    RowCounter,
    assert_well_behaved,
    call,
    fuzz_settings,
    invoke,
    violation_fields,
)
from tests.support.fuzz_strategies import (
    HUGE,
    PAGE_SIZES,
    TIMESTAMPS,
    clean_text,
    hostile_text,
    set_time,
)
from tests.support.server import ServerThread

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


@dataclass(frozen=True)
class Seeded:
    running: str  # takes appends
    finished: str  # completed: refuses appends, follows end at once
    token: str  # a real next_page_token of `running`'s log


@pytest.fixture(scope="module")
def stub(server: ServerThread) -> Iterator[EvaluationServiceStub]:
    with grpc.insecure_channel(server.target) as channel:
        yield EvaluationServiceStub(channel)


@pytest.fixture(scope="module")
def rows(database_url: str) -> Iterator[RowCounter]:
    connection = connect(database_url)
    connection.autocommit = True
    yield RowCounter(connection)
    connection.close()


@pytest.fixture(scope="module")
def seeded(server: ServerThread, stub: EvaluationServiceStub) -> Seeded:
    running = create_evaluation(server.target, "fuzz_logs")
    finished = create_evaluation(server.target, "fuzz_done")
    for evaluation in (running, finished):
        lines = [el.EvaluationLogLine(text=f"seed {i}") for i in range(5)]
        request = es.AppendEvaluationLogsRequest(evaluation_id=evaluation, lines=lines)
        stub.AppendEvaluationLogs(iter([request]), metadata=METADATA)
    complete(server.target, finished)
    page = stub.ListEvaluationLogs(
        es.ListEvaluationLogsRequest(evaluation_id=running, page_size=2), metadata=METADATA
    )
    assert page.next_page_token
    return Seeded(running, finished, page.next_page_token)


# --- strategies ----------------------------------------------------------------------

EVALUATION_REFS = st.one_of(
    st.sampled_from(["running", "finished", "unknown"]), hostile_text().map(lambda t: "=" + t)
)


def evaluation_id(ref: str, seeded: Seeded) -> str:
    if ref == "running":
        return seeded.running
    if ref == "finished":
        return seeded.finished
    if ref == "unknown":
        return "fuzz_no_such_evaluation"
    return ref[1:]


STREAMS = st.sampled_from([0, 1, 2, 3, 4, -1, INT32_MIN, INT32_MAX]) | st.integers(
    INT32_MIN, INT32_MAX
)
LINE_TEXTS = st.one_of(clean_text(40), hostile_text())


@st.composite
def log_lines(draw: st.DrawFn) -> list[el.EvaluationLogLine]:
    if draw(st.integers(0, 20)) == 0:  # past the documented count
        return [el.EvaluationLogLine(text="")] * 10_001
    lines = []
    for _ in range(draw(st.integers(0, 6))):
        line = el.EvaluationLogLine(
            text=draw(LINE_TEXTS),
            stream=draw(st.sampled_from([0, 1, 2]) | STREAMS),  # type: ignore[arg-type]
            sequence=draw(st.sampled_from([0, -1, 7, INT64_MAX])),
        )
        set_time(line, "log_time", draw(TIMESTAMPS))
        lines.append(line)
    return lines


BATCH_IDS = st.one_of(st.just(""), clean_text(20, min_size=1), hostile_text())


def tokens(seeded: Seeded, ref: str) -> str:
    if ref == "real":
        return seeded.token
    if ref.startswith("forged:"):
        payload = json.dumps({"q": "0" * 16, "c": [ref[7:]]})
        return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
    return ref[1:]


TOKEN_REFS = st.one_of(
    st.just("real"),
    st.just("="),
    hostile_text().map(lambda t: "=" + t),
    st.sampled_from(["-1", "99999999999999999999", "abc", "\x00"]).map(lambda c: "forged:" + c),
)
SEQUENCES = st.sampled_from([0, 1, 4, 5, 6, -1, INT64_MIN, INT64_MAX]) | st.integers(
    INT64_MIN, INT64_MAX
)


def appending(stub: EvaluationServiceStub, messages: list[Any]) -> Any:
    """AppendEvaluationLogs as a unary method of its messages, for `call`."""

    def method(request: Any, *, metadata: Any, timeout: float) -> Any:
        return stub.AppendEvaluationLogs(iter(messages), metadata=metadata, timeout=timeout)

    return method


def streaming(stub: EvaluationServiceStub) -> Any:
    """StreamEvaluationLogs as a unary method answering with its messages."""

    def method(request: Any, *, metadata: Any, timeout: float) -> Any:
        return list(stub.StreamEvaluationLogs(request, metadata=metadata, timeout=timeout))

    return method


# --- the RPCs ----------------------------------------------------------------------------


@fuzz_settings(max_examples=150)
@given(ref=EVALUATION_REFS, batch_id=BATCH_IDS, lines=log_lines())
@example(ref="running", batch_id="", lines=[el.EvaluationLogLine(text="x" * HUGE)])
@example(ref="running", batch_id="", lines=[el.EvaluationLogLine(text="a", stream=9)])  # type: ignore[arg-type]
@example(ref="finished", batch_id="", lines=[el.EvaluationLogLine(text="late")])
def test_append_evaluation_logs_never_fails_internally(
    stub: EvaluationServiceStub,
    rows: RowCounter,
    seeded: Seeded,
    ref: str,
    batch_id: str,
    lines: list[el.EvaluationLogLine],
) -> None:
    request = es.AppendEvaluationLogsRequest(
        evaluation_id=evaluation_id(ref, seeded), batch_id=batch_id, lines=lines
    )
    outcome, written = call(
        rows, "AppendEvaluationLogs", appending(stub, [request]), request, writes=True
    )
    if outcome.code is grpc.StatusCode.OK:
        assert ref == "running", f"appended to {ref}: {outcome.response}"
        assert written == ({"evaluation_log_batches": 1} if lines else {})
    if ref == "finished" and outcome.code is not grpc.StatusCode.INVALID_ARGUMENT:
        assert outcome.code is grpc.StatusCode.FAILED_PRECONDITION


def test_append_evaluation_logs_keeps_the_batches_before_a_refused_one(
    stub: EvaluationServiceStub, rows: RowCounter, seeded: Seeded
) -> None:
    good = es.AppendEvaluationLogsRequest(
        evaluation_id=seeded.running, lines=[el.EvaluationLogLine(text="kept")]
    )
    bad = es.AppendEvaluationLogsRequest(lines=[el.EvaluationLogLine(text="nul\x00")])
    other = es.AppendEvaluationLogsRequest(evaluation_id=seeded.finished)
    for refused, field in ((bad, "lines[0].text"), (other, "evaluation_id")):
        before = rows.counts()
        outcome = invoke(appending(stub, [good, refused]), good)
        assert_well_behaved("AppendEvaluationLogs", refused, outcome)
        assert outcome.code is grpc.StatusCode.INVALID_ARGUMENT
        assert violation_fields(outcome) == [field]
        after = rows.counts()
        # The first batch was stored as it arrived (the proto says so); the refused one not.
        assert after["evaluation_log_batches"] == before["evaluation_log_batches"] + 1


@fuzz_settings(max_examples=150)
@given(ref=EVALUATION_REFS, page_size=PAGE_SIZES, token=TOKEN_REFS)
def test_list_evaluation_logs_never_fails_internally(
    stub: EvaluationServiceStub,
    rows: RowCounter,
    seeded: Seeded,
    ref: str,
    page_size: int,
    token: str,
) -> None:
    request = es.ListEvaluationLogsRequest(
        evaluation_id=evaluation_id(ref, seeded),
        page_size=page_size,
        page_token=tokens(seeded, token),
    )
    outcome, _ = call(rows, "ListEvaluationLogs", stub.ListEvaluationLogs, request)
    if outcome.code is grpc.StatusCode.OK:
        sequences = [line.sequence for line in outcome.response.lines]
        assert sequences == sorted(sequences)
        assert len(sequences) <= min(page_size or 1000, 10_000)


@fuzz_settings(max_examples=150)
@given(ref=EVALUATION_REFS, after=SEQUENCES, follow=st.booleans())
def test_stream_evaluation_logs_never_fails_internally(
    stub: EvaluationServiceStub,
    rows: RowCounter,
    seeded: Seeded,
    ref: str,
    after: int,
    follow: bool,
) -> None:
    # Following the running evaluation would wait for its end: follow only the others.
    request = es.StreamEvaluationLogsRequest(
        evaluation_id=evaluation_id(ref, seeded),
        after_sequence=after,
        follow=follow and ref != "running",
    )
    outcome, _ = call(rows, "StreamEvaluationLogs", streaming(stub), request)
    if outcome.code is grpc.StatusCode.OK:
        sequences = [line.sequence for m in outcome.response for line in m.lines]
        assert sequences == list(range(after + 1, after + 1 + len(sequences)))
        assert all(m.last_sequence == m.lines[-1].sequence for m in outcome.response)


def test_every_log_rpc_answers_an_empty_request_cleanly(
    stub: EvaluationServiceStub, rows: RowCounter
) -> None:
    empty: list[tuple[str, Any, Any]] = [
        (
            "AppendEvaluationLogs",
            appending(stub, []),  # no message at all
            es.AppendEvaluationLogsRequest(),
        ),
        (
            "AppendEvaluationLogs",
            appending(stub, [es.AppendEvaluationLogsRequest()]),
            es.AppendEvaluationLogsRequest(),
        ),
        ("ListEvaluationLogs", stub.ListEvaluationLogs, es.ListEvaluationLogsRequest()),
        ("StreamEvaluationLogs", streaming(stub), es.StreamEvaluationLogsRequest()),
    ]
    for rpc, method, request in empty:
        outcome, _ = call(rows, rpc, method, request, writes=True)
        assert outcome.code is grpc.StatusCode.INVALID_ARGUMENT, (rpc, outcome.message)
        assert violation_fields(outcome) == ["evaluation_id"], rpc
