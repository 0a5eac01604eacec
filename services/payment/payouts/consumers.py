"""What payouts learn from bookings: when one is confirmed and when its service ends (the times
the payout policy counts from), and when its money may have moved."""

from sqlalchemy.ext.asyncio import AsyncSession

from services.payment.payouts.service import move_service_end, reopen, schedule_payouts
from shared.contracts.booking import BookingConfirmed, BookingModified, BookingRefundRequested
from shared.events.consumer import ConsumerSpec, handles
from shared.events.envelope import topic_for


async def schedule_the_confirmed_bookings_payouts(session: AsyncSession, event: BookingConfirmed) -> None:
    await schedule_payouts(
        session,
        booking_id=event.booking_id,
        provider_id=event.provider_id,
        currency=event.currency,
        confirmed_at=event.confirmed_at,
        service_ends_at=event.ends_at,
    )


async def follow_the_booking_to_its_new_slot(session: AsyncSession, event: BookingModified) -> None:
    await move_service_end(session, booking_id=event.booking_id, service_ends_at=event.ends_at)


async def look_again_after_a_refund(session: AsyncSession, event: BookingRefundRequested) -> None:
    await reopen(session, booking_ids=[event.booking_id])


BOOKING_EVENTS_FOR_PAYOUTS = ConsumerSpec(
    name="payment.payouts",
    topics=(topic_for("booking"),),
    handlers=dict(
        [
            handles(BookingConfirmed, schedule_the_confirmed_bookings_payouts),
            handles(BookingModified, follow_the_booking_to_its_new_slot),
            handles(BookingRefundRequested, look_again_after_a_refund),
        ]
    ),
)
