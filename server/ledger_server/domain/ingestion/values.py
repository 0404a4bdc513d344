"""The values a cost record is keyed and compared by: times, exact decimals, digests.

Shared by the checked path (normalise.py, which reports every problem) and the common
case (common_case.py, which takes records that have none the short way): both must key
and hash a record identically, so both use these.
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

from ledger_server.domain.ingestion.records import RecordKey

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
EXACT = Context(prec=60)
# Plain decimal text with an optional exponent; Decimal() alone would also take "NaN",
# "Infinity", "1_000" and surrounding spaces.
_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,4})?")
KEY_TEXTS = (
    ("provider", MAX_KEY_TEXT),
    ("billing_account_id", MAX_KEY_TEXT),
    ("sub_account_id", MAX_KEY_TEXT),
    ("service", MAX_KEY_TEXT),
    ("region", MAX_KEY_TEXT),
    ("sku", MAX_KEY_TEXT),
    ("resource_id", MAX_RESOURCE_ID),
    ("usage_unit", MAX_UNIT),
)


class BadValue(Exception):
    """A value that cannot be used; its text is the rejection's reason."""


@lru_cache(maxsize=4096)
def parse_time(text: str) -> datetime:
    """A UTC time from ISO 8601, '2024-09-18 22:00:00' or a date; no offset means UTC."""
    if not text:
        raise BadValue("is required")
    if len(text) > MAX_NUMBER_TEXT or "\x00" in text:
        raise BadValue("is not a time")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BadValue(
            "must be an ISO 8601 time like 2024-09-18T22:00:00Z, '2024-09-18 22:00:00' "
            "or a date like 2024-09-18"
        ) from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise BadValue("is out of range (years 1 to 9999 in UTC)") from None


def parse_decimal(text: str, *, places: int, limit: Decimal) -> Decimal:
    """Exact decimal text: finite, at most `places` decimal places, |value| <= limit."""
    if len(text) > MAX_NUMBER_TEXT or not _DECIMAL.fullmatch(text):
        raise BadValue("must be a finite decimal number like 1245.67")
    value = Decimal(text)  # the pattern admits plain finite numbers only
    if abs(value) > limit:
        raise BadValue(f"must be at most {limit:f} in absolute value")
    significant = EXACT.normalize(value).as_tuple().exponent
    assert isinstance(significant, int)
    if significant < -places:
        raise BadValue(f"must have at most {places} decimal places")
    return EXACT.plus(value)  # exact; turns a negative zero into zero


def canonical(value: Decimal) -> str:
    """One spelling per value: '1245.67' for 1245.670 and 1.24567E+3 alike."""
    return format(EXACT.normalize(value), "f")


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
    return content_digest(
        currency,
        billed_text,
        billed_text if effective is billed else canonical(effective),
        "" if quantity is None else canonical(quantity),
        unit,
        labels,
    )


def content_digest(
    currency: str,
    billed: str,
    effective: str,
    quantity: str,
    unit: str,
    labels: Mapping[str, str],
) -> bytes:
    """`content_hash` of values already spelled canonically (quantity '' when absent)."""
    text = "\x00".join(
        (
            currency,
            billed,
            effective,
            quantity,
            unit,
            json.dumps(labels, sort_keys=True) if labels else "",
        )
    )
    return hashlib.sha256(text.encode()).digest()
