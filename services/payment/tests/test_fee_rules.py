"""The fee rules, against a plain reference implementation over generated rule sets, and on
examples: the seeded defaults, the clamps, rounding and what a valid rule is."""

import random
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from services.payment.fees.domain import FeeTerms, choose_rule, fee_of

PROVIDERS = [uuid.UUID(int=1), uuid.UUID(int=2)]
CATEGORIES = ["accommodation", "meal", "tour"]
# Each currency's smallest step, from ISO 4217 and Stripe's tens of fils for three-decimal ones.
STEPS = {"EUR": Decimal("0.01"), "USD": Decimal("0.01"), "JPY": Decimal(1), "KWD": Decimal("0.01")}
CURRENCIES = sorted(STEPS)
EPOCH = datetime(2031, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Rule:
    scope: str
    category: str | None = None
    provider_id: uuid.UUID | None = None
    percentage: Decimal | None = None
    fixed_amount: Decimal | None = None
    min_fee: Decimal | None = None
    max_fee: Decimal | None = None
    currency: str | None = None
    priority: int = 0
    active: bool = True
    created_at: datetime = EPOCH
    id: uuid.UUID = field(default_factory=uuid.uuid4)


def reference_fee(rules: list[Rule], provider_id: uuid.UUID, category: str, currency: str, amount: Decimal) -> Any:
    """(rule, fee) the way the issue words it, written out plainly; None when no rule applies."""
    usable = [rule for rule in rules if rule.active and rule.currency in (None, currency)]
    for scope, fits in (
        ("provider", lambda rule: rule.provider_id == provider_id),
        ("category", lambda rule: rule.category == category),
        ("global", lambda rule: True),
    ):
        in_scope = [rule for rule in usable if rule.scope == scope and fits(rule)]
        if in_scope:
            newest_first = sorted(in_scope, key=lambda rule: (rule.created_at, str(rule.id)), reverse=True)
            rule = sorted(newest_first, key=lambda rule: rule.priority, reverse=True)[0]
            break
    else:
        return None
    raw = amount * rule.percentage / 100 if rule.percentage is not None else rule.fixed_amount
    assert raw is not None
    rounded = Decimal(raw).quantize(STEPS[currency], rounding=ROUND_HALF_UP)
    lowest = rule.min_fee if rule.min_fee is not None else Decimal(0)
    highest = min(ceiling for ceiling in (rule.max_fee, amount) if ceiling is not None)
    return rule, min(max(rounded, lowest), highest)


def money_amounts(currency: str) -> st.SearchStrategy[Decimal]:
    """Amounts in whole steps of the currency, up to 5000 of it."""
    return st.integers(0, int(5_000 / STEPS[currency])).map(lambda steps: steps * STEPS[currency])


@st.composite
def rules(draw: st.DrawFn) -> Rule:
    scope = draw(st.sampled_from(["global", "category", "provider"]))
    by_percentage = draw(st.booleans())
    currency = draw(st.sampled_from(CURRENCIES))
    min_fee = draw(st.none() | money_amounts(currency))
    max_fee = draw(st.none() | money_amounts(currency))
    if min_fee is not None and max_fee is not None and min_fee > max_fee:
        min_fee, max_fee = max_fee, min_fee
    fixed_amount = None if by_percentage else draw(money_amounts(currency))
    has_money = any(value is not None for value in (fixed_amount, min_fee, max_fee))
    return Rule(
        scope=scope,
        category=draw(st.sampled_from(CATEGORIES)) if scope == "category" else None,
        provider_id=draw(st.sampled_from(PROVIDERS)) if scope == "provider" else None,
        percentage=draw(st.decimals(min_value=0, max_value=100, places=4)) if by_percentage else None,
        fixed_amount=fixed_amount,
        min_fee=min_fee,
        max_fee=max_fee,
        currency=currency if has_money else None,
        # Few priorities and times, so ties are common and the tie-breaks are exercised.
        priority=draw(st.integers(min_value=0, max_value=2)),
        active=draw(st.booleans()),
        created_at=EPOCH + timedelta(minutes=draw(st.integers(min_value=0, max_value=3))),
    )


sales = st.sampled_from(CURRENCIES).flatmap(
    lambda currency: st.tuples(
        st.sampled_from(PROVIDERS), st.sampled_from(CATEGORIES), st.just(currency), money_amounts(currency)
    )
)


@given(st.lists(rules(), max_size=12), sales)
def test_the_chosen_rule_and_fee_are_the_reference_ones(
    rule_set: list[Rule], sale: tuple[uuid.UUID, str, str, Decimal]
) -> None:
    provider_id, category, currency, amount = sale
    chosen = choose_rule(rule_set, provider_id=provider_id, category=category, currency=currency)
    expected = reference_fee(rule_set, provider_id, category, currency, amount)
    if expected is None:
        assert chosen is None
    else:
        assert chosen is not None
        assert (chosen, fee_of(chosen, amount, currency)) == expected


@given(st.lists(rules(), min_size=1, max_size=12), sales, st.randoms())
def test_the_order_rules_are_kept_in_does_not_change_the_choice(
    rule_set: list[Rule], sale: tuple[uuid.UUID, str, str, Decimal], shuffler: random.Random
) -> None:
    provider_id, category, currency, _ = sale
    shuffled = list(rule_set)
    shuffler.shuffle(shuffled)
    assert choose_rule(shuffled, provider_id=provider_id, category=category, currency=currency) == choose_rule(
        rule_set, provider_id=provider_id, category=category, currency=currency
    )


@given(rules(), st.sampled_from(CURRENCIES), st.data())
def test_a_fee_is_clamped_to_its_bounds_in_the_currencys_steps_and_never_above_the_amount_or_negative(
    rule: Rule, sale_currency: str, data: st.DataObject
) -> None:
    # A rule with money in it applies only to sales in its currency.
    currency = rule.currency or sale_currency
    amount = data.draw(money_amounts(currency))
    fee = fee_of(rule, amount, currency)
    assert Decimal(0) <= fee <= amount
    assert fee % STEPS[currency] == 0
    if rule.max_fee is not None:
        assert fee <= rule.max_fee
    if rule.min_fee is not None:
        assert fee >= min(rule.min_fee, amount)


@given(st.lists(rules(), max_size=12), rules(), sales)
def test_an_active_rule_for_the_provider_beats_any_category_or_global_rule(
    rule_set: list[Rule], provider_rule: Rule, sale: tuple[uuid.UUID, str, str, Decimal]
) -> None:
    provider_id, category, currency, _ = sale
    mine = replace(
        provider_rule,
        scope="provider",
        category=None,
        provider_id=provider_id,
        currency=None if provider_rule.currency is None else currency,
        active=True,
    )
    others = [rule for rule in rule_set if rule.scope != "provider"]
    assert choose_rule([*others, mine], provider_id=provider_id, category=category, currency=currency) == mine


DEFAULTS = [
    Rule(scope="global", percentage=Decimal(15)),
    Rule(scope="category", category="accommodation", percentage=Decimal("7.5")),
    Rule(scope="category", category="activity", percentage=Decimal(15)),
    Rule(scope="category", category="meal", percentage=Decimal(5)),
    Rule(scope="category", category="transport", percentage=Decimal(10)),
]


@pytest.mark.parametrize(
    ("category", "fee"),
    [
        ("accommodation", "15.00"),
        ("activity", "30.00"),
        ("meal", "10.00"),
        ("transport", "20.00"),
        ("tour", "30.00"),
        ("package", "30.00"),
    ],
)
def test_the_defaults_take_the_category_rate_or_15_percent(category: str, fee: str) -> None:
    rule = choose_rule(DEFAULTS, provider_id=PROVIDERS[0], category=category, currency="EUR")
    assert rule is not None
    assert fee_of(rule, Decimal("200.00"), "EUR") == Decimal(fee)


def test_within_a_scope_the_higher_priority_then_the_newer_rule_wins_and_inactive_ones_are_skipped() -> None:
    older = Rule(scope="global", percentage=Decimal(10), created_at=EPOCH)
    newer = Rule(scope="global", percentage=Decimal(12), created_at=EPOCH + timedelta(days=1))
    preferred = Rule(scope="global", percentage=Decimal(20), priority=5, created_at=EPOCH)
    switched_off = Rule(scope="global", percentage=Decimal(1), priority=9, active=False)

    def chosen(*candidates: Rule) -> Rule | None:
        return choose_rule(candidates, provider_id=PROVIDERS[0], category="meal", currency="EUR")

    assert chosen(older, newer) == newer
    assert chosen(older, newer, preferred, switched_off) == preferred
    assert chosen(switched_off) is None


def test_a_rule_in_another_currency_does_not_apply() -> None:
    fixed_in_usd = Rule(scope="category", category="meal", fixed_amount=Decimal(3), currency="USD")
    fallback = Rule(scope="global", percentage=Decimal(15))
    assert choose_rule([fixed_in_usd, fallback], provider_id=PROVIDERS[0], category="meal", currency="EUR") == fallback
    assert (
        choose_rule([fixed_in_usd, fallback], provider_id=PROVIDERS[0], category="meal", currency="USD") == fixed_in_usd
    )


@pytest.mark.parametrize(
    ("rule", "currency", "amount", "fee"),
    [
        (Rule(scope="global", percentage=Decimal(10), min_fee=Decimal(2), currency="EUR"), "EUR", "5.00", "2.00"),
        (Rule(scope="global", percentage=Decimal(10), max_fee=Decimal(50), currency="EUR"), "EUR", "10000.00", "50.00"),
        (Rule(scope="global", percentage=Decimal(10), min_fee=Decimal(5), currency="EUR"), "EUR", "3.00", "3.00"),
        (Rule(scope="global", fixed_amount=Decimal(30), currency="EUR"), "EUR", "20.00", "20.00"),
        (Rule(scope="global", fixed_amount=Decimal("2.50"), currency="EUR"), "EUR", "80.00", "2.50"),
        (Rule(scope="global", percentage=Decimal("7.5")), "EUR", "10.10", "0.76"),
        (Rule(scope="global", percentage=Decimal(0), min_fee=Decimal(1), currency="EUR"), "EUR", "0.00", "0.00"),
        (Rule(scope="global", percentage=Decimal("7.5")), "JPY", "4990", "374"),
        (Rule(scope="global", percentage=Decimal(10), min_fee=Decimal(300), currency="JPY"), "JPY", "999", "300"),
        (Rule(scope="global", percentage=Decimal("7.5")), "KWD", "10.010", "0.750"),
    ],
)
def test_a_fee_is_the_percentage_or_fixed_amount_clamped_and_rounded_half_up_to_the_currencys_step(
    rule: Rule, currency: str, amount: str, fee: str
) -> None:
    assert str(fee_of(rule, Decimal(amount), currency)) == fee


@pytest.mark.parametrize(
    "terms",
    [
        {"scope": "global", "percentage": "10", "fixed_amount": "1.00", "currency": "EUR"},
        {"scope": "global"},
        {"scope": "global", "category": "meal", "percentage": "10"},
        {"scope": "category", "percentage": "10"},
        {"scope": "provider", "category": "meal", "provider_id": str(PROVIDERS[0]), "percentage": "10"},
        {"scope": "global", "percentage": "101"},
        {"scope": "global", "percentage": "10", "min_fee": "5.00", "max_fee": "1.00", "currency": "EUR"},
        {"scope": "global", "fixed_amount": "1.00"},
        {"scope": "global", "percentage": "10", "currency": "EUR"},
        {"scope": "category", "category": "spaceflight", "percentage": "10"},
        {"scope": "global", "fixed_amount": "-1.00", "currency": "EUR"},
        {"scope": "global", "fixed_amount": "1.00", "currency": "XXX"},
        {"scope": "global", "fixed_amount": "1.00", "currency": "ISK"},
        {"scope": "global", "fixed_amount": "100.50", "currency": "JPY"},
    ],
)
def test_an_inconsistent_rule_is_refused(terms: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        FeeTerms.model_validate(terms)
