"""What payment does when bookings change: refund what booking decides, cancel what expired."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.booking.bookings.events import BookingCancelled, BookingExpired, BookingRefundRequested
from services.payment.intents.models import Payment
from services.payment.intents.service import request_cancel, request_refund
from shared.events.consumer import ConsumerSpec, handles
from shared.events.envelope import topic_for


async def refund_what_booking_decided(session: AsyncSession, event: BookingRefundRequested) -> None:
    payment = await session.scalar(
        select(Payment).where(Payment.booking_id == event.booking_id, Payment.status == "succeeded").with_for_update()
    )
    if payment is not None:
        request_refund(session, payment=payment, amount=event.amount, reason=event.reason)


async def cancel_the_intent_of_an_unpaid_booking(
    session: AsyncSession, event: BookingExpired | BookingCancelled
) -> None:
    """A booking that expired or was cancelled before it was paid: its intent can no longer be paid."""
    payment = await session.scalar(
        select(Payment).where(Payment.booking_id == event.booking_id, Payment.status == "requires_payment")
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
        ]
    ),
)
