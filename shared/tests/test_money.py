"""Amounts in minor units by each currency's ISO 4217 exponent."""

from decimal import Decimal

import pytest

from shared.money import UnsupportedCurrency, from_minor_units, money, supported_currency, to_minor_units


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
