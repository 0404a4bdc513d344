"""Parsers for the parts of a page-token cursor, for `paging.CursorSpec`.

Every part is checked to be something this server could have written (an amount with at
most 9 decimals within range, a UTC time, a short name without NUL), so a forged cursor
is INVALID_ARGUMENT, never a database error.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal, DecimalException

from ledger_server.domain.money import MAX_AMOUNT, NANO
from ledger_server.domain.paging import bad_token

# The largest amount a cursor may carry: a job total of 10,000 resources at the cap.
_MAX_CURSOR_AMOUNT = MAX_AMOUNT * 10_000


def amount(text: str) -> Decimal:
    if len(text) > 64:
        raise bad_token()
    try:
        value = Decimal(text)
        if not value.is_finite() or value.adjusted() > 20 or abs(value) > _MAX_CURSOR_AMOUNT:
            raise bad_token()
        if value.quantize(NANO) != value:
            raise bad_token()
    except DecimalException:  # overflow and malformed numbers alike
        raise bad_token() from None
    return value


def position(text: str) -> int:
    if not text.isdecimal() or len(text) > 6:
        raise bad_token()
    return int(text)


def name(text: str) -> str:
    if len(text) > 256 or "\x00" in text:
        raise bad_token()
    return text


def utc_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise bad_token() from None
    if moment.utcoffset() != timedelta(0):
        raise bad_token()  # this server writes UTC times only
    return moment


def uuid_id(text: str) -> uuid.UUID:
    if len(text) != 36:
        raise bad_token()
    try:
        return uuid.UUID(text)
    except ValueError:
        raise bad_token() from None


def whole_number(text: str) -> int:
    """A non-negative integer that fits int64: a version, an IDENTITY id."""
    if not text.isdecimal() or len(text) > 19 or int(text) > 2**63 - 1:
        raise bad_token()
    return int(text)
