"""The pure rules of Connect and payouts: when an account counts as verified, when a booking's
money is due by the policy, and how debts are netted from a payout."""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from services.payment.connect.domain import AccountStatus, is_verified
from services.payment.payouts.domain import PolicyRule, due_at, net_debts, tier_of

VERIFIED = AccountStatus(
    charges_enabled=True,
    payouts_enabled=True,
    details_submitted=True,
    currently_due=(),
    past_due=(),
    pending_verification=(),
    disabled_reason=None,
)


def test_an_account_is_verified_only_when_stripe_needs_nothing_more_and_it_charges_and_pays_out() -> None:
    assert is_verified(VERIFIED)
    for short in (
        {"charges_enabled": False},
        {"payouts_enabled": False},
        {"details_submitted": False},
        {"currently_due": ("external_account",)},
        {"past_due": ("tos_acceptance.date",)},
        {"pending_verification": ("individual.verification.document",)},
        {"disabled_reason": "under_review"},
    ):
        assert not is_verified(AccountStatus(**(VERIFIED.__dict__ | short))), short
    assert (tier_of(verified=True), tier_of(verified=False)) == ("verified", "new")


def test_the_seeded_policy_pays_new_providers_a_day_after_the_service_and_verified_ones_at_confirmation() -> None:
    confirmed_at = datetime(2031, 6, 1, 12, 0, tzinfo=UTC)
    service_ends_at = datetime(2031, 6, 20, 18, 0, tzinfo=UTC)
    new = PolicyRule(anchor="service_end", delay=timedelta(hours=24))
    verified = PolicyRule(anchor="confirmation", delay=timedelta(0))
    assert due_at(new, confirmed_at=confirmed_at, service_ends_at=service_ends_at) == service_ends_at + timedelta(
        hours=24
    )
    assert due_at(verified, confirmed_at=confirmed_at, service_ends_at=service_ends_at) == confirmed_at


money = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("10000"), places=2)


@given(owed=money, debts=st.lists(money, max_size=6))
def test_netting_takes_debts_oldest_first_and_never_more_than_is_owed_or_was_owed_back(
    owed: Decimal, debts: list[Decimal]
) -> None:
    bookings = [(uuid.uuid4(), debt) for debt in debts]
    taken = net_debts(owed, bookings)
    assert sum((netting.amount for netting in taken), Decimal(0)) == min(owed, sum(debts, Decimal(0)))
    for netting, (booking_id, debt) in zip(taken, bookings, strict=False):
        assert netting.debtor_booking_id == booking_id
        assert 0 < netting.amount <= debt
    assert all(netting.amount == debt for netting, (_, debt) in zip(taken[:-1], bookings, strict=False))
