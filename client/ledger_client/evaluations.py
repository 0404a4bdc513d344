"""`ledger.evaluations`: ledger.v1.EvaluationService, sync and asyncio.

Evaluation records (create, change by appending versions, read, list, history), their
outputs as byte streams (uploads resume after a dropped connection; reads resume from
their offset), events, running containers, storage and statistics. Replies are the
contract's own messages (`ledger.v1.evaluation_pb2.Evaluation`, ...).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from datetime import datetime
from typing import Any

from ledger.v1 import evaluation_pb2 as ev
from ledger.v1 import evaluation_service_pb2 as es
from ledger.v1.evaluation_service_pb2_grpc import EvaluationServiceStub
from ledger_client import evaluation_messages as m
from ledger_client.async_calls import AsyncCalls
from ledger_client.calls import Calls
from ledger_client.connection import CallMetadata
from ledger_client.errors import FailedPrecondition, NotFound, Unavailable
from ledger_client.evaluation_logs import AsyncEvaluationLogMethods, EvaluationLogMethods
from ledger_client.pagers import AsyncPager, Pager


def _source(data: bytes | m.ByteSource) -> m.ByteSource:
    return io.BytesIO(data) if isinstance(data, bytes | bytearray) else data


def _first_message(
    evaluation_id: str, channel: str, upload_id: str
) -> es.WriteEvaluationOutputRequest:
    return es.WriteEvaluationOutputRequest(
        evaluation_id=evaluation_id,
        channel=m.channel_number(channel),
        upload_id=upload_id,
    )


def _read_request(
    evaluation_id: str, channel: str, version: int, start: int, limit: int, show_deleted: bool
) -> Any:
    def request_at(offset: int) -> es.ReadEvaluationOutputRequest:
        remaining = limit - (offset - start) if limit else 0
        return es.ReadEvaluationOutputRequest(
            evaluation_id=evaluation_id,
            channel=m.channel_number(channel),
            version=version,
            read_offset=offset,
            read_limit=remaining,
            show_deleted=show_deleted,
        )

    return request_at


class EvaluationsClient(EvaluationLogMethods):
    """Code-evaluation runs. Reached as `Client(...).evaluations`; every method takes
    `timeout=` and `metadata=`; creating calls fill `request_id` with a fresh UUID."""

    def __init__(self, calls: Calls) -> None:
        self._calls = calls
        self._stub = EvaluationServiceStub(calls.channel)

    def create(
        self,
        code: str,
        *,
        evaluation_id: str = "",
        language: str = "",
        status: str = "",
        evaluation_metadata: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> ev.Evaluation:
        """Creates an evaluation (version 1), QUEUED unless `status` names another;
        `evaluation_metadata` is its free-form JSON object."""
        request = es.CreateEvaluationRequest(
            evaluation_id=evaluation_id,
            code=code,
            language=language,
            status=m.status_number(status),
            metadata=m.struct(evaluation_metadata),
            request_id=m.fresh_request_id(request_id),
        )
        reply = self._calls.unary(
            self._stub.CreateEvaluation, request, timeout=timeout, metadata=metadata
        )
        return reply.evaluation

    def get(
        self,
        evaluation_id: str,
        *,
        full: bool = False,
        version: int = 0,
        show_deleted: bool = False,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> ev.Evaluation:
        """The latest version (or `version`); `full=True` adds code, output and error."""
        request = es.GetEvaluationRequest(
            evaluation_id=evaluation_id,
            view=ev.EVALUATION_VIEW_FULL if full else ev.EVALUATION_VIEW_BASIC,
            version=version,
            show_deleted=show_deleted,
        )
        reply = self._calls.unary(
            self._stub.GetEvaluation, request, timeout=timeout, metadata=metadata
        )
        return reply.evaluation

    def list(
        self,
        *,
        status: str = "",
        language: str = "",
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        show_deleted: bool = False,
        page_size: int = 0,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> Pager[ev.Evaluation]:
        """Evaluations newest first, filtered; pages are fetched as iteration needs them."""
        request = es.ListEvaluationsRequest(
            status=m.status_number(status),
            language=language,
            start_time=m.timestamp(start_time),
            end_time=m.timestamp(end_time),
            show_deleted=show_deleted,
            page_size=page_size,
        )
        return self._calls.pager(
            self._stub.ListEvaluations,
            request,
            m.evaluations_page,
            timeout=timeout,
            metadata=metadata,
        )

    def update(
        self,
        evaluation_id: str,
        *,
        status: str = "",
        output: str | None = None,
        error: str | None = None,
        runtime_ms: int | None = None,
        start_time: datetime | None = None,
        complete_time: datetime | None = None,
        metadata_changes: Mapping[str, Any] | None = None,
        running: ev.RunningInfo | None = None,
        expected_version: int = 0,
        request_id: str | None = None,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> ev.Evaluation:
        """Appends a version with the fields given; returns it. `expected_version` makes
        it conditional (`Aborted` when another version came first)."""
        request = m.update_request(
            evaluation_id,
            status=status,
            output=output,
            error=error,
            runtime_ms=runtime_ms,
            start_time=start_time,
            complete_time=complete_time,
            metadata_changes=metadata_changes,
            running=running,
            expected_version=expected_version,
            request_id=request_id,
        )
        reply = self._calls.unary(
            self._stub.UpdateEvaluation, request, timeout=timeout, metadata=metadata
        )
        return reply.evaluation

    def delete(
        self,
        evaluation_id: str,
        *,
        expected_version: int = 0,
        request_id: str | None = None,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> ev.Evaluation:
        """Deletes softly: appends a tombstone version, which it returns."""
        request = es.DeleteEvaluationRequest(
            evaluation_id=evaluation_id,
            expected_version=expected_version,
            request_id=m.fresh_request_id(request_id),
        )
        reply = self._calls.unary(
            self._stub.DeleteEvaluation, request, timeout=timeout, metadata=metadata
        )
        return reply.evaluation

    def list_versions(
        self,
        evaluation_id: str,
        *,
        show_deleted: bool = False,
        page_size: int = 0,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> Pager[ev.Evaluation]:
        """Every version, oldest first."""
        request = es.ListEvaluationVersionsRequest(
            evaluation_id=evaluation_id, show_deleted=show_deleted, page_size=page_size
        )
        return self._calls.pager(
            self._stub.ListEvaluationVersions,
            request,
            m.evaluations_page,
            timeout=timeout,
            metadata=metadata,
        )

    def apply_task_update(
        self,
        evaluation_id: str,
        *,
        task_id: str,
        task_state: str,
        retries: int = 0,
        output: str | None = None,
        error: str | None = None,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> ev.Evaluation:
        """A Celery report ("PENDING", "STARTED", "RETRY", "SUCCESS", "FAILURE",
        "REVOKED"); redelivering the same report is answered, not applied twice."""
        request = es.ApplyTaskUpdateRequest(
            evaluation_id=evaluation_id,
            task_id=task_id,
            task_state=m.task_state_number(task_state),
            retries=retries,
        )
        if output is not None:
            request.output = output
        if error is not None:
            request.error = error
        reply = self._calls.unary(
            self._stub.ApplyTaskUpdate, request, timeout=timeout, metadata=metadata
        )
        return reply.evaluation

    def list_running(
        self, *, page_size: int = 0, timeout: float | None = None, metadata: CallMetadata = ()
    ) -> Pager[ev.Evaluation]:
        """Evaluations running now, with their container info."""
        request = es.ListRunningEvaluationsRequest(page_size=page_size)
        return self._calls.pager(
            self._stub.ListRunningEvaluations,
            request,
            m.evaluations_page,
            timeout=timeout,
            metadata=metadata,
        )

    def add_event(
        self,
        evaluation_id: str,
        type: str,
        *,
        message: str = "",
        event_metadata: Mapping[str, Any] | None = None,
        event_time: datetime | None = None,
        request_id: str | None = None,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> ev.EvaluationEvent:
        request = es.AddEvaluationEventRequest(
            evaluation_id=evaluation_id,
            type=type,
            message=message,
            metadata=m.struct(event_metadata),
            event_time=m.timestamp(event_time),
            request_id=m.fresh_request_id(request_id),
        )
        reply = self._calls.unary(
            self._stub.AddEvaluationEvent, request, timeout=timeout, metadata=metadata
        )
        return reply.event

    def list_events(
        self,
        evaluation_id: str,
        *,
        show_deleted: bool = False,
        page_size: int = 0,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> Pager[ev.EvaluationEvent]:
        """The timeline, oldest first: events added and one per version."""
        request = es.ListEvaluationEventsRequest(
            evaluation_id=evaluation_id, show_deleted=show_deleted, page_size=page_size
        )
        return self._calls.pager(
            self._stub.ListEvaluationEvents,
            request,
            m.events_page,
            timeout=timeout,
            metadata=metadata,
        )

    def write_output(
        self,
        evaluation_id: str,
        data: bytes | m.ByteSource,
        *,
        channel: str = "output",
        upload_id: str | None = None,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> ev.Evaluation:
        """Uploads an output (or `channel="error"`) of any size in 1 MiB chunks and
        returns the version recording it. `data` is bytes or a seekable binary file.

        After UNAVAILABLE (or a server that had not yet seen the broken stream end) the
        upload resumes from the committed size the server reports, up to 5 times;
        passing the `upload_id` of an interrupted upload resumes that one.
        """
        source = _source(data)
        upload_id = m.fresh_request_id(upload_id)
        first = _first_message(evaluation_id, channel, upload_id)
        offset = self._committed(upload_id, timeout, metadata)
        for attempt in range(m.UPLOAD_ATTEMPTS):
            try:
                reply = self._calls.client_stream(
                    self._stub.WriteEvaluationOutput,
                    m.UploadChunks(source, first, offset),
                    lambda batch: batch[0],
                    batch_size=1,
                    timeout=timeout,
                    metadata=metadata,
                )
                return reply.evaluation
            except (Unavailable, FailedPrecondition) as error:
                if attempt == m.UPLOAD_ATTEMPTS - 1 or not m.resumable(error):
                    raise
            time.sleep(m.resume_pause(attempt))
            with contextlib.suppress(Unavailable):  # then the next attempt asks again
                offset = self._committed(upload_id, timeout, metadata)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _committed(self, upload_id: str, timeout: float | None, metadata: CallMetadata) -> int:
        try:
            status = self.query_write_status(upload_id, timeout=timeout, metadata=metadata)
        except NotFound:
            return 0
        return 0 if status.complete else status.committed_size

    def query_write_status(
        self, upload_id: str, *, timeout: float | None = None, metadata: CallMetadata = ()
    ) -> es.QueryWriteStatusResponse:
        request = es.QueryWriteStatusRequest(upload_id=upload_id)
        return self._calls.unary(
            self._stub.QueryWriteStatus, request, timeout=timeout, metadata=metadata
        )

    def read_output(
        self,
        evaluation_id: str,
        *,
        channel: str = "output",
        version: int = 0,
        read_offset: int = 0,
        read_limit: int = 0,
        show_deleted: bool = False,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> Iterator[bytes]:
        """The bytes of an output, in chunks, resumed from the last offset after
        UNAVAILABLE. Without `version` it reads the latest version as of the call."""
        if not version:
            version = self.get(
                evaluation_id, show_deleted=show_deleted, timeout=timeout, metadata=metadata
            ).version
        stream = self._calls.server_stream(
            self._stub.ReadEvaluationOutput,
            _read_request(evaluation_id, channel, version, read_offset, read_limit, show_deleted),
            lambda message: message.next_read_offset,
            start=read_offset,
            timeout=timeout,
            metadata=metadata,
        )
        return (message.data for message in stream)

    def get_storage_info(
        self,
        evaluation_id: str,
        *,
        version: int = 0,
        show_deleted: bool = False,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> es.GetEvaluationStorageInfoResponse:
        request = es.GetEvaluationStorageInfoRequest(
            evaluation_id=evaluation_id, version=version, show_deleted=show_deleted
        )
        return self._calls.unary(
            self._stub.GetEvaluationStorageInfo, request, timeout=timeout, metadata=metadata
        )

    def get_storage_overview(
        self, *, timeout: float | None = None, metadata: CallMetadata = ()
    ) -> es.GetStorageOverviewResponse:
        return self._calls.unary(
            self._stub.GetStorageOverview,
            es.GetStorageOverviewRequest(),
            timeout=timeout,
            metadata=metadata,
        )

    def get_statistics(
        self,
        *,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> es.GetEvaluationStatisticsResponse:
        request = es.GetEvaluationStatisticsRequest(
            start_time=m.timestamp(start_time), end_time=m.timestamp(end_time)
        )
        return self._calls.unary(
            self._stub.GetEvaluationStatistics, request, timeout=timeout, metadata=metadata
        )


class AsyncEvaluationsClient(AsyncEvaluationLogMethods):
    """`EvaluationsClient` for asyncio, reached as `AsyncClient(...).evaluations`."""

    def __init__(self, calls: AsyncCalls) -> None:
        self._calls = calls
        self._stub = EvaluationServiceStub(calls.channel)

    async def create(
        self,
        code: str,
        *,
        evaluation_id: str = "",
        language: str = "",
        status: str = "",
        evaluation_metadata: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> ev.Evaluation:
        """Creates an evaluation (version 1), QUEUED unless `status` names another;
        `evaluation_metadata` is its free-form JSON object."""
        request = es.CreateEvaluationRequest(
            evaluation_id=evaluation_id,
            code=code,
            language=language,
            status=m.status_number(status),
            metadata=m.struct(evaluation_metadata),
            request_id=m.fresh_request_id(request_id),
        )
        reply = await self._calls.unary(
            self._stub.CreateEvaluation, request, timeout=timeout, metadata=metadata
        )
        return reply.evaluation

    async def get(
        self,
        evaluation_id: str,
        *,
        full: bool = False,
        version: int = 0,
        show_deleted: bool = False,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> ev.Evaluation:
        """The latest version (or `version`); `full=True` adds code, output and error."""
        request = es.GetEvaluationRequest(
            evaluation_id=evaluation_id,
            view=ev.EVALUATION_VIEW_FULL if full else ev.EVALUATION_VIEW_BASIC,
            version=version,
            show_deleted=show_deleted,
        )
        reply = await self._calls.unary(
            self._stub.GetEvaluation, request, timeout=timeout, metadata=metadata
        )
        return reply.evaluation

    def list(
        self,
        *,
        status: str = "",
        language: str = "",
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        show_deleted: bool = False,
        page_size: int = 0,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> AsyncPager[ev.Evaluation]:
        """Evaluations newest first, filtered; pages are fetched as iteration needs them."""
        request = es.ListEvaluationsRequest(
            status=m.status_number(status),
            language=language,
            start_time=m.timestamp(start_time),
            end_time=m.timestamp(end_time),
            show_deleted=show_deleted,
            page_size=page_size,
        )
        return self._calls.pager(
            self._stub.ListEvaluations,
            request,
            m.evaluations_page,
            timeout=timeout,
            metadata=metadata,
        )

    async def update(
        self,
        evaluation_id: str,
        *,
        status: str = "",
        output: str | None = None,
        error: str | None = None,
        runtime_ms: int | None = None,
        start_time: datetime | None = None,
        complete_time: datetime | None = None,
        metadata_changes: Mapping[str, Any] | None = None,
        running: ev.RunningInfo | None = None,
        expected_version: int = 0,
        request_id: str | None = None,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> ev.Evaluation:
        """Appends a version with the fields given; returns it. `expected_version` makes
        it conditional (`Aborted` when another version came first)."""
        request = m.update_request(
            evaluation_id,
            status=status,
            output=output,
            error=error,
            runtime_ms=runtime_ms,
            start_time=start_time,
            complete_time=complete_time,
            metadata_changes=metadata_changes,
            running=running,
            expected_version=expected_version,
            request_id=request_id,
        )
        reply = await self._calls.unary(
            self._stub.UpdateEvaluation, request, timeout=timeout, metadata=metadata
        )
        return reply.evaluation

    async def delete(
        self,
        evaluation_id: str,
        *,
        expected_version: int = 0,
        request_id: str | None = None,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> ev.Evaluation:
        """Deletes softly: appends a tombstone version, which it returns."""
        request = es.DeleteEvaluationRequest(
            evaluation_id=evaluation_id,
            expected_version=expected_version,
            request_id=m.fresh_request_id(request_id),
        )
        reply = await self._calls.unary(
            self._stub.DeleteEvaluation, request, timeout=timeout, metadata=metadata
        )
        return reply.evaluation

    def list_versions(
        self,
        evaluation_id: str,
        *,
        show_deleted: bool = False,
        page_size: int = 0,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> AsyncPager[ev.Evaluation]:
        """Every version, oldest first."""
        request = es.ListEvaluationVersionsRequest(
            evaluation_id=evaluation_id, show_deleted=show_deleted, page_size=page_size
        )
        return self._calls.pager(
            self._stub.ListEvaluationVersions,
            request,
            m.evaluations_page,
            timeout=timeout,
            metadata=metadata,
        )

    async def apply_task_update(
        self,
        evaluation_id: str,
        *,
        task_id: str,
        task_state: str,
        retries: int = 0,
        output: str | None = None,
        error: str | None = None,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> ev.Evaluation:
        """A Celery report ("PENDING", "STARTED", "RETRY", "SUCCESS", "FAILURE",
        "REVOKED"); redelivering the same report is answered, not applied twice."""
        request = es.ApplyTaskUpdateRequest(
            evaluation_id=evaluation_id,
            task_id=task_id,
            task_state=m.task_state_number(task_state),
            retries=retries,
        )
        if output is not None:
            request.output = output
        if error is not None:
            request.error = error
        reply = await self._calls.unary(
            self._stub.ApplyTaskUpdate, request, timeout=timeout, metadata=metadata
        )
        return reply.evaluation

    def list_running(
        self, *, page_size: int = 0, timeout: float | None = None, metadata: CallMetadata = ()
    ) -> AsyncPager[ev.Evaluation]:
        """Evaluations running now, with their container info."""
        request = es.ListRunningEvaluationsRequest(page_size=page_size)
        return self._calls.pager(
            self._stub.ListRunningEvaluations,
            request,
            m.evaluations_page,
            timeout=timeout,
            metadata=metadata,
        )

    async def add_event(
        self,
        evaluation_id: str,
        type: str,
        *,
        message: str = "",
        event_metadata: Mapping[str, Any] | None = None,
        event_time: datetime | None = None,
        request_id: str | None = None,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> ev.EvaluationEvent:
        request = es.AddEvaluationEventRequest(
            evaluation_id=evaluation_id,
            type=type,
            message=message,
            metadata=m.struct(event_metadata),
            event_time=m.timestamp(event_time),
            request_id=m.fresh_request_id(request_id),
        )
        reply = await self._calls.unary(
            self._stub.AddEvaluationEvent, request, timeout=timeout, metadata=metadata
        )
        return reply.event

    def list_events(
        self,
        evaluation_id: str,
        *,
        show_deleted: bool = False,
        page_size: int = 0,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> AsyncPager[ev.EvaluationEvent]:
        """The timeline, oldest first: events added and one per version."""
        request = es.ListEvaluationEventsRequest(
            evaluation_id=evaluation_id, show_deleted=show_deleted, page_size=page_size
        )
        return self._calls.pager(
            self._stub.ListEvaluationEvents,
            request,
            m.events_page,
            timeout=timeout,
            metadata=metadata,
        )

    async def write_output(
        self,
        evaluation_id: str,
        data: bytes | m.ByteSource,
        *,
        channel: str = "output",
        upload_id: str | None = None,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> ev.Evaluation:
        """Uploads an output (or `channel="error"`) of any size in 1 MiB chunks and
        returns the version recording it. `data` is bytes or a seekable binary file.

        After UNAVAILABLE (or a server that had not yet seen the broken stream end) the
        upload resumes from the committed size the server reports, up to 5 times;
        passing the `upload_id` of an interrupted upload resumes that one.
        """
        source = _source(data)
        upload_id = m.fresh_request_id(upload_id)
        first = _first_message(evaluation_id, channel, upload_id)
        offset = await self._committed(upload_id, timeout, metadata)
        for attempt in range(m.UPLOAD_ATTEMPTS):
            try:
                reply = await self._calls.client_stream(
                    self._stub.WriteEvaluationOutput,
                    m.UploadChunks(source, first, offset),
                    lambda batch: batch[0],
                    batch_size=1,
                    timeout=timeout,
                    metadata=metadata,
                )
                return reply.evaluation
            except (Unavailable, FailedPrecondition) as error:
                if attempt == m.UPLOAD_ATTEMPTS - 1 or not m.resumable(error):
                    raise
            await asyncio.sleep(m.resume_pause(attempt))
            with contextlib.suppress(Unavailable):  # then the next attempt asks again
                offset = await self._committed(upload_id, timeout, metadata)
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _committed(
        self, upload_id: str, timeout: float | None, metadata: CallMetadata
    ) -> int:
        try:
            status = await self.query_write_status(upload_id, timeout=timeout, metadata=metadata)
        except NotFound:
            return 0
        return 0 if status.complete else status.committed_size

    async def query_write_status(
        self, upload_id: str, *, timeout: float | None = None, metadata: CallMetadata = ()
    ) -> es.QueryWriteStatusResponse:
        request = es.QueryWriteStatusRequest(upload_id=upload_id)
        return await self._calls.unary(
            self._stub.QueryWriteStatus, request, timeout=timeout, metadata=metadata
        )

    async def read_output(
        self,
        evaluation_id: str,
        *,
        channel: str = "output",
        version: int = 0,
        read_offset: int = 0,
        read_limit: int = 0,
        show_deleted: bool = False,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> AsyncIterator[bytes]:
        """The bytes of an output, in chunks, resumed from the last offset after
        UNAVAILABLE. Without `version` it reads the latest version as of the call."""
        if not version:
            version = (
                await self.get(
                    evaluation_id, show_deleted=show_deleted, timeout=timeout, metadata=metadata
                )
            ).version
        stream = self._calls.server_stream(
            self._stub.ReadEvaluationOutput,
            _read_request(evaluation_id, channel, version, read_offset, read_limit, show_deleted),
            lambda message: message.next_read_offset,
            start=read_offset,
            timeout=timeout,
            metadata=metadata,
        )
        async for message in stream:
            yield message.data

    async def get_storage_info(
        self,
        evaluation_id: str,
        *,
        version: int = 0,
        show_deleted: bool = False,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> es.GetEvaluationStorageInfoResponse:
        request = es.GetEvaluationStorageInfoRequest(
            evaluation_id=evaluation_id, version=version, show_deleted=show_deleted
        )
        return await self._calls.unary(
            self._stub.GetEvaluationStorageInfo, request, timeout=timeout, metadata=metadata
        )

    async def get_storage_overview(
        self, *, timeout: float | None = None, metadata: CallMetadata = ()
    ) -> es.GetStorageOverviewResponse:
        return await self._calls.unary(
            self._stub.GetStorageOverview,
            es.GetStorageOverviewRequest(),
            timeout=timeout,
            metadata=metadata,
        )

    async def get_statistics(
        self,
        *,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> es.GetEvaluationStatisticsResponse:
        request = es.GetEvaluationStatisticsRequest(
            start_time=m.timestamp(start_time), end_time=m.timestamp(end_time)
        )
        return await self._calls.unary(
            self._stub.GetEvaluationStatistics, request, timeout=timeout, metadata=metadata
        )
