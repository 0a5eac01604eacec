"""The credit rules: a checkout never takes more credit than there is, is due or was allowed;
refunds split between credit and card never give back more of either than it paid, and
refunding everything, in any steps, gives back exactly what each paid."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from services.payment.credits.domain import PaidSoFar, credit_to_use, split_refund

amounts = st.decimals(min_value=Decimal("0.00"), max_value=Decimal("10000"), places=2)
positive = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("10000"), places=2)


@given(amounts, positive, st.none() | positive)
def test_a_checkout_takes_the_least_of_the_credit_what_is_due_and_the_limit(
    available: Decimal, due: Decimal, limit: Decimal | None
) -> None:
    taken = credit_to_use(available=available, due=due, limit=limit)
    assert taken == min(available, due, due if limit is None else limit)
    assert 0 <= taken <= due


@given(amounts, amounts, st.lists(positive, min_size=1, max_size=6), st.sampled_from(["EUR", "JPY", "KWD"]))
def test_refunds_in_any_steps_split_by_share_and_end_at_exactly_what_each_part_paid(
    credit: Decimal, card: Decimal, steps: list[Decimal], currency: str
) -> None:
    if currency == "JPY":
        credit, card, steps = (
            credit.quantize(Decimal(1)),
            card.quantize(Decimal(1)),
            [s.quantize(Decimal(1)) for s in steps],
        )
    paid = PaidSoFar(credit=credit, card=card, credit_refunded=Decimal(0), card_refunded=Decimal(0))
    for step in [*steps, credit + card]:
        split = split_refund(step, paid=paid, currency=currency)
        assert split.to_credit >= 0
        assert split.to_card >= 0
        assert split.to_credit + split.to_card == min(step, credit + card - paid.credit_refunded - paid.card_refunded)
        paid = PaidSoFar(
            credit=credit,
            card=card,
            credit_refunded=paid.credit_refunded + split.to_credit,
            card_refunded=paid.card_refunded + split.to_card,
        )
        assert paid.credit_refunded <= credit
        assert paid.card_refunded <= card
    assert (paid.credit_refunded, paid.card_refunded) == (credit, card)


def test_a_half_refund_of_a_payment_five_eighths_credit_gives_back_five_eighths_as_credit() -> None:
    paid = PaidSoFar(
        credit=Decimal("50.00"), card=Decimal("30.00"), credit_refunded=Decimal(0), card_refunded=Decimal(0)
    )
    split = split_refund(Decimal("40.00"), paid=paid, currency="EUR")
    assert (split.to_credit, split.to_card) == (Decimal("25.00"), Decimal("15.00"))
    third = split_refund(Decimal("10.00"), paid=paid, currency="EUR")
    assert (third.to_credit, third.to_card) == (Decimal("6.25"), Decimal("3.75"))
