"""Savings rules at their edges: default clocks, strict tokens, the reporting zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from ledger_server.domain.errors import AlreadyExists, FailedPrecondition, InvalidArgument
from ledger_server.domain.idempotency import RequestKey
from ledger_server.domain.paging import encode_token
from ledger_server.domain.savings import calculator
from ledger_server.domain.savings.commands import EventInput, RecordInstanceCommand
from ledger_server.domain.savings.policy import SavingsPolicy
from ledger_server.domain.savings.ranges import RangeRequest
from ledger_server.domain.savings.recording import SavingsRecorder
from ledger_server.domain.savings.records import EventKind, InstanceEvent, StopPeriod
from ledger_server.domain.savings.reports import LIST_INSTANCE_SAVINGS, SavingsReports
from tests.support.memory_savings import MemorySavingsTransactions
from tests.unit.test_savings_use_cases import NOW, ONE_DAY, T0, Ledger

AUCKLAND = ZoneInfo("Pacific/Auckland")  # UTC+13 in March


@pytest.fixture
def ledger() -> Ledger:
    return Ledger()


def test_default_clock_reports_as_of_a_utc_time() -> None:
    reports = SavingsReports(MemorySavingsTransactions(), SavingsPolicy())
    before = datetime.now(UTC)
    as_of = reports.summary(RangeRequest(), "", "", 0).as_of
    assert as_of.utcoffset() == timedelta(0)
    assert before <= as_of <= datetime.now(UTC)


def test_default_clock_records_a_revision_effective_now_in_utc() -> None:
    recorder = SavingsRecorder(MemorySavingsTransactions(), SavingsPolicy())
    before = datetime.now(UTC)
    revision, corrections = recorder.record_instance(RecordInstanceCommand("db", "aws", 100), None)
    assert revision.effective_time.utcoffset() == timedelta(0)
    assert before <= revision.effective_time <= datetime.now(UTC)
    assert corrections == 0


def test_page_token_cents_refuse_anything_but_digits_and_a_sign(ledger: Ledger) -> None:
    scope = ("2026-03-02", "2026-03-02", "", "savings_cents desc")
    for cents in ("X5", "XX-5", "-X5", "5X"):
        token = encode_token(LIST_INSTANCE_SAVINGS.rpc, scope, [cents, "a"])
        with pytest.raises(InvalidArgument) as refused:
            ledger.reports.instances(ONE_DAY, "", "", 0, token)
        assert refused.value.violations[0].field == "page_token"


def test_summary_month_to_date_is_the_month_of_the_reporting_zone(ledger: Ledger) -> None:
    ledger.instance("a", 100)
    ledger.night("a", 2, T0.replace(hour=1))  # 2026-03-02: $2
    end_of_march = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)  # April 1st in Auckland
    reports = SavingsReports(
        ledger.transactions, SavingsPolicy(zone=AUCKLAND), clock=lambda: end_of_march
    )
    summary = reports.summary(RangeRequest(), "", "", 0)
    assert summary.month_to_date_cents == 0
    assert summary.days.last.isoformat() == "2026-04-01"


def test_instance_report_of_a_running_instance_has_nothing_ongoing(ledger: Ledger) -> None:
    ledger.instance("db", 100)
    ledger.night("db", 2, T0.replace(hour=1))
    report = ledger.reports.instance("db", ONE_DAY)
    assert (report.ongoing_cents, report.savings_cents) == (0, 200)
    assert [p.ongoing for p in report.periods] == [False]


def test_instance_report_ongoing_period_is_capped_at_the_cap_instant(ledger: Ledger) -> None:
    ledger.instance("db", 60)
    ledger.events("db", (EventKind.STOPPED, NOW - timedelta(days=7)))  # capped right now
    [period] = ledger.reports.instance("db", RangeRequest(preset=3)).periods
    assert (period.capped, period.ongoing) == (True, True)
    assert period.stopped_micros == 7 * 24 * 3_600_000_000


def test_export_instances_of_an_empty_range_resume_from_the_start(ledger: Ledger) -> None:
    empty = ledger.reports.export_chunk(ONE_DAY, True, "")
    assert (empty.text.count("\r\n"), empty.last) == (1, True)  # the header row only
    ledger.instance("A1", 60)  # an id before any placeholder a resumed export could skip to
    ledger.night("A1", 1, T0.replace(hour=1))
    resumed = ledger.reports.export_chunk(ONE_DAY, True, empty.resume_token)
    assert (resumed.text, resumed.last) == ("A1,name A1,,60,60,USD\r\n", True)


def test_export_days_of_one_day_show_its_savings(ledger: Ledger) -> None:
    ledger.instance("a", 100)
    ledger.night("a", 2, T0.replace(hour=1))
    chunk = ledger.reports.export_chunk(ONE_DAY, False, "")
    assert chunk.text.splitlines() == [
        "date,savings_cents,stopped_minutes,currency_code",
        "2026-03-02,200,120,USD",
    ]
    assert chunk.last


def test_export_days_chunks_hold_500_days(ledger: Ledger) -> None:
    request = RangeRequest(0, "2025-01-01", "2026-05-20")  # 505 days
    first = ledger.reports.export_chunk(request, False, "")
    days = [row.split(",")[0] for row in first.text.splitlines()[1:]]
    assert (len(days), days[-1], first.last) == (500, "2026-05-15", False)
    rest = ledger.reports.export_chunk(request, False, first.resume_token)
    assert [row.split(",")[0] for row in rest.text.splitlines()] == [
        f"2026-05-{day}" for day in range(16, 21)
    ]
    assert rest.last


def test_export_instances_of_exactly_one_chunk_end_there(ledger: Ledger) -> None:
    for n in range(500):
        ledger.instance(f"i{n:03d}", 60)
        ledger.night(f"i{n:03d}", 1, T0.replace(hour=1))
    chunk = ledger.reports.export_chunk(ONE_DAY, True, "")
    assert (chunk.text.count("\r\n"), chunk.last) == (501, True)


def test_summary_top_savers_name_their_instance_and_schedule(ledger: Ledger) -> None:
    ledger.instance("a", 100, "nights")
    ledger.night("a", 2, T0.replace(hour=1))
    [saver] = ledger.reports.summary(ONE_DAY, "", "", 0).top_savers
    assert (saver.instance_id, saver.name, saver.schedule_id) == ("a", "name a", "nights")
    assert (saver.savings_cents, saver.share_percent) == (200, Decimal("100.00"))


def test_record_events_of_an_unrecorded_instance_say_what_to_do(ledger: Ledger) -> None:
    with pytest.raises(FailedPrecondition) as refused:
        ledger.events("ghost", (EventKind.STOPPED, T0))
    assert refused.value.message == (
        "instance 'ghost' was never recorded; record it with RecordInstance before its events"
    )


def test_request_id_reused_for_another_body_names_the_rpc(ledger: Ledger) -> None:
    command = RecordInstanceCommand("db", "aws", 7, effective_time=T0)
    ledger.recorder.record_instance(command, RequestKey("r", b"x"))
    with pytest.raises(AlreadyExists) as refused:
        ledger.recorder.record_instance(command, RequestKey("r", b"y"))
    assert refused.value.message == (
        "request_id was already used for a different RecordInstance request"
    )
    stop = [EventInput("e", "db", int(EventKind.STOPPED), T0)]
    ledger.recorder.record_events(stop, RequestKey("r", b"x"))
    with pytest.raises(AlreadyExists) as refused:
        ledger.recorder.record_events(stop, RequestKey("r", b"y"))
    assert refused.value.message == (
        "request_id was already used for a different RecordInstanceEvents request"
    )


def test_reconcile_stop_evidence_inside_a_stop_corrects_nothing(ledger: Ledger) -> None:
    ledger.instance("db", 100)
    ledger.night("db", 2, T0.replace(hour=1))
    again = ledger.events("db", (EventKind.OBSERVED_STOPPED, T0.replace(hour=2)))
    assert again == 0
    summary = ledger.reports.summary(ONE_DAY, "", "db", 0)
    assert (summary.savings_cents, summary.stopped_micros) == (200, 2 * 3_600_000_000)


def test_reconcile_reversal_takes_back_the_stopped_time_too(ledger: Ledger) -> None:
    ledger.instance("db", 100)
    ledger.night("db", 2, T0.replace(hour=1))
    corrections = ledger.events("db", (EventKind.STARTED, T0.replace(hour=2)))  # late
    assert corrections == 1
    summary = ledger.reports.summary(ONE_DAY, "", "db", 0)
    assert (summary.savings_cents, summary.stopped_micros) == (100, 3_600_000_000)
    report = ledger.reports.instance("db", ONE_DAY)
    assert (report.savings_cents, report.stopped_micros) == (100, 3_600_000_000)


def test_reconcile_reprices_a_later_period_after_an_unchanged_one(ledger: Ledger) -> None:
    ledger.instance("db", 100)
    ledger.night("db", 2, T0.replace(hour=1))  # 01:00 to 03:00, begun at $1/h
    ledger.night("db", 2)  # 20:00 to 22:00
    _, corrections = ledger.recorder.record_instance(
        RecordInstanceCommand("db", "aws", 300, effective_time=T0.replace(hour=2)), None
    )
    assert corrections == 1  # only the evening's period, begun after the new rate
    summary = ledger.reports.summary(ONE_DAY, "", "db", 0)
    assert (summary.savings_cents, summary.stopped_micros) == (800, 4 * 3_600_000_000)


def _event(event_id: str, kind: EventKind, at: datetime, schedule_id: str = "") -> InstanceEvent:
    return InstanceEvent(event_id, "db", kind, at, schedule_id=schedule_id)


def test_stop_periods_stop_and_start_at_one_instant_leave_it_stopped() -> None:
    events = [_event("a-stop", EventKind.STOPPED, T0), _event("b-start", EventKind.STARTED, T0)]
    assert calculator.stop_periods(events, None) == [StopPeriod(T0, None, False, "", None)]


def test_stop_periods_open_stop_without_a_cap_is_uncapped() -> None:
    events = [_event("s", EventKind.STOPPED, T0, schedule_id="nights")]
    assert calculator.stop_periods(events, None) == [StopPeriod(T0, None, False, "nights", None)]
    week = timedelta(days=7)
    assert calculator.stop_periods(events, week) == [
        StopPeriod(T0, None, False, "nights", T0 + week)
    ]


def test_stop_periods_stop_evidence_exactly_at_the_cap_begins_a_new_period() -> None:
    week = timedelta(days=7)
    events = [_event("s1", EventKind.STOPPED, T0), _event("s2", EventKind.STOPPED, T0 + week)]
    assert calculator.stop_periods(events, week) == [
        StopPeriod(T0, T0 + week, True, "", T0 + week),
        StopPeriod(T0 + week, None, False, "", T0 + 2 * week),
    ]
