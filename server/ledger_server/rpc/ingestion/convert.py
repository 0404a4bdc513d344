"""IngestionService messages to domain values and back."""

from __future__ import annotations

import hashlib
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any

from ledger.v1 import ingestion_service_pb2 as ing
from ledger.v1 import money_pb2
from ledger_server.domain.errors import FieldViolation, InvalidArgument
from ledger_server.domain.ingestion.normalise import canonical
from ledger_server.domain.ingestion.records import (
    ChargeCategory,
    CostRecord,
    GroupBy,
    IngestionReport,
    IngestionRun,
    RecordFilters,
    RecordInput,
    RecordKey,
    SummaryGroup,
)
from ledger_server.domain.money import NANO
from ledger_server.rpc.results_store.convert import money_out
from ledger_server.rpc.wire import time_in, time_out

CATEGORY_IN = {
    ing.CHARGE_CATEGORY_USAGE: ChargeCategory.USAGE,
    ing.CHARGE_CATEGORY_PURCHASE: ChargeCategory.PURCHASE,
    ing.CHARGE_CATEGORY_TAX: ChargeCategory.TAX,
    ing.CHARGE_CATEGORY_CREDIT: ChargeCategory.CREDIT,
    ing.CHARGE_CATEGORY_ADJUSTMENT: ChargeCategory.ADJUSTMENT,
}
CATEGORY_OUT = {category: number for number, category in CATEGORY_IN.items()}
GROUP_BY_IN = {
    ing.COST_GROUP_BY_DAY: GroupBy.DAY,
    ing.COST_GROUP_BY_MONTH: GroupBy.MONTH,
    ing.COST_GROUP_BY_PROVIDER: GroupBy.PROVIDER,
    ing.COST_GROUP_BY_SERVICE: GroupBy.SERVICE,
    ing.COST_GROUP_BY_REGION: GroupBy.REGION,
    ing.COST_GROUP_BY_SKU: GroupBy.SKU,
    ing.COST_GROUP_BY_CHARGE_CATEGORY: GroupBy.CHARGE_CATEGORY,
}


# --- in --------------------------------------------------------------------------------


def records_in(messages: Any) -> list[RecordInput]:
    """The records of a request, unchecked: the use case normalises and validates them."""
    category = CATEGORY_IN.get
    return [
        RecordInput(
            m.charge_period_start,
            m.charge_period_end,
            m.provider,
            m.billing_account_id,
            m.sub_account_id,
            m.service,
            m.region,
            m.sku,
            m.resource_id,
            category(m.charge_category),
            m.billing_currency,
            m.billed_cost,
            m.effective_cost,
            m.usage_quantity,
            m.usage_unit,
            dict(m.labels) if m.labels else {},
        )
        for m in messages
    ]


def input_digest(request: Any) -> bytes:
    """SHA-256 of a unary request as sent, without its request id (IngestionRun.input_sha256)."""
    body = type(request)()
    body.CopyFrom(request)
    body.request_id = ""
    return hashlib.sha256(body.SerializeToString(deterministic=True)).digest()


def _time_in(message: Any, field: str, path: str) -> Any:
    try:
        return time_in(message, field)
    except InvalidArgument as error:
        raise InvalidArgument(
            [FieldViolation(f"{path}.{v.field}", v.description) for v in error.violations]
        ) from None


def filters_in(request: Any) -> RecordFilters:
    message = request.filter
    return RecordFilters(
        start_time=_time_in(message, "start_time", "filter"),
        end_time=_time_in(message, "end_time", "filter"),
        provider=message.provider,
        billing_account_id=message.billing_account_id,
        service=message.service,
        region=message.region,
        sku=message.sku,
        charge_category=CATEGORY_IN.get(message.charge_category),
    )


def as_of_in(request: ing.ListCostRecordsRequest) -> Any:
    return time_in(request, "as_of_time")


