"""Every movement balances, a refund gives back the fee in proportion, and a full refund gives
every account back exactly what the capture gave."""

import uuid
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given
from hypothesis import strategies as st

from services.payment.ledger.service import Posting, capture_postings, provider_payable, refund_postings

# Each currency's smallest step, from ISO 4217 and Stripe's tens of fils for three-decimal ones.
STEPS = {"EUR": Decimal("0.01"), "JPY": Decimal(1), "KWD": Decimal("0.01")}
# A currency and an amount in its steps.
amounts = st.sampled_from(sorted(STEPS)).flatmap(
    lambda currency: st.tuples(st.just(currency), st.integers(1, 10_000_000).map(lambda steps: steps * STEPS[currency]))
)
# A fee as a share of the amount, so it is never more than the amount (as fee rules ensure).
fee_shares = st.decimals(min_value=Decimal("0"), max_value=Decimal("1"), places=4)


def _in_steps(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(STEPS[currency], rounding=ROUND_HALF_UP)


def _balances(*transactions: list[Posting]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for postings in transactions:
        for posting in postings:
            totals[posting.account] += posting.amount
    return dict(totals)


@given(amounts, fee_shares)
def test_a_capture_balances_and_splits_into_the_fee_and_the_providers_share(
    sale: tuple[str, Decimal], share: Decimal
) -> None:
    currency, amount = sale
    provider = uuid.uuid4()
    fee = _in_steps(amount * share, currency)
    postings = capture_postings(amount=amount, fee=fee, provider_id=provider)
    assert sum(posting.amount for posting in postings) == 0
    balances = _balances(postings)
    assert balances["stripe_balance"] == amount
    assert balances["platform_revenue"] == -fee
    assert balances[provider_payable(provider)] == fee - amount


@given(amounts, fee_shares, st.integers(min_value=1, max_value=100))
def test_a_refund_balances_and_gives_back_the_fee_in_proportion_in_the_currencys_steps(
    sale: tuple[str, Decimal], share: Decimal, percent: int
) -> None:
    currency, amount = sale
    provider = uuid.uuid4()
    fee = _in_steps(amount * share, currency)
    refund = _in_steps(amount * percent / 100, currency)
    postings = refund_postings(refund=refund, captured=amount, fee=fee, provider_id=provider, currency=currency)
    assert sum(posting.amount for posting in postings) == 0
    balances = _balances(postings)
    assert balances["stripe_balance"] == -refund
    # The fee given back is the refunded share of the fee, to the currency's step, halves up.
    assert balances["platform_revenue"] == _in_steps(fee * refund / amount, currency)
    assert 0 <= balances["platform_revenue"] <= fee
    assert all(posting.amount % STEPS[currency] == 0 for posting in postings)


@given(amounts, fee_shares)
def test_a_full_refund_undoes_the_capture_exactly(sale: tuple[str, Decimal], share: Decimal) -> None:
    currency, amount = sale
    provider = uuid.uuid4()
    fee = _in_steps(amount * share, currency)
    capture = capture_postings(amount=amount, fee=fee, provider_id=provider)
    full = refund_postings(refund=amount, captured=amount, fee=fee, provider_id=provider, currency=currency)
    assert all(balance == 0 for balance in _balances(capture, full).values())


def test_a_refund_of_a_cent_rounds_the_fee_back_to_the_cent() -> None:
    provider = uuid.uuid4()
    postings = refund_postings(
        refund=Decimal("0.01"), captured=Decimal("88.00"), fee=Decimal("13.20"), provider_id=provider, currency="EUR"
    )
    assert _balances(postings)["platform_revenue"] == Decimal("0.00")
    half = refund_postings(
        refund=Decimal("44.00"), captured=Decimal("88.00"), fee=Decimal("13.20"), provider_id=provider, currency="EUR"
    )
    assert _balances(half) == {
        "stripe_balance": Decimal("-44.00"),
        "platform_revenue": Decimal("6.60"),
        provider_payable(provider): Decimal("37.40"),
    }


def test_half_a_yen_payment_gives_back_half_its_fee_in_whole_yen() -> None:
    provider = uuid.uuid4()
    half = refund_postings(
        refund=Decimal(2500), captured=Decimal(5000), fee=Decimal(751), provider_id=provider, currency="JPY"
    )
    assert _balances(half)["platform_revenue"] == Decimal(376)  # 375.5 → 376
