"""Savings history for the benchmark: events made up, the ledger computed, COPY-loaded.

Each instance is stopped every night (around 20:00 UTC) and started every morning
(around 08:00 UTC), one stop and one start event a night. The ledger rows loaded with
the events are computed by the service's own domain functions (the calculator, the
reconciliation of an empty ledger, the day deltas), so the totals are the ones the
service would have written had it received the events one by one; `check_sample`
proves that on a sample through the running server.
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import psycopg2
from servers import dsn

from ledger_server.domain.savings import calculator
from ledger_server.domain.savings.policy import SavingsPolicy
from ledger_server.domain.savings.reconcile import day_deltas, reconcile
from ledger_server.domain.savings.records import EventKind, InstanceEvent, NewEntry, Revision

POLICY = SavingsPolicy()
EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
SCHEDULES = 20
Row = tuple[object, ...]
LOADED_TABLES = (
    "savings_instance_revisions",
    "savings_events",
    "savings_entries",
    "savings_instance_states",
    "savings_day_totals",
)


@dataclass(frozen=True)
class Fleet:
    instances: int
    today: date  # history ends the night before

    def instance_id(self, n: int) -> str:
        return f"bench-db-{n:05d}"

    def revision(self, n: int) -> Revision:
        return Revision(
            self.instance_id(n), 1, f"bench {n}", "aws", "postgres", "us-east-1",
            "db.r6g.large", 50 + n % 400, f"nightly-{n % SCHEDULES}", {}, EPOCH, EPOCH,
        )  # fmt: skip


def nights(fleet: Fleet, n: int, first_night: int, last_night: int) -> list[InstanceEvent]:
    """Instance n's events for nights `first_night`..`last_night - 1` before today."""
    instance_id = fleet.instance_id(n)
    events = []
    for back in range(first_night, last_night):
        rng = random.Random(n * 100_003 + back)  # a night is the same whichever load makes it
        # Nights end the day before yesterday: every event lies well in the past.
        evening = datetime.combine(fleet.today - timedelta(days=back + 2), datetime.min.time(), UTC)
        stop = evening + timedelta(hours=20, minutes=rng.randrange(60))
        start = evening + timedelta(days=1, hours=7, minutes=rng.randrange(60))
        events.append(InstanceEvent(f"{instance_id}-s{back}", instance_id, EventKind.STOPPED, stop))
        events.append(
            InstanceEvent(f"{instance_id}-r{back}", instance_id, EventKind.STARTED, start)
        )
    return events


def ledger_rows(fleet: Fleet, n: int, events: Sequence[InstanceEvent]) -> list[NewEntry]:
    """The entries the service writes for these events (an instance's periods are
    independent across nights: each starts after a running evidence)."""
    periods = calculator.stop_periods(events, POLICY.cap_for("aws", "postgres"))
    computed = calculator.period_days(periods, [fleet.revision(n)], POLICY.zone)
    return reconcile({}, computed, f"event:{events[0].event_id}" if events else "")


def _copy(cursor: psycopg2.extensions.cursor, table: str, columns: str, rows: Iterator[Row]) -> int:
    return _copy_into(cursor, f"ledger.{table}", columns, rows)


def _copy_into(
    cursor: psycopg2.extensions.cursor, table: str, columns: str, rows: Iterator[Row]
) -> int:
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC)  # "" is text, not NULL
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    buffer.seek(0)
    cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv)", buffer)
    return count


