"""Proto <-> domain translation for SavingsService. No rules live here: only shapes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from google.protobuf import timestamp_pb2

from ledger.v1 import savings_service_pb2 as pb
from ledger_server.domain.errors import FieldViolation, InvalidArgument
from ledger_server.domain.savings.commands import MAX_EVENTS, EventInput, RecordInstanceCommand
from ledger_server.domain.savings.ports import DayTotal, ScheduleTotal
from ledger_server.domain.savings.ranges import RangeRequest
from ledger_server.domain.savings.records import InstanceEvent, Revision, StoredEntry
from ledger_server.domain.savings.reports import (
    InstanceSavings,
    PeriodReport,
    minutes,
)

# google.protobuf.Timestamp's valid range: 0001-01-01 to 9999-12-31, nanos in [0, 1e9).
_MIN_SECONDS = -62_135_596_800
_MAX_SECONDS = 253_402_300_799
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)


def _time_in(message: Any, field: str, path: str) -> datetime | None:
    if not message.HasField(field):
        return None
    stamp: timestamp_pb2.Timestamp = getattr(message, field)
    if not (_MIN_SECONDS <= stamp.seconds <= _MAX_SECONDS and 0 <= stamp.nanos < 1_000_000_000):
        raise InvalidArgument(
            [FieldViolation(path, "must be a valid timestamp between years 0001 and 9999")]
        )
    # Stored to the microsecond (PostgreSQL's precision): finer digits are dropped.
    return stamp.ToDatetime(tzinfo=UTC)


def time_out(moment: datetime) -> timestamp_pb2.Timestamp:
    return timestamp_pb2.Timestamp(
        seconds=(moment - _EPOCH) // _SECOND, nanos=moment.microsecond * 1000
    )


def record_instance_command(request: pb.RecordInstanceRequest) -> RecordInstanceCommand:
    return RecordInstanceCommand(
        instance_id=request.instance_id,
        provider=request.provider,
        hourly_cost_cents=request.hourly_cost_cents,
        name=request.name,
        engine=request.engine,
        region=request.region,
        instance_type=request.instance_type,
        currency_code=request.currency_code,
        schedule_id=request.schedule_id,
        labels=dict(request.labels),
        effective_time=_time_in(request, "effective_time", "effective_time"),
    )


def events_in(events: Any) -> list[EventInput]:
    """The events of a request; more than the limit is refused before any conversion."""
    if len(events) > MAX_EVENTS:
        raise InvalidArgument(
            [FieldViolation("events", f"must hold at most {MAX_EVENTS} events, got {len(events)}")]
        )
    return [
        EventInput(
            event_id=e.event_id,
            instance_id=e.instance_id,
            kind=e.kind,
            occur_time=_time_in(e, "occur_time", f"events[{index}].occur_time"),
            source=e.source,
            schedule_id=e.schedule_id,
        )
        for index, e in enumerate(events)
    ]


def range_in(request: Any) -> RangeRequest:
    if not request.HasField("range"):
        return RangeRequest()
    r = request.range
    return RangeRequest(r.preset, r.start_date, r.end_date)


def instance_out(revision: Revision) -> pb.Instance:
    return pb.Instance(
        instance_id=revision.instance_id,
        revision=revision.revision,
        name=revision.name,
        provider=revision.provider,
        engine=revision.engine,
        region=revision.region,
        instance_type=revision.instance_type,
        hourly_cost_cents=revision.hourly_cost_cents,
        currency_code=revision.currency_code,
        schedule_id=revision.schedule_id,
        labels=dict(revision.labels),
        effective_time=time_out(revision.effective_time),
        record_time=time_out(revision.record_time),
    )


def event_out(event: InstanceEvent) -> pb.InstanceEvent:
    message = pb.InstanceEvent(
        event_id=event.event_id,
        instance_id=event.instance_id,
        kind=int(event.kind),  # type: ignore[arg-type]
        occur_time=time_out(event.occur_time),
        source=event.source,
        schedule_id=event.schedule_id,
    )
    if event.record_time is not None:
        message.record_time.CopyFrom(time_out(event.record_time))
    return message


def percent_out(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def instance_savings_out(row: InstanceSavings) -> pb.InstanceSavings:
    return pb.InstanceSavings(
        instance_id=row.instance_id,
        name=row.name,
        schedule_id=row.schedule_id,
        savings_cents=row.savings_cents,
        stopped_minutes=minutes(row.stopped_micros),
        share_percent=percent_out(row.share_percent),
    )


def day_out(total: DayTotal) -> pb.DailySavings:
    return pb.DailySavings(
        date=total.day.isoformat(),
        savings_cents=total.savings_cents,
        stopped_minutes=minutes(total.stopped_micros),
    )


def schedule_out(total: ScheduleTotal) -> pb.ScheduleSavings:
    return pb.ScheduleSavings(
        schedule_id=total.schedule_id,
        savings_cents=total.savings_cents,
        stopped_minutes=minutes(total.stopped_micros),
        instance_count=total.instance_count,
    )


def period_out(period: PeriodReport) -> pb.StopPeriod:
    message = pb.StopPeriod(
        start_time=time_out(period.start),
        capped=period.capped,
        ongoing=period.ongoing,
        stopped_minutes=minutes(period.stopped_micros),
        savings_cents=period.savings_cents,
        hourly_cost_cents=period.hourly_cost_cents,
        schedule_id=period.schedule_id,
    )
    if period.end is not None:
        message.end_time.CopyFrom(time_out(period.end))
    return message


def entry_out(entry: StoredEntry) -> pb.SavingsEntry:
    values = entry.values
    return pb.SavingsEntry(
        entry_id=entry.entry_id,
        kind=int(entry.kind),  # type: ignore[arg-type]
        date=values.day.isoformat(),
        period_start_time=time_out(values.period_start),
        period_end_time=time_out(values.period_end),
        stopped_micros=values.stopped_micros,
        savings_cents=values.savings_cents,
        corrects_entry_id=entry.corrects_entry_id or 0,
        cause=entry.cause,
        record_time=time_out(entry.record_time),
    )
