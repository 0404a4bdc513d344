"""Billing exports as streams of `CostRecordInput` messages: seed JSON, CSV, FOCUS CSV.

Files are read row by row (gzip or not), so a multi-GB export is sent with flat memory;
the JSON export format is one document and is read whole. Values go to the server as
the text the file holds: the server normalises and validates them and reports each bad
row by its index (the data row number, from 0). Format detection: gzip by its magic
bytes; JSON when the text starts with '{' or '['; FOCUS when the CSV header has
ChargePeriodStart and BilledCost; otherwise CSV with Ledger's own column names.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from ledger.v1 import ingestion_service_pb2 as pb
from ledger_client.costs_types import _category_number

FORMATS = ("auto", "json", "csv", "focus")
_GZIP_MAGIC = b"\x1f\x8b"
# Ledger's CSV columns: the CostRecordInput fields, plus the seed export's names.
CSV_COLUMNS = {
    "charge_period_start": "charge_period_start",
    "date": "charge_period_start",
    "charge_period_end": "charge_period_end",
    "provider": "provider",
    "billing_account_id": "billing_account_id",
    "sub_account_id": "sub_account_id",
    "service": "service",
    "region": "region",
    "sku": "sku",
    "gpu_type": "sku",
    "resource_id": "resource_id",
    "billing_currency": "billing_currency",
    "currency": "billing_currency",
    "billed_cost": "billed_cost",
    "cost_usd": "billed_cost",
    "effective_cost": "effective_cost",
    "usage_quantity": "usage_quantity",
    "usage_unit": "usage_unit",
}
# FOCUS 1.0+ columns; FOCUS 1.3 renamed ProviderName to ServiceProviderName.
FOCUS_COLUMNS = {
    "ChargePeriodStart": "charge_period_start",
    "ChargePeriodEnd": "charge_period_end",
    "ProviderName": "provider",
    "ServiceProviderName": "provider",
    "BillingAccountId": "billing_account_id",
    "SubAccountId": "sub_account_id",
    "ServiceName": "service",
    "RegionId": "region",
    "SkuId": "sku",
    "ResourceId": "resource_id",
    "BillingCurrency": "billing_currency",
    "BilledCost": "billed_cost",
    "EffectiveCost": "effective_cost",
    "ConsumedQuantity": "usage_quantity",
    "ConsumedUnit": "usage_unit",
}


def open_export(path: Path) -> IO[str]:
    """The file as text, unzipped when it is gzip (whatever its name)."""
    with path.open("rb") as probe:
        gzipped = probe.read(2) == _GZIP_MAGIC
    if gzipped:
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    return path.open(encoding="utf-8-sig", newline="")


def detect_format(text: IO[str]) -> str:
    """'json', 'focus' or 'csv' from the start of `text` (which is rewound)."""
    head = text.read(64 * 1024)
    text.seek(0)
    stripped = head.lstrip()
    if stripped[:1] in ("{", "["):
        return "json"
    header = next(csv.reader(io.StringIO(head)), [])
    if "ChargePeriodStart" in header and "BilledCost" in header:
        return "focus"
    return "csv"


def read_records(path: Path, file_format: str = "auto") -> Iterator[pb.CostRecordInput]:
    """The records of an export, one message per row, read lazily."""
    with open_export(path) as text:
        if file_format == "auto":
            file_format = detect_format(text)
        if file_format == "json":
            yield from _json_records(text)
        elif file_format == "focus":
            yield from _csv_records(text, FOCUS_COLUMNS, null="NULL", default_currency="")
        elif file_format == "csv":
            yield from _csv_records(text, CSV_COLUMNS, null=None, default_currency="USD")
        else:
            raise ValueError(f"unknown format {file_format!r}: one of {', '.join(FORMATS)}")


def _csv_records(
    text: IO[str], columns: dict[str, str], *, null: str | None, default_currency: str
) -> Iterator[pb.CostRecordInput]:
    reader = csv.reader(text)
    header = next(reader, None)
    if header is None:
        return
    # (position in the row, field) for every column we know; the rest are ignored.
    used = [(i, columns[name.strip()]) for i, name in enumerate(header) if name.strip() in columns]
    category_at = next(
        (
            i
            for i, name in enumerate(header)
            if name.strip() in ("ChargeCategory", "charge_category")
        ),
        None,
    )
    fields = {field for _, field in used}
    if "provider" not in fields or "billed_cost" not in fields:
        raise ValueError(
            "the CSV header names no provider or cost column: expected FOCUS columns "
            "(ChargePeriodStart, ProviderName, BilledCost, ...) or Ledger's "
            "(charge_period_start, provider, billed_cost, ...)"
        )
    for row in reader:
        if not row:
            continue
        values: dict[str, Any] = {}
        for i, field in used:
            value = row[i] if i < len(row) else ""
            if value and value != null:
                values[field] = value
        if default_currency and "billing_currency" not in values:
            values["billing_currency"] = default_currency
        category = "usage"
        if category_at is not None and category_at < len(row) and row[category_at] != null:
            category = row[category_at]
        yield pb.CostRecordInput(charge_category=_category_number(category), **values)  # type: ignore[arg-type]


def _json_records(text: IO[str]) -> Iterator[pb.CostRecordInput]:
    """The seed's export, {"cost_data": [{"date", "provider", "gpu_type", "cost_usd"}]}, or
    a list of records with Ledger's field names. Numbers are read as exact decimals."""
    document = json.load(text, parse_float=Decimal)
    rows = document.get("cost_data") if isinstance(document, dict) else document
    if not isinstance(rows, list):
        raise ValueError('expected {"cost_data": [...]} or a list of records')
    for row in rows:
        if not isinstance(row, dict):
            yield pb.CostRecordInput()  # the server rejects it, by its index
            continue
        values = {
            CSV_COLUMNS[name]: str(value)
            for name, value in row.items()
            if name in CSV_COLUMNS and value is not None
        }
        values.setdefault("billing_currency", "USD")
        category = str(row.get("charge_category") or "usage")
        yield pb.CostRecordInput(charge_category=_category_number(category), **values)  # type: ignore[arg-type]
