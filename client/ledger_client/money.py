"""Exact money between `decimal.Decimal` and the wire's `ledger.v1.Money` (units + nanos)."""

from __future__ import annotations

import decimal
from decimal import Decimal

from ledger.v1 import money_pb2

NANOS_PER_UNIT = 1_000_000_000
NANO = Decimal("0.000000001")
_INT64_MAX = 2**63 - 1


def to_money(amount: Decimal, currency: str = "") -> money_pb2.Money:
    """The wire form of `amount`.

    Raises ValueError for NaN or infinity, for more than 9 fractional digits (round
    explicitly first: silently dropping digits would change a stored cost) and for
    amounts whose units do not fit in int64.
    """
    if not isinstance(amount, Decimal):
        # A float here would already have lost exactness; an int is exact but almost
        # always means the caller forgot to build a Decimal elsewhere too.
        raise TypeError(f"money must be a decimal.Decimal, got {type(amount).__name__}")
    if not amount.is_finite():
        raise ValueError(f"money must be a finite number, got {amount}")
    # Enough precision for every int64 units value plus 9 fractional digits, so the
    # checks below never round.
    with decimal.localcontext() as context:
        context.prec = 40
        if abs(amount) >= _INT64_MAX + 1:
            raise ValueError(f"money {amount} is out of range")
        if amount.quantize(NANO) != amount:
            raise ValueError(
                f"money {amount} has more than 9 fractional digits; round it first, "
                "e.g. amount.quantize(Decimal('0.000000001'))"
            )
        total_nanos = int(amount * NANOS_PER_UNIT)
    sign = -1 if total_nanos < 0 else 1
    units, nanos = divmod(abs(total_nanos), NANOS_PER_UNIT)
    return money_pb2.Money(currency_code=currency, units=sign * units, nanos=sign * nanos)


def from_money(money: money_pb2.Money) -> Decimal:
    """The exact value of `money`, without trailing fractional zeros (12.340000000 -> 12.34)."""
    if money.nanos == 0:
        return Decimal(money.units)
    # Integer arithmetic first: exact for the whole int64 range, whatever the context.
    value = Decimal(money.units * NANOS_PER_UNIT + money.nanos).scaleb(-9)
    # With non-zero nanos the value has a fractional part, so normalize() cannot turn
    # it into exponent notation; it only trims trailing zeros.
    return value.normalize()
