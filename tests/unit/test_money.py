from __future__ import annotations

from decimal import Decimal

import pytest

from ledger.v1 import money_pb2
from ledger_client.money import from_money, to_money


@pytest.mark.parametrize(
    "amount",
    [
        "0",
        "1303.28",
        "-742.64",
        "0.000000001",
        "-0.000000001",
        "-12.999999999",
        "9223372036854775807.999999999",
        "-9223372036854775807.999999999",
    ],
)
def test_to_money_round_trips_exactly(amount: str) -> None:
    assert from_money(to_money(Decimal(amount))) == Decimal(amount)


def test_to_money_gives_units_and_nanos_the_same_sign() -> None:
    money = to_money(Decimal("-1.5"), "USD")

    assert (money.currency_code, money.units, money.nanos) == ("USD", -1, -500_000_000)


def test_to_money_rejects_more_than_nine_fractional_digits() -> None:
    with pytest.raises(ValueError, match="more than 9 fractional digits"):
        to_money(Decimal("0.0000000001"))


def test_to_money_accepts_zeros_beyond_nine_fractional_digits() -> None:
    assert to_money(Decimal("2.50000000000")) == money_pb2.Money(units=2, nanos=500_000_000)


@pytest.mark.parametrize("amount", ["NaN", "sNaN", "Infinity", "-Infinity"])
def test_to_money_rejects_non_finite_amounts(amount: str) -> None:
    with pytest.raises(ValueError, match="finite"):
        to_money(Decimal(amount))


def test_to_money_rejects_amounts_beyond_int64_units() -> None:
    with pytest.raises(ValueError, match="out of range"):
        to_money(Decimal(2**63))


def test_to_money_rejects_floats() -> None:
    with pytest.raises(TypeError, match=r"decimal\.Decimal"):
        to_money(0.1)  # type: ignore[arg-type]


def test_from_money_drops_trailing_zeros() -> None:
    assert str(from_money(money_pb2.Money(units=1303, nanos=280_000_000))) == "1303.28"
    assert str(from_money(money_pb2.Money(units=1000))) == "1000"
    assert str(from_money(money_pb2.Money(units=-742, nanos=-640_000_000))) == "-742.64"
