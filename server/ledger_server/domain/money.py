"""Exact money: wire-shaped amounts (units + nanos) in, `Decimal` out, never a float."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import NamedTuple

from ledger_server.domain.errors import Violations
from ledger_wire.money import NANO, NANOS_PER_UNIT, join, split

__all__ = ["NANO", "NANOS_PER_UNIT"]  # re-exported: the domain's one money vocabulary

ZERO = Decimal(0)
# A single amount above a trillion a month is a unit mix-up, not a cost; the cap also
# keeps every sum of up to 10,000 amounts inside int64 units on the wire.
MAX_AMOUNT = Decimal(10**12)
_MAX_UNITS = 10**12
# Totals reach 10^16 with nine decimal places; a percentage of two of them has at most
# 30 digits before rounding to two places, well inside this many.
_PERCENT_DIGITS = 60
_CURRENCY = re.compile(r"[A-Z]{3}")


class WireMoney(NamedTuple):
    """An amount as it arrived: currency code, whole units and nano units."""

    currency_code: str
    units: int
    nanos: int


def is_currency_code(code: str) -> bool:
    return bool(_CURRENCY.fullmatch(code))


def plain_amount(money: WireMoney, currency: str) -> Decimal | None:
    """The value of an ordinary amount: in `currency`, not negative, within the cap.

    None means "look closer": `decimal_from_wire` then says what is wrong, if anything.
    This is the path nearly every amount takes, so it does no more than it must.
    """
    code, units, nanos = money
    if (not code or code == currency) and 0 <= units < _MAX_UNITS and 0 <= nanos < NANOS_PER_UNIT:
        return join(units, nanos)
    return None


def decimal_from_wire(
    money: WireMoney, path: str, currency: str, violations: Violations, *, allow_negative: bool
) -> Decimal | None:
    """The exact value of `money`, or None after recording why it is unusable."""
    if money.currency_code and money.currency_code != currency:
        violations.add(
            f"{path}.currency_code",
            f"must be empty or {currency!r}, the estimate's currency; got {money.currency_code!r}",
        )
        return None
    if not -NANOS_PER_UNIT < money.nanos < NANOS_PER_UNIT:
        violations.add(f"{path}.nanos", "must be between -999999999 and 999999999")
        return None
    if (money.units > 0 and money.nanos < 0) or (money.units < 0 and money.nanos > 0):
        violations.add(f"{path}.nanos", "must have the same sign as units")
        return None
    value = join(money.units, money.nanos)
    if value < 0 and not allow_negative:
        violations.add(path, "must not be negative")
        return None
    if abs(value) > MAX_AMOUNT:
        violations.add(path, f"must be at most {MAX_AMOUNT} in absolute value")
        return None
    return value


def wire_from_decimal(amount: Decimal, currency: str) -> WireMoney:
    """Split an exact amount into units and nanos (both carrying the sign)."""
    units, nanos = split(amount)
    return WireMoney(currency, units, nanos)


def display(amount: Decimal) -> str:
    """An amount for messages: exact, without trailing zeros or exponent (16, 0.3)."""
    return format(amount.normalize(), "f")


def percentage_change(base: Decimal, target: Decimal) -> Decimal | None:
    """100 * (target - base) / base to 2 places; 0 from zero to zero, None from zero up.

    The one rule for "how much did this change" wherever Ledger reports it (job
    comparisons, trends, savings against the previous period), so the figures agree.
    """
    if base == ZERO:
        return ZERO if target == ZERO else None
    # From one nano to a job's largest total is a change of 10^27 %: with its two decimal
    # places more digits than the default context's 28, which would make quantize fail.
    with localcontext() as context:
        context.prec = _PERCENT_DIGITS
        change = 100 * (target - base) / base
        return change.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
