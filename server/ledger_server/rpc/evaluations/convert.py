"""Proto <-> domain translation for EvaluationService. No rules live here: only shapes."""

from __future__ import annotations

from typing import Any

from ledger.v1 import evaluation_pb2 as ev
from ledger.v1 import evaluation_service_pb2 as es
from ledger_server.domain.errors import FieldViolation, InvalidArgument
from ledger_server.domain.evaluations import commands
from ledger_server.domain.evaluations.records import (
    Compression,
    Content,
    Evaluation,
    Event,
    Location,
    ResourceLimits,
    RunningInfo,
    Status,
    TaskState,
)
from ledger_server.domain.evaluations.statistics import Statistics
from ledger_server.rpc.wire import struct_in, time_in, time_out

_STATUS_IN = {
    ev.EVALUATION_STATUS_QUEUED: Status.QUEUED,
    ev.EVALUATION_STATUS_PROVISIONING: Status.PROVISIONING,
    ev.EVALUATION_STATUS_RUNNING: Status.RUNNING,
    ev.EVALUATION_STATUS_COMPLETED: Status.COMPLETED,
    ev.EVALUATION_STATUS_FAILED: Status.FAILED,
    ev.EVALUATION_STATUS_CANCELLED: Status.CANCELLED,
    ev.EVALUATION_STATUS_TIMEOUT: Status.TIMEOUT,
}
_STATUS_OUT = {status: number for number, status in _STATUS_IN.items()}
_TASK_STATE_IN = {
    ev.TASK_STATE_PENDING: TaskState.PENDING,
    ev.TASK_STATE_STARTED: TaskState.STARTED,
    ev.TASK_STATE_RETRY: TaskState.RETRY,
    ev.TASK_STATE_SUCCESS: TaskState.SUCCESS,
    ev.TASK_STATE_FAILURE: TaskState.FAILURE,
    ev.TASK_STATE_REVOKED: TaskState.REVOKED,
}
_TASK_STATE_OUT = {state: number for number, state in _TASK_STATE_IN.items()}
_LOCATION_OUT = {
    Location.DATABASE_INLINE: ev.STORAGE_LOCATION_DATABASE_INLINE,
    Location.DATABASE_COMPRESSED: ev.STORAGE_LOCATION_DATABASE_COMPRESSED,
    Location.BLOB_STORE: ev.STORAGE_LOCATION_BLOB_STORE,
}
_COMPRESSION_OUT = {Compression.NONE: ev.COMPRESSION_NONE, Compression.ZLIB: ev.COMPRESSION_ZLIB}


# --- in ----------------------------------------------------------------------------------


def status_in(value: int, field: str = "status") -> Status | None:
    """None for UNSPECIFIED; INVALID_ARGUMENT for a number the contract does not define."""
    if value == ev.EVALUATION_STATUS_UNSPECIFIED:
        return None
    try:
        return _STATUS_IN[value]  # type: ignore[index]
    except KeyError:
        raise InvalidArgument([FieldViolation(field, f"unknown status {value}")]) from None


def task_state_in(value: int) -> TaskState | None:
    if value == ev.TASK_STATE_UNSPECIFIED:
        return None
    try:
        return _TASK_STATE_IN[value]  # type: ignore[index]
    except KeyError:
        raise InvalidArgument([FieldViolation("task_state", f"unknown state {value}")]) from None


def full_view(value: int) -> bool:
    if value not in (
        ev.EVALUATION_VIEW_UNSPECIFIED,
        ev.EVALUATION_VIEW_BASIC,
        ev.EVALUATION_VIEW_FULL,
    ):
        raise InvalidArgument([FieldViolation("view", f"unknown view {value}")])
    return value == ev.EVALUATION_VIEW_FULL


def create_command(request: es.CreateEvaluationRequest) -> commands.CreateEvaluation:
    return commands.CreateEvaluation(
        code=request.code,
        evaluation_id=request.evaluation_id,
        language=request.language,
        status=status_in(request.status),
        metadata=struct_in(request.metadata),
    )


def running_in(request: Any) -> RunningInfo | None:
    if not request.HasField("running"):
        return None
    r = request.running
    return RunningInfo(
        container_id=r.container_id,
        host=r.host,
        image=r.image,
        start_time=time_in(r, "start_time"),
        limits=ResourceLimits(r.limits.cpu_millis, r.limits.memory_bytes, r.limits.timeout_seconds),
    )


