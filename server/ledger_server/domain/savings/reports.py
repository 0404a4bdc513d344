"""The savings reads: summaries, days, instances, schedules, one instance, exports.

Every figure comes from totals written with the ledger (day totals per scope, entries
per instance and day, each instance's latest state): no read looks at the events, so
what a read costs follows the range it asks for, not the history behind it.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from ledger_server.domain.errors import FieldViolation, InvalidArgument, NotFound, Violations
from ledger_server.domain.money import percentage_change
from ledger_server.domain.paging import CursorSpec, Page, bad_token, page_size
from ledger_server.domain.ports import Transactions
from ledger_server.domain.savings import calculator, ranges
from ledger_server.domain.savings.commands import MAX_ID_LENGTH
from ledger_server.domain.savings.policy import SavingsPolicy
from ledger_server.domain.savings.ports import (
    DayTotal,
    InstanceOrder,
    InstanceTotal,
    SavingsRepository,
    ScheduleTotal,
)
from ledger_server.domain.savings.projection import projected_cents
from ledger_server.domain.savings.ranges import DayRange, RangeRequest
from ledger_server.domain.savings.reconcile import current_entries, schedule_scope
from ledger_server.domain.savings.records import (
    EntryKind,
    InstanceEvent,
    Revision,
    StoredEntry,
)
from ledger_server.domain.validation import check_text

MAX_TOP_SAVERS = 50
MAX_LISTED_EVENTS = 1000
MAX_LISTED_CORRECTIONS = 1000
EXPORT_ROWS_PER_CHUNK = 500
MICROS_PER_MINUTE = 60_000_000


def _date_part(text: str) -> date:
    if len(text) != 10:
        raise bad_token()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise bad_token() from None
    if not ranges.EARLIEST <= day <= ranges.LATEST:
        raise bad_token()  # no range holds it (and the day after must exist)
    return day


def _cents_part(text: str) -> int:
    if not text.lstrip("-").isdecimal() or len(text) > 20:
        raise bad_token()
    return int(text)


def _id_part(text: str) -> str:
    if len(text) > MAX_ID_LENGTH or "\x00" in text:
        raise bad_token()
    return text


LIST_DAILY_SAVINGS = CursorSpec("ListDailySavings", _date_part)
LIST_INSTANCE_SAVINGS = CursorSpec("ListInstanceSavings", _cents_part, _id_part)
LIST_SCHEDULE_SAVINGS = CursorSpec("ListScheduleSavings", _cents_part, _id_part)
EXPORT_DAYS = CursorSpec("ExportSavings.day", _date_part)
EXPORT_INSTANCES = CursorSpec("ExportSavings.instance", _id_part)
_ORDERS = {order.value: order for order in InstanceOrder}


def minutes(micros: int) -> int:
    """Whole minutes of a stopped time, rounded down (a total's only rounding)."""
    return micros // MICROS_PER_MINUTE


def share_percent(part: int, total: int) -> Decimal | None:
    """100 x part / total to 2 places, half to even; None when the total is zero."""
    if total == 0:
        return None
    return (Decimal(100 * part) / Decimal(total)).quantize(Decimal("0.01"), ROUND_HALF_EVEN)


@dataclass(frozen=True)
class InstanceSavings:
    instance_id: str
    name: str
    schedule_id: str
    savings_cents: int
    stopped_micros: int
    share_percent: Decimal | None


@dataclass(frozen=True)
class Summary:
    days: DayRange
    savings_cents: int
    ongoing_cents: int
    stopped_micros: int
    projected_cents: int
    previous_cents: int
    change_percent: Decimal | None
    month_to_date_cents: int
    top_savers: list[InstanceSavings]
    as_of: datetime

    @property
    def actual_cents(self) -> int:
        return self.projected_cents - self.savings_cents - self.ongoing_cents


@dataclass(frozen=True)
class PeriodReport:
    start: datetime
    end: datetime | None
    capped: bool
    ongoing: bool
    stopped_micros: int
    savings_cents: int
    hourly_cost_cents: int
    schedule_id: str


@dataclass(frozen=True)
class InstanceReport:
    days: DayRange
    revision: Revision
    savings_cents: int
    ongoing_cents: int
    stopped_micros: int
    periods: list[PeriodReport]
    events: list[InstanceEvent]
    events_truncated: bool
    corrections: list[StoredEntry]


@dataclass(frozen=True)
class ExportChunk:
    text: str
    resume_token: str
    last: bool


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _check_filters(schedule_id: str, instance_id: str) -> None:
    v = Violations()
    check_text(schedule_id, "schedule_id", v, max_length=MAX_ID_LENGTH)
    check_text(instance_id, "instance_id", v, max_length=MAX_ID_LENGTH)
    v.raise_if_any()


def _sum(totals: list[DayTotal]) -> tuple[int, int]:
    return sum(t.savings_cents for t in totals), sum(t.stopped_micros for t in totals)


class SavingsReports:
    def __init__(
        self,
        transactions: Transactions,
        policy: SavingsPolicy,
        *,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._transactions = transactions
        self._policy = policy
        self._clock = clock

    @property
    def time_zone(self) -> str:
        return self._policy.time_zone

    def _days(self, request: RangeRequest, now: datetime) -> DayRange:
        return ranges.resolve(request, now, self._policy.zone)

    def _day_totals(
        self, repo: SavingsRepository, days: DayRange, schedule_id: str, instance_id: str
    ) -> list[DayTotal]:
        if instance_id:
            return repo.instance_day_totals(instance_id, days.first, days.last, schedule_id)
        scope = schedule_scope(schedule_id) if schedule_id else ""
        return repo.day_totals(scope, days.first, days.last)

    def summary(
        self, request: RangeRequest, schedule_id: str, instance_id: str, top_count: int
    ) -> Summary:
        _check_filters(schedule_id, instance_id)
        top = page_size(top_count, default=5, maximum=MAX_TOP_SAVERS, field="top_savers_count")
        now = self._clock()
        zone = self._policy.zone
        days = self._days(request, now)
        today = calculator.local_day(now, zone)
        month = DayRange(today.replace(day=1), today)
        window = days.instants(zone)
        with self._transactions.begin() as uow:
            repo = uow.savings
            savings, micros = _sum(self._day_totals(repo, days, schedule_id, instance_id))
            previous, _ = _sum(self._day_totals(repo, days.previous(), schedule_id, instance_id))
            month_to_date, _ = _sum(self._day_totals(repo, month, schedule_id, instance_id))
            ongoing = 0
            for state in repo.open_states(instance_id):
                stop = state.open_stop
                if stop is None or (schedule_id and stop.schedule_id != schedule_id):
                    continue
                ongoing += calculator.ongoing_cents(
                    stop.start, stop.cap_time, stop.hourly_cost_cents, now, window
                )[1]
            projected = projected_cents(
                repo.rate_revisions(instance_id),
                window[0],
                min(window[1], now),
                schedule_id or None,
            )
            rows = repo.instance_totals(
                days.first,
                days.last,
                schedule_id or None,
                InstanceOrder.MOST_SAVING_FIRST,
                None,
                top,
                instance_id,
            )
            savers = self._named(repo, rows, savings)
        return Summary(
            days=days,
            savings_cents=savings,
            ongoing_cents=ongoing,
            stopped_micros=micros,
            projected_cents=projected,
            previous_cents=previous,
            change_percent=percentage_change(Decimal(previous), Decimal(savings)),
            month_to_date_cents=month_to_date,
            top_savers=savers,
            as_of=now,
        )

    def _named(
        self, repo: SavingsRepository, rows: list[InstanceTotal], total: int
    ) -> list[InstanceSavings]:
        revisions = repo.latest_revisions([row.instance_id for row in rows])
        named = []
        for row in rows:
            revision = revisions.get(row.instance_id)
            named.append(
                InstanceSavings(
                    row.instance_id,
                    revision.name if revision else "",
                    revision.schedule_id if revision else "",
                    row.savings_cents,
                    row.stopped_micros,
                    share_percent(row.savings_cents, total),
                )
            )
        return named

    def daily(
        self,
        request: RangeRequest,
        schedule_id: str,
        instance_id: str,
        requested_size: int,
        token: str,
    ) -> tuple[DayRange, Page[DayTotal]]:
        _check_filters(schedule_id, instance_id)
        limit = page_size(requested_size, default=100)
        days = self._days(request, self._clock())
        scope = (days.first.isoformat(), days.last.isoformat(), schedule_id, instance_id)
        cursor = LIST_DAILY_SAVINGS.decode(token, scope)
        first = days.first if cursor is None else cursor[0] + timedelta(days=1)
        if not days.first <= first <= days.last + timedelta(days=1):
            raise bad_token()
        page_days = DayRange(first, min(days.last, first + timedelta(days=limit)))
        if page_days.last < page_days.first:
            return days, Page([], "")
        with self._transactions.begin() as uow:
            found = self._day_totals(uow.savings, page_days, schedule_id, instance_id)
        by_day = {t.day: t for t in found}
        rows = [by_day.get(day, DayTotal(day, 0, 0)) for day in page_days.each_day()]
        return days, LIST_DAILY_SAVINGS.page(rows, limit, scope, lambda t: (t.day,))

    def instances(
        self,
        request: RangeRequest,
        schedule_id: str,
        order_by: str,
        requested_size: int,
        token: str,
    ) -> tuple[int, Page[InstanceSavings]]:
        """The range's total (the shares' base) and a page of per-instance savings."""
        _check_filters(schedule_id, "")
        order = _ORDERS.get(" ".join(order_by.split()) or InstanceOrder.MOST_SAVING_FIRST.value)
        if order is None:
            raise InvalidArgument(
                [FieldViolation("order_by", f"must be one of {', '.join(sorted(_ORDERS))}")]
            )
        limit = page_size(requested_size, default=50)
        days = self._days(request, self._clock())
        scope = (days.first.isoformat(), days.last.isoformat(), schedule_id, order.value)
        cursor = LIST_INSTANCE_SAVINGS.decode(token, scope)
        after = (cursor[0], cursor[1]) if cursor else None
        with self._transactions.begin() as uow:
            repo = uow.savings
            total, _ = _sum(self._day_totals(repo, days, schedule_id, ""))
            rows = repo.instance_totals(
                days.first, days.last, schedule_id or None, order, after, limit + 1
            )
            named = self._named(repo, rows, total)
        page = LIST_INSTANCE_SAVINGS.page(
            named, limit, scope, lambda row: (row.savings_cents, row.instance_id)
        )
        return total, page

    def schedules(
        self, request: RangeRequest, requested_size: int, token: str
    ) -> Page[ScheduleTotal]:
        limit = page_size(requested_size, default=50)
        days = self._days(request, self._clock())
        scope = (days.first.isoformat(), days.last.isoformat())
        cursor = LIST_SCHEDULE_SAVINGS.decode(token, scope)
        after = (cursor[0], cursor[1]) if cursor else None
        with self._transactions.begin() as uow:
            rows = uow.savings.schedule_totals(days.first, days.last, after, limit + 1)
        return LIST_SCHEDULE_SAVINGS.page(
            rows, limit, scope, lambda row: (row.savings_cents, row.schedule_id)
        )

    def instance(self, instance_id: str, request: RangeRequest) -> InstanceReport:
        v = Violations()
        check_text(instance_id, "instance_id", v, max_length=MAX_ID_LENGTH, required=True)
        v.raise_if_any()
        now = self._clock()
        days = self._days(request, now)
        window = days.instants(self._policy.zone)
        with self._transactions.begin() as uow:
            repo = uow.savings
            revision = repo.latest_revisions([instance_id]).get(instance_id)
            if revision is None:
                raise NotFound("instance", instance_id)
            entries = repo.entries_on_days(instance_id, days.first, days.last)
            state = repo.instance_state(instance_id)
            events = repo.events_between(instance_id, *window, MAX_LISTED_EVENTS + 1)
        periods = _periods(entries)
        ongoing = 0
        stop = state.open_stop if state else None
        if stop is not None:
            micros, ongoing = calculator.ongoing_cents(
                stop.start, stop.cap_time, stop.hourly_cost_cents, now, window
            )
            if micros:
                capped = stop.cap_time is not None and now >= stop.cap_time
                periods.append(
                    PeriodReport(
                        stop.start,
                        None,
                        capped,
                        True,
                        micros,
                        ongoing,
                        stop.hourly_cost_cents,
                        stop.schedule_id,
                    )
                )
        corrections = [e for e in entries if e.kind is not EntryKind.ORIGINAL]
        return InstanceReport(
            days=days,
            revision=revision,
            savings_cents=sum(e.values.savings_cents for e in entries),
            ongoing_cents=ongoing,
            stopped_micros=sum(e.values.stopped_micros for e in entries),
            periods=periods,
            events=events[:MAX_LISTED_EVENTS],
            events_truncated=len(events) > MAX_LISTED_EVENTS,
            corrections=corrections[:MAX_LISTED_CORRECTIONS],
        )

    def export_chunk(self, request: RangeRequest, by_instance: bool, token: str) -> ExportChunk:
        """One chunk of CSV rows after `token` (from the header row when empty)."""
        days = self._days(request, self._clock())
        scope = (days.first.isoformat(), days.last.isoformat())
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        if by_instance:
            cursor = EXPORT_INSTANCES.decode(token, scope)
            if cursor is None:
                writer.writerow(
                    [
                        "instance_id",
                        "name",
                        "schedule_id",
                        "savings_cents",
                        "stopped_minutes",
                        "currency_code",
                    ]
                )
            after = (0, cursor[0]) if cursor else None
            with self._transactions.begin() as uow:
                repo = uow.savings
                rows = repo.instance_totals(
                    days.first,
                    days.last,
                    None,
                    InstanceOrder.BY_INSTANCE_ID,
                    after,
                    EXPORT_ROWS_PER_CHUNK + 1,
                )
                named = self._named(repo, rows[:EXPORT_ROWS_PER_CHUNK], 0)
            for row in named:
                writer.writerow(
                    [
                        row.instance_id,
                        row.name,
                        row.schedule_id,
                        row.savings_cents,
                        minutes(row.stopped_micros),
                        "USD",
                    ]
                )
            last_key = named[-1].instance_id if named else (cursor[0] if cursor else "")
            return ExportChunk(
                out.getvalue(),
                EXPORT_INSTANCES.encode(scope, (last_key,)),
                len(rows) <= EXPORT_ROWS_PER_CHUNK,
            )
        cursor = EXPORT_DAYS.decode(token, scope)
        if cursor is None:
            writer.writerow(["date", "savings_cents", "stopped_minutes", "currency_code"])
        first = days.first if cursor is None else cursor[0] + timedelta(days=1)
        if not days.first <= first <= days.last + timedelta(days=1):
            raise bad_token()
        last = min(days.last, first + timedelta(days=EXPORT_ROWS_PER_CHUNK - 1))
        by_day: dict[date, DayTotal] = {}
        if first <= last:
            with self._transactions.begin() as uow:
                by_day = {t.day: t for t in uow.savings.day_totals("", first, last)}
        for day in DayRange(first, last).each_day() if first <= last else []:
            total = by_day.get(day, DayTotal(day, 0, 0))
            writer.writerow(
                [day.isoformat(), total.savings_cents, minutes(total.stopped_micros), "USD"]
            )
        resume_day = max(last, first - timedelta(days=1))
        return ExportChunk(
            out.getvalue(), EXPORT_DAYS.encode(scope, (resume_day,)), last >= days.last
        )


def _periods(entries: list[StoredEntry]) -> list[PeriodReport]:
    """The stop periods of the entries in force, with their sums over the listed days."""
    current = current_entries(entries)
    grouped: dict[datetime, list[StoredEntry]] = defaultdict(list)
    for (start, _day), entry in sorted(current.items()):
        grouped[start].append(entry)
    periods = []
    for start, parts in grouped.items():
        values = parts[0].values
        periods.append(
            PeriodReport(
                start,
                values.period_end,
                values.capped,
                False,
                sum(p.values.stopped_micros for p in parts),
                sum(p.values.savings_cents for p in parts),
                values.hourly_cost_cents,
                values.schedule_id,
            )
        )
    return periods
