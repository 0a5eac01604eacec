"""Money is a Decimal with its currency; amounts round half up to the cent."""

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
# The largest amount any price, payment or filter may name: what every money column holds.
MAX_AMOUNT = Decimal("99999999.99")


def money(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def to_minor_units(amount: Decimal) -> int:
    """Cents, as Stripe wants them (for the two-decimal currencies the platform sells in)."""
    return int(money(amount) * 100)


def from_minor_units(amount: int) -> Decimal:
    return money(Decimal(amount) / 100)