def filters_in(request: es.ListEvaluationsRequest) -> commands.EvaluationFilters:
    return commands.EvaluationFilters(
        status=status_in(request.status),
        language=request.language,
        start_time=time_in(request, "start_time"),
        end_time=time_in(request, "end_time"),
        show_deleted=request.show_deleted,
    )


def event_in(request: es.AddEvaluationEventRequest) -> commands.AddEvent:
    return commands.AddEvent(
        evaluation_id=request.evaluation_id,
        type=request.type,
        message=request.message,
        metadata=struct_in(request.metadata),
        event_time=time_in(request, "event_time"),
    )


# --- out ---------------------------------------------------------------------------------


def content_out(content: Content) -> ev.OutputInfo:
    return ev.OutputInfo(
        location=_LOCATION_OUT[content.location],
        size_bytes=content.size,
        sha256=content.sha256_hex,
        compression=_COMPRESSION_OUT[content.compression],
        stored_bytes=content.stored_bytes,
        preview=content.preview,
        preview_truncated=content.preview_truncated,
    )


def evaluation_out(
    evaluation: Evaluation, *, output: str | None = None, error: str | None = None
) -> ev.Evaluation:
    message = ev.Evaluation(
        evaluation_id=evaluation.evaluation_id,
        version=evaluation.version,
        status=_STATUS_OUT[evaluation.status],
        code=evaluation.code,
        language=evaluation.language,
        create_time=time_out(evaluation.create_time),
        update_time=time_out(evaluation.update_time),
        deleted=evaluation.deleted,
    )
    if evaluation.metadata:
        message.metadata.update(evaluation.metadata)
    if output is not None:
        message.output = output
    if error is not None:
        message.error = error
    if evaluation.output is not None:
        message.output_info.CopyFrom(content_out(evaluation.output))
    if evaluation.error is not None:
        message.error_info.CopyFrom(content_out(evaluation.error))
    if evaluation.runtime_ms is not None:
        message.runtime_ms = evaluation.runtime_ms
    if evaluation.start_time is not None:
        message.start_time.CopyFrom(time_out(evaluation.start_time))
    if evaluation.complete_time is not None:
        message.complete_time.CopyFrom(time_out(evaluation.complete_time))
    if evaluation.delete_time is not None:
        message.delete_time.CopyFrom(time_out(evaluation.delete_time))
    if evaluation.running is not None:
        message.running.CopyFrom(running_out(evaluation.running))
    if evaluation.task is not None:
        message.task.CopyFrom(
            ev.TaskInfo(
                task_id=evaluation.task.task_id,
                task_state=_TASK_STATE_OUT[evaluation.task.task_state],
                retries=evaluation.task.retries,
            )
        )
    return message


def running_out(running: RunningInfo) -> ev.RunningInfo:
    message = ev.RunningInfo(
        container_id=running.container_id,
        host=running.host,
        image=running.image,
        limits=ev.ResourceLimits(
            cpu_millis=running.limits.cpu_millis,
            memory_bytes=running.limits.memory_bytes,
            timeout_seconds=running.limits.timeout_seconds,
        ),
    )
    if running.start_time is not None:
        message.start_time.CopyFrom(time_out(running.start_time))
    return message


def event_out(event: Event) -> ev.EvaluationEvent:
    message = ev.EvaluationEvent(
        evaluation_id=event.evaluation_id,
        event_id=event.event_id,
        type=event.type,
        message=event.message,
        event_time=time_out(event.event_time),
        version=event.version,
    )
    if event.metadata:
        message.metadata.update(event.metadata)
    return message


def statistics_out(result: Statistics) -> es.GetEvaluationStatisticsResponse:
    by_status = sorted(result.by_status.items(), key=lambda item: (-item[1], item[0].value))
    by_language = sorted(result.by_language.items(), key=lambda item: (-item[1], item[0]))
    return es.GetEvaluationStatisticsResponse(
        evaluation_count=result.evaluations,
        by_status=[es.StatusCount(status=_STATUS_OUT[s], count=n) for s, n in by_status],
        by_language=[es.LanguageCount(language=lang, count=n) for lang, n in by_language],
        runtime=es.RuntimeStatistics(
            count=result.runtime.count,
            average_ms=result.runtime.average_ms,
            p50_ms=result.runtime.p50_ms,
            p95_ms=result.runtime.p95_ms,
        ),
        total_output_bytes=result.output_bytes,
    )
