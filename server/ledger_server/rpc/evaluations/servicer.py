"""EvaluationService: translate, call the use case off the event loop, translate back.

Two thread pools do the blocking work: the database threads (`runtime.offload`) run
units of work, the blob threads (`self.blob_io`) hash, compress, write and read output
contents, so a large output never holds a database connection while it moves.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from ledger.v1 import evaluation_service_pb2 as es
from ledger_server.api_keys import Role
from ledger_server.domain.errors import (
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    Violations,
)
from ledger_server.domain.evaluations import commands, outputs, rules
from ledger_server.domain.evaluations.outputs import PreparedContent, Thresholds
from ledger_server.domain.evaluations.records import Content, Location
from ledger_server.domain.evaluations.use_cases import Evaluations, FinishedUpload
from ledger_server.rpc.evaluations import convert, overview
from ledger_server.rpc.evaluations import output_streams as streams
from ledger_server.rpc.evaluations.logs import EvaluationLogRpcs
from ledger_server.rpc.handler import Call, Runtime, client_stream, server_stream, unary
from ledger_server.rpc.idempotency import request_key
from ledger_server.rpc.service import Servicer
from ledger_server.rpc.wire import struct_in, time_in
from ledger_server.storage.evaluations.blob_store import FileBlobStore
from ledger_server.storage.evaluations.uploads import UploadArea

P = ParamSpec("P")
R = TypeVar("R")
# The FULL view carries an output or error up to this size; larger ones are streamed.
MAX_VIEW_BYTES = 1024 * 1024
READ_CHUNK_BYTES = 1024 * 1024


class EvaluationServicer(
    EvaluationLogRpcs, Servicer, service=es.DESCRIPTOR.services_by_name["EvaluationService"]
):
    def __init__(
        self,
        runtime: Runtime,
        evaluations: Evaluations,
        blobs: FileBlobStore,
        blob_io: ThreadPoolExecutor,
        *,
        uploads: UploadArea | None = None,
        cache_health: Callable[[], tuple[bool, int, int, str]] | None = None,
        thresholds: Thresholds | None = None,
    ) -> None:
        super().__init__(runtime)
        self.evaluations = evaluations
        self.blobs = blobs
        self.blob_io = blob_io
        self.uploads = uploads or UploadArea(blobs.root)
        self.cache_health = cache_health
        self.thresholds = thresholds or Thresholds()

    async def on_blob_thread(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.blob_io, functools.partial(fn, *args, **kwargs))

    async def _prepared(self, request: object, field: str) -> PreparedContent | None:
        """The optional `field` of `request` as a content ready to record (blob written)."""
        if not request.HasField(field):  # type: ignore[attr-defined]
            return None
        text: str = getattr(request, field)
        violations = Violations()
        rules.check_output_size(len(text), field, violations)  # a character is >= 1 byte
        violations.raise_if_any()

        def prepare() -> PreparedContent:
            data = text.encode()
            checked = Violations()
            rules.check_output_size(len(data), field, checked)
            checked.raise_if_any()
            return outputs.prepare(data, self.blobs, self.thresholds)

        return await self.on_blob_thread(prepare)

    async def _text(self, content: Content | None) -> str | None:
        """A content as the FULL view shows it: None when too large or not UTF-8."""
        if content is None or content.size > MAX_VIEW_BYTES:
            return None
        if content.location is Location.BLOB_STORE:
            data = await self.on_blob_thread(self._read_blob, content)
        else:
            stored = await self.runtime.offload(self.evaluations.content_bytes, content)
            if stored is None:
                return None
            data = await self.on_blob_thread(outputs.decoded, content, stored)
        try:
            return data.decode()
        except UnicodeDecodeError:
            return None

    def _read_blob(self, content: Content) -> bytes:
        with self.blobs.open(content.sha256) as source:
            return b"".join(outputs.verified_chunks(source, content, 0, 0, READ_CHUNK_BYTES))

    @unary(Role.WRITER)
    async def CreateEvaluation(  # noqa: N802 - gRPC method names
        self, request: es.CreateEvaluationRequest, call: Call
    ) -> es.CreateEvaluationResponse:
        evaluation = await self.runtime.offload(
            lambda: self.evaluations.create(convert.create_command(request), request_key(request))
        )
        return es.CreateEvaluationResponse(evaluation=convert.evaluation_out(evaluation))

    @unary(Role.READER)
    async def GetEvaluation(  # noqa: N802
        self, request: es.GetEvaluationRequest, call: Call
    ) -> es.GetEvaluationResponse:
        full = convert.full_view(request.view)
        evaluation = await self.runtime.offload(
            self.evaluations.get,
            request.evaluation_id,
            version=request.version,
            with_code=full,
            show_deleted=request.show_deleted,
        )
        if not full:
            return es.GetEvaluationResponse(evaluation=convert.evaluation_out(evaluation))
        output = await self._text(evaluation.output)
        error = await self._text(evaluation.error)
        return es.GetEvaluationResponse(
            evaluation=convert.evaluation_out(evaluation, output=output, error=error)
        )

    @unary(Role.READER)
    async def ListEvaluations(  # noqa: N802
        self, request: es.ListEvaluationsRequest, call: Call
    ) -> es.ListEvaluationsResponse:
        filters = convert.filters_in(request)
        page = await self.runtime.offload(
            self.evaluations.list, filters, request.page_size, request.page_token
        )
        return es.ListEvaluationsResponse(
            evaluations=[convert.evaluation_out(e) for e in page.items],
            next_page_token=page.next_page_token,
        )

    @unary(Role.WRITER)
    async def UpdateEvaluation(  # noqa: N802
        self, request: es.UpdateEvaluationRequest, call: Call
    ) -> es.UpdateEvaluationResponse:
        key = request_key(request)
        command = commands.UpdateEvaluation(
            evaluation_id=request.evaluation_id,
            status=convert.status_in(request.status),
            runtime_ms=request.runtime_ms if request.HasField("runtime_ms") else None,
            start_time=time_in(request, "start_time"),
            complete_time=time_in(request, "complete_time"),
            metadata_changes=(
                struct_in(request.metadata_changes)
                if request.HasField("metadata_changes")
                else None
            ),
            running=convert.running_in(request),
            expected_version=request.expected_version,
        )
        self.evaluations.check_update(command, key)
        command = dataclasses.replace(
            command,
            output=await self._prepared(request, "output"),
            error=await self._prepared(request, "error"),
        )
        evaluation = await self.runtime.offload(self.evaluations.update, command, key)
        return es.UpdateEvaluationResponse(evaluation=convert.evaluation_out(evaluation))

    @unary(Role.WRITER)
    async def DeleteEvaluation(  # noqa: N802
        self, request: es.DeleteEvaluationRequest, call: Call
    ) -> es.DeleteEvaluationResponse:
        evaluation = await self.runtime.offload(
            self.evaluations.delete,
            request.evaluation_id,
            request.expected_version,
            request_key(request),
        )
        return es.DeleteEvaluationResponse(evaluation=convert.evaluation_out(evaluation))

    @unary(Role.READER)
    async def ListEvaluationVersions(  # noqa: N802
        self, request: es.ListEvaluationVersionsRequest, call: Call
    ) -> es.ListEvaluationVersionsResponse:
        page = await self.runtime.offload(
            self.evaluations.list_versions,
            request.evaluation_id,
            request.page_size,
            request.page_token,
            show_deleted=request.show_deleted,
        )
        return es.ListEvaluationVersionsResponse(
            evaluations=[convert.evaluation_out(e) for e in page.items],
            next_page_token=page.next_page_token,
        )

    @client_stream(Role.WRITER)
    async def WriteEvaluationOutput(  # noqa: N802
        self, requests: AsyncIterator[es.WriteEvaluationOutputRequest], call: Call
    ) -> es.WriteEvaluationOutputResponse:
        first = await anext(requests, None)
        if first is None:
            raise InvalidArgument([FieldViolation("evaluation_id", "is required")])
        rules.check_id(first.evaluation_id)
        streams.check_upload_id(first.upload_id)
        channel = streams.channel_in(first.channel)
        finished = await self.runtime.offload(self.evaluations.finished_upload, first.upload_id)
        if finished is not None:
            # A retry of a finished upload: the first reply, nothing written.
            return await self._finished_reply(first, finished)
        await self.runtime.offload(self.evaluations.check_writable, first.evaluation_id)
        owner = streams.owner_of(first)
        with contextlib.ExitStack() as stack:
            staged = await self.on_blob_thread(
                stack.enter_context, self.uploads.open(first.upload_id, owner)
            )
            try:
                message: es.WriteEvaluationOutputRequest | None = first
                while message is not None:
                    streams.check_same_upload(message, first)
                    streams.check_chunk(message)
                    if message.write_offset != staged.size:
                        raise FailedPrecondition(
                            f"write_offset {message.write_offset} is not the committed size "
                            f"{staged.size}; resume from the committed size",
                            reason="WRITE_OFFSET_MISMATCH",
                            metadata={"committed_size": str(staged.size)},
                        )
                    if message.data:
                        await self.on_blob_thread(staged.append, message.data)
                    if message.finish_write:
                        break
                    message = await anext(requests, None)
                if message is None:  # the stream ended unfinished: keep what came
                    await self.on_blob_thread(staged.sync)
                    return es.WriteEvaluationOutputResponse(committed_size=staged.size)
                prepared = await self.on_blob_thread(
                    streams.finish, staged, self.blobs, self.uploads, self.thresholds
                )
            finally:
                await self.on_blob_thread(stack.close)
        evaluation = await self.runtime.offload(
            self.evaluations.record_output,
            first.evaluation_id,
            channel,
            prepared,
            first.upload_id,
        )
        await self.on_blob_thread(self.uploads.discard, first.upload_id)
        return es.WriteEvaluationOutputResponse(
            committed_size=prepared.content.size, evaluation=convert.evaluation_out(evaluation)
        )

    async def _finished_reply(
        self, first: es.WriteEvaluationOutputRequest, finished: FinishedUpload
    ) -> es.WriteEvaluationOutputResponse:
        evaluation = finished.evaluation
        if (evaluation.evaluation_id, finished.channel) != (
            first.evaluation_id,
            streams.channel_in(first.channel),
        ):
            raise AlreadyExists(
                "upload_id was already used for another evaluation or channel",
                reason="REQUEST_ID_REUSED",
                metadata={"upload_id": first.upload_id},
            )
        return es.WriteEvaluationOutputResponse(
            committed_size=finished.size, evaluation=convert.evaluation_out(evaluation)
        )

    @unary(Role.READER)
    async def QueryWriteStatus(  # noqa: N802
        self, request: es.QueryWriteStatusRequest, call: Call
    ) -> es.QueryWriteStatusResponse:
        streams.check_upload_id(request.upload_id)
        finished = await self.runtime.offload(self.evaluations.finished_upload, request.upload_id)
        if finished is not None:
            return es.QueryWriteStatusResponse(
                committed_size=finished.size,
                complete=True,
                evaluation_id=finished.evaluation.evaluation_id,
                version=finished.evaluation.version,
            )
        staged = await self.on_blob_thread(self.uploads.owner, request.upload_id)
        if staged is None:
            raise NotFound("upload", request.upload_id)
        owner, committed = staged
        return es.QueryWriteStatusResponse(
            committed_size=committed, evaluation_id=owner.evaluation_id
        )

    @server_stream(Role.READER)
    async def ReadEvaluationOutput(  # noqa: N802
        self, request: es.ReadEvaluationOutputRequest, call: Call
    ) -> AsyncIterator[es.ReadEvaluationOutputResponse]:
        channel = streams.channel_in(request.channel)
        evaluation = await self.runtime.offload(
            self.evaluations.get,
            request.evaluation_id,
            version=request.version,
            show_deleted=request.show_deleted,
        )
        content = streams.content_of(evaluation, channel)
        streams.check_range(request, content)
        offset, size = request.read_offset, content.size
        if content.location is Location.BLOB_STORE:
            source = await self.on_blob_thread(self.blobs.open, content.sha256)
            try:
                chunks = outputs.verified_chunks(
                    source, content, offset, request.read_limit, streams.CHUNK_BYTES
                )
                while (data := await self.on_blob_thread(next, chunks, None)) is not None:
                    offset += len(data)
                    yield es.ReadEvaluationOutputResponse(
                        data=data, next_read_offset=offset, size_bytes=size
                    )
            finally:
                await self.on_blob_thread(source.close)
            return
        stored = await self.runtime.offload(self.evaluations.content_bytes, content)
        data_all = await self.on_blob_thread(outputs.decoded, content, stored or b"")
        for data in streams.database_chunks(data_all, offset, request.read_limit):
            offset += len(data)
            yield es.ReadEvaluationOutputResponse(
                data=data, next_read_offset=offset, size_bytes=size
            )

    @unary(Role.READER)
    async def GetEvaluationStorageInfo(  # noqa: N802
        self, request: es.GetEvaluationStorageInfoRequest, call: Call
    ) -> es.GetEvaluationStorageInfoResponse:
        evaluation = await self.runtime.offload(
            self.evaluations.get,
            request.evaluation_id,
            version=request.version,
            show_deleted=request.show_deleted,
        )
        reply = es.GetEvaluationStorageInfoResponse(
            evaluation_id=evaluation.evaluation_id, version=evaluation.version
        )
        if evaluation.output is not None:
            reply.output.CopyFrom(convert.content_out(evaluation.output))
        if evaluation.error is not None:
            reply.error.CopyFrom(convert.content_out(evaluation.error))
        return reply

    @unary(Role.READER)
    async def GetStorageOverview(  # noqa: N802
        self, request: es.GetStorageOverviewRequest, call: Call
    ) -> es.GetStorageOverviewResponse:
        return await overview.storage_overview(self)

    @unary(Role.READER)
    async def GetEvaluationStatistics(  # noqa: N802
        self, request: es.GetEvaluationStatisticsRequest, call: Call
    ) -> es.GetEvaluationStatisticsResponse:
        result = await self.runtime.offload(
            self.evaluations.statistics,
            time_in(request, "start_time"),
            time_in(request, "end_time"),
        )
        return convert.statistics_out(result)

    @unary(Role.WRITER)
    async def ApplyTaskUpdate(  # noqa: N802
        self, request: es.ApplyTaskUpdateRequest, call: Call
    ) -> es.ApplyTaskUpdateResponse:
        command = commands.TaskUpdate(
            evaluation_id=request.evaluation_id,
            task_id=request.task_id,
            task_state=convert.task_state_in(request.task_state),
            retries=request.retries,
        )
        self.evaluations.check_task_update(command)
        command = dataclasses.replace(
            command,
            output=await self._prepared(request, "output"),
            error=await self._prepared(request, "error"),
        )
        evaluation = await self.runtime.offload(self.evaluations.apply_task_update, command)
        return es.ApplyTaskUpdateResponse(evaluation=convert.evaluation_out(evaluation))

    @unary(Role.READER)
    async def ListRunningEvaluations(  # noqa: N802
        self, request: es.ListRunningEvaluationsRequest, call: Call
    ) -> es.ListRunningEvaluationsResponse:
        page = await self.runtime.offload(
            self.evaluations.list_running, request.page_size, request.page_token
        )
        return es.ListRunningEvaluationsResponse(
            evaluations=[convert.evaluation_out(e) for e in page.items],
            next_page_token=page.next_page_token,
        )

    @unary(Role.WRITER)
    async def AddEvaluationEvent(  # noqa: N802
        self, request: es.AddEvaluationEventRequest, call: Call
    ) -> es.AddEvaluationEventResponse:
        event = await self.runtime.offload(
            self.evaluations.add_event, convert.event_in(request), request_key(request)
        )
        return es.AddEvaluationEventResponse(event=convert.event_out(event))

    @unary(Role.READER)
    async def ListEvaluationEvents(  # noqa: N802
        self, request: es.ListEvaluationEventsRequest, call: Call
    ) -> es.ListEvaluationEventsResponse:
        page = await self.runtime.offload(
            self.evaluations.list_events,
            request.evaluation_id,
            request.page_size,
            request.page_token,
            show_deleted=request.show_deleted,
        )
        return es.ListEvaluationEventsResponse(
            events=[convert.event_out(e) for e in page.items],
            next_page_token=page.next_page_token,
        )


def _changes_in(request: es.UpdateEvaluationRequest) -> dict[str, object] | None:
    if not request.HasField("metadata_changes"):
        return None
    return struct_in(request.metadata_changes)
