"""Pricing rules, pure: the same inputs always give the same quote.

The unit price of a slot comes from the most specific rule that applies: the slot's own
override, then a price set for that date, then the base price times the season's multiplier.
Children and infants pay their percentage of it; a group tier takes its discount off the
subtotal; taxes are added last. Every amount is rounded half up to the currency's smallest
step (a yen, a cent, ten fils) as it is made. Prices as given are checked against the currency
with the listing (`check_prices`): one with more digits than the currency moves is refused.
"""

import itertools
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.money import exact_amount, money

HUNDRED = Decimal(100)


class Season(BaseModel):
    """A date range (both ends included) in which the base price is multiplied."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(default="season", min_length=1, max_length=60)
    start_date: date
    end_date: date
    multiplier: Decimal = Field(gt=0, le=10, decimal_places=3)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        return self


class GroupTier(BaseModel):
    """From `min_people` people on, the subtotal is `percent_off` cheaper."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_people: int = Field(ge=2, le=500)
    percent_off: Decimal = Field(ge=0, le=100, decimal_places=2)


class PriceRange(BaseModel):
    """What a quote-only listing tells travelers to expect, per person (or per booking)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min: Decimal = Field(ge=0, le=Decimal("1000000"), decimal_places=2)
    max: Decimal = Field(ge=0, le=Decimal("1000000"), decimal_places=2)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.max < self.min:
            raise ValueError("max is below min")
        return self


class PricingRules(BaseModel):
    """How a listing's base price becomes a quote. Stored with the listing."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    per: Literal["person", "booking"] = "person"
    child_percent: Decimal = Field(default=Decimal(70), ge=0, le=100, decimal_places=2)
    infant_percent: Decimal = Field(default=Decimal(0), ge=0, le=100, decimal_places=2)
    # Ages are whole years on the day of the slot: under `infant_under_age` an infant, under
    # `child_under_age` a child, an adult from then on.
    infant_under_age: int = Field(default=2, ge=0, le=18)
    child_under_age: int = Field(default=12, ge=0, le=21)
    tax_percent: Decimal = Field(default=Decimal(0), ge=0, le=100, decimal_places=2)
    seasons: tuple[Season, ...] = Field(default=(), max_length=100)
    # Checked against the listing's currency with it (`check_prices`); no currency moves less
    # than a hundredth.
    date_overrides: dict[date, Annotated[Decimal, Field(ge=0, le=Decimal("1000000"), decimal_places=2)]] = Field(
        default_factory=dict, max_length=1000
    )
    group_tiers: tuple[GroupTier, ...] = Field(default=(), max_length=20)
    # Request-mode listings priced case by case: no quote, an estimated range instead.
    quote_only: bool = False
    estimate: PriceRange | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.child_under_age < self.infant_under_age:
            raise ValueError("child_under_age is below infant_under_age")
        ordered = sorted(self.seasons, key=lambda season: season.start_date)
        for earlier, later in itertools.pairwise(ordered):
            if later.start_date <= earlier.end_date:
                raise ValueError(f"seasons {earlier.name!r} and {later.name!r} overlap")
        if len({tier.min_people for tier in self.group_tiers}) != len(self.group_tiers):
            raise ValueError("two group tiers start at the same party size")
        if self.quote_only and self.estimate is None:
            raise ValueError("a quote-only listing needs an estimate")
        return self


@dataclass(frozen=True)
class Party:
    adults: int
    children: int
    infants: int

    @property
    def seats(self) -> int:
        # Everyone takes a place on the tour, the boat or the table, infants included.
        return self.adults + self.children + self.infants


def party_from_ages(ages: list[int], rules: PricingRules) -> Party:
    """Sort travelers into adults, children and infants by the listing's age bands."""
    infants = sum(1 for age in ages if age < rules.infant_under_age)
    children = sum(1 for age in ages if rules.infant_under_age <= age < rules.child_under_age)
    return Party(adults=len(ages) - infants - children, children=children, infants=infants)


@dataclass(frozen=True)
class UnitPrice:
    amount: Decimal
    basis: str  # which rule set it: "slot_override", "date_override", "season:<name>" or "base"


