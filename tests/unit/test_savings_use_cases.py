"""The savings use cases on an in-memory store: writes, corrections, and every read."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from ledger_server.domain.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
)
from ledger_server.domain.idempotency import RequestKey
from ledger_server.domain.savings.commands import EventInput, RecordInstanceCommand
from ledger_server.domain.savings.policy import SavingsPolicy
from ledger_server.domain.savings.ranges import RangeRequest
from ledger_server.domain.savings.recording import SavingsRecorder
from ledger_server.domain.savings.records import EntryKind, EventKind, InstanceState
from ledger_server.domain.savings.reports import SavingsReports
from tests.support.memory_savings import MemorySavingsTransactions

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
T0 = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)
DAY = date(2026, 3, 2)
ONE_DAY = RangeRequest(0, "2026-03-02", "2026-03-02")
TWO_DAYS = RangeRequest(0, "2026-03-02", "2026-03-03")


class Ledger:
    def __init__(self) -> None:
        self.transactions = MemorySavingsTransactions()
        self.recorder = SavingsRecorder(self.transactions, SavingsPolicy(), clock=lambda: NOW)
        self.reports = SavingsReports(self.transactions, SavingsPolicy(), clock=lambda: NOW)
        self.count = 0

    def instance(self, instance_id: str = "db", rate: int = 100, schedule: str = "") -> str:
        self.recorder.record_instance(
            RecordInstanceCommand(
                instance_id, "aws", rate, schedule_id=schedule, name=f"name {instance_id}",
                effective_time=T0 - timedelta(days=30),
            ),
            None,
        )  # fmt: skip
        return instance_id

    def events(self, instance_id: str, *timeline: tuple[EventKind, datetime]) -> int:
        inputs = []
        for kind, at in timeline:
            self.count += 1
            inputs.append(EventInput(f"e{self.count}", instance_id, int(kind), at))
        return self.recorder.record_events(inputs, None).corrections

    def night(self, instance_id: str, hours: float, at: datetime = T0) -> None:
        self.events(
            instance_id,
            (EventKind.STOPPED, at),
            (EventKind.STARTED, at + timedelta(hours=hours)),
        )


@pytest.fixture
def ledger() -> Ledger:
    return Ledger()


def test_record_events_counts_new_and_duplicate_events(ledger: Ledger) -> None:
    ledger.instance()
    stop = EventInput("a", "db", int(EventKind.STOPPED), T0)
    outcome = ledger.recorder.record_events([stop, stop, stop], None)
    assert (outcome.recorded, outcome.duplicates, outcome.corrections) == (1, 2, 0)
    again = ledger.recorder.record_events([stop], None)
    assert (again.recorded, again.duplicates) == (0, 1)


def test_record_events_of_an_unrecorded_instance_change_nothing(ledger: Ledger) -> None:
    ledger.instance()
    with pytest.raises(FailedPrecondition) as refused:
        ledger.recorder.record_events(
            [
                EventInput("a", "db", int(EventKind.STOPPED), T0),
                EventInput("b", "ghost", int(EventKind.STOPPED), T0),
            ],
            None,
        )
    assert refused.value.reason == "INSTANCE_NOT_RECORDED"
    assert refused.value.metadata == {"instance_id": "ghost", "missing_count": "1"}
    assert ledger.transactions.tables.events == {}


def test_record_events_locks_every_instance_in_order_then_the_totals(ledger: Ledger) -> None:
    for name in ("b", "a"):
        ledger.instance(name)
    ledger.events("b", (EventKind.STOPPED, T0))
    ledger.recorder.record_events(
        [
            EventInput("x1", "b", int(EventKind.STARTED), T0 + timedelta(hours=1)),
            EventInput("x2", "a", int(EventKind.STOPPED), T0),
            EventInput("x3", "a", int(EventKind.STARTED), T0 + timedelta(hours=1)),
        ],
        None,
    )
    assert ledger.transactions.tables.locks == [
        "savings:instance:a",
        "savings:instance:b",
        "savings:totals",
    ]


def test_record_events_requests_alone_write_no_ledger(ledger: Ledger) -> None:
    ledger.instance()
    ledger.events("db", (EventKind.STOP_REQUESTED, T0), (EventKind.START_REQUESTED, T0))
    tables = ledger.transactions.tables
    assert (len(tables.events), tables.entries, tables.states) == (2, [], [])


def test_record_events_retry_returns_the_first_answer_and_another_body_is_refused(
    ledger: Ledger,
) -> None:
    ledger.instance()
    inputs = [
        EventInput("a", "db", int(EventKind.STOPPED), T0),
        EventInput("b", "db", int(EventKind.STARTED), T0 + timedelta(hours=1)),
    ]
    first = ledger.recorder.record_events(inputs, RequestKey("r1", b"body"))
    again = ledger.recorder.record_events(inputs, RequestKey("r1", b"body"))
    assert again == first
    with pytest.raises(AlreadyExists):
        ledger.recorder.record_events(inputs, RequestKey("r1", b"other"))
    with pytest.raises(InvalidArgument):
        ledger.recorder.record_events(inputs, RequestKey("with space", b"body"))


def test_record_instance_retry_returns_the_first_revision(ledger: Ledger) -> None:
    command = RecordInstanceCommand("db", "aws", 7, effective_time=T0)
    first, corrections = ledger.recorder.record_instance(command, RequestKey("r", b"x"))
    again = ledger.recorder.record_instance(command, RequestKey("r", b"x"))
    assert again == (first, corrections) and first.revision == 1
    assert len(ledger.transactions.tables.revisions) == 1
    with pytest.raises(InvalidArgument):
        ledger.recorder.record_instance(
            command, RequestKey("", b"x") if False else RequestKey("é", b"x")
        )


def test_record_instance_revision_reprices_and_counts_its_corrections(ledger: Ledger) -> None:
    ledger.instance(rate=100)
    ledger.night("db", 2, T0.replace(hour=9))
    revision, corrections = ledger.recorder.record_instance(
        RecordInstanceCommand("db", "aws", 300, effective_time=T0.replace(hour=8)), None
    )
    assert (revision.revision, corrections) == (2, 1)
    report = ledger.reports.instance("db", ONE_DAY)
    assert report.savings_cents == 600
    assert [(c.kind, c.cause) for c in report.corrections] == [
        (EntryKind.REVERSAL, "revision:2"),
        (EntryKind.REPLACEMENT, "revision:2"),
    ]
    state = ledger.transactions.tables.states[-1]
    assert (state.savings_cents, state.correction_count) == (600, 1)


def test_late_event_correction_keeps_totals_explainable(ledger: Ledger) -> None:
    ledger.instance(schedule="nights")
    ledger.night("db", 8, T0.replace(hour=9))
    corrections = ledger.events("db", (EventKind.OBSERVED_RUNNING, T0.replace(hour=12)))
    assert corrections == 1
    summary = ledger.reports.summary(ONE_DAY, "", "", 0)
    by_schedule = ledger.reports.summary(ONE_DAY, "nights", "", 0)
    assert summary.savings_cents == by_schedule.savings_cents == 300
    entries = [e for _, e in ledger.transactions.tables.entries]
    assert [e.values.savings_cents for e in entries] == [800, -800, 300]
    assert ledger.transactions.tables.totals[("", DAY)] == [(800, 8 * 3_600_000_000),
                                                            (300, 3 * 3_600_000_000)]  # fmt: skip


def test_summary_figures(ledger: Ledger) -> None:
    ledger.instance("a", rate=300, schedule="nights")
    ledger.instance("b", rate=100)
    ledger.night("a", 2, T0.replace(hour=1))
    ledger.night("b", 1, T0.replace(hour=1))
    ledger.night("a", 1, T0.replace(hour=1) - timedelta(days=1))  # the day before
    summary = ledger.reports.summary(ONE_DAY, "", "", 0)
    assert (summary.savings_cents, summary.stopped_micros) == (700, 3 * 3_600_000_000)
    assert summary.previous_cents == 300 and summary.change_percent == Decimal("133.33")
    assert summary.projected_cents == 24 * 400
    assert summary.actual_cents == 24 * 400 - 700
    assert [(s.instance_id, s.share_percent) for s in summary.top_savers] == [
        ("a", Decimal("85.71")),
        ("b", Decimal("14.29")),
    ]
    assert summary.top_savers[0].name == "name a"
    assert summary.month_to_date_cents == 1000  # March 1st to today
    only_b = ledger.reports.summary(ONE_DAY, "", "b", 1)
    assert (only_b.savings_cents, len(only_b.top_savers)) == (100, 1)
    assert only_b.projected_cents == 24 * 100
    nights = ledger.reports.summary(ONE_DAY, "nights", "", 0)
    assert (nights.savings_cents, nights.projected_cents) == (600, 24 * 300)


def test_summary_ongoing_savings_up_to_now_and_the_cap(ledger: Ledger) -> None:
    ledger.instance("a", rate=60, schedule="nights")
    ledger.instance("b", rate=60)
    ledger.events("a", (EventKind.STOPPED, NOW - timedelta(hours=2)))
    ledger.events("b", (EventKind.STOPPED, NOW - timedelta(days=9)))  # capped at 7 days
    week = RangeRequest(preset=1)
    summary = ledger.reports.summary(week, "", "", 0)
    assert summary.savings_cents == 0
    # a: 2 hours; b: from the range's start (the 14th) to its cap (the 18th, noon).
    assert summary.ongoing_cents == 120 + 108 * 60
    assert ledger.reports.summary(week, "nights", "", 0).ongoing_cents == 120
    assert ledger.reports.summary(week, "", "b", 0).ongoing_cents == 108 * 60


def test_daily_zero_days_and_pages(ledger: Ledger) -> None:
    ledger.instance()
    ledger.night("db", 12)  # 20:00 to 08:00
    days, page = ledger.reports.daily(RangeRequest(0, "2026-03-01", "2026-03-04"), "", "", 2, "")
    assert [(d.day, d.savings_cents) for d in page.items] == [(date(2026, 3, 1), 0), (DAY, 400)]
    _, second = ledger.reports.daily(
        RangeRequest(0, "2026-03-01", "2026-03-04"), "", "", 2, page.next_page_token
    )
    assert [(d.day, d.savings_cents) for d in second.items] == [
        (date(2026, 3, 3), 800),
        (date(2026, 3, 4), 0),
    ]
    assert second.next_page_token == ""
    assert days.days == 4
    _, by_instance = ledger.reports.daily(TWO_DAYS, "", "db", 0, "")
    assert [d.savings_cents for d in by_instance.items] == [400, 800]
    with pytest.raises(InvalidArgument):
        ledger.reports.daily(RangeRequest(0, "2026-03-01", "2026-03-05"), "", "", 2,
                             page.next_page_token)  # fmt: skip


def test_instances_orders_pages_and_shares(ledger: Ledger) -> None:
    for name, rate in (("a", 100), ("b", 300), ("c", 200)):
        ledger.instance(name, rate, schedule="nights" if name != "c" else "")
        ledger.night(name, 1, T0.replace(hour=1))
    total, first = ledger.reports.instances(ONE_DAY, "", "", 2, "")
    assert total == 600
    assert [(r.instance_id, r.share_percent) for r in first.items] == [
        ("b", Decimal("50.00")),
        ("c", Decimal("33.33")),
    ]
    _, rest = ledger.reports.instances(ONE_DAY, "", "", 2, first.next_page_token)
    assert [r.instance_id for r in rest.items] == ["a"] and rest.next_page_token == ""
    _, ascending = ledger.reports.instances(ONE_DAY, "", " savings_cents  asc ", 0, "")
    assert [r.instance_id for r in ascending.items] == ["a", "c", "b"]
    _, by_id = ledger.reports.instances(ONE_DAY, "nights", "instance_id asc", 1, "")
    assert [r.instance_id for r in by_id.items] == ["a"]
    with pytest.raises(InvalidArgument):  # a token of another order
        ledger.reports.instances(ONE_DAY, "", "instance_id asc", 2, first.next_page_token)
    with pytest.raises(InvalidArgument):
        ledger.reports.instances(ONE_DAY, "", "name desc", 2, "")


def test_schedules_most_saving_first_with_instance_counts(ledger: Ledger) -> None:
    for name, rate, schedule in (("a", 100, "n"), ("b", 300, "w"), ("c", 50, "n"), ("d", 1, "")):
        ledger.instance(name, rate, schedule=schedule)
        ledger.night(name, 1, T0.replace(hour=1))
    page = ledger.reports.schedules(ONE_DAY, 1, "")
    assert [(s.schedule_id, s.savings_cents, s.instance_count) for s in page.items] == [
        ("w", 300, 1)
    ]
    rest = ledger.reports.schedules(ONE_DAY, 0, page.next_page_token)
    assert [(s.schedule_id, s.instance_count) for s in rest.items] == [("n", 2), ("", 1)]


def test_instance_report_periods_events_and_ongoing(ledger: Ledger) -> None:
    ledger.instance(rate=60)
    ledger.night("db", 12)
    ledger.events("db", (EventKind.OBSERVED_STOPPED, NOW - timedelta(hours=1)))
    report = ledger.reports.instance("db", RangeRequest(0, "2026-03-01", "2026-03-20"))
    assert [(p.start, p.end, p.ongoing, p.savings_cents) for p in report.periods] == [
        (T0, T0 + timedelta(hours=12), False, 720),
        (NOW - timedelta(hours=1), None, True, 60),
    ]
    assert (report.savings_cents, report.ongoing_cents) == (720, 60)
    assert [e.kind for e in report.events] == [
        EventKind.STOPPED, EventKind.STARTED, EventKind.OBSERVED_STOPPED,
    ]  # fmt: skip
    assert not report.events_truncated and report.corrections == []
    with pytest.raises(NotFound):
        ledger.reports.instance("ghost", ONE_DAY)
    with pytest.raises(InvalidArgument):
        ledger.reports.instance("", ONE_DAY)


def test_export_days_and_instances_in_chunks_that_resume(ledger: Ledger) -> None:
    ledger.instance("a", rate=60)
    ledger.night("a", 12)
    request = RangeRequest(0, "2024-06-01", "2026-03-03")
    first = ledger.reports.export_chunk(request, False, "")
    assert not first.last
    second = ledger.reports.export_chunk(request, False, first.resume_token)
    assert second.last
    rows = list(csv.reader(io.StringIO(first.text + second.text)))
    assert rows[0] == ["date", "savings_cents", "stopped_minutes", "currency_code"]
    assert len(rows) == 1 + (date(2026, 3, 3) - date(2024, 6, 1)).days + 1
    assert rows[-2:] == [["2026-03-02", "240", "240", "USD"], ["2026-03-03", "480", "480", "USD"]]
    done = ledger.reports.export_chunk(request, False, second.resume_token)
    assert (done.text, done.last) == ("", True)
    instances = ledger.reports.export_chunk(TWO_DAYS, True, "")
    assert instances.last
    assert list(csv.reader(io.StringIO(instances.text)))[1] == [
        "a", "name a", "", "720", "720", "USD",
    ]  # fmt: skip
    with pytest.raises(InvalidArgument):
        ledger.reports.export_chunk(TWO_DAYS, False, instances.resume_token)


def test_reads_refuse_bad_filters(ledger: Ledger) -> None:
    with pytest.raises(InvalidArgument):
        ledger.reports.summary(ONE_DAY, "x\x00", "", 0)
    with pytest.raises(InvalidArgument):
        ledger.reports.daily(ONE_DAY, "", "i" * 129, 0, "")
    with pytest.raises(InvalidArgument):
        ledger.reports.summary(ONE_DAY, "", "", 51 - 52)


def test_daily_refuses_a_forged_token_at_the_end_of_time(ledger: Ledger) -> None:
    from ledger_server.domain.savings.reports import LIST_DAILY_SAVINGS

    scope = ("2026-03-02", "2026-03-02", "", "")
    forged = LIST_DAILY_SAVINGS.encode(scope, (date(9999, 12, 31),))
    with pytest.raises(InvalidArgument):
        ledger.reports.daily(ONE_DAY, "", "", 0, forged)


def test_record_events_several_instances_in_one_batch_all_count(ledger: Ledger) -> None:
    from ledger_server.domain.savings.recording import EventsOutcome

    for name in ("a", "b", "c"):
        ledger.instance(name, schedule="nights")
    ledger.recorder.record_events(
        [
            EventInput("r", "a", int(EventKind.STOP_REQUESTED), T0),  # requests only: no work
            EventInput("b1", "b", int(EventKind.STOPPED), T0),
            EventInput("b2", "b", int(EventKind.STARTED), T0 + timedelta(hours=1)),
            EventInput("c1", "c", int(EventKind.STOPPED), T0),
            EventInput("c2", "c", int(EventKind.STARTED), T0 + timedelta(hours=2)),
        ],
        None,
    )
    assert ledger.reports.summary(ONE_DAY, "", "", 0).savings_cents == 300
    assert ledger.reports.summary(ONE_DAY, "nights", "", 0).savings_cents == 300
    causes = {(i, e.cause) for i, e in ledger.transactions.tables.entries}
    assert causes == {("b", "event:b1"), ("c", "event:c1")}
    assert EventsOutcome(1, 2, 3) + EventsOutcome(10, 20, 30) == EventsOutcome(11, 22, 33)


def test_record_events_state_follows_the_ledger_and_is_written_only_on_change(
    ledger: Ledger,
) -> None:
    ledger.instance()
    ledger.events("db", (EventKind.OBSERVED_RUNNING, T0 - timedelta(days=1)))
    assert ledger.transactions.tables.states == [InstanceState("db", 1)]  # its first state
    ledger.night("db", 2)
    ledger.night("db", 3, T0 + timedelta(days=1))
    hour = 3_600_000_000
    assert [
        (s.version, s.savings_cents, s.stopped_micros) for s in ledger.transactions.tables.states
    ] == [(1, 0, 0), (2, 200, 2 * hour), (3, 500, 5 * hour)]
    ledger.events("db", (EventKind.OBSERVED_RUNNING, T0 + timedelta(days=3)))  # no change
    assert len(ledger.transactions.tables.states) == 3


def test_record_instance_locks_the_instance_and_keeps_request_ids_per_method(
    ledger: Ledger,
) -> None:
    ledger.recorder.record_instance(RecordInstanceCommand("db", "aws", 1), RequestKey("same", b"x"))
    assert ledger.transactions.tables.locks == ["savings:instance:db"]
    outcome = ledger.recorder.record_events(
        [EventInput("e", "db", int(EventKind.STOPPED), T0)], RequestKey("same", b"x")
    )
    assert outcome.recorded == 1  # the same id on another RPC is another request


def test_record_events_engine_cap_applies(ledger: Ledger) -> None:
    from ledger_server.domain.savings.policy import policy_from

    policy = policy_from("aws=7d,aws/mysql=none", "UTC")
    ledger.recorder = SavingsRecorder(ledger.transactions, policy, clock=lambda: NOW)
    ledger.recorder.record_instance(
        RecordInstanceCommand("db", "aws", 1, engine="mysql", effective_time=T0), None
    )
    ledger.night("db", 9 * 24)
    assert ledger.transactions.tables.states[-1].stopped_micros == 9 * 24 * 3_600_000_000
