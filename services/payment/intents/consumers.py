"""What payment does when bookings change: refund what booking decides, cancel what expired."""

from datetime import UTC, datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.payment.intents.models import Payment
from services.payment.intents.service import refundable, request_cancel, request_refund
from shared.contracts.booking import (
    BookingCancelled,
    BookingExpired,
    BookingModificationFailed,
    BookingPaymentFailed,
    BookingRefundRequested,
)
from shared.events.consumer import ConsumerSpec, handles
from shared.events.envelope import topic_for


async def refund_what_booking_decided(session: AsyncSession, event: BookingRefundRequested) -> None:
    """Spread over the booking's payments (a modification's difference, then the booking's
    own, or the cart payment it shares), newest first, never more than each has left."""
    paid_for = Payment.booking_id == event.booking_id
    if event.payment_intent_id is not None:
        paid_for = or_(paid_for, Payment.payment_intent_id == event.payment_intent_id)
    query = select(Payment).where(paid_for, Payment.status == "succeeded")
    payments = (await session.scalars(query.order_by(Payment.created_at.desc()).with_for_update())).all()
    left = event.amount
    for payment in payments:
        share = min(left, refundable(payment))
        if share > 0:
            await request_refund(
                session,
                payment=payment,
                booking_id=event.booking_id,
                amount=share,
                reason=event.reason,
                now=datetime.now(UTC),
            )
            left -= share


async def cancel_the_intent_of_an_unpaid_booking(
    session: AsyncSession, event: BookingExpired | BookingCancelled
) -> None:
    """A booking that expired or was cancelled: its unpaid intents (its own, or a pending
    modification's) can no longer be paid."""
    unpaid = await session.scalars(
        select(Payment).where(Payment.booking_id == event.booking_id, Payment.status == "requires_payment")
    )
    for payment in unpaid.all():
        request_cancel(session, payment=payment)


async def cancel_the_intent_holding_credit(session: AsyncSession, event: BookingPaymentFailed) -> None:
    """A booking whose card failed has lost its seats; an intent of it that holds the traveler's
    credit is cancelled, so the credit comes back (one without credit is left for the card)."""
    holding = await session.scalars(
        select(Payment).where(
            Payment.booking_id == event.booking_id,
            Payment.status.in_(("requires_payment", "failed")),
            Payment.credit_status == "reserved",
        )
    )
    for payment in holding.all():
        request_cancel(session, payment=payment)


async def cancel_the_intent_of_a_lapsed_change(session: AsyncSession, event: BookingModificationFailed) -> None:
    """A modification that lapsed or failed before its difference was paid."""
    payment = await session.scalar(
        select(Payment).where(
            Payment.payment_intent_id == event.payment_intent_id, Payment.status == "requires_payment"
        )
    )
    if payment is not None:
        request_cancel(session, payment=payment)


BOOKING_EVENTS = ConsumerSpec(
    name="payment.booking-events",
    topics=(topic_for("booking"),),
    handlers=dict(
        [
            handles(BookingRefundRequested, refund_what_booking_decided),
            handles(BookingExpired, cancel_the_intent_of_an_unpaid_booking),
            handles(BookingCancelled, cancel_the_intent_of_an_unpaid_booking),
            handles(BookingPaymentFailed, cancel_the_intent_holding_credit),
            handles(BookingModificationFailed, cancel_the_intent_of_a_lapsed_change),
        ]
    ),
)
