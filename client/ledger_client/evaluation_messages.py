"""Requests and page readers of `ledger.evaluations`, shared by the sync and async clients.

Replies are the generated `ledger.v1` messages (`Evaluation`, `EvaluationEvent`, ...),
typed by their stubs: an evaluation's fields are the contract's, nothing renamed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, Protocol

from google.protobuf import struct_pb2, timestamp_pb2

from ledger.v1 import evaluation_pb2 as ev
from ledger.v1 import evaluation_service_pb2 as es
from ledger_client.errors import LedgerError, Unavailable

# What the server accepts per WriteEvaluationOutput message, and what this SDK sends.
CHUNK_BYTES = 1024 * 1024
# Resumptions of one upload after UNAVAILABLE before the error is raised.
UPLOAD_ATTEMPTS = 5

STATUSES = {
    "queued": ev.EVALUATION_STATUS_QUEUED,
    "provisioning": ev.EVALUATION_STATUS_PROVISIONING,
    "running": ev.EVALUATION_STATUS_RUNNING,
    "completed": ev.EVALUATION_STATUS_COMPLETED,
    "failed": ev.EVALUATION_STATUS_FAILED,
    "cancelled": ev.EVALUATION_STATUS_CANCELLED,
    "timeout": ev.EVALUATION_STATUS_TIMEOUT,
}
TASK_STATES = {
    "PENDING": ev.TASK_STATE_PENDING,
    "STARTED": ev.TASK_STATE_STARTED,
    "RETRY": ev.TASK_STATE_RETRY,
    "SUCCESS": ev.TASK_STATE_SUCCESS,
    "FAILURE": ev.TASK_STATE_FAILURE,
    "REVOKED": ev.TASK_STATE_REVOKED,
}
CHANNELS = {"output": es.OUTPUT_CHANNEL_OUTPUT, "error": es.OUTPUT_CHANNEL_ERROR}


# What a broken upload may meet when it resumes at once: the old stream still holding
# the upload, or more committed than the status said a moment before.
RESUMABLE_REASONS = frozenset({"UPLOAD_IN_PROGRESS", "WRITE_OFFSET_MISMATCH"})


def resume_pause(attempt: int) -> float:
    """Seconds to wait before resuming a broken upload: 0.05, 0.1, 0.2, ..."""
    return 0.05 * (1 << attempt)


def resumable(error: LedgerError) -> bool:
    """Whether an upload that failed with `error` may go on from the committed size."""
    return isinstance(error, Unavailable) or error.reason in RESUMABLE_REASONS


def status_number(status: str) -> ev.EvaluationStatus.ValueType:
    """ "" (unset) or a status name like "running"; ValueError for anything else."""
    if not status:
        return ev.EVALUATION_STATUS_UNSPECIFIED
    try:
        return STATUSES[status.lower()]
    except KeyError:
        raise ValueError(f"unknown status {status!r}; one of {', '.join(STATUSES)}") from None


def task_state_number(state: str) -> ev.TaskState.ValueType:
    try:
        return TASK_STATES[state.upper()]
    except KeyError:
        raise ValueError(f"unknown task state {state!r}; one of {', '.join(TASK_STATES)}") from None


def channel_number(channel: str) -> es.OutputChannel.ValueType:
    try:
        return CHANNELS[channel]
    except KeyError:
        raise ValueError(f"channel must be 'output' or 'error', not {channel!r}") from None


def struct(values: Mapping[str, Any] | None) -> struct_pb2.Struct | None:
    if values is None:
        return None
    message = struct_pb2.Struct()
    message.update(values)
    return message


def timestamp(moment: datetime | None) -> timestamp_pb2.Timestamp | None:
    if moment is None:
        return None
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def fresh_request_id(request_id: str | None) -> str:
    return request_id if request_id is not None else str(uuid.uuid4())


def evaluations_page(reply: Any) -> tuple[list[ev.Evaluation], str]:
    return list(reply.evaluations), reply.next_page_token


def events_page(reply: es.ListEvaluationEventsResponse) -> tuple[list[ev.EvaluationEvent], str]:
    return list(reply.events), reply.next_page_token


def update_request(
    evaluation_id: str,
    *,
    status: str,
    output: str | None,
    error: str | None,
    runtime_ms: int | None,
    start_time: datetime | None,
    complete_time: datetime | None,
    metadata_changes: Mapping[str, Any] | None,
    running: ev.RunningInfo | None,
    expected_version: int,
    request_id: str | None,
) -> es.UpdateEvaluationRequest:
    request = es.UpdateEvaluationRequest(
        evaluation_id=evaluation_id,
        status=status_number(status),
        start_time=timestamp(start_time),
        complete_time=timestamp(complete_time),
        metadata_changes=struct(metadata_changes),
        running=running,
        expected_version=expected_version,
        request_id=fresh_request_id(request_id),
    )
    if output is not None:
        request.output = output
    if error is not None:
        request.error = error
    if runtime_ms is not None:
        request.runtime_ms = runtime_ms
    return request


class ByteSource(Protocol):
    """What an upload reads: a binary file, `io.BytesIO`, anything that reads and seeks."""

    def read(self, size: int, /) -> bytes: ...

    def seek(self, offset: int, /) -> int: ...


class UploadChunks:
    """The messages of one WriteEvaluationOutput stream from `offset` of `source`: 1 MiB
    chunks, the names in the first, `finish_write` on an empty last one."""

    def __init__(
        self, source: ByteSource, first: es.WriteEvaluationOutputRequest, offset: int
    ) -> None:
        self._source = source
        self._first = first
        self.offset = offset

    def __iter__(self) -> Iterator[es.WriteEvaluationOutputRequest]:
        self._source.seek(self.offset)
        first = True
        while True:
            data = self._source.read(CHUNK_BYTES)
            message = es.WriteEvaluationOutputRequest(write_offset=self.offset, data=data)
            if first:
                message.MergeFrom(self._first)
                first = False
            if not data:
                message.finish_write = True
                yield message
                return
            self.offset += len(data)
            yield message
