"""The cost ingestion SDK's values, and their conversion to and from ledger.v1 messages.

Shared by the sync and asyncio `costs` sub-clients; only sending differs between them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from ledger.v1 import ingestion_service_pb2 as pb
from ledger_client.convert import datetime_from_timestamp, timestamp_from_datetime
from ledger_client.money import from_money

CHARGE_CATEGORIES = ("usage", "purchase", "tax", "credit", "adjustment")
GROUP_BYS = ("day", "month", "provider", "service", "region", "sku", "charge_category")


def _category_number(name: str) -> int:
    """'usage' -> CHARGE_CATEGORY_USAGE; an unknown name goes as UNSPECIFIED, which the
    server rejects for that record with a clear reason."""
    value = name.strip().lower()
    if value not in CHARGE_CATEGORIES:
        return pb.CHARGE_CATEGORY_UNSPECIFIED
    return int(pb.ChargeCategory.Value(f"CHARGE_CATEGORY_{value.upper()}"))


def _category_name(number: int) -> str:
    return pb.ChargeCategory.Name(number).removeprefix("CHARGE_CATEGORY_").lower()  # type: ignore[arg-type]


def _time_text(value: str | datetime | date) -> str:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _number_text(value: Decimal | int | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        raise TypeError("amounts must be Decimal, int or decimal text, never float")
    return str(value)


@dataclass(frozen=True)
class CostRecordInput:
    """One billed cost to load. Times and amounts may be text as exports carry them."""

    charge_period_start: str | datetime | date
    provider: str
    billed_cost: Decimal | int | str
    billing_currency: str = "USD"
    charge_period_end: str | datetime | date = ""
    billing_account_id: str = ""
    sub_account_id: str = ""
    service: str = ""
    region: str = ""
    sku: str = ""
    resource_id: str = ""
    charge_category: str = "usage"
    effective_cost: Decimal | int | str | None = None
    usage_quantity: Decimal | int | str | None = None
    usage_unit: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)

    def to_proto(self) -> pb.CostRecordInput:
        return pb.CostRecordInput(
            charge_period_start=_time_text(self.charge_period_start),
            charge_period_end=_time_text(self.charge_period_end),
            provider=self.provider,
            billing_account_id=self.billing_account_id,
            sub_account_id=self.sub_account_id,
            service=self.service,
            region=self.region,
            sku=self.sku,
            resource_id=self.resource_id,
            charge_category=_category_number(self.charge_category),  # type: ignore[arg-type]
            billing_currency=self.billing_currency,
            billed_cost=_number_text(self.billed_cost),
            effective_cost=_number_text(self.effective_cost),
            usage_quantity=_number_text(self.usage_quantity),
            usage_unit=self.usage_unit,
            labels=dict(self.labels),
        )


RecordLike = CostRecordInput | pb.CostRecordInput


def to_proto(record: RecordLike) -> pb.CostRecordInput:
    return record if isinstance(record, pb.CostRecordInput) else record.to_proto()


@dataclass(frozen=True)
class RecordRejection:
    index: int
    field: str
    reason: str


@dataclass(frozen=True)
class IngestionRun:
    run_id: str
    source: str
    input_sha256: str
    caller: str
    method: str
    complete: bool
    create_time: datetime
    finish_time: datetime | None
    inserted: int
    revised: int
    unchanged: int
    rejected: int
    duration_ms: int


@dataclass(frozen=True)
class IngestionReport:
    run: IngestionRun
    rejections: list[RecordRejection]


@dataclass(frozen=True)
class CostRecord:
    """One stored revision. Costs are exact (`Decimal`, up to 15 decimal places)."""

    charge_period_start: datetime
    charge_period_end: datetime
    provider: str
    billing_account_id: str
    sub_account_id: str
    service: str
    region: str
    sku: str
    resource_id: str
    charge_category: str
    revision: int
    billing_currency: str
    billed_cost: Decimal
    effective_cost: Decimal
    usage_quantity: Decimal | None
    usage_unit: str
    labels: dict[str, str]
    record_time: datetime
    ingestion_run_id: str


@dataclass(frozen=True)
class CostSummaryGroup:
    group: str
    currency: str
    record_count: int
    total_billed_cost: Decimal
    total_effective_cost: Decimal
    average_billed_cost: Decimal
    min_billed_cost: Decimal
    max_billed_cost: Decimal


def run_from_proto(run: pb.IngestionRun) -> IngestionRun:
    return IngestionRun(
        run_id=run.run_id,
        source=run.source,
        input_sha256=run.input_sha256,
        caller=run.caller,
        method=run.method,
        complete=run.state == pb.INGESTION_RUN_STATE_SUCCEEDED,
        create_time=datetime_from_timestamp(run.create_time),
        finish_time=datetime_from_timestamp(run.finish_time)
        if run.HasField("finish_time")
        else None,
        inserted=run.inserted_count,
        revised=run.revised_count,
        unchanged=run.unchanged_count,
        rejected=run.rejected_count,
        duration_ms=run.duration_ms,
    )


def report_from_proto(
    response: pb.IngestCostRecordsResponse | pb.StreamCostRecordsResponse,
) -> IngestionReport:
    return IngestionReport(
        run_from_proto(response.run),
        [RecordRejection(r.index, r.field, r.reason) for r in response.rejections],
    )


def record_from_proto(record: pb.CostRecord) -> CostRecord:
    key = record.key
    return CostRecord(
        charge_period_start=datetime_from_timestamp(key.charge_period_start_time),
        charge_period_end=datetime_from_timestamp(key.charge_period_end_time),
        provider=key.provider,
        billing_account_id=key.billing_account_id,
        sub_account_id=key.sub_account_id,
        service=key.service,
        region=key.region,
        sku=key.sku,
        resource_id=key.resource_id,
        charge_category=_category_name(key.charge_category),
        revision=record.revision,
        billing_currency=record.billed_cost.currency_code,
        billed_cost=Decimal(record.billed_cost_exact or "0"),
        effective_cost=Decimal(record.effective_cost_exact or "0"),
        usage_quantity=Decimal(record.usage_quantity) if record.usage_quantity else None,
        usage_unit=record.usage_unit,
        labels=dict(record.labels),
        record_time=datetime_from_timestamp(record.record_time),
        ingestion_run_id=record.ingestion_run_id,
    )


def group_from_proto(group: pb.CostSummaryGroup) -> CostSummaryGroup:
    return CostSummaryGroup(
        group=group.group,
        currency=group.total_billed_cost.currency_code,
        record_count=group.record_count,
        total_billed_cost=Decimal(group.total_billed_cost_exact or "0"),
        total_effective_cost=Decimal(group.total_effective_cost_exact or "0"),
        average_billed_cost=from_money(group.average_billed_cost),
        min_billed_cost=from_money(group.min_billed_cost),
        max_billed_cost=from_money(group.max_billed_cost),
    )


def record_filter(
    *,
    start_time: datetime | None,
    end_time: datetime | None,
    provider: str,
    billing_account_id: str,
    service: str,
    region: str,
    sku: str,
    charge_category: str,
) -> pb.CostRecordFilter:
    message = pb.CostRecordFilter(
        provider=provider,
        billing_account_id=billing_account_id,
        service=service,
        region=region,
        sku=sku,
        charge_category=_category_number(charge_category) if charge_category else 0,  # type: ignore[arg-type]
    )
    if start_time is not None:
        message.start_time.CopyFrom(timestamp_from_datetime(start_time))
    if end_time is not None:
        message.end_time.CopyFrom(timestamp_from_datetime(end_time))
    return message


def group_by_number(group_by: str) -> int:
    if group_by not in GROUP_BYS:
        return pb.COST_GROUP_BY_UNSPECIFIED
    return int(pb.CostGroupBy.Value(f"COST_GROUP_BY_{group_by.upper()}"))


def ingest_request(
    records: Iterable[RecordLike], *, source: str, all_or_nothing: bool, request_id: str | None
) -> pb.IngestCostRecordsRequest:
    return pb.IngestCostRecordsRequest(
        records=[to_proto(r) for r in records],
        source=source,
        all_or_nothing=all_or_nothing,
        request_id=str(uuid.uuid4()) if request_id is None else request_id,
    )


class StreamRequests:
    """Builds the messages of one StreamCostRecords call: the first names the load."""

    def __init__(self, *, source: str, request_id: str | None) -> None:
        self._first = True
        self._source = source
        self._request_id = str(uuid.uuid4()) if request_id is None else request_id

    def __call__(self, batch: Sequence[RecordLike]) -> pb.StreamCostRecordsRequest:
        message = pb.StreamCostRecordsRequest(records=[to_proto(r) for r in batch])
        if self._first:
            message.source = self._source
            message.request_id = self._request_id
            self._first = False
        return message


def records_page(response: pb.ListCostRecordsResponse) -> tuple[list[CostRecord], str]:
    return [record_from_proto(r) for r in response.records], response.next_page_token


def revisions_page(
    response: pb.ListCostRecordRevisionsResponse,
) -> tuple[list[CostRecord], str]:
    return [record_from_proto(r) for r in response.revisions], response.next_page_token


def runs_page(response: pb.ListIngestionRunsResponse) -> tuple[list[IngestionRun], str]:
    return [run_from_proto(r) for r in response.runs], response.next_page_token


def key_message(record: CostRecord) -> pb.CostRecordKey:
    return pb.CostRecordKey(
        charge_period_start_time=timestamp_from_datetime(record.charge_period_start),
        charge_period_end_time=timestamp_from_datetime(record.charge_period_end),
        provider=record.provider,
        billing_account_id=record.billing_account_id,
        sub_account_id=record.sub_account_id,
        service=record.service,
        region=record.region,
        sku=record.sku,
        resource_id=record.resource_id,
        charge_category=_category_number(record.charge_category),  # type: ignore[arg-type]
    )
