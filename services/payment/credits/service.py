"""Travelers' credits: granted when a provider cancels, reserved by a checkout, spent when it is
paid, released when it is not, and given back by refunds. Each movement of the balance is written
with its history line in the caller's transaction; the ledger postings are the callers' (the
grant's here, the capture's and refunds' in intents/). Rules: credits/domain.py."""

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.payment.credits.models import CreditBalance, CreditEntry
from services.payment.credits.schemas import CreditBalanceOut, CreditEntryOut, CreditsOut
from services.payment.ledger.models import LedgerTransaction
from services.payment.ledger.service import credit_grant_postings, record
from shared.db import read_from_one_snapshot
from shared.money import money

CREDIT_GRANT = "credit_grant"


async def available_credit(session: AsyncSession, *, traveler_id: UUID, currency: str) -> Decimal:
    """What the traveler may spend in the currency now (read without a lock: a plan, which
    `reserve` checks again under the lock)."""
    available = await session.scalar(
        select(CreditBalance.available).where(
            CreditBalance.traveler_id == traveler_id, CreditBalance.currency == currency
        )
    )
    return money(available if available is not None else Decimal(0), currency)


async def _locked_balance(session: AsyncSession, *, traveler_id: UUID, currency: str, now: datetime) -> CreditBalance:
    await session.execute(
        insert(CreditBalance)
        .values(traveler_id=traveler_id, currency=currency, available=0, reserved=0, updated_at=now)
        .on_conflict_do_nothing()
    )
    balance = await session.scalar(
        select(CreditBalance)
        .where(CreditBalance.traveler_id == traveler_id, CreditBalance.currency == currency)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert balance is not None
    balance.updated_at = now
    return balance


def _entry(
    session: AsyncSession,
    balance: CreditBalance,
    *,
    kind: str,
    amount: Decimal,
    booking_id: UUID | None,
    payment_id: UUID | None,
    now: datetime,
    reason: str | None = None,
) -> None:
    session.add(
        CreditEntry(
            traveler_id=balance.traveler_id,
            currency=balance.currency,
            kind=kind,
            amount=amount,
            booking_id=booking_id,
            payment_id=payment_id,
            reason=reason,
            occurred_at=now,
        )
    )


async def grant(
    session: AsyncSession,
    *,
    traveler_id: UUID,
    currency: str,
    amount: Decimal,
    booking_id: UUID,
    reason: str,
    now: datetime,
) -> bool:
    """Give the traveler credit for a cancelled booking, once per booking; False if it was given."""
    reference = f"{CREDIT_GRANT}:{booking_id}"
    if await session.scalar(select(LedgerTransaction.id).where(LedgerTransaction.reference == reference)):
        return False
    amount = money(amount, currency)
    record(
        session,
        kind=CREDIT_GRANT,
        booking_id=booking_id,
        reference=reference,
        currency=currency,
        postings=credit_grant_postings(amount=amount, traveler_id=traveler_id),
        now=now,
    )
    balance = await _locked_balance(session, traveler_id=traveler_id, currency=currency, now=now)
    balance.available += amount
    _entry(
        session, balance, kind="granted", amount=amount, booking_id=booking_id, payment_id=None, reason=reason, now=now
    )
    return True


async def reserve(
    session: AsyncSession,
    *,
    traveler_id: UUID,
    currency: str,
    amount: Decimal,
    booking_id: UUID,
    payment_id: UUID,
    now: datetime,
) -> bool:
    """Hold `amount` of the traveler's credit for a payment, if it is still there (under the
    balance's row lock, so concurrent checkouts never hold the same credit); False if not."""
    balance = await _locked_balance(session, traveler_id=traveler_id, currency=currency, now=now)
    if balance.available < amount:
        return False
    balance.available -= amount
    balance.reserved += amount
    _entry(session, balance, kind="reserved", amount=amount, booking_id=booking_id, payment_id=payment_id, now=now)
    return True


async def spend(
    session: AsyncSession,
    *,
    traveler_id: UUID,
    currency: str,
    amount: Decimal,
    booking_id: UUID,
    payment_id: UUID,
    reserved: bool,
    now: datetime,
) -> None:
    """The payment holding credit succeeded: the credit is spent. A payment whose reservation was
    released (its card paid after all) takes it from what is available, even below zero."""
    balance = await _locked_balance(session, traveler_id=traveler_id, currency=currency, now=now)
    if reserved:
        balance.reserved -= amount
    else:
        balance.available -= amount
    _entry(session, balance, kind="spent", amount=amount, booking_id=booking_id, payment_id=payment_id, now=now)


async def release(
    session: AsyncSession,
    *,
    traveler_id: UUID,
    currency: str,
    amount: Decimal,
    booking_id: UUID,
    payment_id: UUID,
    reason: str,
    now: datetime,
) -> None:
    """The payment holding credit can no longer be paid: its credit is available again."""
    balance = await _locked_balance(session, traveler_id=traveler_id, currency=currency, now=now)
    balance.reserved -= amount
    balance.available += amount
    _entry(
        session,
        balance,
        kind="released",
        amount=amount,
        booking_id=booking_id,
        payment_id=payment_id,
        reason=reason,
        now=now,
    )


async def give_back(
    session: AsyncSession,
    *,
    traveler_id: UUID,
    currency: str,
    amount: Decimal,
    booking_id: UUID,
    payment_id: UUID,
    reason: str,
    now: datetime,
) -> None:
    """A refund's part that was paid with credit goes back to the traveler's credit."""
    balance = await _locked_balance(session, traveler_id=traveler_id, currency=currency, now=now)
    balance.available += amount
    _entry(
        session,
        balance,
        kind="refunded",
        amount=amount,
        booking_id=booking_id,
        payment_id=payment_id,
        reason=reason,
        now=now,
    )


async def credits_of(session: AsyncSession, *, traveler_id: UUID, limit: int, cursor: int | None) -> CreditsOut:
    """The traveler's balances per currency and a page of their history, newest first; the
    cursor is the last line's number. Both are read from one snapshot, so a credit granted
    meanwhile shows in both or in neither."""
    await read_from_one_snapshot(session)
    query = select(CreditEntry).where(CreditEntry.traveler_id == traveler_id)
    if cursor is not None:
        query = query.where(CreditEntry.id < cursor)
    entries = list((await session.scalars(query.order_by(CreditEntry.id.desc()).limit(limit + 1))).all())
    balances = await session.scalars(
        select(CreditBalance).where(CreditBalance.traveler_id == traveler_id).order_by(CreditBalance.currency)
    )
    return CreditsOut(
        balances=[
            CreditBalanceOut(
                currency=balance.currency,
                available=money(balance.available, balance.currency),
                reserved=money(balance.reserved, balance.currency),
            )
            for balance in balances.all()
        ],
        items=[
            CreditEntryOut.model_validate(
                {
                    "kind": entry.kind,
                    "amount": money(entry.amount, entry.currency),
                    "currency": entry.currency,
                    "booking_id": entry.booking_id,
                    "reason": entry.reason,
                    "occurred_at": entry.occurred_at,
                }
            )
            for entry in entries[:limit]
        ],
        next_cursor=str(entries[limit - 1].id) if len(entries) > limit else None,
    )
