"""The ingestion repository: adds and reads records, aggregates and runs; never updates."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any, cast

from psycopg2.extensions import connection as PgConnection  # noqa: N812
from sqlalchemy import Connection, Row, and_, func, insert, select, text, tuple_
from sqlalchemy.sql.elements import ColumnElement

from ledger_server.domain.ingestion.records import (
    BatchCounts,
    ChargeCategory,
    CostRecord,
    GroupBy,
    IngestionRun,
    NormalisedRecord,
    RecordFilters,
    RecordKey,
    Rejection,
    SummaryGroup,
)
from ledger_server.storage.ingestion.bulk import stage_and_classify
from ledger_server.storage.ingestion.tables import (
    cost_aggregates,
    cost_records,
    ingestion_rejections,
    ingestion_run_batches,
    ingestion_run_results,
    ingestion_runs,
)

NANO = Decimal("0.000000001")


def _totals() -> Any:
    batches = ingestion_run_batches
    return (
        select(
            func.coalesce(func.sum(batches.c.inserted_count), 0).label("inserted"),
            func.coalesce(func.sum(batches.c.revised_count), 0).label("revised"),
            func.coalesce(func.sum(batches.c.unchanged_count), 0).label("unchanged"),
            func.coalesce(func.sum(batches.c.rejected_count), 0).label("rejected"),
        )
        .where(batches.c.run_id == ingestion_runs.c.run_id)
        .lateral("totals")
    )


def _runs_query() -> Any:
    totals = _totals()
    results = ingestion_run_results
    return (
        select(
            ingestion_runs,
            totals.c.inserted,
            totals.c.revised,
            totals.c.unchanged,
            totals.c.rejected,
            results.c.input_sha256,
            results.c.duration_ms,
            results.c.finish_time,
        )
        .select_from(ingestion_runs)
        .join(totals, text("true"))
        .outerjoin(results, results.c.run_id == ingestion_runs.c.run_id)
    )


def _run(row: Row[Any]) -> IngestionRun:
    return IngestionRun(
        run_id=row.run_id,
        source=row.source,
        caller=row.caller,
        method=row.method,
        create_time=row.create_time,
        counts=BatchCounts(
            int(row.inserted), int(row.revised), int(row.unchanged), int(row.rejected)
        ),
        finish_time=row.finish_time,
        input_sha256=bytes(row.input_sha256) if row.input_sha256 is not None else b"",
        duration_ms=int(row.duration_ms or 0),
    )


def _record(row: Row[Any]) -> CostRecord:
    return CostRecord(
        key=RecordKey(
            row.charge_period_start,
            row.charge_period_end,
            row.provider,
            row.billing_account_id,
            row.sub_account_id,
            row.service,
            row.region,
            row.sku,
            row.resource_id,
            ChargeCategory(row.charge_category),
        ),
        revision=row.revision,
        billing_currency=row.billing_currency,
        billed_cost=row.billed_cost,
        effective_cost=row.effective_cost,
        usage_quantity=row.usage_quantity,
        usage_unit=row.usage_unit,
        labels=dict(row.labels),
        record_time=row.record_time,
        run_id=row.run_id,
        key_id=row.key_id,
    )


def _filter(
    table: Any, filters: RecordFilters, start_column: Any, *, by_day: bool = False
) -> list[ColumnElement[bool]]:
    """`filters` as conditions; `by_day` compares the period bounds as dates (the
    aggregates are daily, and the domain only lets midnight bounds through to them)."""
    conditions: list[ColumnElement[bool]] = []
    if filters.start_time is not None:
        start = filters.start_time.date() if by_day else filters.start_time
        conditions.append(start_column >= start)
    if filters.end_time is not None:
        end = filters.end_time.date() if by_day else filters.end_time
        conditions.append(start_column < end)
    for name in ("provider", "billing_account_id", "service", "region", "sku"):
        value = getattr(filters, name)
        if value:
            conditions.append(table.c[name] == value)
    if filters.charge_category is not None:
        conditions.append(table.c.charge_category == filters.charge_category.value)
    return conditions


def _current(as_of: datetime | None) -> ColumnElement[bool]:
    """No later revision of the same key (known at `as_of`, when given)."""
    newer = cost_records.alias("newer")
    conditions = [
        newer.c.key_id == cost_records.c.key_id,
        newer.c.revision > cost_records.c.revision,
    ]
    if as_of is not None:
        conditions.append(newer.c.record_time <= as_of)
    return ~select(newer.c.key_id).where(*conditions).exists()


def _group_of_aggregate(group_by: GroupBy) -> Any:
    if group_by is GroupBy.DAY:
        return func.to_char(cost_aggregates.c.usage_day, "YYYY-MM-DD")
    if group_by is GroupBy.MONTH:
        return func.to_char(cost_aggregates.c.usage_day, "YYYY-MM")
    return cost_aggregates.c[group_by.value]


def _group_of_record(group_by: GroupBy) -> Any:
    day = func.timezone("UTC", cost_records.c.charge_period_start)
    if group_by is GroupBy.DAY:
        return func.to_char(day, "YYYY-MM-DD")
    if group_by is GroupBy.MONTH:
        return func.to_char(day, "YYYY-MM")
    return cost_records.c[group_by.value]


def _nanos(value: Decimal) -> Decimal:
    with localcontext() as context:
        context.prec = 60
        return value.quantize(NANO, rounding=ROUND_HALF_EVEN)


class SqlIngestionRepository:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add_run(self, run_id: uuid.UUID, source: str, caller: str, method: str) -> None:
        self._db.execute(
            insert(ingestion_runs).values(
                run_id=run_id, source=source, caller=caller, method=method
            )
        )

    def add_batch(
        self,
        run_id: uuid.UUID,
        batch_number: int,
        records: list[NormalisedRecord],
        rejected: int,
    ) -> BatchCounts:
        inserted = revised = 0
        if records:
            cursor = cast(PgConnection, self._db.connection.dbapi_connection).cursor()
            try:
                inserted, revised = stage_and_classify(cursor, run_id, records)
            finally:
                cursor.close()
        counts = BatchCounts(inserted, revised, len(records) - inserted - revised, rejected)
        self._db.execute(
            insert(ingestion_run_batches).values(
                run_id=run_id,
                batch_number=batch_number,
                inserted_count=counts.inserted,
                revised_count=counts.revised,
                unchanged_count=counts.unchanged,
                rejected_count=counts.rejected,
            )
        )
        return counts

    def add_rejections(
        self, run_id: uuid.UUID, first_position: int, rejections: list[Rejection]
    ) -> None:
        if not rejections:
            return
        self._db.execute(
            insert(ingestion_rejections),
            [
                {
                    "run_id": run_id,
                    "position": first_position + offset,
                    "record_index": rejection.index,
                    "field": rejection.field,
                    "reason": rejection.reason,
                }
                for offset, rejection in enumerate(rejections)
            ],
        )

    def finish_run(self, run_id: uuid.UUID, input_sha256: bytes, duration_ms: int) -> None:
        self._db.execute(
            insert(ingestion_run_results).values(
                run_id=run_id, input_sha256=input_sha256, duration_ms=duration_ms
            )
        )

    def get_run(self, run_id: uuid.UUID) -> IngestionRun | None:
        row = self._db.execute(_runs_query().where(ingestion_runs.c.run_id == run_id)).first()
        return None if row is None else _run(row)

    def list_runs(self, after: tuple[datetime, uuid.UUID] | None, limit: int) -> list[IngestionRun]:
        query = _runs_query()
        if after is not None:
            key = tuple_(ingestion_runs.c.create_time, ingestion_runs.c.run_id)
            query = query.where(key < tuple_(*after))
        query = query.order_by(
            ingestion_runs.c.create_time.desc(), ingestion_runs.c.run_id.desc()
        ).limit(limit)
        return [_run(row) for row in self._db.execute(query)]

    def list_rejections(self, run_id: uuid.UUID, limit: int) -> list[Rejection]:
        rows = self._db.execute(
            select(
                ingestion_rejections.c.record_index,
                ingestion_rejections.c.field,
                ingestion_rejections.c.reason,
            )
            .where(ingestion_rejections.c.run_id == run_id)
            .order_by(ingestion_rejections.c.position)
            .limit(limit)
        )
        return [Rejection(int(row.record_index), row.field, row.reason) for row in rows]

    def list_records(
        self,
        filters: RecordFilters,
        as_of: datetime | None,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> list[CostRecord]:
        query = select(cost_records).where(
            *_filter(cost_records, filters, cost_records.c.charge_period_start),
            _current(as_of),
        )
        if as_of is not None:
            query = query.where(cost_records.c.record_time <= as_of)
        if after is not None:
            key = tuple_(cost_records.c.charge_period_start, cost_records.c.key_id)
            query = query.where(key > tuple_(*after))
        query = query.order_by(cost_records.c.charge_period_start, cost_records.c.key_id).limit(
            limit
        )
        return [_record(row) for row in self._db.execute(query)]

    def list_revisions(self, key_id: uuid.UUID, after: int, limit: int) -> list[CostRecord]:
        rows = self._db.execute(
            select(cost_records)
            .where(cost_records.c.key_id == key_id, cost_records.c.revision > after)
            .order_by(cost_records.c.revision)
            .limit(limit)
        )
        return [_record(row) for row in rows]

    def summarise(
        self, filters: RecordFilters, group_by: GroupBy, limit: int
    ) -> list[SummaryGroup]:
        group = _group_of_aggregate(group_by).label("grp")
        currency = cost_aggregates.c.billing_currency
        conditions = _filter(cost_aggregates, filters, cost_aggregates.c.usage_day, by_day=True)
        totals = self._db.execute(
            select(
                group,
                currency,
                func.sum(cost_aggregates.c.record_count).label("record_count"),
                func.sum(cost_aggregates.c.billed_cost).label("billed"),
                func.sum(cost_aggregates.c.effective_cost).label("effective"),
            )
            .where(and_(True, *conditions))
            .group_by(group, currency)
            .having(func.sum(cost_aggregates.c.record_count) != 0)
            .order_by(group, currency)
            .limit(limit)
        ).all()
        if not totals:
            return []
        record_group = _group_of_record(group_by).label("grp")
        extremes = {
            (row.grp, row.billing_currency): (row.low, row.high)
            for row in self._db.execute(
                select(
                    record_group,
                    cost_records.c.billing_currency,
                    func.min(cost_records.c.billed_cost).label("low"),
                    func.max(cost_records.c.billed_cost).label("high"),
                )
                .where(
                    *_filter(cost_records, filters, cost_records.c.charge_period_start),
                    _current(None),
                )
                .group_by(record_group, cost_records.c.billing_currency)
            )
        }
        groups = []
        for row in totals:
            count = int(row.record_count)
            low, high = extremes.get((row.grp, row.billing_currency), (Decimal(0), Decimal(0)))
            with localcontext() as context:
                context.prec = 60
                average = _nanos(row.billed / count)
            groups.append(
                SummaryGroup(
                    group=row.grp,
                    currency=row.billing_currency,
                    record_count=count,
                    total_billed_cost=row.billed,
                    total_effective_cost=row.effective,
                    average_billed_cost=average,
                    min_billed_cost=low,
                    max_billed_cost=high,
                )
            )
        return groups