def unit_price_on(
    day: date, *, base_price: Decimal, slot_override: Decimal | None, rules: PricingRules, currency: str
) -> UnitPrice:
    if slot_override is not None:
        return UnitPrice(money(slot_override, currency), "slot_override")
    if day in rules.date_overrides:
        return UnitPrice(money(rules.date_overrides[day], currency), "date_override")
    for season in rules.seasons:
        if season.start_date <= day <= season.end_date:
            return UnitPrice(money(base_price * season.multiplier, currency), f"season:{season.name}")
    return UnitPrice(money(base_price, currency), "base")


@dataclass(frozen=True)
class QuoteLine:
    kind: str
    quantity: int
    unit_price: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Quote:
    currency: str
    basis: str
    lines: tuple[QuoteLine, ...]
    subtotal: Decimal
    taxes: Decimal
    total: Decimal


def group_tier_for(people: int, rules: PricingRules) -> GroupTier | None:
    """The tier with the largest threshold the party reaches."""
    reached = [tier for tier in rules.group_tiers if people >= tier.min_people]
    return max(reached, key=lambda tier: tier.min_people, default=None)


def quote(*, unit: UnitPrice, currency: str, party: Party, rules: PricingRules) -> Quote:
    """Price a party at a unit price: per person (adults full, children and infants at their
    percentage) or one price per booking; a group discount; taxes on the discounted subtotal."""
    if rules.per == "booking":
        lines = [QuoteLine("booking", 1, unit.amount, unit.amount)]
    else:
        lines = []
        for kind, quantity, percent in (
            ("adult", party.adults, HUNDRED),
            ("child", party.children, rules.child_percent),
            ("infant", party.infants, rules.infant_percent),
        ):
            if quantity:
                each = money(unit.amount * percent / HUNDRED, currency)
                lines.append(QuoteLine(kind, quantity, each, money(each * quantity, currency)))
    gross = sum((line.amount for line in lines), Decimal(0))
    # A per-booking price is already the whole group's, so tiers apply per person only.
    tier = group_tier_for(party.seats, rules) if rules.per == "person" else None
    if tier is not None and tier.percent_off > 0:
        discount = money(gross * tier.percent_off / HUNDRED, currency)
        lines.append(QuoteLine("group_discount", 1, -discount, -discount))
    subtotal = money(sum((line.amount for line in lines), Decimal(0)), currency)
    taxes = money(subtotal * rules.tax_percent / HUNDRED, currency)
    return Quote(
        currency=currency,
        basis=unit.basis,
        lines=tuple(lines),
        subtotal=subtotal,
        taxes=taxes,
        total=subtotal + taxes,
    )


@dataclass(frozen=True)
class Estimate:
    currency: str
    min_total: Decimal
    max_total: Decimal


def estimate(*, estimate_range: PriceRange, currency: str, party: Party, rules: PricingRules) -> Estimate:
    """The range a quote-only listing gives a party: the ends of the range priced like a quote."""
    low, high = (
        quote(unit=UnitPrice(money(end, currency), "estimate"), currency=currency, party=party, rules=rules).total
        for end in (estimate_range.min, estimate_range.max)
    )
    return Estimate(currency=currency, min_total=low, max_total=high)


def agreed_quote(total: Decimal, *, currency: str, listed: Quote | None) -> Quote:
    """A price the provider and traveler agreed on (a counter-offer): it replaces the listed
    quote's total, and one line says by how much, so the lines still add up. A listing priced
    case by case has no listed quote: the agreed price is its only line."""
    total = money(total, currency)
    if listed is None:
        return Quote(
            currency=currency,
            basis="agreed",
            lines=(QuoteLine("agreed_price", 1, total, total),),
            subtotal=total,
            taxes=Decimal(0),
            total=total,
        )
    adjustment = total - listed.total
    return Quote(
        currency=currency,
        basis="agreed",
        lines=(*listed.lines, QuoteLine("agreed_adjustment", 1, adjustment, adjustment)),
        subtotal=listed.subtotal + adjustment,
        taxes=listed.taxes,
        total=total,
    )


def check_prices(*, currency: str, base_price: Decimal, rules: PricingRules) -> None:
    """Every price a listing names moves in its currency's steps (ValueError otherwise)."""
    exact_amount(base_price, currency)
    for price in rules.date_overrides.values():
        exact_amount(price, currency)
    if rules.estimate is not None:
        exact_amount(rules.estimate.min, currency)
        exact_amount(rules.estimate.max, currency)
