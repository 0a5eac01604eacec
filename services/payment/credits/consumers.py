"""What credits learn from bookings: a provider's cancellation owes the traveler a credit."""

from sqlalchemy.ext.asyncio import AsyncSession

from services.payment.credits.service import grant
from shared.contracts.booking import BookingCancelled
from shared.events.consumer import ConsumerSpec, handles
from shared.events.envelope import topic_for


async def grant_the_cancellation_credit(session: AsyncSession, event: BookingCancelled) -> None:
    if event.credit > 0:
        await grant(
            session,
            traveler_id=event.traveler_id,
            currency=event.currency,
            amount=event.credit,
            booking_id=event.booking_id,
            reason=f"{event.reference} cancelled by the {event.cancelled_by}",
            now=event.cancelled_at,
        )


CREDIT_EVENTS = ConsumerSpec(
    name="payment.credits",
    topics=(topic_for("booking"),),
    handlers=dict([handles(BookingCancelled, grant_the_cancellation_credit)]),
)
