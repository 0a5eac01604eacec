"""Balances on payment's events: a scheduled or early balance paid, or a scheduled charge failed."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.booking.balances.domain import BalanceSchedule, is_balance_payment, scheduled_attempt
from services.booking.balances.service import handle_failed_balance_charge, record_balance_payment
from services.booking.bookings.models import Booking
from shared.clock import Clock
from shared.contracts.payment import PaymentFailed, PaymentSucceeded
from shared.events.consumer import ConsumerSpec, handles
from shared.events.envelope import topic_for


def balances_consumer(clock: Clock, schedule: BalanceSchedule) -> ConsumerSpec:
    async def on_payment_succeeded(session: AsyncSession, event: PaymentSucceeded) -> None:
        if not is_balance_payment(event.purpose):
            return
        booking = await session.scalar(select(Booking).where(Booking.id == event.booking_id).with_for_update())
        if booking is not None:
            record_balance_payment(
                session,
                booking,
                payment_intent_id=event.payment_intent_id,
                amount=event.amount,
                platform_fee=event.platform_fee,
                now=clock.now(),
            )

    async def on_payment_failed(session: AsyncSession, event: PaymentFailed) -> None:
        # The traveler's own early payment failing is theirs to retry; only the scheduled count.
        attempt = scheduled_attempt(event.purpose or "")
        if attempt is None:
            return
        booking = await session.scalar(select(Booking).where(Booking.id == event.booking_id).with_for_update())
        if booking is not None:
            await handle_failed_balance_charge(
                session, booking, attempt=attempt, reason=event.reason, now=clock.now(), schedule=schedule
            )

    return ConsumerSpec(
        name="booking.balances",
        topics=(topic_for("payment"),),
        handlers=dict([handles(PaymentSucceeded, on_payment_succeeded), handles(PaymentFailed, on_payment_failed)]),
    )
