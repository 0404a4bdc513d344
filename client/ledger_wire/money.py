"""The one codec between exact `Decimal` amounts and the wire's units + nanos.

`ledger.v1.Money` carries an amount as whole `units` (int64) and `nanos` (billionths,
with the same sign as units), like `google.type.Money`. The server and the SDK both
convert through these two functions, so an amount means the same on either side.
"""

from __future__ import annotations

import decimal
from decimal import Decimal

NANOS_PER_UNIT = 1_000_000_000
NANO = Decimal("0.000000001")
INT64_MAX = 2**63 - 1
# 40 digits hold every int64 number of units with 9 fractional digits: scaling by 10^9
# in this context never rounds, whatever precision the caller's own context has.
_EXACT = decimal.Context(prec=40)


def split(amount: Decimal) -> tuple[int, int]:
    """`amount` as (units, nanos), both carrying its sign.

    Raises ValueError for NaN or infinity, for more than 9 fractional digits (round
    explicitly first: dropping digits silently would change a cost) and for amounts
    whose units do not fit in int64.
    """
    if not amount.is_finite():
        raise ValueError(f"money must be a finite number, got {amount}")
    # The common case, cheaply: at most 9 fractional digits and far inside int64.
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= -9 and amount.adjusted() < 18:
        total = int(amount.scaleb(9, _EXACT))
        sign = -1 if total < 0 else 1
        whole, fraction = divmod(abs(total), NANOS_PER_UNIT)
        return sign * whole, sign * fraction
    # Enough precision for every int64 units value plus 9 fractional digits, so the
    # checks below never round.
    with decimal.localcontext() as context:
        context.prec = 40
        if abs(amount) >= INT64_MAX + 1:
            raise ValueError(f"money {amount} is out of range")
        if amount.quantize(NANO) != amount:
            raise ValueError(
                f"money {amount} has more than 9 fractional digits; round it first, "
                "e.g. amount.quantize(Decimal('0.000000001'))"
            )
        total_nanos = int(amount * NANOS_PER_UNIT)
    sign = -1 if total_nanos < 0 else 1
    units, nanos = divmod(abs(total_nanos), NANOS_PER_UNIT)
    return sign * units, sign * nanos


def join(units: int, nanos: int) -> Decimal:
    """The exact value of units + nanos, scaled to nine places (12.340000000).

    Integer arithmetic first: exact for the whole int64 range, whatever the context.
    Callers check the nanos range and signs before they trust the result.
    """
    return Decimal(units * NANOS_PER_UNIT + nanos).scaleb(-9)
