"""The cancellation rules, against the platform's default policy and over generated policies."""

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.booking.cancellations.domain import CancellationPolicy, settle
from shared.contracts.inventory_api import RefundTier

# What a booking made under the platform's policy keeps (`{}`, as a listing that names none).
DEFAULT = CancellationPolicy.model_validate({})
# Each currency's smallest step, from ISO 4217 and Stripe's tens of fils for three-decimal ones.
STEPS = {"EUR": Decimal("0.01"), "JPY": Decimal(1), "KWD": Decimal("0.01")}
payments = st.sampled_from(sorted(STEPS)).flatmap(
    lambda currency: st.tuples(st.just(currency), st.integers(0, 10_000_000).map(lambda steps: steps * STEPS[currency]))
)
durations = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400))


@pytest.mark.parametrize(
    ("days_before", "percent"),
    [(20, 100), (14, 100), (13.9, 50), (10, 50), (7, 50), (6.9, 0), (3, 0), (0, 0)],
)
def test_the_default_policy_refunds_everything_from_14_days_half_from_7_and_nothing_later(
    days_before: float, percent: int
) -> None:
    settled = settle(
        paid=Decimal("88.00"),
        policy=DEFAULT,
        before_start=timedelta(days=days_before),
        cancelled_by="traveler",
        provider_credit=Decimal(50),
        currency="EUR",
    )
    assert (settled.refund_percent, settled.refund, settled.credit) == (
        Decimal(percent),
        Decimal("88.00") * percent / 100,
        Decimal("0.00"),
    )


def test_a_provider_cancellation_refunds_everything_with_a_credit_whenever_it_comes() -> None:
    for before in (timedelta(days=30), timedelta(hours=1)):
        settled = settle(
            paid=Decimal("88.00"),
            policy=DEFAULT,
            before_start=before,
            cancelled_by="provider",
            provider_credit=Decimal(50),
            currency="EUR",
        )
        assert (settled.refund, settled.credit) == (Decimal("88.00"), Decimal("50.00"))


policies = st.lists(
    st.builds(
        RefundTier,
        min_days_before=st.integers(min_value=0, max_value=365),
        refund_percent=st.decimals(min_value=0, max_value=100, places=2),
    ),
    max_size=6,
    unique_by=lambda tier: tier.min_days_before,
).map(
    # Sorted by days, percents made to never fall as the days grow: a valid policy.
    lambda tiers: [
        RefundTier(min_days_before=tier.min_days_before, refund_percent=percent)
        for tier, percent in zip(
            sorted(tiers, key=lambda tier: tier.min_days_before),
            sorted(tier.refund_percent for tier in tiers),
            strict=True,
        )
    ]
)


@given(policies, payments, durations, durations)
def test_a_refund_never_exceeds_what_was_paid_moves_in_the_currencys_steps_and_earlier_never_refunds_less(
    tiers: list[RefundTier], payment: tuple[str, Decimal], earlier_gap: timedelta, later_gap: timedelta
) -> None:
    currency, paid = payment
    policy = CancellationPolicy(tiers=tuple(tiers))
    earlier, later = max(earlier_gap, later_gap), min(earlier_gap, later_gap)
    refunds = [
        settle(
            paid=paid,
            policy=policy,
            before_start=before,
            cancelled_by="traveler",
            provider_credit=Decimal(0),
            currency=currency,
        )
        for before in (earlier, later)
    ]
    assert all(Decimal(0) <= refund.refund <= paid for refund in refunds)
    assert all(refund.refund % STEPS[currency] == 0 for refund in refunds)
    # Rounded half up from the exact share, by less than half a step.
    for refund in refunds:
        assert abs(refund.refund - paid * refund.refund_percent / 100) <= STEPS[currency] / 2
    assert refunds[0].refund >= refunds[1].refund
    # The plain reference: the best tier the cancellation reaches, else nothing.
    reached = [tier.refund_percent for tier in tiers if later >= timedelta(days=tier.min_days_before)]
    assert refunds[1].refund_percent == max(reached, default=Decimal(0))


@pytest.mark.parametrize(
    ("paid", "currency", "refund"),
    [("999", "JPY", "500"), ("88.01", "EUR", "44.01"), ("10.010", "KWD", "5.010"), ("10.030", "KWD", "5.020")],
)
def test_half_a_payment_back_is_rounded_half_up_to_the_currencys_step(paid: str, currency: str, refund: str) -> None:
    settled = settle(
        paid=Decimal(paid),
        policy=DEFAULT,
        before_start=timedelta(days=10),
        cancelled_by="traveler",
        provider_credit=Decimal(0),
        currency=currency,
    )
    assert str(settled.refund) == refund
