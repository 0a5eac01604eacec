"""Credit rules, pure: how much credit a checkout takes, and how a refund of a payment made
partly with credit is split between the credit and the card.

A checkout takes the least of the traveler's available credit, what is due now and the limit
they set. A refund gives back credit and card in the shares they paid (the credit part
rounded to the currency's step, the card the rest), never more of either than is left of it;
refunds of everything give back exactly what each paid."""

from dataclasses import dataclass
from decimal import Decimal

from shared.money import money


def credit_to_use(*, available: Decimal, due: Decimal, limit: Decimal | None) -> Decimal:
    """What a checkout takes of the traveler's credit: never below zero, never above the limit."""
    ceiling = due if limit is None else min(due, limit)
    return max(min(available, ceiling), Decimal(0))


@dataclass(frozen=True)
class PaidSoFar:
    """A payment's two parts and what has been given back of each."""

    credit: Decimal
    card: Decimal
    credit_refunded: Decimal
    card_refunded: Decimal


@dataclass(frozen=True)
class RefundSplit:
    to_credit: Decimal
    to_card: Decimal


def split_refund(amount: Decimal, *, paid: PaidSoFar, currency: str) -> RefundSplit:
    """Split a refund of at most what is left of the payment between its credit and card parts."""
    credit_left = paid.credit - paid.credit_refunded
    card_left = paid.card - paid.card_refunded
    amount = min(amount, credit_left + card_left)
    total = paid.credit + paid.card
    in_share = money(amount * paid.credit / total, currency) if total else Decimal(0)
    to_card = min(amount - min(in_share, credit_left), card_left)
    return RefundSplit(to_credit=amount - to_card, to_card=to_card)
