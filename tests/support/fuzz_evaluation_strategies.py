"""Hypothesis strategies for EvaluationService requests: hostile values in every field.

Ids point at a seeded evaluation (so some calls reach real records), at none, or are
malformed; enums take unknown numbers; texts carry NUL, huge lengths and odd characters;
JSON carries NaN, infinities and deep nesting; times fall outside every range.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import struct_pb2
from hypothesis import strategies as st

from ledger.v1 import evaluation_pb2 as ev
from ledger.v1 import evaluation_service_pb2 as es
from tests.support.fuzz_strategies import (
    HOSTILE_JSON,
    INT32_MAX,
    INT32_MIN,
    INT64_MAX,
    INT64_MIN,
    PAGE_SIZES,
    TIMESTAMPS,
    VALID_STRUCT,
    hostile_text,
)

SEEDED_ID = "eval_fuzz_seed"
TOKENS = st.one_of(
    st.just(""), hostile_text(), st.sampled_from(["eyJxIjoiIiwiYyI6W119", "!!!", "e30"])
)
IDS = st.one_of(st.just(SEEDED_ID), st.just("eval_fuzz_missing"), hostile_text())
ENUMS = st.one_of(st.integers(0, 8), st.sampled_from([-1, 99, INT32_MIN, INT32_MAX]))
INT64S = st.one_of(
    st.sampled_from([0, 1, 2, -1, INT64_MIN, INT64_MAX, 31_536_000_001]),
    st.integers(INT64_MIN, INT64_MAX),
)


def _struct(value: Any) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    try:
        struct.update({"k": value} if not isinstance(value, dict) else value)
    except (ValueError, TypeError):
        struct.update({"k": "fallback"})
    return struct


STRUCTS = st.one_of(VALID_STRUCT.map(_struct), HOSTILE_JSON.map(_struct))
OPTIONAL_TEXT = st.one_of(st.none(), hostile_text(), st.just("x" * (8 * 1024 * 1024 + 1)))
RUNNING = st.one_of(
    st.none(),
    st.builds(
        ev.RunningInfo,
        container_id=hostile_text(),
        host=hostile_text(),
        image=hostile_text(),
        start_time=TIMESTAMPS,
        limits=st.builds(
            ev.ResourceLimits, cpu_millis=INT64S, memory_bytes=INT64S, timeout_seconds=INT64S
        ),
    ),
)


def _with_optionals(message: Any, **optionals: Any) -> Any:
    for name, value in optionals.items():
        if value is not None:
            setattr(message, name, value)
    return message


CREATE = st.builds(
    es.CreateEvaluationRequest,
    evaluation_id=st.one_of(st.just(""), hostile_text()),
    code=st.one_of(hostile_text(), st.just("print(1)"), st.just("x" * (1024 * 1024 + 1))),
    language=st.one_of(st.just(""), st.just("python"), hostile_text()),
    status=ENUMS,
    metadata=STRUCTS,
    request_id=st.one_of(st.just(""), hostile_text()),
)
GET = st.builds(
    es.GetEvaluationRequest,
    evaluation_id=IDS,
    view=ENUMS,
    version=INT64S,
    show_deleted=st.booleans(),
)
LIST = st.builds(
    es.ListEvaluationsRequest,
    page_size=PAGE_SIZES,
    page_token=TOKENS,
    status=ENUMS,
    language=hostile_text(),
    start_time=TIMESTAMPS,
    end_time=TIMESTAMPS,
    show_deleted=st.booleans(),
)
UPDATE = st.builds(
    lambda output, error, runtime, **fields: _with_optionals(
        es.UpdateEvaluationRequest(**fields), output=output, error=error, runtime_ms=runtime
    ),
    output=OPTIONAL_TEXT,
    error=OPTIONAL_TEXT,
    runtime=st.one_of(st.none(), INT64S),
    evaluation_id=IDS,
    status=ENUMS,
    start_time=TIMESTAMPS,
    complete_time=TIMESTAMPS,
    metadata_changes=st.one_of(st.none(), STRUCTS),
    running=RUNNING,
    expected_version=INT64S,
    request_id=st.one_of(st.just(""), hostile_text()),
)
DELETE = st.builds(
    es.DeleteEvaluationRequest,
    evaluation_id=st.one_of(st.just("eval_fuzz_missing"), hostile_text()),
    expected_version=INT64S,
    request_id=hostile_text(),
)
VERSIONS = st.builds(
    es.ListEvaluationVersionsRequest,
    evaluation_id=IDS,
    page_size=PAGE_SIZES,
    page_token=TOKENS,
    show_deleted=st.booleans(),
)
TASK = st.builds(
    lambda output, error, **fields: _with_optionals(
        es.ApplyTaskUpdateRequest(**fields), output=output, error=error
    ),
    output=OPTIONAL_TEXT,
    error=OPTIONAL_TEXT,
    evaluation_id=IDS,
    task_id=hostile_text(),
    task_state=ENUMS,
    retries=st.integers(INT32_MIN, INT32_MAX),
)
RUNNING_LIST = st.builds(es.ListRunningEvaluationsRequest, page_size=PAGE_SIZES, page_token=TOKENS)
ADD_EVENT = st.builds(
    es.AddEvaluationEventRequest,
    evaluation_id=IDS,
    type=st.one_of(st.just("note"), st.just("ledger.created"), hostile_text()),
    message=hostile_text(),
    metadata=STRUCTS,
    event_time=TIMESTAMPS,
    request_id=hostile_text(),
)
EVENTS = st.builds(
    es.ListEvaluationEventsRequest,
    evaluation_id=IDS,
    page_size=PAGE_SIZES,
    page_token=TOKENS,
    show_deleted=st.booleans(),
)
QUERY_WRITE = st.builds(es.QueryWriteStatusRequest, upload_id=hostile_text())
STORAGE_INFO = st.builds(
    es.GetEvaluationStorageInfoRequest,
    evaluation_id=IDS,
    version=INT64S,
    show_deleted=st.booleans(),
)
STATISTICS = st.builds(
    es.GetEvaluationStatisticsRequest, start_time=TIMESTAMPS, end_time=TIMESTAMPS
)
READ = st.builds(
    es.ReadEvaluationOutputRequest,
    evaluation_id=IDS,
    channel=ENUMS,
    version=INT64S,
    read_offset=INT64S,
    read_limit=INT64S,
    show_deleted=st.booleans(),
)
WRITE_MESSAGE = st.builds(
    es.WriteEvaluationOutputRequest,
    evaluation_id=IDS,
    channel=ENUMS,
    upload_id=hostile_text(),
    write_offset=INT64S,
    data=st.one_of(st.binary(max_size=64), st.just(b"\x00" * (1024 * 1024 + 1))),
    finish_write=st.booleans(),
)
WRITES = st.lists(WRITE_MESSAGE, min_size=0, max_size=3)

# Unary RPCs: name, request strategy, whether a successful call may write rows.
UNARY_CASES = (
    ("CreateEvaluation", CREATE, True),
    ("GetEvaluation", GET, False),
    ("ListEvaluations", LIST, False),
    ("UpdateEvaluation", UPDATE, True),
    ("DeleteEvaluation", DELETE, True),
    ("ListEvaluationVersions", VERSIONS, False),
    ("ApplyTaskUpdate", TASK, True),
    ("ListRunningEvaluations", RUNNING_LIST, False),
    ("AddEvaluationEvent", ADD_EVENT, True),
    ("ListEvaluationEvents", EVENTS, False),
    ("QueryWriteStatus", QUERY_WRITE, False),
    ("GetEvaluationStorageInfo", STORAGE_INFO, False),
    ("GetStorageOverview", st.just(es.GetStorageOverviewRequest()), False),
    ("GetEvaluationStatistics", STATISTICS, False),
)