def key_in(request: ing.ListCostRecordRevisionsRequest) -> dict[str, Any]:
    key = request.key
    return {
        "start": _time_in(key, "charge_period_start_time", "key"),
        "end": _time_in(key, "charge_period_end_time", "key"),
        "parts": {
            "provider": key.provider,
            "billing_account_id": key.billing_account_id,
            "sub_account_id": key.sub_account_id,
            "service": key.service,
            "region": key.region,
            "sku": key.sku,
            "resource_id": key.resource_id,
        },
        "category": CATEGORY_IN.get(key.charge_category),
    }


def group_by_in(request: ing.GetCostSummaryRequest) -> GroupBy | None:
    return GROUP_BY_IN.get(request.group_by)


# --- out -------------------------------------------------------------------------------


def cost_out(amount: Decimal, currency: str) -> money_pb2.Money:
    """Money rounded half-even to nanos (exports carry finer costs: see `*_exact`)."""
    with localcontext() as context:
        context.prec = 60
        rounded = amount.quantize(NANO, rounding=ROUND_HALF_EVEN)
    return money_out(rounded, currency)


def key_out(key: RecordKey) -> ing.CostRecordKey:
    return ing.CostRecordKey(
        charge_period_start_time=time_out(key.charge_period_start),
        charge_period_end_time=time_out(key.charge_period_end),
        provider=key.provider,
        billing_account_id=key.billing_account_id,
        sub_account_id=key.sub_account_id,
        service=key.service,
        region=key.region,
        sku=key.sku,
        resource_id=key.resource_id,
        charge_category=CATEGORY_OUT[key.charge_category],
    )


def record_out(record: CostRecord) -> ing.CostRecord:
    currency = record.billing_currency
    return ing.CostRecord(
        key=key_out(record.key),
        revision=record.revision,
        billed_cost=cost_out(record.billed_cost, currency),
        effective_cost=cost_out(record.effective_cost, currency),
        usage_quantity="" if record.usage_quantity is None else canonical(record.usage_quantity),
        usage_unit=record.usage_unit,
        labels=record.labels,
        record_time=time_out(record.record_time),
        ingestion_run_id=str(record.run_id),
        billed_cost_exact=canonical(record.billed_cost),
        effective_cost_exact=canonical(record.effective_cost),
    )


_SUCCEEDED = ing.INGESTION_RUN_STATE_SUCCEEDED
_INCOMPLETE = ing.INGESTION_RUN_STATE_INCOMPLETE


def run_out(run: IngestionRun) -> ing.IngestionRun:
    message = ing.IngestionRun(
        run_id=str(run.run_id),
        source=run.source,
        input_sha256=run.input_sha256.hex(),
        caller=run.caller,
        method=run.method,
        state=(
            ing.INGESTION_RUN_STATE_SUCCEEDED
            if run.complete
            else ing.INGESTION_RUN_STATE_INCOMPLETE
        ),
        create_time=time_out(run.create_time),
        inserted_count=run.counts.inserted,
        revised_count=run.counts.revised,
        unchanged_count=run.counts.unchanged,
        rejected_count=run.counts.rejected,
        duration_ms=run.duration_ms,
    )
    if run.finish_time is not None:
        message.finish_time.CopyFrom(time_out(run.finish_time))
    return message


def rejections_out(report: IngestionReport) -> list[ing.RecordRejection]:
    return [
        ing.RecordRejection(index=r.index, field=r.field, reason=r.reason)
        for r in report.rejections
    ]


def group_out(group: SummaryGroup) -> ing.CostSummaryGroup:
    currency = group.currency
    return ing.CostSummaryGroup(
        group=group.group,
        record_count=group.record_count,
        total_billed_cost=cost_out(group.total_billed_cost, currency),
        total_effective_cost=cost_out(group.total_effective_cost, currency),
        average_billed_cost=cost_out(group.average_billed_cost, currency),
        min_billed_cost=cost_out(group.min_billed_cost, currency),
        max_billed_cost=cost_out(group.max_billed_cost, currency),
        total_billed_cost_exact=canonical(group.total_billed_cost),
        total_effective_cost_exact=canonical(group.total_effective_cost),
    )
