"""Amounts in minor units by each currency's ISO 4217 exponent."""

from decimal import Decimal

import pytest
from sqlalchemy import Numeric

from shared.db import MoneyAmount
from shared.money import (
    MAX_AMOUNT,
    AmountTooPrecise,
    UnsupportedCurrency,
    exact_amount,
    from_minor_units,
    money,
    supported_currency,
    to_minor_units,
)


@pytest.mark.parametrize(
    ("amount", "currency", "units"),
    [("5000", "JPY", 5000), ("12.34", "EUR", 1234), ("12.35", "KWD", 12350), ("0.5", "JPY", 1)],
)
def test_stripe_amounts_follow_the_currencys_exponent(amount: str, currency: str, units: int) -> None:
    assert to_minor_units(Decimal(amount), currency) == units
    assert from_minor_units(units, currency) == money(Decimal(amount), currency)


def test_three_decimal_currencies_move_in_steps_stripe_accepts() -> None:
    assert money(Decimal("1.2345"), "KWD") == Decimal("1.230")
    assert to_minor_units(Decimal("1.2345"), "BHD") % 10 == 0


def test_a_currency_the_platform_does_not_sell_in_is_refused() -> None:
    assert supported_currency("eur") == "EUR"
    with pytest.raises(UnsupportedCurrency):
        supported_currency("XXX")
    with pytest.raises(UnsupportedCurrency):
        money(Decimal(1), "ISK")


@pytest.mark.parametrize(
    ("amount", "currency", "exact"),
    [
        ("5000", "JPY", True),
        ("5000.5", "JPY", False),
        ("12.34", "EUR", True),
        ("12.345", "EUR", False),
        ("12.340", "KWD", True),
        ("12.345", "KWD", False),
    ],
)
def test_an_amount_named_with_more_digits_than_the_currency_moves_is_refused(
    amount: str, currency: str, exact: bool
) -> None:
    if exact:
        assert exact_amount(Decimal(amount), currency) == Decimal(amount)
    else:
        with pytest.raises(AmountTooPrecise):
            exact_amount(Decimal(amount), currency)


def test_the_largest_amount_is_what_a_money_column_holds() -> None:
    column = MoneyAmount().impl_instance
    assert isinstance(column, Numeric)
    assert (column.precision, column.scale) == (13, 3)
    # Ten nines before the point, three after.
    assert Decimal("9" * 10 + "." + "9" * 3) == MAX_AMOUNT
