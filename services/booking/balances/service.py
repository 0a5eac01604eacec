"""Balances of deposit bookings: charged off-session to the saved card from the due date by a
job, retried after a failure and the booking cancelled by its policy after the last; or paid
early by the traveler."""

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.booking.balances.domain import (
    BalanceSchedule,
    early_balance_purpose,
    scheduled_attempt_purpose,
    take_balance_payment,
)
from services.booking.balances.schemas import BalancePaymentOut
from services.booking.bookings.domain import may_see
from services.booking.bookings.models import Booking
from services.booking.bookings.schemas import PaymentOut
from services.booking.bookings.service import PRODUCER
from services.booking.cancellations.service import cancel_by_policy
from services.booking.history.service import SYSTEM, record_change
from services.booking.modifications.service import applied_changes
from services.booking.upstreams.binding import UpstreamPools
from services.booking.upstreams.payment import PaymentClient
from shared.clock import Clock
from shared.contracts.booking import UNPAID_BALANCE_REASON, BookingBalanceChargeFailed, BookingRefundRequested
from shared.contracts.payment_api import PaymentIntentRequest
from shared.errors import AppError, BadGateway, Conflict, Forbidden, NotFound
from shared.events.outbox import add_event
from shared.identity import Identity
from shared.money import money

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Claim:
    """A scheduled charge the job has taken on: what to ask payment for, in whose name."""

    booking_id: UUID
    traveler: Identity
    provider_id: UUID
    category: str
    amount: Decimal
    currency: str
    attempt: int


async def charge_due_balances(
    session_factory: async_sessionmaker[AsyncSession],
    *,
    clock: Clock,
    upstreams: UpstreamPools,
    schedule: BalanceSchedule,
    batch_size: int = 50,
) -> int:
    """Ask payment to charge each due, unpaid balance of a confirmed booking to the traveler's
    saved card; returns how many were asked. The outcome arrives as payment's event. Each
    attempt is counted and the next one set before payment is called, so a crash or a lost
    outcome means a later retry, never a tight loop; rows another run holds are skipped."""
    now = clock.now()
    async with session_factory() as session, session.begin():
        due = (
            await session.scalars(
                select(Booking)
                .where(
                    Booking.status == "confirmed",
                    Booking.balance_paid_at.is_(None),
                    Booking.balance_next_attempt_at <= now,
                )
                .order_by(Booking.balance_next_attempt_at)
                .limit(batch_size)
                .with_for_update(skip_locked=True)
            )
        ).all()
        claims = [_claim(session, booking, now=now, schedule=schedule) for booking in due]
    for claim in claims:
        await _charge(
            session_factory,
            claim,
            upstreams=upstreams,
            schedule=schedule,
            clock=clock,
        )
    return len(claims)


def _claim(session: AsyncSession, booking: Booking, *, now: datetime, schedule: BalanceSchedule) -> _Claim:
    assert booking.balance_amount is not None
    attempt = booking.balance_attempts + 1
    record_change(
        session,
        booking=booking,
        action="balance_charge_requested",
        changes={"balance_attempts": (booking.balance_attempts, attempt)},
        actor=SYSTEM,
        at=now,
    )
    booking.balance_attempts = attempt
    booking.balance_next_attempt_at = now + schedule.retry_after
    return _Claim(
        booking_id=booking.id,
        traveler=Identity(user_id=booking.traveler_id, email=str(booking.contact["email"]), roles=("traveler",)),
        provider_id=booking.provider_id,
        category=booking.category,
        amount=booking.balance_amount,
        currency=booking.currency,
        attempt=attempt,
    )


async def _charge(
    session_factory: async_sessionmaker[AsyncSession],
    claim: _Claim,
    *,
    upstreams: UpstreamPools,
    schedule: BalanceSchedule,
    clock: Clock,
) -> None:
    try:
        await upstreams.acting_for(claim.traveler).payment.create_intent(
            PaymentIntentRequest(
                booking_id=claim.booking_id,
                provider_id=claim.provider_id,
                category=claim.category,
                purpose=scheduled_attempt_purpose(claim.attempt),
                amount=claim.amount,
                currency=claim.currency,
                off_session=True,
            )
        )
    except BadGateway as unavailable:
        # Payment did not answer: the attempt stands and is retried when it is next due (the
        # same purpose would have given the same intent, had one been made).
        logger.warning("balance charge of booking %s not requested: %s", claim.booking_id, unavailable.message)
    except AppError as refused:
        # Refused before any charge (no saved card, say): a failed attempt like a declined one.
        async with session_factory() as session, session.begin():
            booking = await _locked(session, claim.booking_id)
            if booking is not None:
                await handle_failed_balance_charge(
                    session, booking, attempt=claim.attempt, reason=refused.message, now=clock.now(), schedule=schedule
                )


async def _locked(session: AsyncSession, booking_id: UUID) -> Booking | None:
    return await session.scalar(select(Booking).where(Booking.id == booking_id).with_for_update())


