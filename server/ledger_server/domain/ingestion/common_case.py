"""The common case of normalising a record: one with no problem, taken the short way.

Most records of a load are valid, and most of their texts repeat: a load has a handful
of providers, accounts, services, regions, currencies and units, a day's records share
their period, and costs and quantities repeat too. So each such text is normalised once
and looked up afterwards, and an exact decimal written plainly ("1245.67", "-3", "0.5")
is read with one pattern whose groups give its canonical text as well.

`normalise_common` gives up (None) on anything unusual, and the checked path
(normalise.py) then decides, and says why when the record is rejected. For every record
it does take, it gives exactly what the checked path gives: the tests compare the two.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from functools import lru_cache

from ledger_server.domain.errors import Violations
from ledger_server.domain.ingestion.currencies import is_iso_4217
from ledger_server.domain.ingestion.records import NormalisedRecord, RecordInput, RecordKey
from ledger_server.domain.ingestion.values import (
    COST_PLACES,
    EXACT,
    MAX_COST,
    MAX_KEY_TEXT,
    MAX_QUANTITY,
    MAX_RESOURCE_ID,
    MAX_UNIT,
    ONE_DAY,
    BadValue,
    content_digest,
    key_digest,
    parse_time,
)
from ledger_server.domain.validation import check_labels

# Distinct texts remembered per kind: bounded, so a load of unique values cannot grow
# the server's memory (those just miss).
REMEMBERED = 1 << 15
# A decimal text this short has at most 40 digits, far below the 60 the checked path
# computes with, so reading it here cannot round where the checked path would not.
_SHORT_NUMBER = 40
# ASCII digits only: \d would also take other scripts' digits, which Decimal reads but
# whose text is not the canonical spelling.
_PLAIN_DECIMAL = re.compile(r"([+-]?)([0-9]+)(?:\.([0-9]*))?")


@lru_cache(maxsize=REMEMBERED)
def _key_text(raw: str) -> str | None:
    value = raw.strip()
    return None if len(value) > MAX_KEY_TEXT or "\x00" in value else value


@lru_cache(maxsize=REMEMBERED)
def _lower_key_text(raw: str) -> str | None:
    value = raw.strip()
    return None if len(value) > MAX_KEY_TEXT or "\x00" in value else value.lower()


@lru_cache(maxsize=REMEMBERED)
def _unit(raw: str) -> str | None:
    value = raw.strip()
    return None if len(value) > MAX_UNIT or "\x00" in value else value


@lru_cache(maxsize=REMEMBERED)
def _currency(raw: str) -> str | None:
    value = raw.strip().upper()
    return value if is_iso_4217(value) else None


@lru_cache(maxsize=REMEMBERED)
def _period(start_text: str, end_text: str) -> tuple[datetime, datetime] | None:
    try:
        start = parse_time(start_text.strip())
        end_text = end_text.strip()
        end = parse_time(end_text) if end_text else start + ONE_DAY
    except (BadValue, OverflowError):
        return None
    return (start, end) if end > start else None


def _plain_decimal(raw: str, limit: Decimal) -> tuple[Decimal, str] | None:
    """The exact value of a plainly written decimal and its canonical text (as
    values.canonical spells it), or None for anything else."""
    text = raw.strip()
    if len(text) > _SHORT_NUMBER:
        return None
    match = _PLAIN_DECIMAL.fullmatch(text)
    if match is None:
        return None
    sign, whole, fraction = match.groups()
    fraction = fraction.rstrip("0") if fraction else ""
    if len(fraction) > COST_PLACES:
        return None
    value = EXACT.plus(Decimal(text))  # as values.parse_decimal: no negative zero
    if abs(value) > limit:
        return None
    whole = whole.lstrip("0")
    if not whole and not fraction:
        return value, "0"
    digits = (whole or "0") + ("." + fraction if fraction else "")
    return value, "-" + digits if sign == "-" else digits


@lru_cache(maxsize=REMEMBERED)
def _cost(raw: str) -> tuple[Decimal, str] | None:
    return _plain_decimal(raw, MAX_COST)


@lru_cache(maxsize=REMEMBERED)
def _quantity(raw: str) -> tuple[Decimal, str] | None:
    return _plain_decimal(raw, MAX_QUANTITY)


def _labels_valid(labels: Mapping[str, str]) -> bool:
    violations = Violations()
    check_labels(labels, "labels", violations)
    return not violations.items


def normalise_common(index: int, record: RecordInput) -> NormalisedRecord | None:
    """`record` normalised and keyed as normalise_checked would, or None when it is not
    plainly valid (the checked path then decides)."""
    (
        start_text,
        end_text,
        raw_provider,
        raw_account,
        raw_sub_account,
        raw_service,
        raw_region,
        raw_sku,
        raw_resource,
        category,
        raw_currency,
        raw_billed,
        raw_effective,
        raw_quantity,
        raw_unit,
        labels,
    ) = record
    period = _period(start_text, end_text)
    provider = _lower_key_text(raw_provider)
    account = _key_text(raw_account)
    sub_account = _key_text(raw_sub_account)
    service = _key_text(raw_service)
    region = _lower_key_text(raw_region)
    sku = _lower_key_text(raw_sku)
    unit = _unit(raw_unit)
    currency = _currency(raw_currency)
    billed = _cost(raw_billed)
    resource = raw_resource.strip()
    if (
        period is None
        or not provider
        or account is None
        or sub_account is None
        or service is None
        or region is None
        or sku is None
        or unit is None
        or currency is None
        or billed is None
        or category is None
        or len(resource) > MAX_RESOURCE_ID
        or "\x00" in resource
    ):
        return None
    if raw_effective.strip():
        effective = _cost(raw_effective)
        if effective is None:
            return None
    else:
        effective = billed
    quantity: tuple[Decimal, str] | None = None
    if raw_quantity.strip():
        quantity = _quantity(raw_quantity)
        if quantity is None:
            return None
    if labels and not _labels_valid(labels):
        return None
    key = RecordKey(
        period[0],
        period[1],
        provider,
        account,
        sub_account,
        service,
        region,
        sku,
        resource,
        category,
    )
    return NormalisedRecord(
        index,
        key,
        key_digest(key),
        currency,
        billed[0],
        effective[0],
        None if quantity is None else quantity[0],
        unit,
        dict(labels),
        content_digest(
            currency,
            billed[1],
            effective[1],
            "" if quantity is None else quantity[1],
            unit,
            labels,
        ),
    )
