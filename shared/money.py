"""Money is a Decimal with its currency. An amount is rounded half up to the smallest unit the
currency can move (its ISO 4217 exponent: JPY none, EUR two, KWD three) and is sent to Stripe
in those minor units. The exponents come from the `iso4217` package, the ISO list itself.

The platform sells in the currencies of `SUPPORTED_CURRENCIES`; any other is refused where it
enters (a listing's, a fee rule's, a filter's), so nothing downstream meets one.
"""

from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

from iso4217 import Currency
from pydantic import AfterValidator

from shared.errors import InvalidInput

# Currencies Stripe settles in their ISO minor units, and the platform therefore sells in. Not
# here on purpose: those Stripe counts differently from ISO 4217 (ISK, HUF, TWD, UGX).
SUPPORTED_CURRENCIES = frozenset(
    {
        "AED", "AUD", "BHD", "BRL", "CAD", "CHF", "CZK", "DKK", "EUR", "GBP", "HKD", "ILS", "INR", "JOD",
        "JPY", "KRW", "KWD", "MAD", "MXN", "NOK", "NZD", "OMR", "PLN", "SEK", "SGD", "THB", "TND", "TRY",
        "USD", "VND", "ZAR",
    }
)  # fmt: skip

# Stripe takes the three-decimal currencies in thousandths but only in multiples of ten, so
# every amount in them is kept to a hundredth: the smallest step a charge or refund can make.
_STRIPE_STEP_EXPONENT = {"BHD": 2, "JOD": 2, "KWD": 2, "OMR": 2, "TND": 2}

# The largest amount any price, payment or filter may name: what every money column
# (Numeric(13, 3): ten digits before the point, three after) holds.
MAX_AMOUNT = Decimal("9999999999.999")


class UnsupportedCurrency(ValueError):
    def __init__(self, currency: str) -> None:
        super().__init__(f"{currency!r} is not a currency the platform sells in")
        self.currency = currency


def supported_currency(code: str) -> str:
    """The code in upper case, or UnsupportedCurrency (a ValueError, so a 422 in a schema)."""
    upper = code.upper()
    if upper not in SUPPORTED_CURRENCIES:
        raise UnsupportedCurrency(code)
    return upper


# A currency field of an API model: ISO 4217 code the platform sells in, upper-cased.
CurrencyCode = Annotated[str, AfterValidator(supported_currency)]


def exponent(currency: str) -> int:
    """Digits after the point in the currency's minor unit, by ISO 4217."""
    return Currency(supported_currency(currency)).exponent or 0


def smallest_step(currency: str) -> Decimal:
    """The smallest amount a charge or refund in the currency can move."""
    digits = _STRIPE_STEP_EXPONENT.get(currency.upper(), exponent(currency))
    return Decimal(1).scaleb(-digits)


def money(amount: Decimal, currency: str) -> Decimal:
    """The amount rounded half up to the currency's smallest step, shown with its ISO digits
    (12.3 KWD is 12.300)."""
    rounded = amount.quantize(smallest_step(currency), rounding=ROUND_HALF_UP)
    return rounded.quantize(Decimal(1).scaleb(-exponent(currency)))


def to_minor_units(amount: Decimal, currency: str) -> int:
    """What Stripe calls `amount`: 5000 JPY is 5000, 12.34 EUR is 1234, 12.35 KWD is 12350."""
    return int(money(amount, currency).scaleb(exponent(currency)))


def from_minor_units(units: int, currency: str) -> Decimal:
    return money(Decimal(units).scaleb(-exponent(currency)), currency)


class AmountTooPrecise(ValueError):
    def __init__(self, amount: Decimal, currency: str) -> None:
        step = smallest_step(currency)
        super().__init__(f"{currency} amounts move in steps of {step}; {amount} is not one")
        self.amount = amount
        self.currency = currency


def exact_amount(amount: Decimal, currency: str) -> Decimal:
    """An amount someone names (a price, a fee) as it stands, or AmountTooPrecise (a ValueError,
    so a 422 in a schema) when it has more digits than the currency can move: a provider's
    5000.50 JPY is refused rather than charged as 5001."""
    if amount != money(amount, currency):
        raise AmountTooPrecise(amount, currency)
    return amount


def require_exact_amount(amount: Decimal, currency: str, *, field: str) -> None:
    """`exact_amount` for a use case that meets the currency only once it has read a row: 422."""
    try:
        exact_amount(amount, currency)
    except AmountTooPrecise as error:
        raise InvalidInput(str(error), details={field: str(amount)}) from None
