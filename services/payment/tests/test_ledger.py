"""Every movement balances, a refund gives back the fee in proportion, and a full refund gives
every account back exactly what the capture gave."""

import uuid
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given
from hypothesis import strategies as st

from services.payment.ledger.service import Posting, capture_postings, provider_payable, refund_postings

amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000"), places=2)
# A fee as a share of the amount, so it is never more than the amount (as fee rules ensure).
fee_shares = st.decimals(min_value=Decimal("0"), max_value=Decimal("1"), places=4)


def _fee(amount: Decimal, share: Decimal) -> Decimal:
    return (amount * share).quantize(Decimal("0.01"))


def _balances(*transactions: list[Posting]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for postings in transactions:
        for posting in postings:
            totals[posting.account] += posting.amount
    return dict(totals)


@given(amounts, fee_shares)
def test_a_capture_balances_and_splits_into_the_fee_and_the_providers_share(amount: Decimal, share: Decimal) -> None:
    provider = uuid.uuid4()
    fee = _fee(amount, share)
    postings = capture_postings(amount=amount, fee=fee, provider_id=provider)
    assert sum(posting.amount for posting in postings) == 0
    balances = _balances(postings)
    assert balances["stripe_balance"] == amount
    assert balances["platform_revenue"] == -fee
    assert balances[provider_payable(provider)] == fee - amount


@given(amounts, fee_shares, st.integers(min_value=1, max_value=100))
def test_a_refund_balances_and_gives_back_the_fee_in_proportion(amount: Decimal, share: Decimal, percent: int) -> None:
    provider = uuid.uuid4()
    fee = _fee(amount, share)
    refund = (amount * percent / 100).quantize(Decimal("0.01"))
    postings = refund_postings(refund=refund, captured=amount, fee=fee, provider_id=provider)
    assert sum(posting.amount for posting in postings) == 0
    balances = _balances(postings)
    assert balances["stripe_balance"] == -refund
    # The fee given back is the refunded share of the fee, to the cent, halves rounded up.
    assert balances["platform_revenue"] == (fee * refund / amount).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert 0 <= balances["platform_revenue"] <= fee


@given(amounts, fee_shares)
def test_a_full_refund_undoes_the_capture_exactly(amount: Decimal, share: Decimal) -> None:
    provider = uuid.uuid4()
    fee = _fee(amount, share)
    capture = capture_postings(amount=amount, fee=fee, provider_id=provider)
    full = refund_postings(refund=amount, captured=amount, fee=fee, provider_id=provider)
    assert all(balance == 0 for balance in _balances(capture, full).values())


def test_a_refund_of_a_cent_rounds_the_fee_back_to_the_cent() -> None:
    provider = uuid.uuid4()
    postings = refund_postings(
        refund=Decimal("0.01"), captured=Decimal("88.00"), fee=Decimal("13.20"), provider_id=provider
    )
    assert _balances(postings)["platform_revenue"] == Decimal("0.00")
    half = refund_postings(
        refund=Decimal("44.00"), captured=Decimal("88.00"), fee=Decimal("13.20"), provider_id=provider
    )
    assert _balances(half) == {
        "stripe_balance": Decimal("-44.00"),
        "platform_revenue": Decimal("6.60"),
        provider_payable(provider): Decimal("37.40"),
    }
