"""A double-entry ledger: every movement is one transaction whose entries sum to zero.

Accounts: `stripe_balance` (money at Stripe not yet paid out: our balance, and what connected
accounts hold under manual payouts until we pay them out), `provider_payable:<id>` (owed to a
provider), `expert_payable:<id>` (owed to an expert: their part of our fee), `platform_revenue`
(our fees), `traveler_credit:<id>` (credit owed to a traveler, spendable at checkout),
`platform_credit_expense` (what the platform gave away as credit). Positive amounts are debits,
negative credits.

Travelers' credits are funded by the platform: a provider's cancellation refunds the traveler
in full, and the credit on top is the platform's goodwill, posted as its expense when it is
granted (provider_payable is left alone: what a provider owes back is netted by the payouts of
their bookings only). Spent at checkout, the credit pays the provider's share like a card
would: the capture's money comes from the traveler's credit instead of Stripe. A refund of a
booking paid partly with credit gives the credit part back to the traveler's credit."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID, uuid4

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.payment.ledger.models import LedgerEntry, LedgerTransaction
from shared.contracts.payment import LedgerLine, LedgerTransactionRecorded
from shared.events.outbox import add_event
from shared.money import money

PRODUCER = "payment"

STRIPE_BALANCE = "stripe_balance"
PLATFORM_REVENUE = "platform_revenue"


PLATFORM_CREDIT_EXPENSE = "platform_credit_expense"


def traveler_credit(traveler_id: UUID) -> str:
    return f"traveler_credit:{traveler_id}"


def provider_payable(provider_id: UUID) -> str:
    return f"provider_payable:{provider_id}"


def expert_payable(expert_id: UUID) -> str:
    return f"expert_payable:{expert_id}"


@dataclass(frozen=True)
class Posting:
    account: str
    amount: Decimal


class UnbalancedTransaction(ValueError):
    pass


def record(
    session: AsyncSession,
    *,
    kind: str,
    booking_id: UUID,
    reference: str,
    currency: str,
    postings: list[Posting],
    now: datetime,
) -> LedgerTransaction:
    """Write one transaction, and announce it (`payment.ledger_transaction_recorded`, through the
    outbox in the caller's transaction): what analytics' revenue is built from."""
    if sum((posting.amount for posting in postings), Decimal(0)) != 0:
        raise UnbalancedTransaction(f"{kind} {reference} does not balance: {postings}")
    transaction = LedgerTransaction(
        id=uuid4(),
        kind=kind,
        booking_id=booking_id,
        reference=reference,
        currency=currency,
        occurred_at=now,
        entries=[LedgerEntry(account=posting.account, amount=posting.amount) for posting in postings],
    )
    session.add(transaction)
    add_event(
        session,
        LedgerTransactionRecorded(
            transaction_id=transaction.id,
            kind=kind,
            booking_id=booking_id,
            reference=reference,
            currency=currency,
            occurred_at=now,
            entries=[LedgerLine(account=posting.account, amount=posting.amount) for posting in postings],
        ),
        producer=PRODUCER,
        key=str(booking_id),
        occurred_at=now,
    )
    return transaction


def capture_postings(*, amount: Decimal, fee: Decimal, provider_id: UUID) -> list[Posting]:
    """A captured share: Stripe holds it all; the provider is owed the sale, less our fee.

    The sale and the fee are separate lines on the provider's account, so their earnings show
    gross sales and fees apart."""
    return [
        Posting(STRIPE_BALANCE, amount),
        Posting(provider_payable(provider_id), -amount),
        Posting(provider_payable(provider_id), fee),
        Posting(PLATFORM_REVENUE, -fee),
    ]


def refund_postings(
    *, refund: Decimal, captured: Decimal, fee: Decimal, provider_id: UUID, currency: str
) -> list[Posting]:
    """A refund of part of a captured share: the provider gives back the refund and gets back the
    fee in proportion (to the currency's smallest step; all of it when everything is refunded)."""
    fee_back = money(fee * refund / captured, currency) if captured else Decimal(0)
    return [
        Posting(STRIPE_BALANCE, -refund),
        Posting(provider_payable(provider_id), refund),
        Posting(provider_payable(provider_id), -fee_back),
        Posting(PLATFORM_REVENUE, fee_back),
    ]


def credit_grant_postings(*, amount: Decimal, traveler_id: UUID) -> list[Posting]:
    """A credit the platform gives a traveler: owed to them from now on, at the platform's cost."""
    return [Posting(PLATFORM_CREDIT_EXPENSE, amount), Posting(traveler_credit(traveler_id), -amount)]


def credit_spend_postings(*, amount: Decimal, traveler_id: UUID) -> list[Posting]:
    """Beside a capture's postings: the part the traveler's credit paid never reached Stripe;
    what the platform owes the traveler shrinks instead."""
    return [Posting(traveler_credit(traveler_id), amount), Posting(STRIPE_BALANCE, -amount)]


def credit_refund_postings(
    *, refund: Decimal, captured: Decimal, fee: Decimal, provider_id: UUID, traveler_id: UUID, currency: str
) -> list[Posting]:
    """A refund of the part of a share paid with credit: as a card refund, but what goes back
    is owed to the traveler as credit rather than leaving Stripe."""
    return [
        Posting(traveler_credit(traveler_id), posting.amount) if posting.account == STRIPE_BALANCE else posting
        for posting in refund_postings(
            refund=refund, captured=captured, fee=fee, provider_id=provider_id, currency=currency
        )
    ]


def expert_share_postings(*, amount: Decimal, expert_id: UUID) -> list[Posting]:
    """The expert's part of our fee on a booking they made for a traveler, passed on to them (a
    negative amount takes back what a refund returned of it)."""
    return [Posting(PLATFORM_REVENUE, amount), Posting(expert_payable(expert_id), -amount)]


def payout_postings(*, payable_account: str, amount: Decimal) -> list[Posting]:
    """Money paid out to a provider's or expert's bank: what we owed them leaves Stripe."""
    return [Posting(payable_account, amount), Posting(STRIPE_BALANCE, -amount)]


async def unbalanced_transactions(session: AsyncSession) -> list[tuple[UUID, str, Decimal]]:
    """Transactions whose entries do not sum to zero, with their currency and sum; a balanced
    ledger has none, and then every currency's entries sum to zero too."""
    rows = await session.execute(
        select(LedgerTransaction.id, LedgerTransaction.currency, func.coalesce(func.sum(LedgerEntry.amount), 0))
        .outerjoin(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
        .group_by(LedgerTransaction.id, LedgerTransaction.currency)
        .having(or_(func.count(LedgerEntry.id) == 0, func.sum(LedgerEntry.amount) != 0))
    )
    return [(row[0], row[1], Decimal(row[2])) for row in rows.all()]
