"""A server's savings settings reach its figures: the reporting time zone and the caps."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest

from ledger_client import Client
from ledger_client.savings_types import EventKind, InstanceEvent
from tests.conftest import ADMIN_KEY, server_settings
from tests.support.server import ServerThread

T0 = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)  # 21:00 in Berlin


@pytest.fixture(scope="module")
def berlin(database_url: str) -> Iterator[Client]:
    settings = server_settings(
        savings_time_zone="Europe/Berlin", savings_restart_caps="aws/postgres=none"
    )
    thread = ServerThread(settings, database_url).start()
    with Client(target=thread.target, api_key=ADMIN_KEY) as client:
        yield client
    thread.stop()


def test_list_daily_savings_days_end_at_midnight_in_the_reporting_time_zone(
    berlin: Client,
) -> None:
    instance = f"db-{uuid.uuid4().hex[:10]}"
    berlin.savings.record_instance(
        instance, provider="aws", engine="mysql", hourly_cost_cents=100,
        effective_time=T0 - timedelta(days=1),
    )  # fmt: skip
    berlin.savings.record_events(
        [
            InstanceEvent(f"{instance}-1", instance, EventKind.STOPPED, T0),
            InstanceEvent(f"{instance}-2", instance, EventKind.STARTED, T0 + timedelta(hours=6)),
        ]
    )
    days = list(
        berlin.savings.list_daily(
            instance_id=instance, start_date=date(2026, 3, 2), end_date=date(2026, 3, 3)
        )
    )
    # 21:00-03:00 Berlin: three hours on each side of the local midnight (UTC: 4 and 2).
    assert [(d.date, d.stopped_minutes) for d in days] == [
        (date(2026, 3, 2), 180),
        (date(2026, 3, 3), 180),
    ]
    summary = berlin.savings.get_summary(
        instance_id=instance, start_date=date(2026, 3, 2), end_date=date(2026, 3, 2)
    )
    assert summary.time_zone == "Europe/Berlin"


def test_record_events_an_engine_without_a_cap_counts_every_stopped_day(
    berlin: Client,
) -> None:
    instance = f"db-{uuid.uuid4().hex[:10]}"
    berlin.savings.record_instance(
        instance, provider="aws", engine="postgres", hourly_cost_cents=1,
        effective_time=T0 - timedelta(days=1),
    )  # fmt: skip
    berlin.savings.record_events(
        [
            InstanceEvent(f"{instance}-1", instance, EventKind.STOPPED, T0),
            InstanceEvent(f"{instance}-2", instance, EventKind.STARTED, T0 + timedelta(days=9)),
        ]
    )
    report = berlin.savings.get_instance(
        instance, start_date=date(2026, 3, 1), end_date=date(2026, 3, 20)
    )
    assert report.savings_cents == 9 * 24
    assert not any(p.capped for p in report.stop_periods)


def test_record_events_concurrent_writers_of_one_instance_lose_nothing(
    client: Client,
) -> None:
    """Stops and starts of one instance sent by eight callers at once, each event its
    own call: every night counts once, in the entries and in the day totals alike."""
    instance = f"db-{uuid.uuid4().hex[:10]}"
    schedule = f"race-{uuid.uuid4().hex[:8]}"
    client.savings.record_instance(
        instance, provider="aws", hourly_cost_cents=60, schedule_id=schedule,
        effective_time=T0 - timedelta(days=30),
    )  # fmt: skip
    events = []
    for n in range(16):
        stop = T0 - timedelta(days=n)
        events.append(InstanceEvent(f"{instance}-s{n}", instance, EventKind.STOPPED, stop))
        events.append(
            InstanceEvent(
                f"{instance}-r{n}", instance, EventKind.STARTED, stop + timedelta(hours=2)
            )
        )
    random.Random(3).shuffle(events)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda event: client.savings.record_events([event]), events))
    first, last = (T0 - timedelta(days=16)).date(), T0.date() + timedelta(days=1)
    report = client.savings.get_instance(instance, start_date=first, end_date=last)
    assert report.savings_cents == 16 * 120
    assert len(report.stop_periods) == 16
    summary = client.savings.get_summary(schedule_id=schedule, start_date=first, end_date=last)
    assert summary.savings_cents == 16 * 120
