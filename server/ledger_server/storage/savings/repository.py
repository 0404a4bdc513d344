# ruff: noqa: S608 - the SQL interpolates constant column lists and fixed fragments only; values are bound
"""The savings repository: adds, gets and lists; never updates or deletes.

Versions ("the latest row per key") are read with one index probe per key
(`ORDER BY version DESC LIMIT 1`, or a LATERAL join of such probes), so reading the
current state never walks the versions behind it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, text

from ledger_server.domain.savings.ports import (
    DayTotal,
    InstanceOrder,
    InstanceTotal,
    ScheduleTotal,
)
from ledger_server.domain.savings.records import (
    CURRENCY,
    DayDelta,
    EntryKind,
    EventKind,
    InstanceEvent,
    InstanceState,
    NewEntry,
    NewRevision,
    OpenStop,
    PeriodDay,
    RateRevision,
    Revision,
    StoredEntry,
)

_REVISION_COLUMNS = (
    "instance_id, revision, name, provider, engine, region, instance_type, "
    "hourly_cost_cents, schedule_id, labels, effective_time, record_time, currency_code"
)
_EVENT_COLUMNS = "event_id, instance_id, kind, occur_time, source, schedule_id, record_time"
_ENTRY_COLUMNS = (
    "entry_id, kind, instance_id, day, period_start, period_end, capped, stopped_micros, "
    "savings_cents, hourly_cost_cents, schedule_id, cause, corrects_entry_id, record_time"
)
_STATE_COLUMNS = (
    "instance_id, version, savings_cents, stopped_micros, correction_count, stopped_since, "
    "stop_cap_time, stop_hourly_cost_cents, stop_schedule_id"
)


class SqlSavingsRepository:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    # --- instances ---------------------------------------------------------------------

    def add_revision(self, revision: NewRevision) -> Revision:
        row = self._db.execute(
            text(
                "INSERT INTO ledger.savings_instance_revisions (instance_id, revision, name, "
                "provider, engine, region, instance_type, hourly_cost_cents, currency_code, "
                "schedule_id, labels, effective_time) "
                "SELECT :instance_id, coalesce(max(revision), 0) + 1, :name, :provider, "
                ":engine, :region, :instance_type, :rate, :currency, :schedule_id, "
                "CAST(:labels AS jsonb), :effective_time "
                "FROM ledger.savings_instance_revisions WHERE instance_id = :instance_id "
                f"RETURNING {_REVISION_COLUMNS}"
            ),
            {
                "instance_id": revision.instance_id,
                "name": revision.name,
                "provider": revision.provider,
                "engine": revision.engine,
                "region": revision.region,
                "instance_type": revision.instance_type,
                "rate": revision.hourly_cost_cents,
                "currency": revision.currency_code,
                "schedule_id": revision.schedule_id,
                "labels": json.dumps(dict(revision.labels)),
                "effective_time": revision.effective_time,
            },
        ).one()
        return _revision(row)

    def revisions(self, instance_id: str) -> list[Revision]:
        rows = self._db.execute(
            text(
                f"SELECT {_REVISION_COLUMNS} FROM ledger.savings_instance_revisions "
                "WHERE instance_id = :instance_id ORDER BY revision"
            ),
            {"instance_id": instance_id},
        )
        return [_revision(row) for row in rows]

    def latest_revisions(self, instance_ids: Sequence[str]) -> dict[str, Revision]:
        if not instance_ids:
            return {}
        rows = self._db.execute(
            text(
                f"SELECT r.* FROM unnest(CAST(:ids AS text[])) AS wanted(instance_id) "
                f"CROSS JOIN LATERAL (SELECT {_REVISION_COLUMNS} "
                "FROM ledger.savings_instance_revisions r "
                "WHERE r.instance_id = wanted.instance_id "
                "ORDER BY r.revision DESC LIMIT 1) r"
            ),
            {"ids": list(instance_ids)},
        )
        return {row.instance_id: _revision(row) for row in rows}

    def rate_revisions(self, instance_id: str = "") -> list[RateRevision]:
        # Five plain columns, not whole revisions: decoding every revision's labels from
        # JSON made this read of 10,000 instances about seven times slower.
        where = "WHERE instance_id = :instance_id" if instance_id else ""
        rows = self._db.execute(
            text(
                "SELECT instance_id, revision, effective_time, hourly_cost_cents, schedule_id "
                f"FROM ledger.savings_instance_revisions {where}"
            ),
            {"instance_id": instance_id},
        )
        return [RateRevision(*row) for row in rows]

    # --- events ------------------------------------------------------------------------

    def add_events(self, events: Sequence[InstanceEvent]) -> list[InstanceEvent]:
        if not events:
            return []
        rows = self._db.execute(
            text(
                "INSERT INTO ledger.savings_events "
                "(event_id, instance_id, kind, occur_time, source, schedule_id) "
                "SELECT * FROM unnest(CAST(:ids AS text[]), CAST(:instances AS text[]), "
                "CAST(:kinds AS smallint[]), CAST(:times AS timestamptz[]), "
                "CAST(:sources AS text[]), CAST(:schedules AS text[])) "
                f"ON CONFLICT (event_id) DO NOTHING RETURNING {_EVENT_COLUMNS}"
            ),
            {
                "ids": [e.event_id for e in events],
                "instances": [e.instance_id for e in events],
                "kinds": [int(e.kind) for e in events],
                "times": [e.occur_time for e in events],
                "sources": [e.source for e in events],
                "schedules": [e.schedule_id for e in events],
            },
        )
        return [_event(row) for row in rows]

    def running_evidence_before(self, instance_id: str, moment: datetime) -> datetime | None:
        found = self._db.execute(
            text(
                "SELECT occur_time FROM ledger.savings_events "
                "WHERE instance_id = :instance_id AND occur_time < :moment "
                "AND kind IN (:started, :observed_running) "
                "ORDER BY occur_time DESC LIMIT 1"
            ),
            {
                "instance_id": instance_id,
                "moment": moment,
                "started": int(EventKind.STARTED),
                "observed_running": int(EventKind.OBSERVED_RUNNING),
            },
        ).scalar()
        return None if found is None else _as_datetime(found)

    def events_since(self, instance_id: str, moment: datetime | None) -> list[InstanceEvent]:
        rows = self._db.execute(
            text(
                f"SELECT {_EVENT_COLUMNS} FROM ledger.savings_events "
                "WHERE instance_id = :instance_id "
                "AND (CAST(:moment AS timestamptz) IS NULL OR occur_time >= :moment)"
            ),
            {"instance_id": instance_id, "moment": moment},
        )
        return [_event(row) for row in rows]

    def events_between(
        self, instance_id: str, start: datetime, end: datetime, limit: int
    ) -> list[InstanceEvent]:
        rows = self._db.execute(
            text(
                f"SELECT {_EVENT_COLUMNS} FROM ledger.savings_events "
                "WHERE instance_id = :instance_id AND occur_time >= :start "
                "AND occur_time < :end ORDER BY occur_time, event_id LIMIT :limit"
            ),
            {"instance_id": instance_id, "start": start, "end": end, "limit": limit},
        )
        return [_event(row) for row in rows]

    # --- the ledger ----------------------------------------------------------------------

    def entries_since(self, instance_id: str, moment: datetime | None) -> list[StoredEntry]:
        rows = self._db.execute(
            text(
                f"SELECT {_ENTRY_COLUMNS} FROM ledger.savings_entries "
                "WHERE instance_id = :instance_id "
                "AND (CAST(:moment AS timestamptz) IS NULL OR period_start >= :moment) "
                "ORDER BY entry_id"
            ),
            {"instance_id": instance_id, "moment": moment},
        )
        return [_entry(row) for row in rows]

    def entries_on_days(self, instance_id: str, first: date, last: date) -> list[StoredEntry]:
        rows = self._db.execute(
            text(
                f"SELECT {_ENTRY_COLUMNS} FROM ledger.savings_entries "
                "WHERE instance_id = :instance_id AND day BETWEEN :first AND :last "
                "ORDER BY entry_id"
            ),
            {"instance_id": instance_id, "first": first, "last": last},
        )
        return [_entry(row) for row in rows]

    def add_entries(self, instance_id: str, entries: Sequence[NewEntry]) -> None:
        if not entries:
            return
        values = [e.values for e in entries]
        self._db.execute(
            text(
                "INSERT INTO ledger.savings_entries (instance_id, day, period_start, "
                "period_end, capped, stopped_micros, savings_cents, hourly_cost_cents, "
                "schedule_id, kind, corrects_entry_id, cause) "
                "SELECT :instance_id, * FROM unnest(CAST(:days AS date[]), "
                "CAST(:starts AS timestamptz[]), CAST(:ends AS timestamptz[]), "
                "CAST(:capped AS boolean[]), CAST(:micros AS bigint[]), "
                "CAST(:cents AS bigint[]), CAST(:rates AS bigint[]), "
                "CAST(:schedules AS text[]), CAST(:kinds AS smallint[]), "
                "CAST(:corrects AS bigint[]), CAST(:causes AS text[]))"
            ),
            {
                "instance_id": instance_id,
                "days": [v.day for v in values],
                "starts": [v.period_start for v in values],
                "ends": [v.period_end for v in values],
                "capped": [v.capped for v in values],
                "micros": [v.stopped_micros for v in values],
                "cents": [v.savings_cents for v in values],
                "rates": [v.hourly_cost_cents for v in values],
                "schedules": [v.schedule_id for v in values],
                "kinds": [int(e.kind) for e in entries],
                "corrects": [e.corrects_entry_id for e in entries],
                "causes": [e.cause for e in entries],
            },
        )

    def instance_state(self, instance_id: str) -> InstanceState | None:
        row = self._db.execute(
            text(
                f"SELECT {_STATE_COLUMNS} FROM ledger.savings_instance_states "
                "WHERE instance_id = :instance_id ORDER BY version DESC LIMIT 1"
            ),
            {"instance_id": instance_id},
        ).first()
        return None if row is None else _state(row)

    def add_instance_state(self, state: InstanceState) -> None:
        stop = state.open_stop
        self._db.execute(
            text(
                f"INSERT INTO ledger.savings_instance_states ({_STATE_COLUMNS}) VALUES "
                "(:instance_id, :version, :cents, :micros, :corrections, :since, :cap_time, "
                ":rate, :schedule_id)"
            ),
            {
                "instance_id": state.instance_id,
                "version": state.version,
                "cents": state.savings_cents,
                "micros": state.stopped_micros,
                "corrections": state.correction_count,
                "since": stop.start if stop else None,
                "cap_time": stop.cap_time if stop else None,
                "rate": stop.hourly_cost_cents if stop else None,
                "schedule_id": stop.schedule_id if stop else None,
            },
        )

    def open_states(self, instance_id: str = "") -> list[InstanceState]:
        # One probe per instance (its first revision names it), then only the stopped.
        where = "AND r.instance_id = :instance_id" if instance_id else ""
        rows = self._db.execute(
            text(
                f"SELECT s.* FROM ledger.savings_instance_revisions r "
                f"CROSS JOIN LATERAL (SELECT {_STATE_COLUMNS} "
                "FROM ledger.savings_instance_states s WHERE s.instance_id = r.instance_id "
                "ORDER BY s.version DESC LIMIT 1) s "
                f"WHERE r.revision = 1 {where} AND s.stopped_since IS NOT NULL"
            ),
            {"instance_id": instance_id},
        )
        return [_state(row) for row in rows]

    def add_day_deltas(self, deltas: Sequence[DayDelta]) -> None:
        if not deltas:
            return
        self._db.execute(
            text(
                "INSERT INTO ledger.savings_day_totals "
                "(scope, day, version, savings_cents, stopped_micros) "
                "SELECT d.scope, d.day, coalesce(t.version, 0) + 1, "
                "coalesce(t.savings_cents, 0) + d.cents, coalesce(t.stopped_micros, 0) + d.micros "
                "FROM unnest(CAST(:scopes AS text[]), CAST(:days AS date[]), "
                "CAST(:cents AS bigint[]), CAST(:micros AS bigint[])) "
                "AS d(scope, day, cents, micros) "
                "LEFT JOIN LATERAL (SELECT version, savings_cents, stopped_micros "
                "FROM ledger.savings_day_totals t WHERE t.scope = d.scope AND t.day = d.day "
                "ORDER BY t.version DESC LIMIT 1) t ON true"
            ),
            {
                "scopes": [d.scope for d in deltas],
                "days": [d.day for d in deltas],
                "cents": [d.savings_cents for d in deltas],
                "micros": [d.stopped_micros for d in deltas],
            },
        )

    # --- reads of totals -------------------------------------------------------------------

    def day_totals(self, scope: str, first: date, last: date) -> list[DayTotal]:
        rows = self._db.execute(
            text(
                "SELECT d.day, t.savings_cents, t.stopped_micros "
                "FROM generate_series(CAST(:first AS date), CAST(:last AS date), "
                "interval '1 day') AS d(day) "
                "CROSS JOIN LATERAL (SELECT savings_cents, stopped_micros "
                "FROM ledger.savings_day_totals t WHERE t.scope = :scope "
                "AND t.day = CAST(d.day AS date) ORDER BY t.version DESC LIMIT 1) t "
                "ORDER BY d.day"
            ),
            {"scope": scope, "first": first, "last": last},
        )
        return [DayTotal(_as_date(r.day), r.savings_cents, r.stopped_micros) for r in rows]

    def instance_day_totals(
        self, instance_id: str, first: date, last: date, schedule_id: str = ""
    ) -> list[DayTotal]:
        where = "AND schedule_id = :schedule_id" if schedule_id else ""
        rows = self._db.execute(
            text(
                "SELECT day, sum(savings_cents) AS cents, sum(stopped_micros) AS micros "
                "FROM ledger.savings_entries WHERE instance_id = :instance_id "
                f"AND day BETWEEN :first AND :last {where} GROUP BY day ORDER BY day"
            ),
            {"instance_id": instance_id, "first": first, "last": last, "schedule_id": schedule_id},
        )
        return [DayTotal(r.day, int(r.cents), int(r.micros)) for r in rows]

    def instance_totals(
        self,
        first: date,
        last: date,
        schedule_id: str | None,
        order: InstanceOrder,
        after: tuple[int, str] | None,
        limit: int,
        instance_id: str = "",
    ) -> list[InstanceTotal]:
        filters = []
        if schedule_id is not None:
            filters.append("schedule_id = :schedule_id")
        if instance_id:
            filters.append("instance_id = :instance_id")
        if order is InstanceOrder.MOST_SAVING_FIRST:
            order_sql = "cents DESC, instance_id"
            after_sql = "(-cents, instance_id) > (-CAST(:after_cents AS bigint), :after_id)"
        elif order is InstanceOrder.LEAST_SAVING_FIRST:
            order_sql = "cents, instance_id"
            after_sql = "(cents, instance_id) > (CAST(:after_cents AS bigint), :after_id)"
        else:
            order_sql = "instance_id"
            after_sql = "instance_id > :after_id"
        rows = self._db.execute(
            text(
                "SELECT * FROM (SELECT instance_id, sum(savings_cents) AS cents, "
                f"sum(stopped_micros) AS micros FROM {_entries_of_days(filters)} "
                "GROUP BY instance_id "
                "HAVING sum(savings_cents) <> 0 OR sum(stopped_micros) <> 0) totals "
                f"{'WHERE ' + after_sql if after else ''} ORDER BY {order_sql} LIMIT :limit"
            ),
            {
                "days": _each_day(first, last),
                "schedule_id": schedule_id,
                "instance_id": instance_id,
                "after_cents": after[0] if after else 0,
                "after_id": after[1] if after else "",
                "limit": limit,
            },
        )
        return [InstanceTotal(r.instance_id, int(r.cents), int(r.micros)) for r in rows]

    def schedule_totals(
        self, first: date, last: date, after: tuple[int, str] | None, limit: int
    ) -> list[ScheduleTotal]:
        after_sql = (
            "WHERE (-cents, schedule_id) > (-CAST(:after_cents AS bigint), :after_id)"
            if after
            else ""
        )
        rows = self._db.execute(
            text(
                # Per instance first, then per schedule: the instances are counted
                # from the first level's groups (a hash aggregate), not with
                # count(DISTINCT), which sorts every entry of the range (about 4x slower
                # on 570,000 entries, spilling to disk).
                "SELECT * FROM (SELECT schedule_id, sum(cents) AS cents, "
                "sum(micros) AS micros, count(*) AS instances FROM ("
                "SELECT schedule_id, instance_id, sum(savings_cents) AS cents, "
                "sum(stopped_micros) AS micros "
                f"FROM {_entries_of_days([])} GROUP BY schedule_id, instance_id) per_instance "
                "GROUP BY schedule_id HAVING sum(cents) <> 0 OR sum(micros) <> 0) totals "
                f"{after_sql} ORDER BY cents DESC, schedule_id LIMIT :limit"
            ),
            {
                "days": _each_day(first, last),
                "after_cents": after[0] if after else 0,
                "after_id": after[1] if after else "",
                "limit": limit,
            },
        )
        return [
            ScheduleTotal(r.schedule_id, int(r.cents), int(r.micros), int(r.instances))
            for r in rows
        ]


def _entries_of_days(filters: Sequence[str]) -> str:
    """The entries of the days in `:days` (and `filters`), as a FROM item, read one day
    at a time from `ix_savings_entries_day_sums`.

    One index range per day, from the index alone, whatever the history: the pages read
    are the range's own. Asked for the whole range at once, the planner reads it from
    that index once history is long, but sequentially scans the table while the range
    is much of it (a young ledger), so a read's cost followed the history's length
    instead of the range's. OFFSET 0 keeps the subquery a parameterised scan per day
    (it is not flattened into a join the planner could turn into a scan of the table).
    """
    extra = "".join(f" AND e.{condition}" for condition in filters)
    return (
        "unnest(CAST(:days AS date[])) AS d(day) CROSS JOIN LATERAL (SELECT e.instance_id, "
        "e.schedule_id, e.savings_cents, e.stopped_micros FROM ledger.savings_entries e "
        f"WHERE e.day = d.day{extra} OFFSET 0) e"
    )


def _each_day(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _as_datetime(value: Any) -> datetime:
    assert isinstance(value, datetime)
    return value


def _as_date(value: Any) -> date:
    day: date = value.date() if isinstance(value, datetime) else value
    return day


def _revision(row: Row[Any]) -> Revision:
    return Revision(
        instance_id=row.instance_id,
        revision=row.revision,
        name=row.name,
        provider=row.provider,
        engine=row.engine,
        region=row.region,
        instance_type=row.instance_type,
        hourly_cost_cents=row.hourly_cost_cents,
        schedule_id=row.schedule_id,
        labels=dict(row.labels),
        effective_time=row.effective_time,
        record_time=row.record_time,
        currency_code=row.currency_code or CURRENCY,
    )


def _event(row: Row[Any]) -> InstanceEvent:
    return InstanceEvent(
        row.event_id,
        row.instance_id,
        EventKind(row.kind),
        row.occur_time,
        row.source,
        row.schedule_id,
        row.record_time,
    )


def _entry(row: Row[Any]) -> StoredEntry:
    return StoredEntry(
        entry_id=row.entry_id,
        kind=EntryKind(row.kind),
        values=PeriodDay(
            row.period_start,
            row.period_end,
            row.day,
            row.capped,
            row.stopped_micros,
            row.savings_cents,
            row.hourly_cost_cents,
            row.schedule_id,
        ),
        cause=row.cause,
        corrects_entry_id=row.corrects_entry_id,
        record_time=row.record_time,
    )


def _state(row: Row[Any]) -> InstanceState:
    stop = None
    if row.stopped_since is not None:
        stop = OpenStop(
            row.stopped_since, row.stop_hourly_cost_cents, row.stop_schedule_id, row.stop_cap_time
        )
    return InstanceState(
        row.instance_id,
        row.version,
        row.savings_cents,
        row.stopped_micros,
        row.correction_count,
        stop,
    )
