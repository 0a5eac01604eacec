"""Platform fee rules, pure: which rule applies to a sale and what fee it takes.

A rule is global, for a listing category or for one provider. Among the active rules that
match a sale, the most specific scope wins (provider > category > global); within a scope the
highest `priority`, then the newest. A rule takes a percentage of the amount or a fixed amount
(exactly one), clamped to [min_fee, max_fee], never more than the amount and never negative.
Fixed amounts and clamps are money, so a rule with any of them has a currency and applies only
to sales in it; a percentage-only rule applies in every currency. A fee is rounded half up to
the smallest step of the sale's currency (a yen, a cent, ten fils), and so are the clamps.
"""

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Literal, Protocol, Self, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.money import CurrencyCode, exact_amount, money

Scope = Literal["global", "category", "provider"]
Category = Literal["activity", "tour", "accommodation", "transport", "meal", "package"]

SCOPE_RANK: dict[str, int] = {"provider": 2, "category": 1, "global": 0}
HUNDRED = Decimal(100)


class FeeTerms(BaseModel):
    """What a rule matches and what it charges, valid together."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scope: Scope
    category: Category | None = None
    provider_id: UUID | None = None
    percentage: Decimal | None = Field(default=None, ge=0, le=100, decimal_places=4)
    fixed_amount: Decimal | None = Field(default=None, ge=0, le=1_000_000, decimal_places=2)
    min_fee: Decimal | None = Field(default=None, ge=0, le=1_000_000, decimal_places=2)
    max_fee: Decimal | None = Field(default=None, ge=0, le=1_000_000, decimal_places=2)
    currency: CurrencyCode | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if (self.category is not None) != (self.scope == "category"):
            raise ValueError("category is given for category rules, and only for them")
        if (self.provider_id is not None) != (self.scope == "provider"):
            raise ValueError("provider_id is given for provider rules, and only for them")
        if (self.percentage is None) == (self.fixed_amount is None):
            raise ValueError("a rule takes either a percentage or a fixed_amount")
        if self.min_fee is not None and self.max_fee is not None and self.min_fee > self.max_fee:
            raise ValueError("min_fee is above max_fee")
        has_money = any(value is not None for value in (self.fixed_amount, self.min_fee, self.max_fee))
        if has_money != (self.currency is not None):
            raise ValueError("a currency is given when, and only when, a fixed_amount, min_fee or max_fee is")
        if self.currency is not None:
            for amount in (self.fixed_amount, self.min_fee, self.max_fee):
                if amount is not None:
                    exact_amount(amount, self.currency)
        return self


class FeeRuleLike(Protocol):
    """A stored rule as the rules read it (the table's row is one)."""

    @property
    def id(self) -> UUID: ...
    @property
    def scope(self) -> str: ...
    @property
    def category(self) -> str | None: ...
    @property
    def provider_id(self) -> UUID | None: ...
    @property
    def percentage(self) -> Decimal | None: ...
    @property
    def fixed_amount(self) -> Decimal | None: ...
    @property
    def min_fee(self) -> Decimal | None: ...
    @property
    def max_fee(self) -> Decimal | None: ...
    @property
    def currency(self) -> str | None: ...
    @property
    def priority(self) -> int: ...
    @property
    def active(self) -> bool: ...
    @property
    def created_at(self) -> datetime: ...


Rule = TypeVar("Rule", bound=FeeRuleLike)


def matches(rule: FeeRuleLike, *, provider_id: UUID, category: str, currency: str) -> bool:
    if not rule.active or rule.currency not in (None, currency):
        return False
    if rule.scope == "provider":
        return rule.provider_id == provider_id
    if rule.scope == "category":
        return rule.category == category
    return rule.scope == "global"


def choose_rule(rules: Iterable[Rule], *, provider_id: UUID, category: str, currency: str) -> Rule | None:
    """The rule that applies to a sale of `provider_id`'s listing in `category`, if any does."""
    candidates = [
        rule for rule in rules if matches(rule, provider_id=provider_id, category=category, currency=currency)
    ]
    # The id only breaks exact ties, so the same rules always give the same answer.
    return max(
        candidates,
        key=lambda rule: (SCOPE_RANK[rule.scope], rule.priority, rule.created_at, str(rule.id)),
        default=None,
    )


def fee_of(rule: FeeRuleLike, amount: Decimal, currency: str) -> Decimal:
    """The fee `rule` takes from `amount` (in `currency`), to the currency's smallest step."""
    if rule.percentage is not None:
        fee = money(amount * rule.percentage / HUNDRED, currency)
    else:
        assert rule.fixed_amount is not None
        fee = money(rule.fixed_amount, currency)
    if rule.min_fee is not None:
        fee = max(fee, rule.min_fee)
    if rule.max_fee is not None:
        fee = min(fee, rule.max_fee)
    return money(max(min(fee, amount), Decimal(0)), currency)
