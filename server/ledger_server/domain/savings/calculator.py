"""The state-based savings calculator: events in, stop periods and priced days out.

Pure functions of the events (never of their arrival order) so that duplicates, late
events and any shuffle give the same savings:

- Events are ordered by `occur_time`; at the same instant running evidence comes before
  stop evidence (so a stop and a start at one instant leave the instance stopped), then
  by `event_id`. Duplicate event ids count once.
- An instance is stopped from the first stop evidence (STOPPED, OBSERVED_STOPPED) until
  the first running evidence (STARTED, OBSERVED_RUNNING); consecutive stop evidence is
  one period. Requests (STOP_REQUESTED, START_REQUESTED) are intent, not state.
- With a restart cap (AWS restarts a stopped RDS instance after 7 days), a period counts
  at most the cap; stop evidence at or after start + cap (the instance was stopped again
  after the provider restarted it) begins a new period.
- A finished period is split at midnight in the reporting time zone, and each day's part
  is priced once: exact stopped microseconds x hourly cents / 3,600,000,000, rounded
  half to even to a whole cent. Totals are exact sums of these.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ledger_server.domain.savings.records import (
    RUN_EVIDENCE,
    STOP_EVIDENCE,
    InstanceEvent,
    PeriodDay,
    Revision,
    StopPeriod,
)

MICROS_PER_HOUR = 3_600_000_000
_ONE_DAY = timedelta(days=1)


def event_order(event: InstanceEvent) -> tuple[datetime, int, str]:
    """The order events take effect in: time, running before stop evidence, then id."""
    rank = 0 if event.kind in RUN_EVIDENCE else 1 if event.kind in STOP_EVIDENCE else 2
    return (event.occur_time, rank, event.event_id)


def ordered_unique(events: Iterable[InstanceEvent]) -> list[InstanceEvent]:
    """The events in effect order, each event id once (its first in that order)."""
    seen: set[str] = set()
    unique = []
    for event in sorted(events, key=event_order):
        if event.event_id not in seen:
            seen.add(event.event_id)
            unique.append(event)
    return unique


def stop_periods(events: Iterable[InstanceEvent], cap: timedelta | None) -> list[StopPeriod]:
    """The stop periods the events show, oldest first; the last may be open (end None)."""
    periods: list[StopPeriod] = []
    start: InstanceEvent | None = None
    for event in ordered_unique(events):
        if event.kind in STOP_EVIDENCE:
            if start is None:
                start = event
            elif cap is not None and event.occur_time >= start.occur_time + cap:
                # The provider restarted it at the cap; this is a new stop after that.
                periods.append(_finished(start, start.occur_time + cap, cap))
                start = event
        elif event.kind in RUN_EVIDENCE and start is not None:
            periods.append(_finished(start, event.occur_time, cap))
            start = None
    if start is not None:
        cap_time = None if cap is None else start.occur_time + cap
        periods.append(StopPeriod(start.occur_time, None, False, start.schedule_id, cap_time))
    return periods


def _finished(start: InstanceEvent, end: datetime, cap: timedelta | None) -> StopPeriod:
    cap_time = None if cap is None else start.occur_time + cap
    capped = cap_time is not None and end >= cap_time
    return StopPeriod(
        start.occur_time,
        cap_time if capped and cap_time is not None else end,
        capped,
        start.schedule_id,
        cap_time,
    )


def cents_for(stopped_micros: int, hourly_cost_cents: int) -> int:
    """stopped time x hourly rate, in whole cents, rounded half to even (exact integers)."""
    quotient, remainder = divmod(stopped_micros * hourly_cost_cents, MICROS_PER_HOUR)
    twice = 2 * remainder
    if twice > MICROS_PER_HOUR or (twice == MICROS_PER_HOUR and quotient % 2 == 1):
        quotient += 1
    return quotient


def micros_between(start: datetime, end: datetime) -> int:
    delta = end - start
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """The instant `day` begins in `zone` (midnight local time, DST included)."""
    return datetime.combine(day, time(0), tzinfo=zone)


def split_by_day(start: datetime, end: datetime, zone: ZoneInfo) -> list[tuple[date, int]]:
    """(day, stopped microseconds) for each reporting day [start, end) touches."""
    parts = []
    day = local_day(start, zone)
    cursor = start
    while cursor < end:
        boundary = min(end, day_start(day + _ONE_DAY, zone))
        parts.append((day, micros_between(cursor, boundary)))
        cursor = boundary
        day += _ONE_DAY
    return parts


def revision_at(revisions: Sequence[Revision], moment: datetime) -> Revision:
    """The revision in force at `moment`: the latest effective by then (the later revision
    wins a tie), or the first one for moments before any took effect."""
    in_force = [r for r in revisions if r.effective_time <= moment]
    if not in_force:
        return min(revisions, key=lambda r: (r.effective_time, r.revision))
    return max(in_force, key=lambda r: (r.effective_time, r.revision))


def period_days(
    periods: Iterable[StopPeriod], revisions: Sequence[Revision], zone: ZoneInfo
) -> list[PeriodDay]:
    """The finished periods split into priced reporting days.

    A period is priced at the rate in force when it began and attributed to the schedule
    its starting event names, else to the instance's schedule then.
    """
    days = []
    for period in periods:
        if period.end is None:
            continue
        revision = revision_at(revisions, period.start)
        schedule_id = period.schedule_id or revision.schedule_id
        rate = revision.hourly_cost_cents
        for day, micros in split_by_day(period.start, period.end, zone):
            days.append(
                PeriodDay(
                    period.start,
                    period.end,
                    day,
                    period.capped,
                    micros,
                    cents_for(micros, rate),
                    rate,
                    schedule_id,
                )
            )
    return days


def ongoing_cents(
    start: datetime,
    cap_time: datetime | None,
    hourly_cost_cents: int,
    now: datetime,
    window: tuple[datetime, datetime],
) -> tuple[int, int]:
    """(micros, cents) an open stop accrued within `window`, up to now and its cap.

    Rounded once for the whole window (it is not in the ledger yet, so not per day).
    """
    begin = max(start, window[0])
    end = min(now, window[1], cap_time) if cap_time is not None else min(now, window[1])
    if end <= begin:
        return 0, 0
    micros = micros_between(begin, end)
    return micros, cents_for(micros, hourly_cost_cents)