async def handle_failed_balance_charge(
    session: AsyncSession, booking: Booking, *, attempt: int, reason: str, now: datetime, schedule: BalanceSchedule
) -> None:
    """A scheduled attempt failed: the traveler is told and it is tried again `retry_after`
    from now, or, after the last attempt, the booking is cancelled as the traveler's by its
    policy (the deposit refunded as far as the policy says). Only the latest attempt counts."""
    if booking.status != "confirmed" or booking.balance_paid_at is not None or attempt != booking.balance_attempts:
        return
    assert booking.balance_amount is not None
    if attempt >= schedule.max_attempts:
        cancel_by_policy(
            session,
            booking,
            cancelled_by="traveler",
            actor=SYSTEM,
            reason=UNPAID_BALANCE_REASON,
            provider_credit=Decimal(0),
            calendar_sequence=await applied_changes(session, booking.id) + 1,
            now=now,
        )
        booking.balance_next_attempt_at = None
        return
    next_attempt_at = now + schedule.retry_after
    record_change(
        session,
        booking=booking,
        action="balance_charge_failed",
        changes={"balance_next_attempt_at": (booking.balance_next_attempt_at, next_attempt_at)},
        actor=SYSTEM,
        at=now,
        reason=reason,
    )
    booking.balance_next_attempt_at = next_attempt_at
    add_event(
        session,
        BookingBalanceChargeFailed(
            booking_id=booking.id,
            reference=booking.reference,
            traveler_id=booking.traveler_id,
            listing_title=booking.listing_title,
            starts_at=booking.starts_at,
            timezone=booking.timezone,
            contact_name=str(booking.contact["name"]),
            contact_email=str(booking.contact["email"]),
            amount=booking.balance_amount,
            currency=booking.currency,
            reason=reason,
            attempt=attempt,
            attempts_left=schedule.max_attempts - attempt,
            next_attempt_at=next_attempt_at,
        ),
        producer=PRODUCER,
        key=str(booking.id),
    )


def record_balance_payment(
    session: AsyncSession,
    booking: Booking,
    *,
    payment_intent_id: str,
    amount: Decimal,
    platform_fee: Decimal,
    now: datetime,
) -> None:
    """A payment toward the balance arrived. It counts up to what is owed now; what is not
    owed (paid early and charged on schedule too, asked for before a change lowered the
    balance, or arriving after the booking was cancelled) goes back. One asked for before a
    change raised the balance pays part of it, and the rest stays owed."""
    owed = booking.balance_amount if booking.balance_amount is not None and booking.balance_paid_at is None else None
    receipt = take_balance_payment(
        owed=owed if owed is not None and booking.status == "confirmed" else Decimal(0), received=amount
    )
    if receipt.refund > 0:
        add_event(
            session,
            BookingRefundRequested(
                booking_id=booking.id,
                amount=receipt.refund,
                currency=booking.currency,
                reason=f"balance_not_owed:{payment_intent_id}",
                payment_intent_id=payment_intent_id,
            ),
            producer=PRODUCER,
            key=str(booking.id),
        )
    if receipt.applied == 0:
        return
    # The platform's fee on what went back goes back with it.
    fee = money(platform_fee * receipt.applied / amount, booking.currency)
    booking.platform_fee = (booking.platform_fee or Decimal(0)) + fee
    if receipt.owed > 0:
        record_change(
            session,
            booking=booking,
            action="balance_part_paid",
            changes={"amount_paid": (None, receipt.applied), "balance_amount": (booking.balance_amount, receipt.owed)},
            actor=SYSTEM,
            at=now,
        )
        booking.amount_due_now += receipt.applied
        booking.balance_amount = receipt.owed
        return
    record_change(
        session,
        booking=booking,
        action="balance_paid",
        changes={"balance_paid_at": (None, now), "amount_paid": (None, receipt.applied)},
        actor=SYSTEM,
        at=now,
    )
    booking.balance_paid_at = now
    booking.balance_next_attempt_at = None


async def pay_balance(
    session: AsyncSession,
    *,
    booking_id: UUID,
    traveler: Identity,
    payment: PaymentClient,
) -> BalancePaymentOut:
    """The traveler pays the balance before it is charged: a PaymentIntent to confirm like the
    booking's own (asking again gives the same one, until a change of the booking). 409
    NOTHING_DUE unless a confirmed deposit booking's balance is unpaid."""
    booking = await session.get(Booking, booking_id)
    if booking is None or not may_see(booking, traveler):
        raise NotFound("No such booking.")
    if traveler.user_id != booking.traveler_id:
        raise Forbidden("Only the traveler pays the balance.")
    if booking.status != "confirmed" or booking.balance_amount is None or booking.balance_paid_at is not None:
        raise Conflict("Nothing is due on this booking.", error_code="NOTHING_DUE")
    assert booking.balance_due_at is not None
    request = PaymentIntentRequest(
        booking_id=booking.id,
        provider_id=booking.provider_id,
        category=booking.category,
        purpose=early_balance_purpose(await applied_changes(session, booking.id)),
        amount=booking.balance_amount,
        currency=booking.currency,
    )
    due_at = booking.balance_due_at
    await session.commit()  # no transaction stays open while payment answers
    intent = await payment.create_intent(request)
    return BalancePaymentOut(
        booking_id=request.booking_id,
        amount=request.amount,
        currency=request.currency,
        due_at=due_at,
        payment=PaymentOut(payment_intent_id=intent.payment_intent_id, client_secret=intent.client_secret),
    )
