"""How each kind of ledger transaction counts to revenue, and that the counts agree with the
ledger's accounts: for any run of captures and refunds of a booking, GMV less refunds less fees
is what the provider was credited, fees are what platform_revenue was credited, and what Stripe
got is GMV less refunds less what credit paid."""

import uuid
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given
from hypothesis import strategies as st

from services.analytics.revenue.domain import (
    Amounts,
    Attribution,
    BookingFacts,
    Movement,
    attribute,
    classify,
)

PROVIDER, OTHER, EXPERT, TRAVELER = (uuid.uuid4() for _ in range(4))
PAYABLE, OTHER_PAYABLE = f"provider_payable:{PROVIDER}", f"provider_payable:{OTHER}"
CREDIT = f"traveler_credit:{TRAVELER}"
CENT = Decimal("0.01")

Entries = list[tuple[str, Decimal]]


def _capture(amount: Decimal, fee: Decimal, credit: Decimal = Decimal(0)) -> Entries:
    """Payment's capture postings (services/payment/ledger/service.py), credit part included."""
    entries = [("stripe_balance", amount), (PAYABLE, -amount), (PAYABLE, fee), ("platform_revenue", -fee)]
    if credit:
        entries += [(CREDIT, credit), ("stripe_balance", -credit)]
    return entries


def _refund(amount: Decimal, fee_back: Decimal, *, to_credit: bool = False) -> Entries:
    return [
        (CREDIT if to_credit else "stripe_balance", -amount),
        (PAYABLE, amount),
        (PAYABLE, -fee_back),
        ("platform_revenue", fee_back),
    ]


def test_a_capture_counts_the_sale_its_fee_and_the_credit_that_paid_part_of_it() -> None:
    assert classify("capture", _capture(Decimal("80.00"), Decimal("12.00"), Decimal("10.00"))) == [
        Movement(PROVIDER, Amounts(gmv=Decimal("80.00"), platform_fees=Decimal("12.00"))),
        Movement(None, Amounts(credits_spent=Decimal("10.00"))),
    ]


def test_a_refund_counts_what_went_back_and_the_fee_given_back() -> None:
    assert classify("refund", _refund(Decimal("40.00"), Decimal("6.00"), to_credit=True)) == [
        Movement(PROVIDER, Amounts(refunds=Decimal("40.00"), platform_fees=Decimal("-6.00"))),
        Movement(None, Amounts(credits_spent=Decimal("-40.00"))),
    ]


def test_a_carts_capture_counts_each_providers_share_apart() -> None:
    entries = [
        ("stripe_balance", Decimal(100)),
        (PAYABLE, Decimal(-60)),
        (PAYABLE, Decimal(9)),
        (OTHER_PAYABLE, Decimal(-40)),
        (OTHER_PAYABLE, Decimal(6)),
        ("platform_revenue", Decimal(-15)),
    ]
    assert sorted(classify("capture", entries), key=lambda movement: str(movement.provider_id)) == sorted(
        [
            Movement(PROVIDER, Amounts(gmv=Decimal(60), platform_fees=Decimal(9))),
            Movement(OTHER, Amounts(gmv=Decimal(40), platform_fees=Decimal(6))),
        ],
        key=lambda movement: str(movement.provider_id),
    )


def test_credit_granted_experts_fees_and_payouts_count_as_theirs() -> None:
    assert classify("credit_grant", [("platform_credit_expense", Decimal(5)), (CREDIT, Decimal(-5))]) == [
        Movement(None, Amounts(credits=Decimal(5)))
    ]
    assert classify("expert_fee", [("platform_revenue", Decimal(-2)), (f"expert_payable:{EXPERT}", Decimal(2))]) == [
        Movement(None, Amounts(expert_fees=Decimal(-2)))
    ]
    assert classify("payout", [(PAYABLE, Decimal(68)), ("stripe_balance", Decimal(-68))]) == [
        Movement(PROVIDER, Amounts(payouts=Decimal(68)))
    ]
    assert classify("payout", [(f"expert_payable:{EXPERT}", Decimal(3)), ("stripe_balance", Decimal(-3))]) == [
        Movement(None, Amounts(expert_payouts=Decimal(3)))
    ]


def test_a_kind_revenue_does_not_know_counts_nothing() -> None:
    assert classify("write_off", [(PAYABLE, Decimal(5)), ("platform_revenue", Decimal(-5))]) == []


def test_a_movement_counts_to_the_bookings_listing_only_when_it_is_its_providers() -> None:
    booking = BookingFacts(PROVIDER, uuid.uuid4(), "tour")
    assert attribute(PROVIDER, booking) == Attribution(PROVIDER, booking.listing_id, "tour")
    assert attribute(None, booking) == Attribution(PROVIDER, booking.listing_id, "tour")
    assert attribute(OTHER, booking) == Attribution(OTHER, None, None)
    assert attribute(PROVIDER, None) == Attribution(PROVIDER, None, None)
    assert attribute(None, None) == Attribution(None, None, None)


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


captures = st.tuples(
    st.integers(1, 1_000_000).map(lambda cents: Decimal(cents) * CENT),  # amount
    st.decimals(min_value=0, max_value=Decimal("0.3"), places=3),  # fee as a share
    st.decimals(min_value=0, max_value=1, places=2),  # the share paid with credit
    st.lists(st.tuples(st.decimals(min_value=0, max_value=1, places=2), st.booleans()), max_size=3),  # refunds
)


@given(st.lists(captures, min_size=1, max_size=4))
def test_revenue_of_any_captures_and_refunds_agrees_with_the_ledgers_accounts(
    payments: list[tuple[Decimal, Decimal, Decimal, list[tuple[Decimal, bool]]]],
) -> None:
    transactions: list[tuple[str, Entries]] = []
    for amount, fee_share, credit_share, refunds in payments:
        fee, credit = _cents(amount * fee_share), _cents(amount * credit_share)
        transactions.append(("capture", _capture(amount, fee, credit)))
        left = amount
        for part, to_credit in refunds:
            refunded = min(_cents(amount * part), left)
            left -= refunded
            transactions.append(("refund", _refund(refunded, _cents(fee * refunded / amount), to_credit=to_credit)))

    total = Amounts()
    balances: dict[str, Decimal] = defaultdict(Decimal)
    for kind, entries in transactions:
        for movement in classify(kind, entries):
            total += movement.amounts
        for account, value in entries:
            balances[account] += value

    assert total.gmv - total.refunds - total.platform_fees == -balances[PAYABLE]
    assert total.platform_fees == -balances["platform_revenue"]
    assert total.credits_spent == balances[CREDIT]
    assert total.gmv - total.refunds - total.credits_spent == balances["stripe_balance"]
