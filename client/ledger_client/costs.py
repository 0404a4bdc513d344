"""`ledger.costs`: ledger.v1.IngestionService, sync and asyncio.

Load billed cost records (a batch in one call, or any number streamed in batches),
read them back as they are or as they were, summarise them, and list ingestion runs.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable
from datetime import datetime

from ledger.v1 import ingestion_service_pb2 as pb
from ledger.v1.ingestion_service_pb2_grpc import IngestionServiceStub
from ledger_client import costs_types as m
from ledger_client.async_calls import AsyncCalls
from ledger_client.calls import Calls
from ledger_client.connection import CallMetadata
from ledger_client.convert import timestamp_from_datetime
from ledger_client.costs_types import (
    CostRecord,
    CostSummaryGroup,
    IngestionReport,
    IngestionRun,
    RecordLike,
)
from ledger_client.pagers import AsyncPager, Pager

# Records per StreamCostRecords message: large enough that per-message costs vanish,
# well below the server's 10,000 and its 16 MiB message limit.
STREAM_BATCH = 5_000


def _list_request(
    *,
    page_size: int,
    as_of_time: datetime | None,
    **filters: object,
) -> pb.ListCostRecordsRequest:
    request = pb.ListCostRecordsRequest(
        page_size=page_size,
        filter=m.record_filter(**filters),  # type: ignore[arg-type]
    )
    if as_of_time is not None:
        request.as_of_time.CopyFrom(timestamp_from_datetime(as_of_time))
    return request


class CostsClient:
    """Billed cost records: load (validated, normalised, idempotent), list, summarise.

    Reached as `Client(...).costs`; every method takes `timeout=` and `metadata=`.
    """

    def __init__(self, calls: Calls) -> None:
        self._calls = calls
        self._stub = IngestionServiceStub(calls.channel)

    def ingest_cost_records(
        self,
        records: Iterable[RecordLike],
        *,
        source: str = "",
        all_or_nothing: bool = False,
        request_id: str | None = None,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> IngestionReport:
        """Loads up to 10,000 records in one call. `request_id` defaults to a fresh UUID."""
        request = m.ingest_request(
            records, source=source, all_or_nothing=all_or_nothing, request_id=request_id
        )
        response = self._calls.unary(
            self._stub.IngestCostRecords, request, timeout=timeout, metadata=metadata
        )
        return m.report_from_proto(response)

    def stream_cost_records(
        self,
        records: Iterable[RecordLike],
        *,
        source: str = "",
        request_id: str | None = None,
        batch_size: int = STREAM_BATCH,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> IngestionReport:
        """Loads any number of records, `batch_size` per message, read from `records` as
        they are sent (memory stays flat). One report for the whole stream."""
        response = self._calls.client_stream(
            self._stub.StreamCostRecords,
            records,
            m.StreamRequests(source=source, request_id=request_id),
            batch_size=batch_size,
            timeout=timeout,
            metadata=metadata,
        )
        return m.report_from_proto(response)

    def list_cost_records(
        self,
        *,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        provider: str = "",
        billing_account_id: str = "",
        service: str = "",
        region: str = "",
        sku: str = "",
        charge_category: str = "",
        as_of_time: datetime | None = None,
        page_size: int = 0,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> Pager[CostRecord]:
        """Current records (or as known at `as_of_time`) by charge period; pages for you."""
        request = _list_request(
            page_size=page_size,
            as_of_time=as_of_time,
            start_time=start_time,
            end_time=end_time,
            provider=provider,
            billing_account_id=billing_account_id,
            service=service,
            region=region,
            sku=sku,
            charge_category=charge_category,
        )
        return self._calls.pager(
            self._stub.ListCostRecords, request, m.records_page, timeout=timeout, metadata=metadata
        )

    def list_cost_record_revisions(
        self,
        record: CostRecord,
        *,
        page_size: int = 0,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> Pager[CostRecord]:
        """Every revision of `record`'s key, oldest first."""
        request = pb.ListCostRecordRevisionsRequest(key=m.key_message(record), page_size=page_size)
        return self._calls.pager(
            self._stub.ListCostRecordRevisions,
            request,
            m.revisions_page,
            timeout=timeout,
            metadata=metadata,
        )

    def get_cost_summary(
        self,
        group_by: str,
        *,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        provider: str = "",
        billing_account_id: str = "",
        service: str = "",
        region: str = "",
        sku: str = "",
        charge_category: str = "",
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> list[CostSummaryGroup]:
        """Totals, count, average, min and max per group ("day", "month", "provider",
        "service", "region", "sku", "charge_category") and currency."""
        request = pb.GetCostSummaryRequest(
            group_by=m.group_by_number(group_by),  # type: ignore[arg-type]
            filter=m.record_filter(
                start_time=start_time,
                end_time=end_time,
                provider=provider,
                billing_account_id=billing_account_id,
                service=service,
                region=region,
                sku=sku,
                charge_category=charge_category,
            ),
        )
        response = self._calls.unary(
            self._stub.GetCostSummary, request, timeout=timeout, metadata=metadata
        )
        return [m.group_from_proto(g) for g in response.groups]

    def list_ingestion_runs(
        self, *, page_size: int = 0, timeout: float | None = None, metadata: CallMetadata = ()
    ) -> Pager[IngestionRun]:
        """Ingestion runs, newest first."""
        request = pb.ListIngestionRunsRequest(page_size=page_size)
        return self._calls.pager(
            self._stub.ListIngestionRuns, request, m.runs_page, timeout=timeout, metadata=metadata
        )

    def get_ingestion_run(
        self, run_id: str, *, timeout: float | None = None, metadata: CallMetadata = ()
    ) -> IngestionRun:
        request = pb.GetIngestionRunRequest(run_id=run_id)
        response = self._calls.unary(
            self._stub.GetIngestionRun, request, timeout=timeout, metadata=metadata
        )
        return m.run_from_proto(response.run)


class AsyncCostsClient:
    """`CostsClient` for asyncio: the same methods, awaited; lists are async iterators."""

    def __init__(self, calls: AsyncCalls) -> None:
        self._calls = calls
        self._stub = IngestionServiceStub(calls.channel)

    async def ingest_cost_records(
        self,
        records: Iterable[RecordLike],
        *,
        source: str = "",
        all_or_nothing: bool = False,
        request_id: str | None = None,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> IngestionReport:
        request = m.ingest_request(
            records, source=source, all_or_nothing=all_or_nothing, request_id=request_id
        )
        response = await self._calls.unary(
            self._stub.IngestCostRecords,
            request,
            timeout=timeout,
            metadata=metadata,
        )
        return m.report_from_proto(response)

    async def stream_cost_records(
        self,
        records: Iterable[RecordLike] | AsyncIterable[RecordLike],
        *,
        source: str = "",
        request_id: str | None = None,
        batch_size: int = STREAM_BATCH,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> IngestionReport:
        response = await self._calls.client_stream(
            self._stub.StreamCostRecords,
            records,
            m.StreamRequests(source=source, request_id=request_id),
            batch_size=batch_size,
            timeout=timeout,
            metadata=metadata,
        )
        return m.report_from_proto(response)

    def list_cost_records(
        self,
        *,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        provider: str = "",
        billing_account_id: str = "",
        service: str = "",
        region: str = "",
        sku: str = "",
        charge_category: str = "",
        as_of_time: datetime | None = None,
        page_size: int = 0,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> AsyncPager[CostRecord]:
        request = _list_request(
            page_size=page_size,
            as_of_time=as_of_time,
            start_time=start_time,
            end_time=end_time,
            provider=provider,
            billing_account_id=billing_account_id,
            service=service,
            region=region,
            sku=sku,
            charge_category=charge_category,
        )
        return self._calls.pager(
            self._stub.ListCostRecords,
            request,
            m.records_page,
            timeout=timeout,
            metadata=metadata,
        )

    def list_cost_record_revisions(
        self,
        record: CostRecord,
        *,
        page_size: int = 0,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> AsyncPager[CostRecord]:
        request = pb.ListCostRecordRevisionsRequest(key=m.key_message(record), page_size=page_size)
        return self._calls.pager(
            self._stub.ListCostRecordRevisions,
            request,
            m.revisions_page,
            timeout=timeout,
            metadata=metadata,
        )

    async def get_cost_summary(
        self,
        group_by: str,
        *,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        provider: str = "",
        billing_account_id: str = "",
        service: str = "",
        region: str = "",
        sku: str = "",
        charge_category: str = "",
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> list[CostSummaryGroup]:
        request = pb.GetCostSummaryRequest(
            group_by=m.group_by_number(group_by),  # type: ignore[arg-type]
            filter=m.record_filter(
                start_time=start_time,
                end_time=end_time,
                provider=provider,
                billing_account_id=billing_account_id,
                service=service,
                region=region,
                sku=sku,
                charge_category=charge_category,
            ),
        )
        response = await self._calls.unary(
            self._stub.GetCostSummary,
            request,
            timeout=timeout,
            metadata=metadata,
        )
        return [m.group_from_proto(g) for g in response.groups]

    def list_ingestion_runs(
        self, *, page_size: int = 0, timeout: float | None = None, metadata: CallMetadata = ()
    ) -> AsyncPager[IngestionRun]:
        request = pb.ListIngestionRunsRequest(page_size=page_size)
        return self._calls.pager(
            self._stub.ListIngestionRuns,
            request,
            m.runs_page,
            timeout=timeout,
            metadata=metadata,
        )

    async def get_ingestion_run(
        self, run_id: str, *, timeout: float | None = None, metadata: CallMetadata = ()
    ) -> IngestionRun:
        request = pb.GetIngestionRunRequest(run_id=run_id)
        response = await self._calls.unary(
            self._stub.GetIngestionRun,
            request,
            timeout=timeout,
            metadata=metadata,
        )
        return m.run_from_proto(response.run)
