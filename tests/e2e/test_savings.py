"""SavingsService through the SDK on a real server and PostgreSQL: what a dashboard sees."""

from __future__ import annotations

import asyncio
import csv
import io
import random
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from ledger_client import AsyncClient, Client, FailedPrecondition, InvalidArgument, NotFound
from ledger_client.savings_types import EventKind, InstanceEvent
from ledger_server.domain.savings import calculator
from ledger_server.domain.savings import records as domain
from tests.conftest import ADMIN_KEY
from tests.support.server import ServerThread

DAY = date(2026, 3, 2)
T0 = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def record(client: Client, rate: int = 100, schedule_id: str = "", **extra: object) -> str:
    instance_id = new_id("db")
    client.savings.record_instance(
        instance_id,
        provider="aws",
        engine="postgres",
        hourly_cost_cents=rate,
        schedule_id=schedule_id,
        effective_time=T0 - timedelta(days=60),
        name=f"reports {instance_id}",
        **extra,  # type: ignore[arg-type]
    )
    return instance_id


def ev(instance_id: str, kind: EventKind, at: datetime) -> InstanceEvent:
    return InstanceEvent(new_id("ev"), instance_id, kind, at, "scheduler")


def test_record_events_then_daily_savings_split_at_midnight_with_zero_days(
    client: Client,
) -> None:
    instance = record(client)
    recorded = client.savings.record_events(
        [
            ev(instance, EventKind.STOPPED, T0),  # 20:00
            ev(instance, EventKind.STARTED, T0 + timedelta(hours=12)),  # 08:00 next day
        ]
    )
    assert (recorded.recorded_count, recorded.duplicate_count) == (2, 0)
    assert "not billing data" in recorded.disclaimer
    days = list(
        client.savings.list_daily(
            instance_id=instance, start_date=DAY - timedelta(days=1), end_date=DAY + timedelta(2)
        )
    )
    assert [(d.date, d.savings_cents, d.stopped_minutes) for d in days] == [
        (DAY - timedelta(days=1), 0, 0),
        (DAY, 400, 240),
        (DAY + timedelta(days=1), 800, 480),
        (DAY + timedelta(days=2), 0, 0),
    ]
    assert str(days[2].savings) == "8.00"


def test_list_daily_savings_pages_follow_the_token(client: Client) -> None:
    instance = record(client)
    pager = client.savings.list_daily(
        instance_id=instance, start_date=DAY, end_date=DAY + timedelta(days=9), page_size=3
    )
    pages = list(pager.pages())
    assert [len(page) for page in pages] == [3, 3, 3, 1]
    assert [d.date for page in pages for d in page] == [DAY + timedelta(n) for n in range(10)]


def test_record_events_duplicates_and_any_order_give_the_same_savings(client: Client) -> None:
    instance = record(client)
    stop = ev(instance, EventKind.STOPPED, T0.replace(hour=9))
    start = ev(instance, EventKind.STARTED, T0.replace(hour=17))
    client.savings.record_events([start])  # the start arrives first
    client.savings.record_events([stop, stop])
    again = client.savings.record_events([stop, start])
    assert (again.recorded_count, again.duplicate_count) == (0, 2)
    report = client.savings.get_instance(instance, start_date=DAY, end_date=DAY)
    assert (report.savings_cents, report.stopped_minutes) == (800, 480)
    assert [(p.start_time, p.end_time, p.capped) for p in report.stop_periods] == [
        (stop.occur_time, start.occur_time, False)
    ]
    assert {e.event_id for e in report.events} == {stop.event_id, start.event_id}


