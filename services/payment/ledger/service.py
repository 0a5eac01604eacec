"""A double-entry ledger: every movement is one transaction whose entries sum to zero.

Accounts: `stripe_balance` (money Stripe holds for us), `provider_payable:<id>` (owed to a
provider), `platform_revenue` (our fees). Positive amounts are debits, negative credits."""

from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.payment.ledger.models import LedgerEntry, LedgerTransaction
from shared.money import money

STRIPE_BALANCE = "stripe_balance"
PLATFORM_REVENUE = "platform_revenue"


def provider_payable(provider_id: UUID) -> str:
    return f"provider_payable:{provider_id}"


@dataclass(frozen=True)
class Posting:
    account: str
    amount: Decimal


class UnbalancedTransaction(ValueError):
    pass


def record(
    session: AsyncSession, *, kind: str, booking_id: UUID, reference: str, currency: str, postings: list[Posting]
) -> LedgerTransaction:
    if sum((posting.amount for posting in postings), Decimal(0)) != 0:
        raise UnbalancedTransaction(f"{kind} {reference} does not balance: {postings}")
    transaction = LedgerTransaction(
        kind=kind,
        booking_id=booking_id,
        reference=reference,
        currency=currency,
        entries=[LedgerEntry(account=posting.account, amount=posting.amount) for posting in postings],
    )
    session.add(transaction)
    return transaction


def capture_postings(*, amount: Decimal, fee_percent: Decimal, provider_id: UUID) -> list[Posting]:
    """A captured payment: Stripe holds it all; the fee is ours, the rest the provider's."""
    fee = money(amount * fee_percent / 100)
    return [
        Posting(STRIPE_BALANCE, amount),
        Posting(PLATFORM_REVENUE, -fee),
        Posting(provider_payable(provider_id), fee - amount),
    ]


def refund_postings(*, refund: Decimal, captured: Decimal, fee_percent: Decimal, provider_id: UUID) -> list[Posting]:
    """A refund takes back from the fee and the provider's share in proportion to the capture."""
    fee_back = money(money(captured * fee_percent / 100) * refund / captured) if captured else Decimal(0)
    return [
        Posting(STRIPE_BALANCE, -refund),
        Posting(PLATFORM_REVENUE, fee_back),
        Posting(provider_payable(provider_id), refund - fee_back),
    ]
