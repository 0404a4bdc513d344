"""What callers send to the savings writes, and the checks it must pass before any write."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ledger_server.domain.errors import Violations
from ledger_server.domain.savings.records import CURRENCY, EventKind, InstanceEvent, NewRevision
from ledger_server.domain.validation import check_labels, check_text

MAX_EVENTS = 1000
MAX_HOURLY_COST_CENTS = 100_000_000  # a million dollars an hour is a unit mix-up
MAX_ID_LENGTH = 128
EARLIEST_TIME = datetime(2000, 1, 1, tzinfo=UTC)
# Clocks drift; an event from further ahead than this is a wrong clock or a wrong unit.
FUTURE_SLACK = timedelta(hours=1)
_EVENT_ID = re.compile(r"[!-~]{1,128}")
_NAME = re.compile(r"[a-z0-9_-]{1,32}")


@dataclass(frozen=True)
class EventInput:
    """An event as it arrived; `occur_time` None when it was not set."""

    event_id: str
    instance_id: str
    kind: int
    occur_time: datetime | None
    source: str = ""
    schedule_id: str = ""


@dataclass(frozen=True)
class RecordInstanceCommand:
    instance_id: str
    provider: str
    hourly_cost_cents: int
    name: str = ""
    engine: str = ""
    region: str = ""
    instance_type: str = ""
    currency_code: str = ""
    schedule_id: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    effective_time: datetime | None = None


def _check_time(moment: datetime, now: datetime, path: str, violations: Violations) -> None:
    if moment < EARLIEST_TIME:
        violations.add(path, f"must not be before {EARLIEST_TIME.date()}")
    elif moment > now + FUTURE_SLACK:
        violations.add(path, "must not be more than an hour from now")


def check_revision(command: RecordInstanceCommand, now: datetime) -> NewRevision:
    v = Violations()
    check_text(command.instance_id, "instance_id", v, max_length=MAX_ID_LENGTH, required=True)
    check_text(command.name, "name", v, max_length=256)
    if not _NAME.fullmatch(command.provider):
        v.add("provider", "must be 1-32 characters of a-z, 0-9, '-', '_', e.g. aws")
    if command.engine and not _NAME.fullmatch(command.engine):
        v.add("engine", "must be at most 32 characters of a-z, 0-9, '-', '_', e.g. postgres")
    check_text(command.region, "region", v, max_length=64)
    check_text(command.instance_type, "instance_type", v, max_length=64)
    if not 0 <= command.hourly_cost_cents <= MAX_HOURLY_COST_CENTS:
        v.add("hourly_cost_cents", f"must be from 0 to {MAX_HOURLY_COST_CENTS}")
    if command.currency_code not in ("", CURRENCY):
        v.add("currency_code", f"must be empty or {CURRENCY!r}, the only currency supported")
    check_text(command.schedule_id, "schedule_id", v, max_length=MAX_ID_LENGTH)
    check_labels(command.labels, "labels", v)
    effective_time = command.effective_time or now
    _check_time(effective_time, now, "effective_time", v)
    v.raise_if_any()
    return NewRevision(
        instance_id=command.instance_id,
        name=command.name,
        provider=command.provider,
        engine=command.engine,
        region=command.region,
        instance_type=command.instance_type,
        hourly_cost_cents=command.hourly_cost_cents,
        schedule_id=command.schedule_id,
        labels=dict(command.labels),
        effective_time=effective_time,
    )


def check_events(events: Sequence[EventInput], now: datetime) -> list[InstanceEvent]:
    """The events, checked; INVALID_ARGUMENT naming every bad field (`events[i].x`)."""
    v = Violations()
    if not events:
        v.add("events", "must hold at least one event")
    elif len(events) > MAX_EVENTS:
        v.add("events", f"must hold at most {MAX_EVENTS} events, got {len(events)}")
    v.raise_if_any()
    checked = []
    for index, event in enumerate(events):
        path = f"events[{index}]"
        if not _EVENT_ID.fullmatch(event.event_id):
            v.add(
                f"{path}.event_id",
                "must be 1-128 printable ASCII characters without spaces",
            )
        check_text(
            event.instance_id, f"{path}.instance_id", v, max_length=MAX_ID_LENGTH, required=True
        )
        if event.kind not in EventKind.__members__.values():
            v.add(f"{path}.kind", f"must be a known event kind, got {event.kind}")
        if event.occur_time is None:
            v.add(f"{path}.occur_time", "is required")
        else:
            _check_time(event.occur_time, now, f"{path}.occur_time", v)
        check_text(event.source, f"{path}.source", v, max_length=128)
        check_text(event.schedule_id, f"{path}.schedule_id", v, max_length=MAX_ID_LENGTH)
        if not v and event.occur_time is not None:
            checked.append(
                InstanceEvent(
                    event.event_id,
                    event.instance_id,
                    EventKind(event.kind),
                    event.occur_time,
                    event.source,
                    event.schedule_id,
                )
            )
    v.raise_if_any()
    return checked
