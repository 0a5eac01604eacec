"""Every movement balances, and a full refund gives every account back what the capture gave."""

import uuid
from collections import defaultdict
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from services.payment.ledger.service import Posting, capture_postings, refund_postings

amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000"), places=2)
percents = st.decimals(min_value=Decimal("0"), max_value=Decimal("100"), places=2)


def _balances(*transactions: list[Posting]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for postings in transactions:
        for posting in postings:
            totals[posting.account] += posting.amount
    return dict(totals)


@given(amounts, percents)
def test_a_capture_balances_and_splits_into_fee_and_provider_share(amount: Decimal, fee_percent: Decimal) -> None:
    provider = uuid.uuid4()
    postings = capture_postings(amount=amount, fee_percent=fee_percent, provider_id=provider)
    assert sum(posting.amount for posting in postings) == 0
    balances = _balances(postings)
    assert balances["stripe_balance"] == amount
    assert -balances["platform_revenue"] - balances[f"provider_payable:{provider}"] == amount


@given(amounts, percents, st.integers(min_value=1, max_value=100))
def test_a_refund_balances_and_a_full_one_undoes_the_capture(amount: Decimal, fee_percent: Decimal, share: int) -> None:
    provider = uuid.uuid4()
    refund = (amount * share / 100).quantize(Decimal("0.01"))
    partial = refund_postings(refund=refund, captured=amount, fee_percent=fee_percent, provider_id=provider)
    assert sum(posting.amount for posting in partial) == 0

    capture = capture_postings(amount=amount, fee_percent=fee_percent, provider_id=provider)
    full = refund_postings(refund=amount, captured=amount, fee_percent=fee_percent, provider_id=provider)
    assert all(balance == 0 for balance in _balances(capture, full).values())
