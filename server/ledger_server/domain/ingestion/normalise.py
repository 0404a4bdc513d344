"""Normalise and validate one cost record: trimmed, cased, UTC, exact, keyed.

Normalisation happens before keying, so "AWS " and "aws" are one provider and one key.
Each problem is reported as a `Rejection` (index, field, reason); a record with any
problem is not stored. This runs once per ingested record, so the common path does no
more than it must: repeated time texts (a day's records share their period) are parsed
once, and the checks are plain comparisons.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Context, Decimal
from functools import lru_cache

from ledger_server.domain.errors import Violations
from ledger_server.domain.ingestion.currencies import is_iso_4217
from ledger_server.domain.ingestion.records import (
    NormalisedRecord,
    RecordInput,
    RecordKey,
    Rejection,
)
from ledger_server.domain.validation import check_labels

MAX_KEY_TEXT = 256
MAX_RESOURCE_ID = 1024
MAX_UNIT = 64
MAX_NUMBER_TEXT = 64
COST_PLACES = 15
MAX_COST = Decimal(10**12)
MAX_QUANTITY = Decimal(10**15)
ONE_DAY = timedelta(days=1)
# Enough digits for any accepted number (16 before the point, 15 after): arithmetic in
# this context never rounds, whatever the caller's context says.
_EXACT = Context(prec=60)
# Plain decimal text with an optional exponent; Decimal() alone would also take "NaN",
# "Infinity", "1_000" and surrounding spaces.
_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,4})?")
_KEY_TEXTS = (
    ("provider", MAX_KEY_TEXT),
    ("billing_account_id", MAX_KEY_TEXT),
    ("sub_account_id", MAX_KEY_TEXT),
    ("service", MAX_KEY_TEXT),
    ("region", MAX_KEY_TEXT),
    ("sku", MAX_KEY_TEXT),
    ("resource_id", MAX_RESOURCE_ID),
    ("usage_unit", MAX_UNIT),
)


class _Bad(Exception):
    """A value that cannot be used; its text is the rejection's reason."""


@lru_cache(maxsize=4096)
def parse_time(text: str) -> datetime:
    """A UTC time from ISO 8601, '2024-09-18 22:00:00' or a date; no offset means UTC."""
    if not text:
        raise _Bad("is required")
    if len(text) > MAX_NUMBER_TEXT or "\x00" in text:
        raise _Bad("is not a time")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _Bad(
            "must be an ISO 8601 time like 2024-09-18T22:00:00Z, '2024-09-18 22:00:00' "
            "or a date like 2024-09-18"
        ) from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise _Bad("is out of range (years 1 to 9999 in UTC)") from None


def parse_decimal(text: str, *, places: int, limit: Decimal) -> Decimal:
    """Exact decimal text: finite, at most `places` decimal places, |value| <= limit."""
    if len(text) > MAX_NUMBER_TEXT or not _DECIMAL.fullmatch(text):
        raise _Bad("must be a finite decimal number like 1245.67")
    value = Decimal(text)  # the pattern admits plain finite numbers only
    if abs(value) > limit:
        raise _Bad(f"must be at most {limit:f} in absolute value")
    significant = _EXACT.normalize(value).as_tuple().exponent
    assert isinstance(significant, int)
    if significant < -places:
        raise _Bad(f"must have at most {places} decimal places")
    return _EXACT.plus(value)  # exact; turns a negative zero into zero


def canonical(value: Decimal) -> str:
    """One spelling per value: '1245.67' for 1245.670 and 1.24567E+3 alike."""
    return format(_EXACT.normalize(value), "f")


@lru_cache(maxsize=4096)
def _time_text(moment: datetime) -> str:
    return moment.isoformat()


def key_digest(key: RecordKey) -> str:
    """A digest of the normalised key (32 hex digits, a UUID's worth): the same key gives
    the same id on any server. The parts are joined with NUL, which no part may hold."""
    text = "\x00".join(
        (
            _time_text(key.charge_period_start),
            _time_text(key.charge_period_end),
            key.provider,
            key.billing_account_id,
            key.sub_account_id,
            key.service,
            key.region,
            key.sku,
            key.resource_id,
            key.charge_category.value,
        )
    )
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def key_id(key: RecordKey) -> uuid.UUID:
    return uuid.UUID(hex=key_digest(key))


def content_hash(
    currency: str,
    billed: Decimal,
    effective: Decimal,
    quantity: Decimal | None,
    unit: str,
    labels: Mapping[str, str],
) -> bytes:
    """A digest of a record's values: equal for equal values however they were spelled."""
    billed_text = canonical(billed)
    text = "\x00".join(
        (
            currency,
            billed_text,
            billed_text if effective is billed else canonical(effective),
            "" if quantity is None else canonical(quantity),
            unit,
            json.dumps(labels, sort_keys=True) if labels else "",
        )
    )
    return hashlib.sha256(text.encode()).digest()


