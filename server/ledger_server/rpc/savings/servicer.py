"""SavingsService: translate, call the use cases off the event loop, translate back."""

from __future__ import annotations

from collections.abc import AsyncIterator

from ledger.v1 import savings_service_pb2 as pb
from ledger_server.api_keys import Role
from ledger_server.domain.errors import FieldViolation, InvalidArgument
from ledger_server.domain.savings.recording import EventsOutcome, SavingsRecorder
from ledger_server.domain.savings.records import CURRENCY, DISCLAIMER
from ledger_server.domain.savings.reports import SavingsReports
from ledger_server.rpc.handler import Call, Runtime, client_stream, server_stream, unary
from ledger_server.rpc.idempotency import request_key
from ledger_server.rpc.savings import convert
from ledger_server.rpc.service import Servicer

_GRANULARITY_DAY = pb.EXPORT_GRANULARITY_DAY
_GRANULARITY_INSTANCE = pb.EXPORT_GRANULARITY_INSTANCE


class SavingsServicer(Servicer, service=pb.DESCRIPTOR.services_by_name["SavingsService"]):
    def __init__(
        self, runtime: Runtime, recorder: SavingsRecorder, reports: SavingsReports
    ) -> None:
        super().__init__(runtime)
        self.recorder = recorder
        self.reports = reports

    @unary(Role.WRITER)
    async def RecordInstance(  # noqa: N802 - gRPC method names
        self, request: pb.RecordInstanceRequest, call: Call
    ) -> pb.RecordInstanceResponse:
        command = convert.record_instance_command(request)
        revision, corrections = await self.runtime.offload(
            self.recorder.record_instance, command, request_key(request)
        )
        return pb.RecordInstanceResponse(
            instance=convert.instance_out(revision),
            correction_count=corrections,
            disclaimer=DISCLAIMER,
        )

    @unary(Role.WRITER)
    async def RecordInstanceEvents(  # noqa: N802
        self, request: pb.RecordInstanceEventsRequest, call: Call
    ) -> pb.RecordInstanceEventsResponse:
        events = convert.events_in(request.events)
        outcome = await self.runtime.offload(
            self.recorder.record_events, events, request_key(request)
        )
        return pb.RecordInstanceEventsResponse(
            recorded_count=outcome.recorded,
            duplicate_count=outcome.duplicates,
            correction_count=outcome.corrections,
            disclaimer=DISCLAIMER,
        )

    @client_stream(Role.WRITER)
    async def StreamInstanceEvents(  # noqa: N802
        self, requests: AsyncIterator[pb.StreamInstanceEventsRequest], call: Call
    ) -> pb.StreamInstanceEventsResponse:
        total = EventsOutcome(0, 0, 0)
        async for request in requests:
            events = convert.events_in(request.events)
            total += await self.runtime.offload(self.recorder.record_events, events, None)
        return pb.StreamInstanceEventsResponse(
            recorded_count=total.recorded,
            duplicate_count=total.duplicates,
            correction_count=total.corrections,
            disclaimer=DISCLAIMER,
        )

    @unary(Role.READER)
    async def GetSavingsSummary(  # noqa: N802
        self, request: pb.GetSavingsSummaryRequest, call: Call
    ) -> pb.GetSavingsSummaryResponse:
        summary = await self.runtime.offload(
            self.reports.summary,
            convert.range_in(request),
            request.schedule_id,
            request.instance_id,
            request.top_savers_count,
        )
        return pb.GetSavingsSummaryResponse(
            start_date=summary.days.first.isoformat(),
            end_date=summary.days.last.isoformat(),
            time_zone=self.reports.time_zone,
            currency_code=CURRENCY,
            savings_cents=summary.savings_cents,
            ongoing_savings_cents=summary.ongoing_cents,
            stopped_minutes=summary.stopped_micros // 60_000_000,
            projected_cost_cents=summary.projected_cents,
            actual_cost_cents=summary.actual_cents,
            previous_savings_cents=summary.previous_cents,
            change_percent=convert.percent_out(summary.change_percent),
            month_to_date_savings_cents=summary.month_to_date_cents,
            top_savers=[convert.instance_savings_out(row) for row in summary.top_savers],
            as_of_time=convert.time_out(summary.as_of),
            disclaimer=DISCLAIMER,
        )

    @unary(Role.READER)
    async def ListDailySavings(  # noqa: N802
        self, request: pb.ListDailySavingsRequest, call: Call
    ) -> pb.ListDailySavingsResponse:
        _, page = await self.runtime.offload(
            self.reports.daily,
            convert.range_in(request),
            request.schedule_id,
            request.instance_id,
            request.page_size,
            request.page_token,
        )
        return pb.ListDailySavingsResponse(
            daily_savings=[convert.day_out(day) for day in page.items],
            next_page_token=page.next_page_token,
            time_zone=self.reports.time_zone,
            currency_code=CURRENCY,
            disclaimer=DISCLAIMER,
        )

    @unary(Role.READER)
    async def ListInstanceSavings(  # noqa: N802
        self, request: pb.ListInstanceSavingsRequest, call: Call
    ) -> pb.ListInstanceSavingsResponse:
        total, page = await self.runtime.offload(
            self.reports.instances,
            convert.range_in(request),
            request.schedule_id,
            request.order_by,
            request.page_size,
            request.page_token,
        )
        return pb.ListInstanceSavingsResponse(
            instance_savings=[convert.instance_savings_out(row) for row in page.items],
            next_page_token=page.next_page_token,
            total_savings_cents=total,
            currency_code=CURRENCY,
            disclaimer=DISCLAIMER,
        )

    @unary(Role.READER)
    async def GetInstanceSavings(  # noqa: N802
        self, request: pb.GetInstanceSavingsRequest, call: Call
    ) -> pb.GetInstanceSavingsResponse:
        report = await self.runtime.offload(
            self.reports.instance, request.instance_id, convert.range_in(request)
        )
        return pb.GetInstanceSavingsResponse(
            instance=convert.instance_out(report.revision),
            savings_cents=report.savings_cents,
            ongoing_savings_cents=report.ongoing_cents,
            stopped_minutes=report.stopped_micros // 60_000_000,
            stop_periods=[convert.period_out(p) for p in report.periods],
            events=[convert.event_out(e) for e in report.events],
            events_truncated=report.events_truncated,
            corrections=[convert.entry_out(e) for e in report.corrections],
            start_date=report.days.first.isoformat(),
            end_date=report.days.last.isoformat(),
            time_zone=self.reports.time_zone,
            currency_code=CURRENCY,
            disclaimer=DISCLAIMER,
        )

    @unary(Role.READER)
    async def ListScheduleSavings(  # noqa: N802
        self, request: pb.ListScheduleSavingsRequest, call: Call
    ) -> pb.ListScheduleSavingsResponse:
        page = await self.runtime.offload(
            self.reports.schedules,
            convert.range_in(request),
            request.page_size,
            request.page_token,
        )
        return pb.ListScheduleSavingsResponse(
            schedule_savings=[convert.schedule_out(row) for row in page.items],
            next_page_token=page.next_page_token,
            currency_code=CURRENCY,
            disclaimer=DISCLAIMER,
        )

    @server_stream(Role.READER)
    async def ExportSavings(  # noqa: N802
        self, request: pb.ExportSavingsRequest, call: Call
    ) -> AsyncIterator[pb.ExportSavingsResponse]:
        granularity = request.granularity or _GRANULARITY_DAY
        if granularity not in (_GRANULARITY_DAY, _GRANULARITY_INSTANCE):
            raise InvalidArgument(
                [FieldViolation("granularity", f"must be DAY or INSTANCE, got {granularity}")]
            )
        days = convert.range_in(request)
        token = request.resume_token
        while True:
            chunk = await self.runtime.offload(
                self.reports.export_chunk, days, granularity == _GRANULARITY_INSTANCE, token
            )
            token = chunk.resume_token
            if chunk.text:
                yield pb.ExportSavingsResponse(
                    csv_chunk=chunk.text.encode(), resume_token=token, disclaimer=DISCLAIMER
                )
            if chunk.last:
                return