def test_get_instance_savings_late_event_appends_a_correction(client: Client) -> None:
    instance = record(client)
    client.savings.record_events(
        [
            ev(instance, EventKind.STOPPED, T0.replace(hour=9)),
            ev(instance, EventKind.STARTED, T0.replace(hour=17)),
        ]
    )
    before = client.savings.get_summary(instance_id=instance, start_date=DAY, end_date=DAY)
    assert before.savings_cents == 800
    late = client.savings.record_events(
        [ev(instance, EventKind.OBSERVED_RUNNING, T0.replace(hour=12))]
    )
    assert late.correction_count == 1
    report = client.savings.get_instance(instance, start_date=DAY, end_date=DAY)
    assert report.savings_cents == 300
    assert [(c.kind, c.savings_cents) for c in report.corrections] == [
        ("REVERSAL", -800),
        ("REPLACEMENT", 300),
    ]
    assert report.corrections[0].corrects_entry_id == report.corrections[1].corrects_entry_id
    after = client.savings.get_summary(instance_id=instance, start_date=DAY, end_date=DAY)
    assert after.savings_cents == 300


def test_get_instance_savings_nine_days_stopped_count_seven(client: Client) -> None:
    instance = record(client)
    client.savings.record_events(
        [
            ev(instance, EventKind.STOPPED, T0),
            ev(instance, EventKind.STARTED, T0 + timedelta(days=9)),
        ]
    )
    report = client.savings.get_instance(
        instance, start_date=DAY, end_date=DAY + timedelta(days=10)
    )
    assert report.savings_cents == 7 * 24 * 100
    assert [(p.capped, p.end_time) for p in report.stop_periods] == [(True, T0 + timedelta(7))]


def test_get_savings_summary_ongoing_savings_apart_from_finalized(client: Client) -> None:
    instance = record(client, rate=60)
    stopped_at = datetime.now(UTC) - timedelta(hours=2)
    client.savings.record_events([ev(instance, EventKind.STOPPED, stopped_at)])
    summary = client.savings.get_summary(instance_id=instance, last_days=7)
    assert summary.savings_cents == 0
    assert 119 <= summary.ongoing_savings_cents <= 121  # 2 hours at 60 c/h, up to now
    report = client.savings.get_instance(instance, last_days=7)
    [period] = report.stop_periods
    assert period.ongoing and period.end_time is None


def test_record_instance_revision_reprices_periods_with_a_correction(client: Client) -> None:
    instance = record(client, rate=100)
    client.savings.record_events(
        [
            ev(instance, EventKind.STOPPED, T0.replace(hour=9)),
            ev(instance, EventKind.STARTED, T0.replace(hour=11)),
        ]
    )
    revision = client.savings.record_instance(
        instance, provider="aws", hourly_cost_cents=250, effective_time=T0.replace(hour=8)
    )
    assert revision.revision == 2
    report = client.savings.get_instance(instance, start_date=DAY, end_date=DAY)
    assert report.savings_cents == 500
    assert [c.kind for c in report.corrections] == ["REVERSAL", "REPLACEMENT"]


def test_record_instance_retry_with_the_same_request_id_returns_the_first_revision(
    client: Client, row_counts: Callable[[], dict[str, int]]
) -> None:
    instance_id = new_id("db")
    first = client.savings.record_instance(
        instance_id, provider="aws", hourly_cost_cents=10, request_id=f"r-{instance_id}"
    )
    counts = row_counts()
    again = client.savings.record_instance(
        instance_id, provider="aws", hourly_cost_cents=10, request_id=f"r-{instance_id}"
    )
    assert again == first
    assert row_counts() == counts


def test_record_instance_events_of_an_unrecorded_instance_fail_and_write_nothing(
    client: Client, row_counts: Callable[[], dict[str, int]]
) -> None:
    counts = row_counts()
    with pytest.raises(FailedPrecondition) as refused:
        client.savings.record_events([ev(new_id("ghost"), EventKind.STOPPED, T0)])
    assert refused.value.reason == "INSTANCE_NOT_RECORDED"
    assert row_counts() == counts


def test_record_instance_events_bad_fields_name_each_one(client: Client) -> None:
    instance = record(client)
    with pytest.raises(InvalidArgument) as refused:
        client.savings.record_events(
            [
                ev(instance, EventKind.STOPPED, datetime(1999, 1, 1, tzinfo=UTC)),
                InstanceEvent("has space", instance, EventKind.STARTED, T0),
            ]
        )
    fields = {v.field for v in refused.value.field_violations}
    assert fields == {"events[0].occur_time", "events[1].event_id"}


