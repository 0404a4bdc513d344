"""Exact money between `decimal.Decimal` and the wire's `ledger.v1.Money` (units + nanos)."""

from __future__ import annotations

from decimal import Decimal

from ledger.v1 import money_pb2
from ledger_wire.money import NANO, NANOS_PER_UNIT, join, split

__all__ = ["NANO", "NANOS_PER_UNIT", "from_money", "to_money"]


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
    units, nanos = split(amount)
    return money_pb2.Money(currency_code=currency, units=units, nanos=nanos)


def from_money(money: money_pb2.Money) -> Decimal:
    """The exact value of `money`, without trailing fractional zeros (12.340000000 -> 12.34)."""
    if money.nanos == 0:
        return Decimal(money.units)
    # With non-zero nanos the value has a fractional part, so normalize() cannot turn
    # it into exponent notation; it only trims trailing zeros.
    return join(money.units, money.nanos).normalize()
