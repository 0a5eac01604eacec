"""Pricing rules, pure: the same inputs always give the same quote."""

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.money import money

HUNDRED = Decimal(100)


class PricingRules(BaseModel):
    """How a listing's base price becomes a quote. Stored with the listing."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    per: Literal["person", "booking"] = "person"
    child_percent: Decimal = Field(default=Decimal(70), ge=0, le=100)
    infant_percent: Decimal = Field(default=Decimal(0), ge=0, le=100)
    tax_percent: Decimal = Field(default=Decimal(0), ge=0, le=100)


@dataclass(frozen=True)
class Party:
    adults: int
    children: int
    infants: int

    @property
    def seats(self) -> int:
        # Everyone takes a place on the tour, the boat or the table, infants included.
        return self.adults + self.children + self.infants


@dataclass(frozen=True)
class QuoteLine:
    kind: str
    quantity: int
    unit_price: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Quote:
    currency: str
    lines: tuple[QuoteLine, ...]
    subtotal: Decimal
    taxes: Decimal
    total: Decimal


def quote(*, unit_price: Decimal, currency: str, party: Party, rules: PricingRules) -> Quote:
    """Price a party: per person (adults full, children and infants at their percentage) or
    one price per booking; taxes on the subtotal; every amount rounded to the cent."""
    if rules.per == "booking":
        lines = [QuoteLine("booking", 1, money(unit_price), money(unit_price))]
    else:
        lines = []
        for kind, quantity, percent in (
            ("adult", party.adults, HUNDRED),
            ("child", party.children, rules.child_percent),
            ("infant", party.infants, rules.infant_percent),
        ):
            if quantity:
                each = money(unit_price * percent / HUNDRED)
                lines.append(QuoteLine(kind, quantity, each, money(each * quantity)))
    subtotal = money(sum((line.amount for line in lines), Decimal(0)))
    taxes = money(subtotal * rules.tax_percent / HUNDRED)
    return Quote(currency=currency, lines=tuple(lines), subtotal=subtotal, taxes=taxes, total=subtotal + taxes)