def test_get_instance_savings_unknown_instance_is_not_found(client: Client) -> None:
    with pytest.raises(NotFound):
        client.savings.get_instance(new_id("ghost"))


def test_list_instance_savings_shares_and_schedules(client: Client) -> None:
    schedule = new_id("nights")
    big = record(client, rate=300, schedule_id=schedule)
    small = record(client, rate=100, schedule_id=schedule)
    for instance in (big, small):
        client.savings.record_events(
            [
                ev(instance, EventKind.STOPPED, T0.replace(hour=1)),
                ev(instance, EventKind.STARTED, T0.replace(hour=3)),
            ]
        )
    rows = list(client.savings.list_instances(schedule_id=schedule, start_date=DAY, end_date=DAY))
    assert [(r.instance_id, r.savings_cents, str(r.share_percent)) for r in rows] == [
        (big, 600, "75.00"),
        (small, 200, "25.00"),
    ]
    schedules = {
        s.schedule_id: s
        for s in client.savings.list_schedules(start_date=DAY, end_date=DAY, page_size=1000)
    }
    assert (schedules[schedule].savings_cents, schedules[schedule].instance_count) == (800, 2)
    summary = client.savings.get_summary(schedule_id=schedule, start_date=DAY, end_date=DAY)
    assert summary.savings_cents == 800
    assert [s.instance_id for s in summary.top_savers] == [big, small]
    # 24/7: 300 + 100 cents an hour for the whole day.
    assert summary.projected_cost_cents == 24 * 400
    assert summary.actual_cost_cents == 24 * 400 - 800


def test_get_savings_summary_change_from_the_previous_range(client: Client) -> None:
    instance = record(client)
    client.savings.record_events(
        [
            ev(instance, EventKind.STOPPED, T0 - timedelta(days=1, hours=10)),  # 1 hour
            ev(instance, EventKind.STARTED, T0 - timedelta(days=1, hours=9)),
            ev(instance, EventKind.STOPPED, T0.replace(hour=1)),  # 3 hours
            ev(instance, EventKind.STARTED, T0.replace(hour=4)),
        ]
    )
    summary = client.savings.get_summary(instance_id=instance, start_date=DAY, end_date=DAY)
    assert (summary.savings_cents, summary.previous_savings_cents) == (300, 100)
    assert str(summary.change_percent) == "200.00"


def test_export_savings_csv_by_day_and_by_instance(client: Client) -> None:
    instance = record(client)
    client.savings.record_events(
        [
            ev(instance, EventKind.STOPPED, T0.replace(hour=1)),
            ev(instance, EventKind.STARTED, T0.replace(hour=2)),
        ]
    )
    text = b"".join(
        client.savings.export_csv(start_date=DAY - timedelta(days=700), end_date=DAY)
    ).decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["date", "savings_cents", "stopped_minutes", "currency_code"]
    assert len(rows) == 1 + 701  # every day, more than one chunk
    assert rows[-1][0] == DAY.isoformat() and int(rows[-1][1]) >= 100
    by_instance = b"".join(
        client.savings.export_csv(granularity="instance", start_date=DAY, end_date=DAY)
    ).decode()
    found = [r for r in csv.reader(io.StringIO(by_instance)) if r[0] == instance]
    assert found == [[instance, f"reports {instance}", "", "100", "60", "USD"]]


