"""Every read's filters, page sizes, tokens and edges, on the in-memory store."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest

from ledger_server.domain.errors import InvalidArgument, NotFound
from ledger_server.domain.paging import encode_token
from ledger_server.domain.savings.commands import EventInput, RecordInstanceCommand
from ledger_server.domain.savings.ranges import RangeRequest
from ledger_server.domain.savings.records import EventKind
from ledger_server.domain.savings.reports import (
    EXPORT_DAYS,
    LIST_DAILY_SAVINGS,
    LIST_INSTANCE_SAVINGS,
)
from tests.unit.test_savings_use_cases import DAY, NOW, ONE_DAY, T0, Ledger

MONTH_START = date(2026, 3, 1)


@pytest.fixture
def ledger() -> Ledger:
    return Ledger()


def two_schedules(ledger: Ledger) -> None:
    """a on n: 1 h the day before DAY, 2 h on DAY; b on w: 3 h on DAY, 4 h on the 1st;
    c on n, but its DAY night was begun by an event of schedule w."""
    ledger.instance("a", 100, "n")
    ledger.instance("b", 100, "w")
    ledger.instance("c", 100, "n")
    ledger.night("a", 1, T0.replace(hour=1) - timedelta(days=1))
    ledger.night("a", 2, T0.replace(hour=1))
    ledger.night("b", 3, T0.replace(hour=1))
    ledger.night("b", 4, T0.replace(hour=1) - timedelta(days=1))
    ledger.recorder.record_events(
        [
            EventInput("c1", "c", int(EventKind.STOPPED), T0.replace(hour=1), schedule_id="w"),
            EventInput("c2", "c", int(EventKind.STARTED), T0.replace(hour=6)),
        ],
        None,
    )


def test_summary_every_figure_follows_the_filters(ledger: Ledger) -> None:
    two_schedules(ledger)
    n = ledger.reports.summary(ONE_DAY, "n", "", 0)
    assert (n.savings_cents, n.previous_cents, n.month_to_date_cents) == (200, 100, 300)
    w = ledger.reports.summary(ONE_DAY, "w", "", 0)
    assert (w.savings_cents, w.previous_cents, w.month_to_date_cents) == (800, 400, 1200)
    assert [s.instance_id for s in w.top_savers] == ["c", "b"]
    b = ledger.reports.summary(ONE_DAY, "", "b", 0)
    assert (b.savings_cents, b.previous_cents, b.month_to_date_cents) == (300, 400, 700)
    assert [s.instance_id for s in b.top_savers] == ["b"]
    c_on_n = ledger.reports.summary(ONE_DAY, "n", "c", 0)
    assert (c_on_n.savings_cents, c_on_n.top_savers) == (0, [])
    assert (n.days.first, n.as_of) == (DAY, NOW)


def test_summary_top_savers_default_and_cap(ledger: Ledger) -> None:
    for n in range(55):
        ledger.instance(f"i{n:02d}", 1 + n)
        ledger.night(f"i{n:02d}", 1, T0.replace(hour=1))
    assert len(ledger.reports.summary(ONE_DAY, "", "", 0).top_savers) == 5
    assert len(ledger.reports.summary(ONE_DAY, "", "", 60).top_savers) == 50
    with pytest.raises(InvalidArgument) as refused:
        ledger.reports.summary(ONE_DAY, "", "", -1)
    assert refused.value.violations[0].field == "top_savers_count"


def test_summary_ongoing_of_one_schedule_among_others(ledger: Ledger) -> None:
    ledger.instance("a", 60, "x")
    ledger.instance("b", 60, "y")
    for name in ("a", "b"):
        ledger.events(name, (EventKind.STOPPED, NOW - timedelta(hours=1)))
    assert ledger.reports.summary(RangeRequest(), "y", "", 0).ongoing_cents == 60


def test_filters_name_the_bad_field(ledger: Ledger) -> None:
    with pytest.raises(InvalidArgument) as schedule:
        ledger.reports.summary(ONE_DAY, "\x00", "", 0)
    with pytest.raises(InvalidArgument) as instance:
        ledger.reports.summary(ONE_DAY, "", "\x00", 0)
    with pytest.raises(InvalidArgument) as listed:
        ledger.reports.instances(ONE_DAY, "\x00", "", 0, "")
    with pytest.raises(InvalidArgument) as report:
        ledger.reports.instance("", ONE_DAY)
    assert [e.value.violations[0].field for e in (schedule, instance, listed, report)] == [
        "schedule_id", "instance_id", "schedule_id", "instance_id",
    ]  # fmt: skip


def test_daily_defaults_filters_and_edges(ledger: Ledger) -> None:
    two_schedules(ledger)
    _, default = ledger.reports.daily(RangeRequest(0, "2025-01-01", "2026-03-02"), "", "", 0, "")
    assert len(default.items) == 100
    _, one = ledger.reports.daily(ONE_DAY, "", "", 0, "")
    assert [(d.day, d.savings_cents) for d in one.items] == [(DAY, 1000)]
    _, by_schedule = ledger.reports.daily(ONE_DAY, "n", "", 0, "")
    _, by_instance = ledger.reports.daily(ONE_DAY, "", "b", 0, "")
    assert [d.savings_cents for d in by_schedule.items + by_instance.items] == [200, 300]
    _, zero = ledger.reports.daily(RangeRequest(0, "2026-02-01", "2026-02-01"), "", "", 0, "")
    assert [(d.savings_cents, d.stopped_micros) for d in zero.items] == [(0, 0)]
    _, recent = ledger.reports.daily(RangeRequest(), "", "", 0, "")
    assert recent.items[-1].day == NOW.date()
    scope = ("2026-03-01", "2026-03-02", "", "")
    past_the_end = LIST_DAILY_SAVINGS.encode(scope, (date(2026, 3, 2),))
    _, empty = ledger.reports.daily(
        RangeRequest(0, "2026-03-01", "2026-03-02"), "", "", 0, past_the_end
    )
    assert (empty.items, empty.next_page_token) == ([], "")
    for forged in (date(2026, 3, 3), date(2026, 2, 27)):
        with pytest.raises(InvalidArgument):
            ledger.reports.daily(
                RangeRequest(0, "2026-03-01", "2026-03-02"), "", "", 0,
                LIST_DAILY_SAVINGS.encode(scope, (forged,)),
            )  # fmt: skip


def test_instances_defaults_filters_and_messages(ledger: Ledger) -> None:
    two_schedules(ledger)
    total, on_w = ledger.reports.instances(ONE_DAY, "w", "", 0, "")
    assert total == 800
    assert [(r.instance_id, r.savings_cents) for r in on_w.items] == [("c", 500), ("b", 300)]
    total, exact = ledger.reports.instances(ONE_DAY, "", "", 3, "")
    assert (total, len(exact.items), exact.next_page_token) == (1000, 3, "")
    with pytest.raises(InvalidArgument) as refused:
        ledger.reports.instances(ONE_DAY, "", "cost", 0, "")
    [violation] = refused.value.violations
    assert (violation.field, violation.description) == (
        "order_by",
        "must be one of instance_id asc, savings_cents asc, savings_cents desc",
    )
    for n in range(52):
        ledger.instance(f"i{n:02d}")
        ledger.night(f"i{n:02d}", 1, T0.replace(hour=1))
    _, first = ledger.reports.instances(RangeRequest(0, "2026-03-02", "2026-03-02"), "", "", 0, "")
    assert len(first.items) == 50
    _, recent = ledger.reports.instances(RangeRequest(), "", "", 0, "")
    assert recent.items  # the last 30 days hold DAY


def test_schedules_defaults_and_exact_pages(ledger: Ledger) -> None:
    for n in range(51):
        ledger.instance(f"i{n:02d}", 1, schedule=f"s{n:02d}")
        ledger.night(f"i{n:02d}", 1, T0.replace(hour=1))
    assert len(ledger.reports.schedules(ONE_DAY, 0, "").items) == 50
    exact = ledger.reports.schedules(ONE_DAY, 51, "")
    assert (len(exact.items), exact.next_page_token) == (51, "")
    assert ledger.reports.schedules(RangeRequest(), 0, "").items  # the last 30 days hold DAY


def test_instance_report_capped_ongoing_period_and_its_values(ledger: Ledger) -> None:
    ledger.instance("db", 60, schedule="nights")
    ledger.events("db", (EventKind.STOPPED, NOW - timedelta(days=8)))
    report = ledger.reports.instance("db", RangeRequest(preset=3))
    [period] = report.periods
    assert (period.capped, period.ongoing, period.end) == (True, True, None)
    assert (period.stopped_micros, period.savings_cents) == (7 * 24 * 3_600_000_000, 7 * 24 * 60)
    assert (period.hourly_cost_cents, period.schedule_id) == (60, "nights")
    assert (report.ongoing_cents, report.revision.instance_id) == (7 * 24 * 60, "db")
    assert report.days.last == NOW.date()
    ledger.events("db", (EventKind.STOPPED, NOW - timedelta(hours=12)))  # after the restart
    [_, fresh] = ledger.reports.instance("db", RangeRequest(preset=3)).periods
    assert (fresh.capped, fresh.ongoing) == (False, True)


def test_instance_report_finished_periods_and_totals(ledger: Ledger) -> None:
    ledger.instance("db", 30, schedule="nights")
    ledger.night("db", 9 * 24)
    report = ledger.reports.instance("db", RangeRequest(0, "2026-03-02", "2026-03-20"))
    [period] = report.periods
    assert (period.capped, period.hourly_cost_cents, period.schedule_id) == (True, 30, "nights")
    assert period.stopped_micros == report.stopped_micros == 7 * 24 * 3_600_000_000


def test_instance_report_lists_at_most_1000_events(ledger: Ledger) -> None:
    ledger.instance("db")
    for batch in range(2):
        ledger.recorder.record_events(
            [
                EventInput(f"o{batch}-{n}", "db", int(EventKind.STOP_REQUESTED),
                           T0 + timedelta(minutes=batch * 1000 + n))
                for n in range(500 if batch else 1000)
            ],
            None,
        )  # fmt: skip
    whole = RangeRequest(0, "2026-03-01", "2026-03-20")
    assert (len(ledger.reports.instance("db", whole).events), False) == (1000, False)
    assert ledger.reports.instance("db", whole).events_truncated
    ledger2 = Ledger()
    ledger2.instance("db")
    ledger2.recorder.record_events(
        [EventInput(f"o{n}", "db", int(EventKind.STOP_REQUESTED), T0 + timedelta(minutes=n))
         for n in range(1000)],
        None,
    )  # fmt: skip
    exactly = ledger2.reports.instance("db", whole)
    assert (len(exactly.events), exactly.events_truncated) == (1000, False)


def test_instance_report_not_found_names_the_instance(ledger: Ledger) -> None:
    with pytest.raises(NotFound) as missing:
        ledger.reports.instance("ghost", ONE_DAY)
    assert (missing.value.reason, missing.value.metadata) == (
        "INSTANCE_NOT_FOUND",
        {"resource": "instance", "id": "ghost"},
    )


def test_export_instances_in_chunks_that_resume(ledger: Ledger) -> None:
    for n in range(501):
        ledger.recorder.record_instance(
            RecordInstanceCommand(f"i{n:03d}", "aws", 60, name=f"n{n}",
                                  effective_time=T0 - timedelta(days=1)),
            None,
        )  # fmt: skip
        ledger.night(f"i{n:03d}", 1, T0.replace(hour=1))
    first = ledger.reports.export_chunk(ONE_DAY, True, "")
    rows = list(csv.reader(io.StringIO(first.text)))
    assert rows[0] == [
        "instance_id", "name", "schedule_id", "savings_cents", "stopped_minutes", "currency_code",
    ]  # fmt: skip
    assert (len(rows), rows[1], rows[-1][0], first.last) == (
        501, ["i000", "n0", "", "60", "60", "USD"], "i499", False,
    )  # fmt: skip
    assert first.text.endswith("\r\n")
    second = ledger.reports.export_chunk(ONE_DAY, True, first.resume_token)
    assert (second.text, second.last) == ("i500,n500,,60,60,USD\r\n", True)
    third = ledger.reports.export_chunk(ONE_DAY, True, second.resume_token)
    assert (third.text, third.last) == ("", True)
    assert ledger.reports.export_chunk(ONE_DAY, True, third.resume_token).resume_token == (
        third.resume_token
    )
    with pytest.raises(InvalidArgument):
        ledger.reports.export_chunk(RangeRequest(0, "2026-03-01", "2026-03-02"), True,
                                    first.resume_token)  # fmt: skip


def test_export_days_exactly_one_chunk_and_zero_rows(ledger: Ledger) -> None:
    request = RangeRequest(0, "2025-01-01", "2026-05-15")  # 500 days
    chunk = ledger.reports.export_chunk(request, False, "")
    rows = list(csv.reader(io.StringIO(chunk.text)))
    assert (len(rows), chunk.last, rows[1]) == (501, True, ["2025-01-01", "0", "0", "USD"])
    done = ledger.reports.export_chunk(request, False, chunk.resume_token)
    assert (done.text, done.last, done.resume_token) == ("", True, chunk.resume_token)
    recent = ledger.reports.export_chunk(RangeRequest(), False, "")
    assert recent.text.splitlines()[-1].startswith(NOW.date().isoformat())
    scope = ("2025-01-01", "2026-05-15")
    with pytest.raises(InvalidArgument):
        ledger.reports.export_chunk(request, False, EXPORT_DAYS.encode(scope, (date(2026, 5, 16),)))


def test_page_tokens_parse_strictly(ledger: Ledger) -> None:
    scope = ("2026-03-02", "2026-03-02", "", "savings_cents desc")
    for cents, instance_id in (("1" * 21, "a"), ("12-", "a"), ("-", "a"), ("1", "x" * 129),
                               ("1", "a\x00")):  # fmt: skip
        token = encode_token(LIST_INSTANCE_SAVINGS.rpc, scope, [cents, instance_id])
        with pytest.raises(InvalidArgument):
            ledger.reports.instances(ONE_DAY, "", "", 0, token)
    for cents, instance_id in (("1" * 20, "a"), ("-5", "x" * 128)):
        token = encode_token(LIST_INSTANCE_SAVINGS.rpc, scope, [cents, instance_id])
        assert ledger.reports.instances(ONE_DAY, "", "", 0, token)[1].items == []
    first_day = ("2000-01-01", "2000-01-02", "", "")
    token = LIST_DAILY_SAVINGS.encode(first_day, (date(2000, 1, 1),))
    _, page = ledger.reports.daily(RangeRequest(0, "2000-01-01", "2000-01-02"), "", "", 0, token)
    assert [d.day for d in page.items] == [date(2000, 1, 2)]
    last_day = ("2100-12-31", "2100-12-31", "", "")
    token = LIST_DAILY_SAVINGS.encode(last_day, (date(2100, 12, 31),))
    _, page = ledger.reports.daily(RangeRequest(0, "2100-12-31", "2100-12-31"), "", "", 0, token)
    assert page.items == []
