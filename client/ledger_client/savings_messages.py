"""Requests and replies of ledger.v1.SavingsService, to and from `savings_types`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from google.protobuf import timestamp_pb2

from ledger.v1 import savings_service_pb2 as pb
from ledger_client.savings_types import (
    DailySavings,
    EventKind,
    Instance,
    InstanceEvent,
    InstanceSavings,
    InstanceSavingsReport,
    SavingsEntry,
    SavingsSummary,
    ScheduleSavings,
    StopPeriod,
)

PRESETS = {7: pb.SAVINGS_RANGE_PRESET_LAST_7_DAYS, 30: pb.SAVINGS_RANGE_PRESET_LAST_30_DAYS,
           90: pb.SAVINGS_RANGE_PRESET_LAST_90_DAYS}  # fmt: skip


def savings_range(
    last_days: int | None = None, start_date: date | None = None, end_date: date | None = None
) -> pb.SavingsRange:
    """A range: `last_days` (7, 30 or 90), or `start_date`..`end_date`; neither: 30 days."""
    if last_days is not None:
        if last_days not in PRESETS:
            raise ValueError(f"last_days must be 7, 30 or 90, got {last_days}")
        return pb.SavingsRange(preset=PRESETS[last_days])
    return pb.SavingsRange(
        start_date=start_date.isoformat() if start_date else "",
        end_date=end_date.isoformat() if end_date else "",
    )


def stamp(moment: datetime) -> timestamp_pb2.Timestamp:
    if moment.tzinfo is None:
        raise ValueError("times must be timezone-aware (e.g. datetime.now(UTC))")
    message = timestamp_pb2.Timestamp()
    message.FromDatetime(moment.astimezone(UTC))
    return message


def _time(message: timestamp_pb2.Timestamp) -> datetime:
    return message.ToDatetime(tzinfo=UTC)


def event_in(event: InstanceEvent) -> pb.InstanceEvent:
    return pb.InstanceEvent(
        event_id=event.event_id,
        instance_id=event.instance_id,
        kind=int(event.kind),  # type: ignore[arg-type]
        occur_time=stamp(event.occur_time),
        source=event.source,
        schedule_id=event.schedule_id,
    )


def events_request(events: Sequence[InstanceEvent]) -> pb.StreamInstanceEventsRequest:
    return pb.StreamInstanceEventsRequest(events=[event_in(e) for e in events])


def instance_out(message: pb.Instance) -> Instance:
    return Instance(
        instance_id=message.instance_id,
        revision=message.revision,
        name=message.name,
        provider=message.provider,
        engine=message.engine,
        region=message.region,
        instance_type=message.instance_type,
        hourly_cost_cents=message.hourly_cost_cents,
        currency_code=message.currency_code,
        schedule_id=message.schedule_id,
        labels=dict(message.labels),
        effective_time=_time(message.effective_time),
        record_time=_time(message.record_time),
    )


def _percent(message: Any, field: str) -> Decimal | None:
    if not message.HasField(field):
        return None
    # Two decimal places on the wire: the nearest 2-place decimal is the exact figure.
    return Decimal(repr(getattr(message, field))).quantize(Decimal("0.01"))


def instance_savings_out(message: pb.InstanceSavings) -> InstanceSavings:
    return InstanceSavings(
        message.instance_id,
        message.name,
        message.schedule_id,
        message.savings_cents,
        message.stopped_minutes,
        _percent(message, "share_percent"),
    )


def summary_out(message: pb.GetSavingsSummaryResponse) -> SavingsSummary:
    return SavingsSummary(
        start_date=date.fromisoformat(message.start_date),
        end_date=date.fromisoformat(message.end_date),
        time_zone=message.time_zone,
        currency_code=message.currency_code,
        savings_cents=message.savings_cents,
        ongoing_savings_cents=message.ongoing_savings_cents,
        stopped_minutes=message.stopped_minutes,
        projected_cost_cents=message.projected_cost_cents,
        actual_cost_cents=message.actual_cost_cents,
        previous_savings_cents=message.previous_savings_cents,
        change_percent=_percent(message, "change_percent"),
        month_to_date_savings_cents=message.month_to_date_savings_cents,
        top_savers=[instance_savings_out(s) for s in message.top_savers],
        as_of_time=_time(message.as_of_time),
        disclaimer=message.disclaimer,
    )


def daily_page(message: pb.ListDailySavingsResponse) -> tuple[list[DailySavings], str]:
    days = [
        DailySavings(date.fromisoformat(d.date), d.savings_cents, d.stopped_minutes)
        for d in message.daily_savings
    ]
    return days, message.next_page_token


def instances_page(message: pb.ListInstanceSavingsResponse) -> tuple[list[InstanceSavings], str]:
    return [instance_savings_out(s) for s in message.instance_savings], message.next_page_token


def schedules_page(message: pb.ListScheduleSavingsResponse) -> tuple[list[ScheduleSavings], str]:
    rows = [
        ScheduleSavings(s.schedule_id, s.savings_cents, s.stopped_minutes, s.instance_count)
        for s in message.schedule_savings
    ]
    return rows, message.next_page_token


def event_out(message: pb.InstanceEvent) -> InstanceEvent:
    return InstanceEvent(
        message.event_id,
        message.instance_id,
        EventKind(message.kind),
        _time(message.occur_time),
        message.source,
        message.schedule_id,
        _time(message.record_time) if message.HasField("record_time") else None,
    )


def report_out(message: pb.GetInstanceSavingsResponse) -> InstanceSavingsReport:
    return InstanceSavingsReport(
        instance=instance_out(message.instance),
        savings_cents=message.savings_cents,
        ongoing_savings_cents=message.ongoing_savings_cents,
        stopped_minutes=message.stopped_minutes,
        stop_periods=[
            StopPeriod(
                _time(p.start_time),
                _time(p.end_time) if p.HasField("end_time") else None,
                p.capped,
                p.ongoing,
                p.stopped_minutes,
                p.savings_cents,
                p.hourly_cost_cents,
                p.schedule_id,
            )
            for p in message.stop_periods
        ],
        events=[event_out(e) for e in message.events],
        events_truncated=message.events_truncated,
        corrections=[
            SavingsEntry(
                c.entry_id,
                pb.SavingsEntryKind.Name(c.kind).removeprefix("SAVINGS_ENTRY_KIND_"),
                date.fromisoformat(c.date),
                _time(c.period_start_time),
                _time(c.period_end_time),
                c.stopped_micros,
                c.savings_cents,
                c.corrects_entry_id,
                c.cause,
            )
            for c in message.corrections
        ],
        start_date=date.fromisoformat(message.start_date),
        end_date=date.fromisoformat(message.end_date),
        time_zone=message.time_zone,
        currency_code=message.currency_code,
        disclaimer=message.disclaimer,
    )
