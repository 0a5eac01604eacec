"""Cancellation rules, pure: how much of what was paid goes back, and what credit comes with it.

A listing's policy is a set of tiers: cancelled at least `min_days_before` days before the
start, the traveler gets `refund_percent` of what they paid back; the tier with the most days
that the cancellation still reaches applies, and none means no refund. The default is the
platform's: 14 days or more, everything; 7 to 14 days, half; under 7 days, nothing. A
provider who cancels refunds everything and owes the traveler a credit on top.
"""

import itertools
from datetime import timedelta
from decimal import Decimal
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.money import money

HUNDRED = Decimal(100)

CancelledBy = Literal["traveler", "provider"]


class RefundTier(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    min_days_before: int = Field(ge=0, le=365)
    refund_percent: Decimal = Field(ge=0, le=100, decimal_places=2)


DEFAULT_TIERS = (
    RefundTier(min_days_before=14, refund_percent=Decimal(100)),
    RefundTier(min_days_before=7, refund_percent=Decimal(50)),
)


class CancellationPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    tiers: tuple[RefundTier, ...] = Field(default=DEFAULT_TIERS, max_length=10)

    @model_validator(mode="after")
    def _earlier_never_refunds_less(self) -> Self:
        ordered = sorted(self.tiers, key=lambda tier: tier.min_days_before)
        if len({tier.min_days_before for tier in ordered}) != len(ordered):
            raise ValueError("two tiers start at the same number of days")
        if any(later.refund_percent < earlier.refund_percent for earlier, later in itertools.pairwise(ordered)):
            raise ValueError("cancelling earlier must never refund less")
        return self

    def refund_percent(self, *, before_start: timedelta) -> Decimal:
        reached = [tier for tier in self.tiers if before_start >= timedelta(days=tier.min_days_before)]
        return max((tier.refund_percent for tier in reached), default=Decimal(0))


class Settlement(BaseModel):
    """What a cancellation gives back: a refund of what was paid, and a credit."""

    model_config = ConfigDict(frozen=True)

    refund_percent: Decimal
    refund: Decimal
    credit: Decimal


def settle(
    *,
    paid: Decimal,
    policy: CancellationPolicy,
    before_start: timedelta,
    cancelled_by: CancelledBy,
    provider_credit: Decimal,
    currency: str,
) -> Settlement:
    """A traveler gets the policy's share of what they paid; a provider's cancellation refunds
    everything and adds `provider_credit`. Amounts are rounded half up to the currency's
    smallest step (half of 999 JPY is 500)."""
    if cancelled_by == "provider":
        return Settlement(refund_percent=HUNDRED, refund=money(paid, currency), credit=money(provider_credit, currency))
    percent = policy.refund_percent(before_start=before_start)
    return Settlement(
        refund_percent=percent, refund=money(paid * percent / HUNDRED, currency), credit=money(Decimal(0), currency)
    )
