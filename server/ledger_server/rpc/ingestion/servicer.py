"""IngestionService: translate, call the use case off the event loop, translate back."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from ledger.v1 import ingestion_service_pb2 as ing
from ledger_server.api_keys import Role
from ledger_server.domain.ingestion.records import IngestionReport
from ledger_server.domain.ingestion.use_cases import Ingestion, PreparedBatch, StreamIngestion
from ledger_server.rpc.handler import Call, Runtime, client_stream, unary
from ledger_server.rpc.idempotency import StreamFingerprint, request_key
from ledger_server.rpc.ingestion import convert
from ledger_server.rpc.service import Servicer

log = logging.getLogger("ledger.ingestion")


def _log_run(report: IngestionReport) -> None:
    """One line per load with its counts, next to the access log's line for the call."""
    run = report.run
    log.info(
        "ingestion run",
        extra={
            "run_id": str(run.run_id),
            "source": run.source,
            "caller": run.caller,
            "inserted": run.counts.inserted,
            "revised": run.counts.revised,
            "unchanged": run.counts.unchanged,
            "rejected": run.counts.rejected,
            "duration_ms": run.duration_ms,
        },
    )


class IngestionServicer(Servicer, service=ing.DESCRIPTOR.services_by_name["IngestionService"]):
    def __init__(self, runtime: Runtime, ingestion: Ingestion) -> None:
        super().__init__(runtime)
        self.ingestion = ingestion

    @unary(Role.WRITER)
    async def IngestCostRecords(  # noqa: N802 - gRPC method names
        self, request: ing.IngestCostRecordsRequest, call: Call
    ) -> ing.IngestCostRecordsResponse:
        def ingest() -> ing.IngestCostRecordsResponse:
            report = self.ingestion.ingest(
                convert.records_in(request.records),
                source=request.source,
                all_or_nothing=request.all_or_nothing,
                request=request_key(request),
                input_sha256=convert.input_digest(request),
                caller=call.caller,
            )
            _log_run(report)
            return ing.IngestCostRecordsResponse(
                run=convert.run_out(report.run), rejections=convert.rejections_out(report)
            )

        return await self.runtime.offload(ingest)

    @client_stream(Role.WRITER)
    async def StreamCostRecords(  # noqa: N802
        self, requests: AsyncIterator[ing.StreamCostRecordsRequest], call: Call
    ) -> ing.StreamCostRecordsResponse:
        fingerprint = StreamFingerprint()
        stream: StreamIngestion | None = None
        # The batch being written while the next one is read and normalised: the CPU
        # work of one overlaps the database work of the other, in stream order.
        writing: asyncio.Future[None] | None = None
        try:
            async for message in requests:
                if stream is None:
                    stream = await self.runtime.offload(
                        self.ingestion.open_stream,
                        source=message.source,
                        request_id=message.request_id,
                        caller=call.caller,
                    )
                prepared = await self.runtime.offload(_prepare, stream, fingerprint, message)
                if writing is not None:
                    await writing
                    writing = None
                if prepared is not None:
                    writing = asyncio.ensure_future(self.runtime.offload(stream.write, prepared))
            if writing is not None:
                await writing
                writing = None
        finally:
            if writing is not None:  # the call failed or was cancelled: the write goes on
                writing.add_done_callback(_retrieve)
        if stream is None:  # an empty stream is an empty load
            stream = await self.runtime.offload(
                self.ingestion.open_stream, source="", request_id="", caller=call.caller
            )
        report: IngestionReport = await self.runtime.offload(
            stream.finish, fingerprint.key(), fingerprint.digest()
        )
        _log_run(report)
        return ing.StreamCostRecordsResponse(
            run=convert.run_out(report.run), rejections=convert.rejections_out(report)
        )

    @unary(Role.READER)
    async def ListCostRecords(  # noqa: N802
        self, request: ing.ListCostRecordsRequest, call: Call
    ) -> ing.ListCostRecordsResponse:
        filters = convert.filters_in(request)
        as_of = convert.as_of_in(request)
        page = await self.runtime.offload(
            self.ingestion.list_records, filters, as_of, request.page_size, request.page_token
        )
        return ing.ListCostRecordsResponse(
            records=[convert.record_out(r) for r in page.items],
            next_page_token=page.next_page_token,
        )

    @unary(Role.READER)
    async def ListCostRecordRevisions(  # noqa: N802
        self, request: ing.ListCostRecordRevisionsRequest, call: Call
    ) -> ing.ListCostRecordRevisionsResponse:
        key = convert.key_in(request)
        page = await self.runtime.offload(
            self.ingestion.list_revisions,
            key["start"],
            key["end"],
            key["parts"],
            key["category"],
            request.page_size,
            request.page_token,
        )
        return ing.ListCostRecordRevisionsResponse(
            revisions=[convert.record_out(r) for r in page.items],
            next_page_token=page.next_page_token,
        )

    @unary(Role.READER)
    async def GetCostSummary(  # noqa: N802
        self, request: ing.GetCostSummaryRequest, call: Call
    ) -> ing.GetCostSummaryResponse:
        filters = convert.filters_in(request)
        groups = await self.runtime.offload(
            self.ingestion.summarise, filters, convert.group_by_in(request)
        )
        return ing.GetCostSummaryResponse(groups=[convert.group_out(g) for g in groups])

    @unary(Role.READER)
    async def ListIngestionRuns(  # noqa: N802
        self, request: ing.ListIngestionRunsRequest, call: Call
    ) -> ing.ListIngestionRunsResponse:
        page = await self.runtime.offload(
            self.ingestion.list_runs, request.page_size, request.page_token
        )
        return ing.ListIngestionRunsResponse(
            runs=[convert.run_out(r) for r in page.items], next_page_token=page.next_page_token
        )

    @unary(Role.READER)
    async def GetIngestionRun(  # noqa: N802
        self, request: ing.GetIngestionRunRequest, call: Call
    ) -> ing.GetIngestionRunResponse:
        run = await self.runtime.offload(self.ingestion.get_run, request.run_id)
        return ing.GetIngestionRunResponse(run=convert.run_out(run))


def _prepare(
    stream: StreamIngestion, fingerprint: StreamFingerprint, message: ing.StreamCostRecordsRequest
) -> PreparedBatch | None:
    fingerprint.add(message)
    return stream.prepare(convert.records_in(message.records))


def _retrieve(write: asyncio.Future[None]) -> None:
    """Collects the outcome of a write nobody awaits any more (its batch commits or not,
    whole either way); a failure was already answered by the error that ended the call."""
    if not write.cancelled():
        write.exception()