def test_stream_instance_events_backfills_in_batches(client: Client) -> None:
    instance = record(client, rate=1)
    events = []
    for night in range(1200):  # 2,400 events: three batches
        start = T0 - timedelta(days=300) + timedelta(days=night % 300, minutes=night // 300)
        events.append(ev(instance, EventKind.STOPPED, start))
        events.append(ev(instance, EventKind.STARTED, start + timedelta(minutes=1)))
    recorded = client.savings.stream_events(iter(events))
    assert (recorded.recorded_count, recorded.duplicate_count) == (2400, 0)
    again = client.savings.stream_events(iter(events[:10]))
    assert (again.recorded_count, again.duplicate_count) == (0, 10)


def test_record_events_shuffled_one_at_a_time_match_the_calculator(client: Client) -> None:
    instance = record(client, rate=137)
    rng = random.Random(7)
    kinds = [EventKind.STOPPED, EventKind.STARTED, EventKind.OBSERVED_STOPPED,
             EventKind.OBSERVED_RUNNING, EventKind.STOP_REQUESTED]  # fmt: skip
    events = [
        ev(instance, rng.choice(kinds), T0 + timedelta(minutes=rng.randrange(12 * 24 * 60)))
        for _ in range(40)
    ]
    order = events[:]
    rng.shuffle(order)
    for event in order:
        client.savings.record_events([event, rng.choice(events)])
    domain_events = [
        domain.InstanceEvent(e.event_id, e.instance_id, domain.EventKind(e.kind), e.occur_time)
        for e in events
    ]
    revision = client.savings.get_instance(instance).instance
    expected = calculator.period_days(
        calculator.stop_periods(domain_events, timedelta(days=7)),
        [
            domain.Revision(instance, 1, "", "aws", "postgres", "", "", 137, "", {},
                            revision.effective_time, revision.record_time)
        ],
        ZoneInfo("UTC"),
    )  # fmt: skip
    report = client.savings.get_instance(
        instance, start_date=DAY, end_date=DAY + timedelta(days=20)
    )
    assert report.savings_cents == sum(d.savings_cents for d in expected)
    finished = [p for p in report.stop_periods if not p.ongoing]
    assert len(finished) == len({d.period_start for d in expected})


def test_async_savings_client_records_streams_and_reads(server: ServerThread) -> None:
    async def scenario() -> tuple[int, int, list[int], bytes]:
        async with AsyncClient(target=server.target, api_key=ADMIN_KEY) as ledger:
            instance = new_id("db")
            await ledger.savings.record_instance(
                instance, provider="aws", hourly_cost_cents=100,
                effective_time=T0 - timedelta(days=1),
            )  # fmt: skip

            async def events() -> AsyncIterator[InstanceEvent]:
                yield ev(instance, EventKind.STOPPED, T0.replace(hour=1))
                yield ev(instance, EventKind.STARTED, T0.replace(hour=2))

            recorded = await ledger.savings.stream_events(events())
            summary = await ledger.savings.get_summary(
                instance_id=instance, start_date=DAY, end_date=DAY
            )
            days = [
                d.savings_cents
                async for d in ledger.savings.list_daily(
                    instance_id=instance, start_date=DAY, end_date=DAY
                )
            ]
            chunks = [
                chunk async for chunk in ledger.savings.export_csv(start_date=DAY, end_date=DAY)
            ]
            return recorded.recorded_count, summary.savings_cents, days, b"".join(chunks)

    recorded, savings, days, csv_bytes = asyncio.run(scenario())
    assert (recorded, savings, days) == (2, 100, [100])
    assert csv_bytes.startswith(b"date,savings_cents,stopped_minutes,currency_code\r\n")


def test_list_schedule_savings_counts_instances_not_stop_periods(client: Client) -> None:
    schedule = new_id("twice")
    instance = record(client, rate=120, schedule_id=schedule)
    client.savings.record_events(
        [
            ev(instance, EventKind.STOPPED, T0.replace(hour=1)),
            ev(instance, EventKind.STARTED, T0.replace(hour=2)),
            ev(instance, EventKind.STOPPED, T0.replace(hour=5)),
            ev(instance, EventKind.STARTED, T0.replace(hour=7)),
        ]
    )
    schedules = {
        s.schedule_id: s
        for s in client.savings.list_schedules(start_date=DAY, end_date=DAY, page_size=1000)
    }
    assert (schedules[schedule].savings_cents, schedules[schedule].instance_count) == (360, 1)
