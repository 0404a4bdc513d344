"""`ledger.savings`: ledger.v1.SavingsService, sync and asyncio.

Money is int cents on the wire; the returned types keep the cents (`savings_cents`) and
add `Decimal` amounts in currency units (`savings`). Every figure is an estimate from
list prices (see each reply's `disclaimer`).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime

from ledger.v1 import savings_service_pb2 as pb
from ledger.v1.savings_service_pb2_grpc import SavingsServiceStub
from ledger_client import savings_messages as msg
from ledger_client.async_calls import AsyncCalls
from ledger_client.calls import Calls
from ledger_client.connection import CallMetadata
from ledger_client.pagers import AsyncPager, Pager
from ledger_client.savings_types import (
    DailySavings,
    Instance,
    InstanceEvent,
    InstanceSavings,
    InstanceSavingsReport,
    RecordedEvents,
    SavingsSummary,
    ScheduleSavings,
)

GRANULARITIES = {"day": pb.EXPORT_GRANULARITY_DAY, "instance": pb.EXPORT_GRANULARITY_INSTANCE}
# Events per StreamInstanceEvents message: the server's per-transaction maximum.
STREAM_BATCH = 1000


def _instance_request(
    instance_id: str,
    *,
    provider: str,
    hourly_cost_cents: int,
    name: str,
    engine: str,
    region: str,
    instance_type: str,
    schedule_id: str,
    labels: Mapping[str, str] | None,
    effective_time: datetime | None,
    request_id: str | None,
) -> pb.RecordInstanceRequest:
    request = pb.RecordInstanceRequest(
        instance_id=instance_id,
        provider=provider,
        hourly_cost_cents=hourly_cost_cents,
        name=name,
        engine=engine,
        region=region,
        instance_type=instance_type,
        schedule_id=schedule_id,
        labels=dict(labels or {}),
        request_id=request_id or str(uuid.uuid4()),
    )
    if effective_time is not None:
        request.effective_time.CopyFrom(msg.stamp(effective_time))
    return request


def _events_request(
    events: Sequence[InstanceEvent], request_id: str | None
) -> pb.RecordInstanceEventsRequest:
    return pb.RecordInstanceEventsRequest(
        events=[msg.event_in(e) for e in events], request_id=request_id or str(uuid.uuid4())
    )


def _recorded(
    message: pb.RecordInstanceEventsResponse | pb.StreamInstanceEventsResponse,
) -> RecordedEvents:
    return RecordedEvents(
        message.recorded_count,
        message.duplicate_count,
        message.correction_count,
        message.disclaimer,
    )


def _export_request(
    savings_range: pb.SavingsRange, granularity: str
) -> tuple[pb.SavingsRange, int]:
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity must be 'day' or 'instance', got {granularity!r}")
    return savings_range, GRANULARITIES[granularity]


class SavingsClient:
    """Money saved by stopping instances on schedules. Reached as `Client(...).savings`.

    Ranges: `last_days=7|30|90`, or `start_date=`/`end_date=` (days in the server's
    reporting time zone); neither means the last 30 days.
    """

    def __init__(self, calls: Calls) -> None:
        self._calls = calls
        self._stub = SavingsServiceStub(calls.channel)

    def record_instance(
        self,
        instance_id: str,
        *,
        provider: str,
        hourly_cost_cents: int,
        name: str = "",
        engine: str = "",
        region: str = "",
        instance_type: str = "",
        schedule_id: str = "",
        labels: Mapping[str, str] | None = None,
        effective_time: datetime | None = None,
        request_id: str | None = None,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> Instance:
        """Records an instance or its next revision. `request_id` defaults to a UUID."""
        request = _instance_request(
            instance_id, provider=provider, hourly_cost_cents=hourly_cost_cents, name=name,
            engine=engine, region=region, instance_type=instance_type, schedule_id=schedule_id,
            labels=labels, effective_time=effective_time, request_id=request_id,
        )  # fmt: skip
        response = self._calls.unary(
            self._stub.RecordInstance, request, timeout=timeout, metadata=metadata
        )
        return msg.instance_out(response.instance)

    def record_events(
        self,
        events: Sequence[InstanceEvent],
        *,
        request_id: str | None = None,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> RecordedEvents:
        """Records up to 1,000 events in one transaction; duplicates are skipped."""
        response = self._calls.unary(
            self._stub.RecordInstanceEvents,
            _events_request(events, request_id),
            timeout=timeout,
            metadata=metadata,
        )
        return _recorded(response)

    def stream_events(
        self,
        events: Iterable[InstanceEvent],
        *,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> RecordedEvents:
        """Backfills any number of events, 1,000 per transaction; safe to send again."""
        response = self._calls.client_stream(
            self._stub.StreamInstanceEvents,
            events,
            msg.events_request,
            batch_size=STREAM_BATCH,
            timeout=timeout,
            metadata=metadata,
        )
        return _recorded(response)

    def get_summary(
        self,
        *,
        last_days: int | None = None,
        start_date: date | None = None,
        end_date: date | None = None,
        schedule_id: str = "",
        instance_id: str = "",
        top_savers_count: int = 0,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> SavingsSummary:
        request = pb.GetSavingsSummaryRequest(
            range=msg.savings_range(last_days, start_date, end_date),
            schedule_id=schedule_id,
            instance_id=instance_id,
            top_savers_count=top_savers_count,
        )
        response = self._calls.unary(
            self._stub.GetSavingsSummary, request, timeout=timeout, metadata=metadata
        )
        return msg.summary_out(response)

    def list_daily(
        self,
        *,
        last_days: int | None = None,
        start_date: date | None = None,
        end_date: date | None = None,
        schedule_id: str = "",
        instance_id: str = "",
        page_size: int = 0,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> Pager[DailySavings]:
        """Every day of the range, oldest first, zero days included."""
        request = pb.ListDailySavingsRequest(
            range=msg.savings_range(last_days, start_date, end_date),
            schedule_id=schedule_id,
            instance_id=instance_id,
            page_size=page_size,
        )
        return self._calls.pager(
            self._stub.ListDailySavings, request, msg.daily_page, timeout=timeout,
            metadata=metadata,
        )  # fmt: skip

    def list_instances(
        self,
        *,
        last_days: int | None = None,
        start_date: date | None = None,
        end_date: date | None = None,
        schedule_id: str = "",
        order_by: str = "",
        page_size: int = 0,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> Pager[InstanceSavings]:
        """Per-instance savings, most first unless `order_by` ("instance_id asc", ...)."""
        request = pb.ListInstanceSavingsRequest(
            range=msg.savings_range(last_days, start_date, end_date),
            schedule_id=schedule_id,
            order_by=order_by,
            page_size=page_size,
        )
        return self._calls.pager(
            self._stub.ListInstanceSavings, request, msg.instances_page, timeout=timeout,
            metadata=metadata,
        )  # fmt: skip

    def get_instance(
        self,
        instance_id: str,
        *,
        last_days: int | None = None,
        start_date: date | None = None,
        end_date: date | None = None,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> InstanceSavingsReport:
        request = pb.GetInstanceSavingsRequest(
            instance_id=instance_id, range=msg.savings_range(last_days, start_date, end_date)
        )
        response = self._calls.unary(
            self._stub.GetInstanceSavings, request, timeout=timeout, metadata=metadata
        )
        return msg.report_out(response)

    def list_schedules(
        self,
        *,
        last_days: int | None = None,
        start_date: date | None = None,
        end_date: date | None = None,
        page_size: int = 0,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> Pager[ScheduleSavings]:
        request = pb.ListScheduleSavingsRequest(
            range=msg.savings_range(last_days, start_date, end_date), page_size=page_size
        )
        return self._calls.pager(
            self._stub.ListScheduleSavings, request, msg.schedules_page, timeout=timeout,
            metadata=metadata,
        )  # fmt: skip

    def export_csv(
        self,
        *,
        granularity: str = "day",
        last_days: int | None = None,
        start_date: date | None = None,
        end_date: date | None = None,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> Iterator[bytes]:
        """The CSV export in chunks of whole rows; resumes by itself after UNAVAILABLE."""
        savings_range, kind = _export_request(
            msg.savings_range(last_days, start_date, end_date), granularity
        )
        stream = self._calls.server_stream(
            self._stub.ExportSavings,
            lambda token: pb.ExportSavingsRequest(
                range=savings_range,
                granularity=kind,  # type: ignore[arg-type]
                resume_token=token,
            ),
            lambda message: message.resume_token,
            start="",
            timeout=timeout,
            metadata=metadata,
        )
        return (message.csv_chunk for message in stream)


class AsyncSavingsClient:
    """`SavingsClient` for asyncio: the same methods, awaited (pagers and streams are
    async iterators)."""

    def __init__(self, calls: AsyncCalls) -> None:
        self._calls = calls
        self._stub = SavingsServiceStub(calls.channel)

    async def record_instance(
        self,
        instance_id: str,
        *,
        provider: str,
        hourly_cost_cents: int,
        name: str = "",
        engine: str = "",
        region: str = "",
        instance_type: str = "",
        schedule_id: str = "",
        labels: Mapping[str, str] | None = None,
        effective_time: datetime | None = None,
        request_id: str | None = None,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> Instance:
        request = _instance_request(
            instance_id, provider=provider, hourly_cost_cents=hourly_cost_cents, name=name,
            engine=engine, region=region, instance_type=instance_type, schedule_id=schedule_id,
            labels=labels, effective_time=effective_time, request_id=request_id,
        )  # fmt: skip
        response = await self._calls.unary(
            self._stub.RecordInstance,
            request,
            timeout=timeout,
            metadata=metadata,
        )
        return msg.instance_out(response.instance)

    async def record_events(
        self,
        events: Sequence[InstanceEvent],
        *,
        request_id: str | None = None,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> RecordedEvents:
        response = await self._calls.unary(
            self._stub.RecordInstanceEvents,
            _events_request(events, request_id),
            timeout=timeout,
            metadata=metadata,
        )
        return _recorded(response)

    async def stream_events(
        self,
        events: Iterable[InstanceEvent] | AsyncIterable[InstanceEvent],
        *,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> RecordedEvents:
        response = await self._calls.client_stream(
            self._stub.StreamInstanceEvents,
            events,
            msg.events_request,
            batch_size=STREAM_BATCH,
            timeout=timeout,
            metadata=metadata,
        )
        return _recorded(response)

    async def get_summary(
        self,
        *,
        last_days: int | None = None,
        start_date: date | None = None,
        end_date: date | None = None,
        schedule_id: str = "",
        instance_id: str = "",
        top_savers_count: int = 0,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> SavingsSummary:
        request = pb.GetSavingsSummaryRequest(
            range=msg.savings_range(last_days, start_date, end_date),
            schedule_id=schedule_id,
            instance_id=instance_id,
            top_savers_count=top_savers_count,
        )
        response = await self._calls.unary(
            self._stub.GetSavingsSummary,
            request,
            timeout=timeout,
            metadata=metadata,
        )
        return msg.summary_out(response)

    def list_daily(
        self,
        *,
        last_days: int | None = None,
        start_date: date | None = None,
        end_date: date | None = None,
        schedule_id: str = "",
        instance_id: str = "",
        page_size: int = 0,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> AsyncPager[DailySavings]:
        request = pb.ListDailySavingsRequest(
            range=msg.savings_range(last_days, start_date, end_date),
            schedule_id=schedule_id,
            instance_id=instance_id,
            page_size=page_size,
        )
        return self._calls.pager(
            self._stub.ListDailySavings, request, msg.daily_page, timeout=timeout,
            metadata=metadata,
        )  # fmt: skip

    def list_instances(
        self,
        *,
        last_days: int | None = None,
        start_date: date | None = None,
        end_date: date | None = None,
        schedule_id: str = "",
        order_by: str = "",
        page_size: int = 0,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> AsyncPager[InstanceSavings]:
        request = pb.ListInstanceSavingsRequest(
            range=msg.savings_range(last_days, start_date, end_date),
            schedule_id=schedule_id,
            order_by=order_by,
            page_size=page_size,
        )
        return self._calls.pager(
            self._stub.ListInstanceSavings, request, msg.instances_page, timeout=timeout,
            metadata=metadata,
        )  # fmt: skip

    async def get_instance(
        self,
        instance_id: str,
        *,
        last_days: int | None = None,
        start_date: date | None = None,
        end_date: date | None = None,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> InstanceSavingsReport:
        request = pb.GetInstanceSavingsRequest(
            instance_id=instance_id, range=msg.savings_range(last_days, start_date, end_date)
        )
        response = await self._calls.unary(
            self._stub.GetInstanceSavings,
            request,
            timeout=timeout,
            metadata=metadata,
        )
        return msg.report_out(response)

    def list_schedules(
        self,
        *,
        last_days: int | None = None,
        start_date: date | None = None,
        end_date: date | None = None,
        page_size: int = 0,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> AsyncPager[ScheduleSavings]:
        request = pb.ListScheduleSavingsRequest(
            range=msg.savings_range(last_days, start_date, end_date), page_size=page_size
        )
        return self._calls.pager(
            self._stub.ListScheduleSavings, request, msg.schedules_page, timeout=timeout,
            metadata=metadata,
        )  # fmt: skip

    async def export_csv(
        self,
        *,
        granularity: str = "day",
        last_days: int | None = None,
        start_date: date | None = None,
        end_date: date | None = None,
        timeout: float | None = None,
        metadata: CallMetadata = (),
    ) -> AsyncIterator[bytes]:
        savings_range, kind = _export_request(
            msg.savings_range(last_days, start_date, end_date), granularity
        )
        stream = self._calls.server_stream(
            self._stub.ExportSavings,
            lambda token: pb.ExportSavingsRequest(
                range=savings_range,
                granularity=kind,  # type: ignore[arg-type]
                resume_token=token,
            ),
            lambda message: message.resume_token,
            start="",
            timeout=timeout,
            metadata=metadata,
        )
        async for message in stream:
            yield message.csv_chunk