def normalise(index: int, record: RecordInput) -> NormalisedRecord | list[Rejection]:
    """The record normalised and keyed, or every reason it cannot be stored."""
    problems: list[Rejection] = []

    def bad(field: str, reason: str) -> None:
        problems.append(Rejection(index, field, reason))

    texts: dict[str, str] = {}
    for name, limit in _KEY_TEXTS:
        value = getattr(record, name).strip()
        if len(value) > limit:
            bad(name, f"must be at most {limit} characters, got {len(value)}")
        elif "\x00" in value:
            bad(name, "must not contain NUL characters")
        texts[name] = value
    provider = texts["provider"].lower()
    if not record.provider.strip():
        bad("provider", "is required")

    start = end = None
    try:
        start = parse_time(record.charge_period_start.strip())
    except _Bad as error:
        bad("charge_period_start", str(error))
    end_text = record.charge_period_end.strip()
    if end_text:
        try:
            end = parse_time(end_text)
        except _Bad as error:
            bad("charge_period_end", str(error))
    elif start is not None:
        try:
            end = start + ONE_DAY
        except OverflowError:
            bad("charge_period_end", "one day after the start is out of range")
    if start is not None and end is not None and end <= start:
        bad("charge_period_end", "must be after charge_period_start (the end is exclusive)")

    category = record.charge_category
    if category is None:
        bad("charge_category", "is required: usage, purchase, tax, credit or adjustment")

    currency = record.billing_currency.strip().upper()
    if not currency:
        bad("billing_currency", "is required")
    elif not is_iso_4217(currency):
        bad("billing_currency", f"must be an ISO 4217 currency code, got {currency[:16]!r}")

    billed = effective = quantity = None
    try:
        billed = parse_decimal(record.billed_cost.strip(), places=COST_PLACES, limit=MAX_COST)
    except _Bad as error:
        bad("billed_cost", "is required" if not record.billed_cost.strip() else str(error))
    effective_text = record.effective_cost.strip()
    if not effective_text:
        effective = billed
    else:
        try:
            effective = parse_decimal(effective_text, places=COST_PLACES, limit=MAX_COST)
        except _Bad as error:
            bad("effective_cost", str(error))
    quantity_text = record.usage_quantity.strip()
    if quantity_text:
        try:
            quantity = parse_decimal(quantity_text, places=COST_PLACES, limit=MAX_QUANTITY)
        except _Bad as error:
            bad("usage_quantity", str(error))

    labels = record.labels
    if labels:
        violations = Violations()
        check_labels(labels, "labels", violations)
        for violation in violations.items:
            bad(violation.field, violation.description)

    if problems:
        return problems
    assert start is not None and end is not None and category is not None
    assert billed is not None and effective is not None
    key = RecordKey(
        start,
        end,
        provider,
        texts["billing_account_id"],
        texts["sub_account_id"],
        texts["service"],
        texts["region"].lower(),
        texts["sku"].lower(),
        texts["resource_id"],
        category,
    )
    unit = texts["usage_unit"]
    return NormalisedRecord(
        index,
        key,
        key_digest(key),
        currency,
        billed,
        effective,
        quantity,
        unit,
        dict(labels),
        content_hash(currency, billed, effective, quantity, unit, labels),
    )


def normalise_batch(
    records: list[RecordInput], first_index: int = 0
) -> tuple[list[NormalisedRecord], list[Rejection], int]:
    """Valid records, every rejection, and how many records were rejected.

    A record repeating the key of an earlier record of the same batch is rejected: one
    batch holds one value per key (send a correction in a later batch or run).
    """
    valid: list[NormalisedRecord] = []
    rejections: list[Rejection] = []
    rejected = 0
    seen: dict[str, int] = {}
    for offset, record in enumerate(records):
        index = first_index + offset
        outcome = normalise(index, record)
        if isinstance(outcome, list):
            rejections.extend(outcome)
            rejected += 1
            continue
        earlier = seen.get(outcome.key_id)
        if earlier is not None:
            rejections.append(
                Rejection(index, "", f"repeats the key of record {earlier} in the same batch")
            )
            rejected += 1
            continue
        seen[outcome.key_id] = index
        valid.append(outcome)
    return valid, rejections, rejected


def normalise_text_filter(value: str, path: str, violations: Violations, *, lower: bool) -> str:
    """A filter or key part, normalised like ingested records so "AWS " finds "aws"."""
    value = value.strip()
    if len(value) > MAX_RESOURCE_ID:
        violations.add(path, f"must be at most {MAX_RESOURCE_ID} characters, got {len(value)}")
        return ""
    if "\x00" in value:
        violations.add(path, "must not contain NUL characters")
        return ""
    return value.lower() if lower else value