def load(url: str, fleet: Fleet, first_night: int, last_night: int, *, new: bool) -> int:
    """Loads nights first..last-1 of every instance (and, when `new`, the instances);
    returns the events loaded. Day totals of the loaded days must not exist yet."""
    connection = psycopg2.connect(dsn(url))
    totals: dict[tuple[str, date], list[int]] = defaultdict(lambda: [0, 0])
    loaded = 0
    with connection, connection.cursor() as cursor:
        if new:
            _copy(cursor, "savings_instance_revisions",
                  "instance_id, revision, name, provider, engine, region, instance_type, "
                  "hourly_cost_cents, currency_code, schedule_id, labels, effective_time",
                  ((r.instance_id, 1, r.name, r.provider, r.engine, r.region, r.instance_type,
                    r.hourly_cost_cents, "USD", r.schedule_id, json.dumps({}), EPOCH)
                   for r in map(fleet.revision, range(fleet.instances))))  # fmt: skip
        for block in range(0, fleet.instances, 500):
            events: list[InstanceEvent] = []
            entries: list[tuple[str, NewEntry]] = []
            states = []
            for n in range(block, min(block + 500, fleet.instances)):
                mine = nights(fleet, n, first_night, last_night)
                events += mine
                rows = ledger_rows(fleet, n, mine)
                entries += [(fleet.instance_id(n), e) for e in rows]
                for delta in day_deltas(rows):
                    total = totals[(delta.scope, delta.day)]
                    total[0] += delta.savings_cents
                    total[1] += delta.stopped_micros
                states.append(
                    (fleet.instance_id(n), 1 if new else 2,
                     sum(e.values.savings_cents for e in rows),
                     sum(e.values.stopped_micros for e in rows))
                )  # fmt: skip
            loaded += _copy(cursor, "savings_events",
                            "event_id, instance_id, kind, occur_time, source, schedule_id",
                            ((e.event_id, e.instance_id, int(e.kind), e.occur_time.isoformat(),
                              "bench", "") for e in events))  # fmt: skip
            _copy(cursor, "savings_entries",
                  "instance_id, day, period_start, period_end, capped, stopped_micros, "
                  "savings_cents, hourly_cost_cents, schedule_id, kind, cause",
                  ((i, e.values.day, e.values.period_start.isoformat(),
                    e.values.period_end.isoformat(), e.values.capped, e.values.stopped_micros,
                    e.values.savings_cents, e.values.hourly_cost_cents, e.values.schedule_id,
                    int(e.kind), e.cause) for i, e in entries))  # fmt: skip
            if new:
                _copy(cursor, "savings_instance_states",
                      "instance_id, version, savings_cents, stopped_micros, correction_count",
                      ((i, v, c, m, 0) for i, v, c, m in states))  # fmt: skip
            else:  # older history: each instance's lifetime totals grow, a new version
                cursor.execute(
                    "INSERT INTO ledger.savings_instance_states (instance_id, version, "
                    "savings_cents, stopped_micros, correction_count) "
                    "SELECT s.instance_id, s.version + 1, s.savings_cents + a.cents, "
                    "s.stopped_micros + a.micros, s.correction_count "
                    "FROM unnest(%s::text[], %s::bigint[], %s::bigint[]) AS a(id, cents, micros) "
                    "JOIN LATERAL (SELECT * FROM ledger.savings_instance_states x "
                    "WHERE x.instance_id = a.id ORDER BY version DESC LIMIT 1) s ON true",
                    ([s[0] for s in states], [s[2] for s in states], [s[3] for s in states]),
                )
        # A day at the seam of two loads has totals already: the next version adds on.
        cursor.execute(
            "CREATE TEMP TABLE loaded_totals (scope text, day date, cents bigint, micros bigint)"
        )
        _copy_into(cursor, "loaded_totals", "scope, day, cents, micros",
                   ((scope, day, c, m) for (scope, day), (c, m) in totals.items()))  # fmt: skip
        cursor.execute(
            "INSERT INTO ledger.savings_day_totals (scope, day, version, savings_cents, "
            "stopped_micros) SELECT d.scope, d.day, coalesce(t.version, 0) + 1, "
            "coalesce(t.savings_cents, 0) + d.cents, coalesce(t.stopped_micros, 0) + d.micros "
            "FROM loaded_totals d LEFT JOIN LATERAL (SELECT version, savings_cents, "
            "stopped_micros FROM ledger.savings_day_totals t WHERE t.scope = d.scope "
            "AND t.day = d.day ORDER BY t.version DESC LIMIT 1) t ON true"
        )
    # The steady state, as autovacuum leaves INSERT-only tables some time after a bulk
    # load (PostgreSQL 13+ vacuums after inserts): statistics for the planner and the
    # visibility map that index-only scans need. Without it a read measured right after
    # loading millions of rows pays for hint bits, heap checks and autovacuum itself.
    connection.autocommit = True
    with connection.cursor() as cursor:
        for table in LOADED_TABLES:
            cursor.execute(f"VACUUM (ANALYZE) ledger.{table}")
    connection.close()
    return loaded
