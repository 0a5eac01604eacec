"""Cancellation rules, pure: how much of what was paid goes back, and what credit comes with it.

A listing's policy (inventory's, kept on the booking as it was when booked) is a set of tiers:
cancelled at least `min_days_before` days before the start, the traveler gets `refund_percent`
of what they paid back; the tier with the most days that the cancellation still reaches
applies, and none means no refund. A provider who cancels refunds everything and owes the
traveler a credit on top.
"""

from datetime import timedelta
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

from shared.contracts import inventory_api
from shared.money import money

HUNDRED = Decimal(100)

CancelledBy = Literal["traveler", "provider"]


class CancellationPolicy(inventory_api.CancellationPolicy):
    """The listing's policy (the contract's shape; inventory checked it) as booking applies it."""

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
