"""Normalise and validate one cost record: trimmed, cased, UTC, exact, keyed.

Normalisation happens before keying, so "AWS " and "aws" are one provider and one key.
Each problem is reported as a `Rejection` (index, field, reason); a record with any
problem is not stored.

This runs once per ingested record. `normalise` first tries the common case
(common_case.py: a record with no problem, its repeated texts looked up instead of
checked again); whatever that does not take is checked here, field by field, by
`normalise_checked`, which finds every problem. Both give the same record for the same
input: the unit tests hold them to it.
"""

from __future__ import annotations

from ledger_server.domain.errors import Violations
from ledger_server.domain.ingestion.common_case import normalise_common
from ledger_server.domain.ingestion.currencies import is_iso_4217
from ledger_server.domain.ingestion.records import (
    NormalisedRecord,
    RecordInput,
    RecordKey,
    Rejection,
)
from ledger_server.domain.ingestion.values import (
    COST_PLACES,
    KEY_TEXTS,
    MAX_COST,
    MAX_QUANTITY,
    MAX_RESOURCE_ID,
    ONE_DAY,
    BadValue,
    canonical,
    content_hash,
    key_digest,
    key_id,
    parse_decimal,
    parse_time,
)
from ledger_server.domain.validation import check_labels

# Imported from here by the rest of the server and the tests.
__all__ = [
    "canonical",
    "content_hash",
    "key_digest",
    "key_id",
    "normalise",
    "normalise_batch",
    "normalise_checked",
    "normalise_text_filter",
]


def normalise(index: int, record: RecordInput) -> NormalisedRecord | list[Rejection]:
    """The record normalised and keyed, or every reason it cannot be stored."""
    common = normalise_common(index, record)
    return common if common is not None else normalise_checked(index, record)


def normalise_checked(index: int, record: RecordInput) -> NormalisedRecord | list[Rejection]:
    """The record normalised and keyed, or every reason it cannot be stored: each field
    checked in turn, every problem reported."""
    problems: list[Rejection] = []

    def bad(field: str, reason: str) -> None:
        problems.append(Rejection(index, field, reason))

    texts: dict[str, str] = {}
    for name, limit in KEY_TEXTS:
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
    except BadValue as error:
        bad("charge_period_start", str(error))
    end_text = record.charge_period_end.strip()
    if end_text:
        try:
            end = parse_time(end_text)
        except BadValue as error:
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
    except BadValue as error:
        bad("billed_cost", "is required" if not record.billed_cost.strip() else str(error))
    effective_text = record.effective_cost.strip()
    if not effective_text:
        effective = billed
    else:
        try:
            effective = parse_decimal(effective_text, places=COST_PLACES, limit=MAX_COST)
        except BadValue as error:
            bad("effective_cost", str(error))
    quantity_text = record.usage_quantity.strip()
    if quantity_text:
        try:
            quantity = parse_decimal(quantity_text, places=COST_PLACES, limit=MAX_QUANTITY)
        except BadValue as error:
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
