"""Pricing against a plain reference written from the rules' description, over many
generated listings and parties (hypothesis)."""

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from services.inventory.pricing.domain import (
    GroupTier,
    Party,
    PriceRange,
    PricingRules,
    Season,
    check_prices,
    estimate,
    party_from_ages,
    quote,
    unit_price_on,
)

# The smallest step of each currency, written down from ISO 4217 and Stripe's rule for the
# three-decimal ones (moved in tens of fils): the reference rounds to these.
STEPS = {"EUR": Decimal("0.01"), "JPY": Decimal(1), "KWD": Decimal("0.01")}
currencies = st.sampled_from(sorted(STEPS))
percents = st.decimals(min_value=Decimal("0"), max_value=Decimal("100"), places=1)
multipliers = st.decimals(min_value=Decimal("0.5"), max_value=Decimal("3"), places=2)
counts = st.integers(min_value=0, max_value=20)
days = st.dates(min_value=date(2027, 1, 1), max_value=date(2027, 12, 31))


def _rounded(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(STEPS[currency], rounding=ROUND_HALF_UP)


def prices(currency: str) -> st.SearchStrategy[Decimal]:
    """Prices a provider can name in the currency: whole steps, up to 5000 EUR or so."""
    most = 500_000 if STEPS[currency] < 1 else 800_000
    return st.integers(0, most).map(lambda steps: steps * STEPS[currency])


@st.composite
def pricing_rules(draw: st.DrawFn, currency: str = "EUR") -> PricingRules:
    # Seasons are laid end to end with gaps, so they never overlap.
    seasons, cursor = [], date(2027, 1, 1)
    for index in range(draw(st.integers(0, 4))):
        start = cursor + timedelta(days=draw(st.integers(0, 40)))
        end = start + timedelta(days=draw(st.integers(0, 60)))
        seasons.append(Season(name=f"s{index}", start_date=start, end_date=end, multiplier=draw(multipliers)))
        cursor = end + timedelta(days=1)
    tiers = draw(st.lists(st.integers(2, 30), max_size=4, unique=True))
    return PricingRules(
        per=draw(st.sampled_from(["person", "person", "booking"])),
        child_percent=draw(percents),
        infant_percent=draw(percents),
        tax_percent=draw(percents),
        seasons=tuple(seasons),
        date_overrides=draw(st.dictionaries(days, prices(currency), max_size=5)),
        group_tiers=tuple(GroupTier(min_people=size, percent_off=draw(percents)) for size in tiers),
    )


@st.composite
def listings(draw: st.DrawFn) -> tuple[str, PricingRules, Decimal, Decimal | None]:
    """A listing's currency, pricing and base price, and a slot's own price if it has one."""
    currency = draw(currencies)
    return currency, draw(pricing_rules(currency)), draw(prices(currency)), draw(st.none() | prices(currency))


def _reference_total(
    day: date, base: Decimal, slot_override: Decimal | None, party: Party, rules: PricingRules, currency: str
) -> Decimal:
    def _round(amount: Decimal) -> Decimal:
        return _rounded(amount, currency)

    if slot_override is not None:
        unit = slot_override
    elif day in rules.date_overrides:
        unit = rules.date_overrides[day]
    else:
        unit = base
        for season in rules.seasons:
            if season.start_date <= day <= season.end_date:
                unit = _round(base * season.multiplier)
    if rules.per == "booking":
        gross = unit
    else:
        gross = (
            unit * party.adults
            + _round(unit * rules.child_percent / 100) * party.children
            + _round(unit * rules.infant_percent / 100) * party.infants
        )
    best_percent_off, best_size = Decimal(0), 0
    for tier in rules.group_tiers:
        if rules.per == "person" and party.seats >= tier.min_people and tier.min_people > best_size:
            best_percent_off, best_size = tier.percent_off, tier.min_people
    subtotal = gross - _round(gross * best_percent_off / 100)
    return subtotal + _round(subtotal * rules.tax_percent / 100)


@given(listings(), days, counts, counts, counts)
def test_a_quote_matches_the_reference_in_the_currencys_steps_and_never_changes_for_the_same_inputs(
    listing: tuple[str, PricingRules, Decimal, Decimal | None], day: date, adults: int, children: int, infants: int
) -> None:
    currency, rules, base, slot_override = listing
    party = Party(adults + 1, children, infants)
    unit = unit_price_on(day, base_price=base, slot_override=slot_override, rules=rules, currency=currency)
    priced = quote(unit=unit, currency=currency, party=party, rules=rules)

    assert priced.total == _reference_total(day, base, slot_override, party, rules, currency)
    assert sum(line.amount for line in priced.lines) == priced.subtotal
    assert priced.total == priced.subtotal + priced.taxes
    assert priced.total >= 0
    every_amount = [priced.subtotal, priced.taxes, priced.total, *(line.amount for line in priced.lines)]
    assert all(amount % STEPS[currency] == 0 for amount in every_amount)
    stored = PricingRules.model_validate_json(rules.model_dump_json())
    again = quote(
        unit=unit_price_on(day, base_price=base, slot_override=slot_override, rules=stored, currency=currency),
        currency=currency,
        party=party,
        rules=stored,
    )
    assert again == priced


@given(listings(), days, counts)
def test_more_people_never_cost_less_without_a_group_tier(
    listing: tuple[str, PricingRules, Decimal, Decimal | None], day: date, extra: int
) -> None:
    currency, rules, base, _ = listing
    rules = rules.model_copy(update={"group_tiers": ()})
    unit = unit_price_on(day, base_price=base, slot_override=None, rules=rules, currency=currency)
    small = quote(unit=unit, currency=currency, party=Party(1, 0, 0), rules=rules)
    large = quote(unit=unit, currency=currency, party=Party(1 + extra, 0, 0), rules=rules)
    assert large.total >= small.total


def test_the_most_specific_price_wins() -> None:
    rules = PricingRules(
        seasons=(
            Season(name="summer", start_date=date(2027, 6, 1), end_date=date(2027, 8, 31), multiplier=Decimal("1.5")),
        ),
        date_overrides={date(2027, 7, 14): Decimal("99.00")},
    )
    base = Decimal("40.00")
    assert unit_price_on(
        date(2027, 5, 31), base_price=base, slot_override=None, rules=rules, currency="EUR"
    ).amount == Decimal("40.00")
    summer = unit_price_on(date(2027, 6, 1), base_price=base, slot_override=None, rules=rules, currency="EUR")
    assert (summer.amount, summer.basis) == (Decimal("60.00"), "season:summer")
    assert (
        unit_price_on(date(2027, 7, 14), base_price=base, slot_override=None, rules=rules, currency="EUR").basis
        == "date_override"
    )
    slot = unit_price_on(date(2027, 7, 14), base_price=base, slot_override=Decimal("10"), rules=rules, currency="EUR")
    assert (slot.amount, slot.basis) == (Decimal("10.00"), "slot_override")


def test_a_group_gets_the_largest_tier_it_reaches() -> None:
    rules = PricingRules(
        group_tiers=(
            GroupTier(min_people=5, percent_off=Decimal(10)),
            GroupTier(min_people=10, percent_off=Decimal(20)),
        )
    )
    unit = unit_price_on(date(2027, 1, 1), base_price=Decimal("10.00"), slot_override=None, rules=rules, currency="EUR")
    assert quote(unit=unit, currency="EUR", party=Party(4, 0, 0), rules=rules).total == Decimal("40.00")
    five = quote(unit=unit, currency="EUR", party=Party(5, 0, 0), rules=rules)
    assert five.total == Decimal("45.00")
    assert five.lines[-1].kind == "group_discount"
    assert five.lines[-1].amount == Decimal("-5.00")
    assert quote(unit=unit, currency="EUR", party=Party(12, 0, 0), rules=rules).total == Decimal("96.00")


def test_ages_sort_travelers_by_the_listing_bands() -> None:
    default = PricingRules()
    assert party_from_ages([35, 33, 11, 12, 1, 2], default) == Party(adults=3, children=2, infants=1)
    teens_pay_as_children = PricingRules(child_under_age=16, infant_under_age=3)
    assert party_from_ages([40, 15, 2, 3], teens_pay_as_children) == Party(adults=1, children=2, infants=1)


def test_a_quote_only_listing_gives_a_range_priced_like_a_quote() -> None:
    rules = PricingRules(
        quote_only=True, estimate=PriceRange(min=Decimal("100"), max=Decimal("250")), tax_percent=Decimal(10)
    )
    assert rules.estimate is not None
    range_ = estimate(
        estimate_range=rules.estimate,
        currency="USD",
        party=Party(2, 1, 0),
        rules=rules,
    )
    assert (range_.min_total, range_.max_total) == (Decimal("297.00"), Decimal("742.50"))


@pytest.mark.parametrize(
    "bad",
    [
        {
            "seasons": [
                {"name": "a", "start_date": "2027-06-01", "end_date": "2027-06-30", "multiplier": "1.2"},
                {"name": "b", "start_date": "2027-06-30", "end_date": "2027-07-30", "multiplier": "1.5"},
            ]
        },
        {"seasons": [{"start_date": "2027-06-02", "end_date": "2027-06-01", "multiplier": "1.2"}]},
        {"seasons": [{"start_date": "2027-06-01", "end_date": "2027-06-02", "multiplier": "0"}]},
        {"group_tiers": [{"min_people": 4, "percent_off": "10"}, {"min_people": 4, "percent_off": "20"}]},
        {"group_tiers": [{"min_people": 4, "percent_off": "110"}]},
        {"date_overrides": {"2027-01-01": "-1"}},
        {"date_overrides": {"2027-01-01": "1.001"}},
        {"quote_only": True},
        {"child_under_age": 1, "infant_under_age": 2},
        {"estimate": {"min": "10", "max": "5"}},
        {"tax_percent": "12.345"},
    ],
)
def test_inconsistent_rules_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        PricingRules.model_validate(bad)


def test_a_jpy_listing_is_quoted_in_whole_yen() -> None:
    rules = PricingRules(child_percent=Decimal("33.33"), tax_percent=Decimal("8"))
    unit = unit_price_on(date(2027, 1, 1), base_price=Decimal(5000), slot_override=None, rules=rules, currency="JPY")
    assert quote(unit=unit, currency="JPY", party=Party(1, 0, 0), rules=PricingRules()).total == Decimal(5000)
    priced = quote(unit=unit, currency="JPY", party=Party(1, 1, 0), rules=rules)
    # A child pays 1666.5 yen, rounded up to 1667; taxes on 6667 are 533.36, so 533.
    assert [line.unit_price for line in priced.lines] == [Decimal(5000), Decimal(1667)]
    assert (priced.subtotal, priced.taxes, priced.total) == (Decimal(6667), Decimal(533), Decimal(7200))
    assert str(priced.total) == "7200"


def test_a_kwd_listing_is_quoted_in_tens_of_fils_with_three_decimals() -> None:
    rules = PricingRules(child_percent=Decimal("33.33"))
    unit = unit_price_on(date(2027, 1, 1), base_price=Decimal("10.01"), slot_override=None, rules=rules, currency="KWD")
    priced = quote(unit=unit, currency="KWD", party=Party(0, 1, 0), rules=rules)
    # 33.33 % of 10.010 is 3.336333: Stripe moves KWD in tens of fils, so 3.340.
    assert str(priced.total) == "3.340"


@pytest.mark.parametrize(
    ("currency", "base_price", "accepted"),
    [("JPY", "5000", True), ("JPY", "5000.50", False), ("EUR", "12.34", True), ("KWD", "12.34", True)],
)
def test_a_price_with_more_digits_than_the_currency_moves_is_refused(
    currency: str, base_price: str, accepted: bool
) -> None:
    rules = PricingRules(date_overrides={date(2027, 1, 1): Decimal(base_price)})
    if accepted:
        check_prices(currency=currency, base_price=Decimal(base_price), rules=rules)
    else:
        with pytest.raises(ValueError, match="steps of 1"):
            check_prices(currency=currency, base_price=Decimal(5000), rules=rules)
