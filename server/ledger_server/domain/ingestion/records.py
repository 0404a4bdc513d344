"""Cost records as the ingestion domain sees them: input, normalised, stored, summarised."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from types import MappingProxyType
from typing import NamedTuple


class ChargeCategory(Enum):
    """What a charge is for (FOCUS ChargeCategory); the value is how it is stored."""

    USAGE = "usage"
    PURCHASE = "purchase"
    TAX = "tax"
    CREDIT = "credit"
    ADJUSTMENT = "adjustment"


class GroupBy(Enum):
    DAY = "day"
    MONTH = "month"
    PROVIDER = "provider"
    SERVICE = "service"
    REGION = "region"
    SKU = "sku"
    CHARGE_CATEGORY = "charge_category"


# The per-record types are NamedTuples: built once or twice for every ingested record,
# they cost a third of what a frozen dataclass does (bench/README.md, Ingestion).
_NO_LABELS: Mapping[str, str] = MappingProxyType({})


class RecordInput(NamedTuple):
    """One record as a caller sent it: export text, not yet trimmed or checked.

    `charge_category` is None when the caller left it unset or sent a value this server
    does not know.
    """

    charge_period_start: str
    charge_period_end: str = ""
    provider: str = ""
    billing_account_id: str = ""
    sub_account_id: str = ""
    service: str = ""
    region: str = ""
    sku: str = ""
    resource_id: str = ""
    charge_category: ChargeCategory | None = ChargeCategory.USAGE
    billing_currency: str = ""
    billed_cost: str = ""
    effective_cost: str = ""
    usage_quantity: str = ""
    usage_unit: str = ""
    labels: Mapping[str, str] = _NO_LABELS


class RecordKey(NamedTuple):
    """The natural key: one record per key, with revisions. Absent parts are ''."""

    charge_period_start: datetime
    charge_period_end: datetime
    provider: str
    billing_account_id: str
    sub_account_id: str
    service: str
    region: str
    sku: str
    resource_id: str
    charge_category: ChargeCategory


class NormalisedRecord(NamedTuple):
    """A valid record, normalised, with the digests that key and compare it."""

    record_index: int
    key: RecordKey
    # The key's digest as 32 hex digits (a UUID in the database).
    key_id: str
    billing_currency: str
    billed_cost: Decimal
    effective_cost: Decimal
    usage_quantity: Decimal | None
    usage_unit: str
    labels: Mapping[str, str]
    # A digest of the values (not the key): equal digests mean "unchanged".
    content_hash: bytes


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why the record at `index` was not stored. `field` is '' for the whole record."""

    index: int
    field: str
    reason: str


@dataclass(frozen=True, slots=True)
class BatchCounts:
    inserted: int = 0
    revised: int = 0
    unchanged: int = 0
    rejected: int = 0

    def __add__(self, other: BatchCounts) -> BatchCounts:
        return BatchCounts(
            self.inserted + other.inserted,
            self.revised + other.revised,
            self.unchanged + other.unchanged,
            self.rejected + other.rejected,
        )


@dataclass(frozen=True, slots=True)
class IngestionRun:
    run_id: uuid.UUID
    source: str
    caller: str
    method: str
    create_time: datetime
    counts: BatchCounts
    # Set once the run ended; None while INCOMPLETE (a stream that broke off).
    finish_time: datetime | None = None
    input_sha256: bytes = b""
    duration_ms: int = 0

    @property
    def complete(self) -> bool:
        return self.finish_time is not None


@dataclass(frozen=True, slots=True)
class IngestionReport:
    """What an ingestion answers: its run, and the first rejections."""

    run: IngestionRun
    rejections: list[Rejection]


@dataclass(frozen=True, slots=True)
class CostRecord:
    """One stored revision of a record."""

    key: RecordKey
    revision: int
    billing_currency: str
    billed_cost: Decimal
    effective_cost: Decimal
    usage_quantity: Decimal | None
    usage_unit: str
    labels: dict[str, str]
    record_time: datetime
    run_id: uuid.UUID
    key_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class RecordFilters:
    """Which records: charge periods starting in [start_time, end_time), and equalities."""

    start_time: datetime | None = None
    end_time: datetime | None = None
    provider: str = ""
    billing_account_id: str = ""
    service: str = ""
    region: str = ""
    sku: str = ""
    charge_category: ChargeCategory | None = None

    def scope(self) -> list[str]:
        """The filters as text, for page-token scopes."""
        return [
            self.start_time.isoformat() if self.start_time else "",
            self.end_time.isoformat() if self.end_time else "",
            self.provider,
            self.billing_account_id,
            self.service,
            self.region,
            self.sku,
            self.charge_category.value if self.charge_category else "",
        ]


@dataclass(frozen=True, slots=True)
class SummaryGroup:
    group: str
    currency: str
    record_count: int
    total_billed_cost: Decimal
    total_effective_cost: Decimal
    average_billed_cost: Decimal
    min_billed_cost: Decimal
    max_billed_cost: Decimal


def usage_day(key: RecordKey) -> date:
    """The day a record counts on in summaries: the UTC day its charge period starts."""
    return key.charge_period_start.date()
