"""A savings read over a range of days costs the same however long the history behind it.

One database holds 300 instances with 40 nights of history (two ledger entries a night:
the evening's part of the stop period and the next morning's), then eleven times as
many nights, the older ones appended after, as a backfill would. At each size the
repository's own per-instance and per-schedule sums of the last 30 days (the top savers
of GetSavingsSummary, ListInstanceSavings with its filters, ListScheduleSavings) run
under EXPLAIN (ANALYZE, BUFFERS). Buffers do not depend on timing or caching, so the
comparison is deterministic.

Run with `-s` to see the table of measurements.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, create_engine, event

from ledger_server.domain.savings.ports import InstanceOrder
from ledger_server.storage.savings.repository import SqlSavingsRepository
from tests.support.database import connect, fresh_database

INSTANCES, SCHEDULES = 300, 5
RECENT_NIGHTS, ALL_NIGHTS = 40, 440
TODAY = date(2026, 3, 1)
FIRST, LAST = TODAY - timedelta(days=29), TODAY  # the last 30 days
# What may differ between the sizes: one more B-tree level on each day's descent, and
# a leaf page at the seam between the older days and the range's first.
SLACK = (LAST - FIRST).days + 1 + 4

# Nights `start`..`stop - 1` before TODAY of every instance: a stop period from the
# evening of the night's day to the next morning, one entry for each of its two days.
FILL_NIGHTS = """
INSERT INTO ledger.savings_entries (instance_id, day, period_start, period_end, capped,
    stopped_micros, savings_cents, hourly_cost_cents, schedule_id, kind, cause)
SELECT 'db-' || i, night.day + part, night.day + time '20:00', night.day + interval '31 hours',
    false, (4 + 3 * part) * 3600000000::bigint, (4 + 3 * part) * (10 + i %% 7), 10 + i %% 7,
    'nightly-' || i %% %(schedules)s, 1, 'fill'
FROM generate_series(%(start)s, %(stop)s - 1) AS back,
    LATERAL (SELECT CAST(%(today)s AS date) - back - 1 AS day) AS night,
    generate_series(0, %(instances)s - 1) AS i, generate_series(0, 1) AS part
ORDER BY night.day DESC, i, part
"""


def fill(url: str, start: int, stop: int) -> None:
    connection = connect(url)
    connection.autocommit = True  # VACUUM: the visibility map index-only scans rely on
    with connection.cursor() as cursor:
        cursor.execute(
            FILL_NIGHTS,
            {
                "start": start,
                "stop": stop,
                "today": TODAY,
                "instances": INSTANCES,
                "schedules": SCHEDULES,
            },
        )
        cursor.execute("VACUUM (ANALYZE) ledger.savings_entries")
    connection.close()


@dataclass
class Measurement:
    buffers: int
    entries_read: int  # rows the scans of savings_entries returned
    scans: list[str]  # "<node type> <index or table>" of every scan of savings_entries
    result: list[Any]


Read = Callable[[SqlSavingsRepository], list[Any]]
READS: dict[str, Read] = {
    "top savers": lambda repo: repo.instance_totals(
        FIRST, LAST, None, InstanceOrder.MOST_SAVING_FIRST, None, 5
    ),
    "top savers of a schedule": lambda repo: repo.instance_totals(
        FIRST, LAST, "nightly-3", InstanceOrder.MOST_SAVING_FIRST, None, 5
    ),
    "one instance": lambda repo: repo.instance_totals(
        FIRST, LAST, None, InstanceOrder.MOST_SAVING_FIRST, None, 5, "db-7"
    ),
    "least saving, after a row": lambda repo: repo.instance_totals(
        FIRST, LAST, None, InstanceOrder.LEAST_SAVING_FIRST, (300, "db-1"), 51
    ),
    "by instance id, after a row": lambda repo: repo.instance_totals(
        FIRST, LAST, None, InstanceOrder.BY_INSTANCE_ID, (0, "db-150"), 51
    ),
    "schedules": lambda repo: repo.schedule_totals(FIRST, LAST, None, 51),
}


def explain(connection: Connection, statement: str) -> tuple[int, int, list[str]]:
    plan = connection.exec_driver_sql(
        "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement.replace("%", "%%")
    ).scalar_one()
    document = plan if isinstance(plan, list) else json.loads(plan)
    top = document[0]["Plan"]
    entries_read, scans, nodes = 0, [], [top]
    while nodes:
        node = nodes.pop()
        if node.get("Relation Name") == "savings_entries":
            entries_read += node["Actual Rows"] * node["Actual Loops"]
            scans.append(f"{node['Node Type']} {node.get('Index Name', 'savings_entries')}")
        nodes.extend(node.get("Plans", []))
    return top["Shared Hit Blocks"] + top["Shared Read Blocks"], entries_read, scans


def measure_all(url: str) -> dict[str, Measurement]:
    engine = create_engine(url)
    statements: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def remember(_c: Any, cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        statements.append(cursor.mogrify(statement, parameters).decode())

    measured = {}
    try:
        with engine.connect() as connection:
            repo = SqlSavingsRepository(connection)
            for name, read in READS.items():
                result = read(repo)
                buffers, entries_read, scans = explain(connection, statements[-1])
                measured[name] = Measurement(buffers, entries_read, scans, result)
    finally:
        engine.dispose()
    return measured


@pytest.fixture(scope="module")
def measured() -> Iterator[tuple[dict[str, Measurement], dict[str, Measurement]]]:
    with fresh_database() as url:
        fill(url, 0, RECENT_NIGHTS)
        short = measure_all(url)
        fill(url, RECENT_NIGHTS, ALL_NIGHTS)
        long = measure_all(url)
    print(f"\nbuffers of a 30-day read, {RECENT_NIGHTS} vs {ALL_NIGHTS} nights of history")
    for name, at_short in short.items():
        at_long = long[name]
        print(
            f"{name:<28} {at_short.buffers:>6} {at_long.buffers:>6} "
            f"{at_long.entries_read:>7}  {', '.join(sorted(set(at_long.scans)))}"
        )
    yield short, long


@pytest.mark.parametrize("name", list(READS))
def test_range_sums_read_the_range_from_the_index_at_every_history_length(
    measured: tuple[dict[str, Measurement], dict[str, Measurement]], name: str
) -> None:
    for at_size in measured:
        scans = at_size[name].scans
        assert scans and all(s == "Index Only Scan ix_savings_entries_day_sums" for s in scans)


@pytest.mark.parametrize("name", list(READS))
def test_range_sums_cost_the_same_with_eleven_times_the_history(
    measured: tuple[dict[str, Measurement], dict[str, Measurement]], name: str
) -> None:
    short, long = measured[0][name], measured[1][name]
    assert long.result == short.result  # older nights change nothing in the last 30 days
    assert long.result
    assert long.entries_read == short.entries_read
    assert abs(long.buffers - short.buffers) <= SLACK, (short.buffers, long.buffers)
